//! Scripted failures.

use std::time::Duration;

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderName, HeaderValue, Response, StatusCode};
use bytes::Bytes;

use super::operation::Operation;
use super::server::{JSON, envelope};

/// A scripted response that replaces the fake's normal answer to one request.
///
/// Queue faults with [`FakeOpenRouter::push_fault`] or
/// [`FakeOpenRouter::fail_next`]; each request the fake receives (on any path,
/// with any method, authenticated or not) takes the oldest queued fault that
/// applies to it. A fault applies to every request unless
/// [`Fault::only_for`] limits it to some operations. The request is still
/// recorded.
///
/// By default the fault is answered *instead of* handling the request, so a
/// faulted `PATCH` changes nothing. [`Fault::after_processing`] handles the
/// request first and then sends the fault, which is how a client experiences
/// "the update was applied but the response was lost".
///
/// Most faults are a response ([`Fault::status`]); two send none at all:
/// [`Fault::disconnect`] closes the connection and [`Fault::hang`] holds the
/// answer until the client gives up. [`FakeOpenRouter::until_withheld`]
/// waits until such a fault has met its request.
///
/// ```
/// use openrouter_keys::fake::{Fault, Operation};
///
/// // Only the next list request is refused; other operations pass it by.
/// let list_down = Fault::status(503).only_for(Operation::List);
/// # let _ = list_down;
/// ```
///
/// ```
/// use std::time::Duration;
/// use openrouter_keys::fake::Fault;
///
/// let overloaded = Fault::status(503).retry_after("2");
/// let garbled = Fault::status(200).body("not json").header("content-type", "text/plain");
/// let slow = Fault::status(504).delay(Duration::from_secs(30));
/// // The key is created, and its secret lost with the connection.
/// let lost = Fault::disconnect().after_processing();
/// # let _ = (overloaded, garbled, slow, lost);
/// ```
///
/// [`FakeOpenRouter::push_fault`]: super::FakeOpenRouter::push_fault
/// [`FakeOpenRouter::fail_next`]: super::FakeOpenRouter::fail_next
/// [`FakeOpenRouter::until_withheld`]: super::FakeOpenRouter::until_withheld
#[derive(Clone, Debug)]
#[must_use]
pub struct Fault {
    answer: Answer,
    retry_after: Option<HeaderValue>,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Option<Bytes>,
    pub(crate) delay: Option<Duration>,
    pub(crate) after_processing: bool,
    /// Empty: every request.
    only_for: Vec<Operation>,
}

/// What a fault sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    /// A response with this status.
    Status(StatusCode),
    /// Nothing: the connection is closed.
    Disconnect,
    /// Nothing, until the client goes away or the server stops.
    Hang,
}

impl Fault {
    /// A response with this status and, unless [`Fault::body`] replaces it, the
    /// API's error envelope `{"error": {"code": status, "message": reason}}`
    /// where `reason` is the status's standard reason phrase (such as
    /// `"Service Unavailable"`).
    ///
    /// Any status from 200 to 999 is allowed, so a fault can also be a
    /// successful-looking response with a broken body.
    ///
    /// # Panics
    ///
    /// If `status` is outside 200..=999 (informational responses cannot
    /// replace a final response).
    pub fn status(status: u16) -> Fault {
        let status = StatusCode::from_u16(status)
            .ok()
            .filter(|s| !s.is_informational())
            .unwrap_or_else(|| panic!("a fault's status must be in 200..=999, not {status}"));
        Fault::answering(Answer::Status(status))
    }

    /// Closes the connection instead of answering: the client receives no
    /// status line, no header and no body, only the end of the connection,
    /// as when a proxy or the network drops it. With
    /// [`Fault::after_processing`] the request is carried out first, so a
    /// `POST /keys` creates its key and its secret never reaches the client.
    /// [`Fault::delay`] waits before closing; the settings of a response
    /// (`retry_after`, `header`, `body`) are ignored.
    pub fn disconnect() -> Fault {
        Fault::answering(Answer::Disconnect)
    }

    /// Holds the answer instead of sending it: the client receives nothing
    /// until it closes the connection (its timeout fires, or its process is
    /// killed), and the handler then ends. With [`Fault::after_processing`]
    /// the request is carried out first, so the store has changed while the
    /// client waits. If the server shuts down meanwhile, it closes the
    /// connection without answering. [`Fault::delay`] and the settings of a
    /// response are ignored.
    pub fn hang() -> Fault {
        Fault::answering(Answer::Hang)
    }

    fn answering(answer: Answer) -> Fault {
        Fault {
            answer,
            retry_after: None,
            headers: Vec::new(),
            body: None,
            delay: None,
            after_processing: false,
            only_for: Vec::new(),
        }
    }

    /// Sends `Retry-After` with exactly this value. Anything that can be sent
    /// as a header value is allowed, including values a client must reject
    /// (`"soon"`, `"-1"`, a date in the past). Replaces an earlier value.
    ///
    /// # Panics
    ///
    /// If `value` cannot be a header value (it contains a control character
    /// such as a line break).
    pub fn retry_after(mut self, value: impl Into<String>) -> Fault {
        self.retry_after = Some(header_value(value.into()));
        self
    }

    /// Adds a response header. The first header set for a name replaces the
    /// fake's own (so `header("content-type", "text/html")` replaces
    /// `application/json`); further ones for the same name are added beside it.
    ///
    /// # Panics
    ///
    /// If `name` is not a valid header name or `value` not a valid header
    /// value.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Fault {
        let name = HeaderName::from_bytes(name.as_bytes())
            .unwrap_or_else(|_| panic!("not a valid header name: {name:?}"));
        self.headers.push((name, header_value(value.into())));
        self
    }

    /// Sends these bytes as the body instead of the error envelope. The
    /// `Content-Type` stays `application/json` unless [`Fault::header`]
    /// replaces it.
    pub fn body(mut self, body: impl Into<Bytes>) -> Fault {
        self.body = Some(body.into());
        self
    }

    /// Waits this long before responding (or, for [`Fault::disconnect`],
    /// before closing), on the Tokio clock (so a paused clock in tests skips
    /// the wait). Replaces the server-wide delay set with
    /// [`FakeOpenRouter::set_delay`](super::FakeOpenRouter::set_delay) for this
    /// response.
    pub fn delay(mut self, delay: Duration) -> Fault {
        self.delay = Some(delay);
        self
    }

    /// Handles the request normally first (a valid `PATCH` updates the key, a
    /// valid `POST` creates one, a `DELETE` deletes it), then discards that
    /// response and sends this fault instead.
    pub fn after_processing(mut self) -> Fault {
        self.after_processing = true;
        self
    }

    /// Applies only to requests for `operation` (and for any other operation
    /// named by another call), rather than to every request. Requests for
    /// other operations, and requests that reach no operation (an unknown
    /// path or method), pass it by and take the next fault that applies to
    /// them, so it waits in the queue until a request for its operation
    /// comes.
    pub fn only_for(mut self, operation: Operation) -> Fault {
        if !self.only_for.contains(&operation) {
            self.only_for.push(operation);
        }
        self
    }

    /// Whether this fault is for a request that reaches `operation` (`None`:
    /// no operation).
    pub(crate) fn applies_to(&self, operation: Option<Operation>) -> bool {
        self.only_for.is_empty() || operation.is_some_and(|op| self.only_for.contains(&op))
    }

    /// Whether it holds its answer until the client or the server stops.
    pub(crate) fn hangs(&self) -> bool {
        self.answer == Answer::Hang
    }

    /// The response that replaces the normal one, or `None` for a fault
    /// that sends nothing.
    pub(crate) fn response(&self) -> Option<Response<Body>> {
        let Answer::Status(status) = self.answer else {
            return None;
        };
        let body = match &self.body {
            Some(body) => body.clone(),
            None => envelope(
                status,
                status.canonical_reason().unwrap_or("Injected fault"),
            ),
        };
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
        if let Some(value) = &self.retry_after {
            headers.insert(RETRY_AFTER, value.clone());
        }
        let mut replaced = Vec::new();
        for (name, value) in &self.headers {
            if replaced.contains(&name) {
                headers.append(name, value.clone());
            } else {
                headers.insert(name, value.clone());
                replaced.push(name);
            }
        }
        Some(response)
    }
}

fn header_value(value: String) -> HeaderValue {
    HeaderValue::try_from(value.as_str())
        .unwrap_or_else(|_| panic!("not a valid header value: {value:?}"))
}
