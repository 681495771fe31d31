//! The one error type of the crate.

use std::{fmt, time::Duration};

use bytes::Bytes;
use reqwest::StatusCode;

/// The error envelope's `error` object, as OpenRouter sends it:
/// `{"error": {"code": 404, "message": "...", "metadata": {...}}}`.
pub use crate::generated::types::ErrorData as ApiErrorBody;

/// Whether a failed call took effect on the server. Ordered: `No < Maybe <
/// Yes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Applied {
    /// The request was never sent, or the server refused it: nothing changed.
    No,
    /// The request may have reached the server before the failure (the
    /// connection broke or timed out while waiting for the answer). Check,
    /// or repeat the call if the operation allows it (see
    /// [`RetryConfig`](crate::RetryConfig)).
    Maybe,
    /// The server answered with success, so the request was applied, but
    /// the answer could not be read.
    Yes,
}

/// A response with an error status.
#[derive(Clone)]
pub struct ApiFailure {
    pub(crate) status: StatusCode,
    pub(crate) body: Option<Box<ApiErrorBody>>,
    pub(crate) raw: Bytes,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) attempts: u32,
    pub(crate) retryable: bool,
    /// The client's retry budget refused the next retry.
    pub(crate) budget_exhausted: bool,
    /// Whether an earlier attempt of the call may have been applied.
    pub(crate) earlier: Applied,
}

impl ApiFailure {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The API's own error object, when the body was the documented envelope.
    pub fn body(&self) -> Option<&ApiErrorBody> {
        self.body.as_deref()
    }

    /// The API's message, when it sent one.
    pub fn message(&self) -> Option<&str> {
        self.body.as_ref().map(|b| b.message.as_str())
    }

    /// The raw response body (capped; see
    /// [`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes)).
    pub fn raw_body(&self) -> &[u8] {
        &self.raw
    }
}

impl fmt::Debug for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiFailure")
            .field("status", &self.status)
            .field("body", &self.body)
            .field("raw", &String::from_utf8_lossy(&self.raw))
            .field("retry_after", &self.retry_after)
            .field("attempts", &self.attempts)
            .field("budget_exhausted", &self.budget_exhausted)
            .finish()
    }
}

/// A failure below HTTP: no usable response arrived.
#[derive(Debug)]
pub struct TransportFailure {
    pub(crate) source: Box<dyn std::error::Error + Send + Sync>,
    pub(crate) applied: Applied,
    pub(crate) attempts: u32,
    pub(crate) retryable: bool,
    /// The client's retry budget refused the next retry.
    pub(crate) budget_exhausted: bool,
    /// `host:port` that was tried.
    pub(crate) host: String,
}

impl TransportFailure {
    /// Whether the request may have taken effect.
    pub fn applied(&self) -> Applied {
        self.applied
    }

    /// The `host:port` the client tried to reach.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The underlying error, when reqwest reported it (a connection that
    /// could not be opened or broke); `None` when the client's own attempt
    /// timeout ended the attempt. [`std::error::Error::source`] on
    /// [`Error`] returns the same error, whatever its type.
    pub fn reqwest_error(&self) -> Option<&reqwest::Error> {
        self.source.downcast_ref()
    }
}

/// A success status whose body could not be decoded.
pub struct DecodeFailure {
    pub(crate) status: StatusCode,
    pub(crate) raw: Bytes,
    pub(crate) reason: String,
    pub(crate) attempts: u32,
}

impl DecodeFailure {
    /// The success status the server answered with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body as received (capped), for the caller to read itself.
    pub fn raw_body(&self) -> &[u8] {
        &self.raw
    }

    /// Why decoding failed.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Debug for DecodeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodeFailure")
            .field("status", &self.status)
            .field("raw", &String::from_utf8_lossy(&self.raw))
            .field("reason", &self.reason)
            .field("attempts", &self.attempts)
            .finish()
    }
}

/// Everything that can go wrong, from building a client to reading the
/// answer.
///
/// Match on the variant for the details, or ask the predicates
/// ([`status`](Self::status), [`is_retryable`](Self::is_retryable),
/// [`retry_after`](Self::retry_after), [`attempts`](Self::attempts),
/// [`applied`](Self::applied)). The API key never appears in an error,
/// in its `Display` or in its `Debug`: text the server sends back is
/// scrubbed of it too.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// 400: the server found the request invalid.
    BadRequest(ApiFailure),
    /// 401: the API key is missing or was rejected.
    Unauthorized(ApiFailure),
    /// 403: the key may not do this (creating a key in a workspace it has
    /// no rights to, for instance).
    Forbidden(ApiFailure),
    /// 404: no key with this hash exists (for this account). After a
    /// retry, [`applied`](Self::applied) tells the two cases apart: `No`
    /// when no attempt could have changed anything, so there was no such
    /// key; `Maybe` when an earlier attempt of the same call may have
    /// reached the server, as when a `DELETE` whose answer was lost is
    /// repeated and finds the key gone: most likely that earlier attempt
    /// deleted it.
    NotFound(ApiFailure),
    /// 429: rate limited, and retrying did not help within the budget.
    RateLimited(ApiFailure),
    /// 500: the server failed, and retrying did not help within the budget.
    InternalServer(ApiFailure),
    /// Any other status, including redirects (which are not followed) and
    /// success statuses other than the documented 200, such as 204 (after
    /// which [`applied`](Self::applied) is `Yes`).
    Status(ApiFailure),
    /// An attempt timed out, and no retry fitted the budget.
    Timeout(TransportFailure),
    /// The connection failed or broke.
    Connection(TransportFailure),
    /// The request is invalid and was not sent.
    InvalidRequest(String),
    /// The client could not be built.
    Config(String),
    /// The request WAS applied (the server answered with success), but its
    /// answer could not be decoded. The raw body is kept.
    Decode(DecodeFailure),
    /// [`Client::list_all_keys`](crate::Client::list_all_keys) read its
    /// page bound and the listing had not ended: a server whose pages never
    /// run out, or more keys than the bound allows (raise it with
    /// [`ListOptions::max_pages`](crate::ListOptions::max_pages)).
    PageLimit {
        /// Pages read.
        pages: u32,
        /// Keys read on them.
        keys: usize,
    },
    /// The response body was larger than the configured cap, so it was not
    /// read.
    ResponseTooLarge {
        /// The status of the oversized response.
        status: StatusCode,
        /// The cap, in bytes.
        limit: usize,
        /// Attempts made.
        attempts: u32,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Error::BadRequest(a) => api_message(a, "OpenRouter rejected the request as invalid"),
            Error::Unauthorized(a) => format!(
                "{}; check that the key is a valid management key",
                api_message(a, "OpenRouter did not accept the API key")
            ),
            Error::Forbidden(a) => api_message(a, "OpenRouter refused the request to this key"),
            Error::NotFound(a) => api_message(a, "no API key with this hash was found"),
            Error::RateLimited(a) => api_message(a, "OpenRouter is rate limiting these requests"),
            Error::InternalServer(a) => api_message(a, "OpenRouter had an internal error"),
            Error::Status(a) => api_message(a, "OpenRouter answered with an unexpected status"),
            Error::Timeout(t) => {
                transport_message(t, &format!("the request to {} timed out", t.host))
            }
            Error::Connection(t) => transport_message(
                t,
                &match t.applied {
                    Applied::No => format!("could not connect to {}", t.host),
                    _ => format!(
                        "the connection to {} broke before the answer arrived",
                        t.host
                    ),
                },
            ),
            Error::InvalidRequest(message) => {
                format!("invalid request, nothing was sent: {message}")
            }
            Error::Config(message) => format!("cannot build the client: {message}"),
            Error::Decode(d) => format!(
                "the request was applied (HTTP {}), but the response could not be decoded: {}{}",
                d.status.as_u16(),
                d.reason,
                attempts_suffix(d.attempts)
            ),
            Error::PageLimit { pages, keys } => format!(
                "the key listing had not ended after {pages} pages ({keys} keys); \
                 raise ListOptions::max_pages if the account has more keys"
            ),
            Error::ResponseTooLarge {
                status,
                limit,
                attempts,
            } => format!(
                "the response (HTTP {}) was larger than the {limit}-byte cap and was not read{}{}",
                status.as_u16(),
                if status.is_success() {
                    "; the request was applied"
                } else {
                    ""
                },
                attempts_suffix(*attempts)
            ),
        };
        f.write_str(&text)
    }
}

impl std::error::Error for Error {
    /// For [`Error::Timeout`] and [`Error::Connection`], the underlying
    /// error: a `reqwest::Error` (whose own sources lead to the I/O error),
    /// or the client's attempt timeout.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Timeout(t) | Error::Connection(t) => Some(&*t.source),
            _ => None,
        }
    }
}

fn attempts_suffix(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    }
}

fn api_message(f: &ApiFailure, what: &str) -> String {
    let mut out = format!("{what} (HTTP {})", f.status.as_u16());
    match &f.body {
        Some(body) => {
            out.push_str(": ");
            out.push_str(&excerpt(&body.message, 500));
        }
        None if !f.raw.is_empty() => {
            out.push_str("; the body was not the API's error envelope: ");
            out.push_str(&excerpt(&String::from_utf8_lossy(&f.raw), 200));
        }
        None => {}
    }
    if f.status.is_success() {
        out.push_str("; the status means success, so the request was applied");
    } else if f.earlier == Applied::Maybe {
        out.push_str("; an earlier attempt may have been applied");
    }
    if let Some(wait) = f.retry_after {
        out.push_str(&format!(
            "; the server asked to wait {:.1} s",
            wait.as_secs_f64()
        ));
    }
    out.push_str(&attempts_suffix(f.attempts));
    out.push_str(budget_suffix(f.budget_exhausted));
    out
}

/// What a message adds when the retry budget stopped the retries.
fn budget_suffix(budget_exhausted: bool) -> &'static str {
    if budget_exhausted {
        "; not retried again: the client's retry budget ran out (too many recent failures)"
    } else {
        ""
    }
}

/// Server-supplied text, fit for a message: at most `max` characters (then
/// `…`), line breaks and tabs as spaces, and no other control characters,
/// which a terminal printing the error would obey.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .by_ref()
        .take(max)
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

fn transport_message(f: &TransportFailure, what: &str) -> String {
    let mut out = if f.applied == Applied::Yes {
        // The status arrived and said success; only its body failed.
        "the request was applied (the server answered with success), but reading the answer failed"
            .to_owned()
    } else {
        what.to_owned()
    };
    // The error's own text plus its causes, which carry the useful part
    // ("connection refused").
    out.push_str(": ");
    out.push_str(&f.source.to_string());
    let mut cause = f.source.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    if f.applied == Applied::Maybe {
        out.push_str("; the request may have been applied");
    }
    out.push_str(&attempts_suffix(f.attempts));
    out.push_str(budget_suffix(f.budget_exhausted));
    out
}

impl Error {
    /// The HTTP status of the last response, if one arrived.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Decode(f) => Some(f.status),
            Error::ResponseTooLarge { status, .. } => Some(*status),
            _ => self.api_failure().map(|f| f.status),
        }
    }

    /// Whether the client's retry policy, as configured for the call that
    /// failed, counts this failure among those it retries, for this
    /// operation: the same classification the retry loop used. A call that
    /// returns a retryable error has already used its attempts, its time
    /// budget or the client's retry budget
    /// ([`is_retry_budget_exhausted`](Self::is_retry_budget_exhausted));
    /// trying the same call again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Timeout(t) | Error::Connection(t) => t.retryable,
            _ => self.api_failure().is_some_and(|f| f.retryable),
        }
    }

    /// How long the server asked to wait before trying again
    /// (`retry-after-ms` or `Retry-After` on the last response).
    pub fn retry_after(&self) -> Option<Duration> {
        self.api_failure().and_then(|f| f.retry_after)
    }

    /// How many attempts were made; 0 when nothing was sent.
    pub fn attempts(&self) -> u32 {
        match self {
            Error::Timeout(f) | Error::Connection(f) => f.attempts,
            Error::Decode(f) => f.attempts,
            Error::ResponseTooLarge { attempts, .. } => *attempts,
            _ => self.api_failure().map_or(0, |f| f.attempts),
        }
    }

    /// Whether the request took effect despite the error.
    pub fn applied(&self) -> Applied {
        match self {
            Error::Decode(_) => Applied::Yes,
            Error::ResponseTooLarge { status, .. } if status.is_success() => Applied::Yes,
            // A success status other than the documented 200 (a 204, say).
            Error::Status(f) if f.status.is_success() => Applied::Yes,
            Error::Timeout(f) | Error::Connection(f) => f.applied,
            _ => self.api_failure().map_or(Applied::No, |f| f.earlier),
        }
    }

    /// The API's own error object (`code`, `message`, `metadata`), when the
    /// server sent one.
    pub fn api_error(&self) -> Option<&ApiErrorBody> {
        self.api_failure().and_then(ApiFailure::body)
    }

    /// The raw body of the last response, when it was kept: for error
    /// statuses and for success bodies that could not be decoded.
    pub fn raw_body(&self) -> Option<&[u8]> {
        match self {
            Error::Decode(f) => Some(&f.raw),
            _ => self.api_failure().map(|f| &f.raw[..]),
        }
    }

    /// True for [`Error::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout(_))
    }

    /// Whether the call stopped retrying because the client's
    /// [`RetryBudget`](crate::RetryBudget) could not pay for another
    /// retry: many recent calls of this client failed, and its attempts
    /// and time budget would have allowed one more.
    pub fn is_retry_budget_exhausted(&self) -> bool {
        match self {
            Error::Timeout(t) | Error::Connection(t) => t.budget_exhausted,
            _ => self.api_failure().is_some_and(|f| f.budget_exhausted),
        }
    }

    fn api_failure(&self) -> Option<&ApiFailure> {
        match self {
            Error::BadRequest(f)
            | Error::Unauthorized(f)
            | Error::Forbidden(f)
            | Error::NotFound(f)
            | Error::RateLimited(f)
            | Error::InternalServer(f)
            | Error::Status(f) => Some(f),
            _ => None,
        }
    }

    /// Sorts an error response into its variant.
    pub(crate) fn from_status(failure: ApiFailure) -> Self {
        match failure.status.as_u16() {
            400 => Error::BadRequest(failure),
            401 => Error::Unauthorized(failure),
            403 => Error::Forbidden(failure),
            404 => Error::NotFound(failure),
            429 => Error::RateLimited(failure),
            500 => Error::InternalServer(failure),
            _ => Error::Status(failure),
        }
    }
}
