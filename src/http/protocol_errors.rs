//! Protocol-level errors answered with an OperationOutcome. actix-http answers a request it
//! cannot parse (a malformed request line, a bad `Content-Length`),
//! headers over its limit, or headers that arrive too slowly, with an empty 400, 431 or 408
//! before any of our code runs. Every response of ours has a body, so an empty 4xx leaving a
//! connection is one of those: this stream gives it the OperationOutcome a FHIR client
//! expects, as it is written. It also notes how the connection ended, so that a request
//! actix-http abandons can be answered (`abandoned_request.rs`).

use super::abandoned_request::Traffic;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection whose bodiless 4xx responses get an OperationOutcome.
pub struct OutcomeOnProtocolErrors<S> {
    inner: S,
    /// A rewritten response not yet written, and how much of it was.
    pending: Vec<u8>,
    written: usize,
    traffic: Traffic,
}

impl<S> OutcomeOnProtocolErrors<S> {
    pub fn new(inner: S, traffic: Traffic) -> Self {
        Self {
            inner,
            pending: Vec::new(),
            written: 0,
            traffic,
        }
    }
}

impl<S: AsyncWrite + Unpin> OutcomeOnProtocolErrors<S> {
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for OutcomeOnProtocolErrors<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Err(_)) = &polled {
            self.traffic.read_failed();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for OutcomeOnProtocolErrors<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.drain(cx))?;
        match with_outcome(buf) {
            None => Pin::new(&mut this.inner).poll_write(cx, buf),
            Some(rewritten) => {
                // taken whole; written out here or by the next write, flush or shutdown
                this.pending = rewritten;
                if let Poll::Ready(Err(e)) = this.drain(cx) {
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(Ok(buf.len()))
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.traffic.shut_down();
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// `bytes` with an OperationOutcome body when they begin with a bodiless 4xx response head
/// (`content-length: 0`, as actix-http writes its own error responses).
pub fn with_outcome(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.starts_with(b"HTTP/1.1 4") && !bytes.starts_with(b"HTTP/1.0 4") {
        return None;
    }
    let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 2;
    let head = std::str::from_utf8(&bytes[..head_end]).ok()?;
    let status: u16 = head.get(9..12)?.parse().ok()?;
    let mut lines: Vec<&str> = head.split("\r\n").filter(|l| !l.is_empty()).collect();
    let empty = lines
        .iter()
        .position(|l| l.eq_ignore_ascii_case("content-length: 0"))?;
    if lines
        .iter()
        .any(|l| l.to_ascii_lowercase().starts_with("content-type:"))
    {
        return None;
    }
    let (code, text) = match status {
        408 => ("timeout", "the request did not arrive in time"),
        413 => ("too-long", "the request is larger than this server accepts"),
        431 => (
            "too-long",
            "the request headers are larger than this server accepts",
        ),
        _ => (
            "structure",
            "the request is not valid HTTP/1.1: check the request line, the headers, \
             Content-Length and the chunked encoding",
        ),
    };
    let body = format!(
        r#"{{"resourceType":"OperationOutcome","issue":[{{"severity":"error","code":"{code}","details":{{"text":"{text}"}}}}]}}"#
    );
    let length = format!("content-length: {}", body.len());
    lines[empty] = &length;
    let mut out = Vec::with_capacity(bytes.len() + body.len() + 64);
    for line in lines {
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"content-type: application/fhir+json\r\n\r\n");
    out.extend_from_slice(body.as_bytes());
    // anything after the head (there is no body: content-length 0)
    out.extend_from_slice(&bytes[head_end + 2..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::with_outcome;
    use serde_json::Value;

    fn split(bytes: &[u8]) -> (String, Value) {
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        (head.to_string(), serde_json::from_str(body).unwrap())
    }

    #[test]
    fn bodiless_error_responses_get_an_operation_outcome() {
        let out = with_outcome(
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\ndate: x\r\n\r\n",
        )
        .expect("rewritten");
        let (head, body) = split(&out);
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
        assert!(head.contains("connection: close"));
        assert!(head.contains("content-type: application/fhir+json"));
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, body.to_string().len());
        assert_eq!(body["resourceType"], "OperationOutcome");
        assert_eq!(body["issue"][0]["code"], "structure");

        let out = with_outcome(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n",
        )
        .expect("rewritten");
        assert_eq!(split(&out).1["issue"][0]["code"], "too-long");
    }

    #[test]
    fn responses_with_bodies_and_successes_pass_through() {
        assert!(with_outcome(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(with_outcome(
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 12\r\ncontent-type: application/fhir+json\r\n\r\n{\"a\":\"b\"}"
        )
        .is_none());
        assert!(with_outcome(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n").is_none());
        assert!(with_outcome(b"{\"resourceType\":\"Patient\"}").is_none());
    }
}
