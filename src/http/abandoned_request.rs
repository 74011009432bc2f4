//! A request actix-http abandons gets an answer. Its chunked decoder reports a bad chunk size
//! line as an `io::Error` of kind `InvalidInput`, which the dispatcher takes for a vanished
//! client: it stops, writes nothing, and drops the connection (docs/security.md). The client
//! is still there, waiting. This service keeps a second handle on the socket, and when the
//! dispatcher ends that way, writes the 400 with an OperationOutcome that the dispatcher
//! would not, and closes.

use super::protocol_errors::OutcomeOnProtocolErrors;
use actix_http::error::DispatchError;
use actix_service::{fn_factory, fn_service, Service, ServiceFactory};
use actix_web::rt::net::TcpStream;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsFd;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// How the connection ended, as far as an abandoned request needs it.
#[derive(Clone, Default)]
pub struct Traffic(Arc<Flags>);

#[derive(Default)]
struct Flags {
    /// The socket failed on read (a reset): the client is gone. End of input is not that:
    /// a client may half-close after its request and still read the answer.
    read_failed: AtomicBool,
    /// The dispatcher closed the connection in order (it shuts down the write side).
    shut_down: AtomicBool,
}

impl Traffic {
    pub fn read_failed(&self) {
        self.0.read_failed.store(true, Ordering::Relaxed);
    }
    pub fn shut_down(&self) {
        self.0.shut_down.store(true, Ordering::Relaxed);
    }
    /// The client still there, and the dispatcher gone without closing in order. In
    /// actix-http 3.20 the one way there is `client_disconnected` after `ParseError::Io`,
    /// which only the chunked body decoder raises; every other end shuts down the write side
    /// first, or follows a socket error.
    fn abandoned(&self) -> bool {
        !self.0.read_failed.load(Ordering::Relaxed) && !self.0.shut_down.load(Ordering::Relaxed)
    }
}

/// The connection service: `http` (actix-http's HTTP/1 service) over each accepted socket,
/// wrapped for protocol-error answers, with abandoned requests answered.
pub fn answering_abandoned<F>(
    http: F,
) -> impl ServiceFactory<TcpStream, Config = (), Response = (), Error = DispatchError, InitError = ()>
where
    F: ServiceFactory<
            (OutcomeOnProtocolErrors<TcpStream>, Option<SocketAddr>),
            Config = (),
            Response = (),
            Error = DispatchError,
            InitError = (),
        > + 'static,
    F::Service: 'static,
{
    let http = Rc::new(http);
    fn_factory(move || {
        let created = http.new_service(());
        async move {
            let service = Rc::new(created.await?);
            Ok(fn_service(move |io: TcpStream| {
                let service = service.clone();
                async move {
                    let peer = io.peer_addr().ok();
                    // A second descriptor for the same socket: the dispatcher drops its own.
                    let spare = io
                        .as_fd()
                        .try_clone_to_owned()
                        .ok()
                        .map(std::net::TcpStream::from);
                    let traffic = Traffic::default();
                    let wrapped = OutcomeOnProtocolErrors::new(io, traffic.clone());
                    let result = service.call((wrapped, peer)).await;
                    // The dispatcher ends such a connection with Ok (its "client is gone"
                    // path), or with the decoder's error where that surfaces.
                    let decoder_error = match &result {
                        Ok(()) => true,
                        Err(DispatchError::Io(e)) => e.kind() == io::ErrorKind::InvalidInput,
                        Err(_) => false,
                    };
                    match spare {
                        Some(spare) if decoder_error && traffic.abandoned() => {
                            tracing::debug!(
                                "an abandoned request (invalid chunk size) answered with 400"
                            );
                            answer(spare);
                            Ok(())
                        }
                        _ => result,
                    }
                }
            }))
        }
    })
}

/// Writes the 400 without waiting (the socket is non-blocking; a full send buffer means the
/// client is not reading, and it gets the close alone), then closes.
fn answer(mut socket: std::net::TcpStream) {
    let response = abandoned_response();
    if let Err(e) = socket.write_all(&response) {
        tracing::debug!(error = %e, "could not answer an abandoned request");
    }
    let _ = socket.shutdown(Shutdown::Write);
    // Unread input makes the close a reset, which can destroy the answer in flight; read
    // what has already arrived first (bounded).
    let mut scratch = [0u8; 8192];
    for _ in 0..8 {
        match socket.read(&mut scratch) {
            Ok(n) if n > 0 => continue,
            _ => break,
        }
    }
}

pub fn abandoned_response() -> Vec<u8> {
    let body = r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"structure","details":{"text":"the request body is not valid chunked transfer coding (a chunk size line is not a hexadecimal size); the connection is closed"}}]}"#;
    format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/fhir+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::abandoned_response;
    use serde_json::Value;

    #[test]
    fn the_answer_is_a_complete_400_with_an_operation_outcome() {
        let text = String::from_utf8(abandoned_response()).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(head.contains("connection: close"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let outcome: Value = serde_json::from_str(body).unwrap();
        assert_eq!(outcome["issue"][0]["code"], "structure");
    }
}
