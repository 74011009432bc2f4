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

/// SIGTERM while the audit trail cannot be written: the process still exits within its grace
/// period and its log says how many records it could not store.
#[tokio::test]
async fn sigterm_during_an_audit_outage_says_how_many_records_were_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let log_s = log.display().to_string();
    let mut server = TestServer::start_on(
        Backend::Sqlite,
        &[
            ("HBPC_TEST_LOG_FILE", log_s.as_str()),
            ("HBPC_SERVER_SHUTDOWN_TIMEOUT_SECS", "2"),
        ],
    )
    .await;
    let audit = server
        .database_url
        .trim_start_matches("sqlite://")
        .replace(".sqlite", "-audit.sqlite");
    let conn = rusqlite::Connection::open(&audit).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.execute_batch("DROP TABLE audit_event").unwrap();
    // a read is answered before its record is stored; the record is carried for a retry
    let res = client().get(server.url("metadata")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(10)), Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("audit trail: 1 records could not be stored before shutdown"),
        "{text}"
    );
}
