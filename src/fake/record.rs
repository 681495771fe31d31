//! What the fake received.

use std::fmt;

use axum::http::request::Parts;
use bytes::Bytes;
use tokio::time::Instant;

use super::operation::Operation;

/// Header names whose values [`RecordedRequest`]'s `Debug` output hides.
const SECRET_HEADERS: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
];

/// One request as the fake received it, before any processing.
///
/// Its `Debug` output shows `<redacted>` instead of the value of
/// `Authorization` (and of `Proxy-Authorization`, `Cookie`, `Set-Cookie` and
/// `X-Api-Key`), so that printing a request in a failing test never leaks a
/// key. The accessors return the real values.
#[derive(Clone)]
pub struct RecordedRequest {
    method: String,
    target: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Bytes,
    received_at: Instant,
    operation: Option<Operation>,
}

impl RecordedRequest {
    pub(crate) fn new(parts: &Parts, body: Bytes, operation: Option<Operation>) -> RecordedRequest {
        let target = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
        RecordedRequest {
            method: parts.method.as_str().to_owned(),
            target,
            headers: parts
                .headers
                .iter()
                .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
                .collect(),
            body,
            received_at: Instant::now(),
            operation,
        }
    }

    /// The method, such as `"PATCH"`.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The path and query exactly as sent, still percent-encoded, such as
    /// `/api/v1/keys/a%20b?x=1`.
    pub fn path_and_query(&self) -> &str {
        &self.target
    }

    /// The path as sent, still percent-encoded, without the query.
    pub fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(&self.target, |(path, _)| path)
    }

    /// The query as sent (without `?`), if the request had one.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, query)| query)
    }

    /// Every header as `(name, value)`. Names are in lower case; a header sent
    /// several times appears several times.
    pub fn headers(&self) -> &[(String, Vec<u8>)] {
        &self.headers
    }

    /// The first value of the header `name` (compared case-insensitively), if
    /// it was sent and is valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
    }

    /// The body bytes exactly as received (empty if the body could not be
    /// read).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// When the fake recorded the request (once its body had been read), on
    /// the Tokio clock. Under a paused clock this is the paused time, so the
    /// difference between two requests' times is how long a client waited
    /// between them, measured without real waiting.
    pub fn received_at(&self) -> Instant {
        self.received_at
    }

    /// The operation the request's method and path lead to, or `None` when
    /// they lead to none (the fake answered 404 or 405, unless a fault
    /// answered first). Known from the method and path alone: a request for
    /// an operation that failed authentication or validation still has it.
    pub fn operation(&self) -> Option<Operation> {
        self.operation
    }

    /// The body decoded as JSON.
    pub fn body_json(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
    }
}

impl fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Headers<'a>(&'a [(String, Vec<u8>)]);
        impl fmt::Debug for Headers<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut list = f.debug_list();
                for (name, value) in self.0 {
                    if SECRET_HEADERS.contains(&name.as_str()) {
                        list.entry(&(name, "<redacted>"));
                    } else {
                        list.entry(&(name, String::from_utf8_lossy(value)));
                    }
                }
                list.finish()
            }
        }
        f.debug_struct("RecordedRequest")
            .field("method", &self.method)
            .field("path_and_query", &self.target)
            .field("operation", &self.operation)
            .field("headers", &Headers(&self.headers))
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}
