use crate::support::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// SIGTERM while a request is half-sent: the request still completes, then the process exits 0.
#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish() {
    let mut server = TestServer::start().await;
    let body = fixture_bytes("referral-separate/13-servicerequest-referral.json");
    let (head, tail) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "POST /fhir/ServiceRequest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/fhir+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(head).unwrap();
    stream.flush().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    server.signal("TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream.write_all(tail).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");

    assert_eq!(server.wait_exit(Duration::from_secs(15)), Some(0));
    assert_eq!(
        server
            .stored_with_identifier("ServiceRequest", "REF-2026-000417")
            .await,
        1
    );
}
