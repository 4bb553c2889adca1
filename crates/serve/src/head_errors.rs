//! JSON bodies for the answers hyper writes itself.
//!
//! hyper answers a request head it cannot accept (431 when it is over
//! `max_header_bytes`, 400 when it cannot be parsed) before a request
//! exists, so no layer of the router sees it and hyper's answer has an empty
//! body. The connection's stream wrapper sees it go out, though: bytes that
//! start a response (`HTTP/1.x`) while a head is arriving and no request is
//! being served can only be such an answer. [`HeadErrors`] swallows them and
//! writes the same status with a JSON body in the protocol's shape instead
//! (the connection closes after it, as hyper's does).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::http::StatusCode;
use tokio::io::AsyncWrite;

use crate::limits::ErrorShape;

/// How much of a request head is kept to find its path.
const KEPT_HEAD: usize = 256;

/// The start of a head being read, and the answer that replaces hyper's.
#[derive(Debug)]
pub(crate) struct HeadErrors {
    max_header_bytes: usize,
    head: Vec<u8>,
    replacement: Option<(Vec<u8>, usize)>,
}

impl HeadErrors {
    pub(crate) fn new(max_header_bytes: usize) -> Self {
        Self {
            max_header_bytes,
            head: Vec::with_capacity(KEPT_HEAD),
            replacement: None,
        }
    }

    /// `bytes` arrived; `new_head` when they start a request.
    pub(crate) fn read(&mut self, new_head: bool, bytes: &[u8]) {
        if new_head {
            self.head.clear();
        }
        let room = KEPT_HEAD - self.head.len().min(KEPT_HEAD);
        self.head.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// Whether the `len` bytes hyper writes, starting with `first`, are
    /// swallowed (hyper's own error answer, or more of it); `head_pending`
    /// when a head is arriving and no request is being served.
    pub(crate) fn swallow(&mut self, head_pending: bool, first: &[u8]) -> bool {
        if self.replacement.is_some() {
            return true;
        }
        if !head_pending || !first.starts_with(b"HTTP/1.") {
            return false;
        }
        let status = first
            .get(9..12)
            .and_then(|code| std::str::from_utf8(code).ok())
            .and_then(|code| code.parse::<u16>().ok())
            .and_then(|code| StatusCode::from_u16(code).ok());
        let Some(status) = status.filter(|s| s.is_client_error() || s.is_server_error()) else {
            return false;
        };
        let message = match status {
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => format!(
                "the request head (request line and headers) is larger than max_header_bytes ({} bytes); \
                 send fewer or shorter headers, or a shorter URL",
                self.max_header_bytes
            ),
            StatusCode::BAD_REQUEST => {
                "the request is not valid HTTP/1.1: its request line or a header \
                 could not be parsed"
                    .to_string()
            }
            other => other
                .canonical_reason()
                .unwrap_or("the request head was refused")
                .to_string(),
        };
        let body = ErrorShape::of_path(request_path(&self.head))
            .document(status, &message)
            .to_string();
        self.replacement = Some((json_response(status, &body, "").into_bytes(), 0));
        true
    }

    /// Writes what is left of the replacement answer to `stream`.
    pub(crate) fn poll_drain<W: AsyncWrite + Unpin>(
        &mut self,
        mut stream: Pin<&mut W>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some((bytes, sent)) = &mut self.replacement {
            while *sent < bytes.len() {
                match stream.as_mut().poll_write(cx, &bytes[*sent..]) {
                    Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                    Poll::Ready(Ok(n)) => *sent += n,
                    Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                    Poll::Pending => return Poll::Pending,
                }
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// The path of a request whose head starts with `head` (`/` when it cannot
/// be read), without its query.
pub(crate) fn request_path(head: &[u8]) -> &str {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    std::str::from_utf8(line)
        .ok()
        .and_then(|text| text.split(' ').nth(1))
        .map(|target| target.split('?').next().unwrap_or(target))
        .unwrap_or("/")
}

/// A whole HTTP/1.1 answer with a JSON `body` that closes the connection;
/// `extra_headers` are whole `name: value\r\n` lines.
pub(crate) fn json_response(status: StatusCode, body: &str, extra_headers: &str) -> String {
    format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra_headers}\
         connection: close\r\n\r\n{body}",
        status.as_u16(),
        status.canonical_reason().unwrap_or_default(),
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyper_error_answers_are_replaced_in_the_protocol_shape() {
        let mut errors = HeadErrors::new(8192);
        errors.read(true, b"POST /invocations HTTP/1.1\r\nX-Big: aaaa");
        assert!(!errors.swallow(false, b"HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(!errors.swallow(true, b"HTTP/1.1 200 OK\r\n"));
        assert!(!errors.swallow(true, b"{\"predictions\": []}"));
        assert!(errors.swallow(true, b"HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(errors.swallow(true, b"anything after it"));
        let (bytes, _) = errors.replacement.clone().unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{text}"
        );
        let body: serde_json::Value =
            serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["error_code"], "BAD_REQUEST", "{body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("max_header_bytes (8192 bytes)")
        );
    }

    #[test]
    fn paths_are_read_from_the_request_line() {
        assert_eq!(
            request_path(b"GET /v1/models/m?x=1 HTTP/1.1\r\n"),
            "/v1/models/m"
        );
        assert_eq!(request_path(b"GARBAGE"), "/");
        assert_eq!(request_path(&[0xff, 0x20, 0xfe]), "/");
        assert_eq!(request_path(b""), "/");
    }
}
