//! The one error type of the crate, and the one way to read it.

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

/// What kind of failure an [`Error`] is; [`Error::kind`] tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 400: the server found the request invalid.
    BadRequest,
    /// 401: the API key is missing or was rejected.
    Unauthorized,
    /// 403: the key may not do this (creating a key in a workspace it has
    /// no rights to, for instance).
    Forbidden,
    /// 404: no key with this hash exists (for this account). After a
    /// retry, [`Error::applied`] tells the two cases apart: `No` when no
    /// attempt could have changed anything, so there was no such key;
    /// `Maybe` when an earlier attempt of the same call may have reached
    /// the server, as when a `DELETE` whose answer was lost is repeated and
    /// finds the key gone: most likely that earlier attempt deleted it.
    NotFound,
    /// 429: rate limited, and retrying did not help within the budget.
    RateLimited,
    /// 500: the server failed, and retrying did not help within the budget.
    InternalServer,
    /// Any other status, including redirects (which are not followed) and
    /// success statuses other than the documented one, such as 204 (after
    /// which [`Error::applied`] is `Yes`).
    Status,
    /// An attempt timed out, and no retry fitted the budget.
    Timeout,
    /// The connection failed or broke.
    Connection,
    /// The request is invalid and was not sent.
    InvalidRequest,
    /// The client could not be built.
    Config,
    /// The request WAS applied (the server answered with success), but its
    /// answer could not be decoded. The raw body is kept
    /// ([`Error::raw_body`]), unless it held a created key's secret.
    Decode,
    /// [`Client::list_all_keys`](crate::Client::list_all_keys) read its
    /// page bound and the listing had not ended: a server whose pages never
    /// run out, or more keys than the bound allows (raise it with
    /// [`ListOptions::max_pages`](crate::ListOptions::max_pages)).
    PageLimit,
    /// The response body was larger than the configured cap, so it was not
    /// read.
    ResponseTooLarge,
    /// A [`SecretStore`](crate::SecretStore) failed to load or to keep a
    /// change; the job stopped, and its next run resumes from what the
    /// store holds. The message carries the store's own error as text,
    /// with any secret in it hidden.
    Store,
}

/// Everything that can go wrong, from building a client to reading the
/// answer.
///
/// Ask it what happened: [`kind`](Self::kind) sorts it, and the other
/// methods give the details that the kind has ([`status`](Self::status),
/// [`api_error`](Self::api_error), [`raw_body`](Self::raw_body),
/// [`retry_after`](Self::retry_after), [`attempts`](Self::attempts),
/// [`applied`](Self::applied), [`is_retryable`](Self::is_retryable), and
/// [`source`](std::error::Error::source) for a failure below HTTP). The
/// API key never appears in an error, in its `Display` or in its `Debug`:
/// text the server sends back is scrubbed of it, and of anything else that
/// looks like a key's secret (`sk-or-…`).
///
/// ```
/// # async fn demo(client: openrouter_keys::Client) {
/// use openrouter_keys::{Applied, ErrorKind, KeyUpdate};
///
/// match client.update_key("f01d5260…", &KeyUpdate::new().disabled(true)).await {
///     Ok(key) => println!("{} is disabled", key.hash),
///     Err(e) if e.kind() == ErrorKind::NotFound && e.applied() == Applied::No => {
///         println!("no such key")
///     }
///     Err(e) => eprintln!("{e}"),
/// }
/// # }
/// ```
pub struct Error(Box<Repr>);

struct Repr {
    kind: ErrorKind,
    /// The status of the answer, when one arrived.
    status: Option<StatusCode>,
    /// The API's error object, scrubbed.
    api: Option<ApiErrorBody>,
    /// The body as received (capped, scrubbed), where it is kept.
    raw: Bytes,
    retry_after: Option<Duration>,
    /// What the kind's message goes on to say: what was invalid, why
    /// decoding failed, where the client tried to connect.
    detail: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
    applied: Applied,
    attempts: u32,
    retryable: bool,
    budget_exhausted: bool,
}

impl Error {
    fn new(kind: ErrorKind, detail: String) -> Self {
        Error(Box::new(Repr {
            kind,
            status: None,
            api: None,
            raw: Bytes::new(),
            retry_after: None,
            detail,
            source: None,
            applied: Applied::No,
            attempts: 0,
            retryable: false,
            budget_exhausted: false,
        }))
    }

    /// A request that was not sent because it is invalid.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message.into())
    }

    /// A client that could not be built.
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message.into())
    }

    /// A store's failure that has no error of its own.
    pub(crate) fn store(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Store, message.into())
    }

    /// A store's own error, kept as its text (with its sources'), any
    /// secret in it hidden: a store of any kind may quote what it holds,
    /// and a source kept as it is would show it to whoever walks the
    /// chain.
    pub(crate) fn from_store(source: crate::StoreError) -> Self {
        let mut text = source.to_string();
        let mut cause = source.source();
        while let Some(inner) = cause {
            text.push_str(": ");
            text.push_str(&inner.to_string());
            cause = inner.source();
        }
        Self::store(crate::redact::secrets(&text))
    }

    pub(crate) fn page_limit(pages: u32, keys: usize) -> Self {
        Self::new(
            ErrorKind::PageLimit,
            format!(
                "the key listing had not ended after {pages} pages ({keys} keys); \
                 raise ListOptions::max_pages if the account has more keys"
            ),
        )
    }

    /// An answer with a status other than the operation's success: its
    /// envelope when it had one, its body, and the wait it asked for.
    pub(crate) fn answer(
        status: StatusCode,
        api: Option<ApiErrorBody>,
        raw: Bytes,
        retry_after: Option<Duration>,
    ) -> Self {
        let kind = match status.as_u16() {
            400 => ErrorKind::BadRequest,
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 => ErrorKind::NotFound,
            429 => ErrorKind::RateLimited,
            500 => ErrorKind::InternalServer,
            _ => ErrorKind::Status,
        };
        let mut error = Self::new(kind, String::new());
        let repr = &mut *error.0;
        repr.status = Some(status);
        repr.api = api;
        repr.raw = raw;
        repr.retry_after = retry_after;
        repr.applied = applied_by(status);
        error
    }

    /// An answer whose body was longer than `cap` and was not read.
    pub(crate) fn too_large(status: StatusCode, cap: usize) -> Self {
        let mut error = Self::new(ErrorKind::ResponseTooLarge, cap.to_string());
        error.0.status = Some(status);
        error.0.applied = applied_by(status);
        error
    }

    /// The operation's success status with a body that did not decode.
    pub(crate) fn decode(status: StatusCode, raw: Bytes, reason: String) -> Self {
        let mut error = Self::new(ErrorKind::Decode, reason);
        error.0.status = Some(status);
        error.0.raw = raw;
        error.0.applied = Applied::Yes;
        error
    }

    /// No usable answer: `applied` says how far the request got, `host`
    /// where it went; `status` is that of an answer whose body broke off.
    pub(crate) fn transport(
        status: Option<StatusCode>,
        source: Box<dyn std::error::Error + Send + Sync>,
        applied: Applied,
        timed_out: bool,
        host: String,
    ) -> Self {
        let kind = if timed_out {
            ErrorKind::Timeout
        } else {
            ErrorKind::Connection
        };
        let mut error = Self::new(kind, host);
        error.0.status = status;
        error.0.source = Some(source);
        error.0.applied = applied;
        error
    }

    /// What the call as a whole adds to its last attempt's error: how many
    /// attempts it made, whether an earlier one may have been applied,
    /// whether the policy would retry this failure, and whether the retry
    /// budget refused the retry that would have followed.
    pub(crate) fn ended(
        mut self,
        attempts: u32,
        earlier: Applied,
        retryable: bool,
        budget_exhausted: bool,
    ) -> Self {
        let repr = &mut *self.0;
        repr.attempts = attempts;
        repr.applied = repr.applied.max(earlier);
        repr.retryable = retryable;
        repr.budget_exhausted = budget_exhausted;
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The HTTP status of the last answer, if one arrived.
    pub fn status(&self) -> Option<StatusCode> {
        match self.0.kind {
            // An error answer whose body broke off keeps its status for the
            // retry decision, and is reported as the broken connection it is.
            ErrorKind::Timeout | ErrorKind::Connection => None,
            _ => self.0.status,
        }
    }

    /// The status that decides whether the policy retries this failure:
    /// that of the answer, even one whose body broke off.
    pub(crate) fn answered(&self) -> Option<StatusCode> {
        self.0.status
    }

    /// The API's own error object (`code`, `message`, `metadata`), when the
    /// server sent one.
    pub fn api_error(&self) -> Option<&ApiErrorBody> {
        self.0.api.as_ref()
    }

    /// The raw body of the last answer (capped; see
    /// [`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes)),
    /// when it was kept: for error statuses and for success bodies that
    /// could not be decoded, but never one that may hold a created key's
    /// secret.
    pub fn raw_body(&self) -> Option<&[u8]> {
        (!self.0.raw.is_empty()).then_some(&self.0.raw[..])
    }

    /// How long the server asked to wait before trying again
    /// (`retry-after-ms` or `Retry-After` on the last answer).
    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }

    /// How many attempts were made; 0 when nothing was sent.
    pub fn attempts(&self) -> u32 {
        self.0.attempts
    }

    /// Whether the request took effect despite the error, over all the
    /// call's attempts.
    pub fn applied(&self) -> Applied {
        self.0.applied
    }

    /// Whether the client's retry policy, as configured for the call that
    /// failed, counts this failure among those it retries, for this
    /// operation: the same classification the retry loop used. A call that
    /// returns a retryable error has already used its attempts, its time
    /// budget or the client's retry budget
    /// ([`is_retry_budget_exhausted`](Self::is_retry_budget_exhausted));
    /// trying the same call again later may succeed.
    pub fn is_retryable(&self) -> bool {
        self.0.retryable
    }

    /// True for [`ErrorKind::Timeout`].
    pub fn is_timeout(&self) -> bool {
        self.0.kind == ErrorKind::Timeout
    }

    /// Whether the call stopped retrying because the client's
    /// [`RetryBudget`](crate::RetryBudget) could not pay for another
    /// retry: many recent calls of this client failed, and its attempts
    /// and time budget would have allowed one more.
    pub fn is_retry_budget_exhausted(&self) -> bool {
        self.0.budget_exhausted
    }
}

/// Whether an answer with this status means the request was applied: a
/// success status says so; any other says the server refused it.
fn applied_by(status: StatusCode) -> Applied {
    if status.is_success() {
        Applied::Yes
    } else {
        Applied::No
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &*self.0;
        f.debug_struct("Error")
            .field("kind", &r.kind)
            .field("status", &r.status)
            .field("api_error", &r.api)
            .field("raw_body", &String::from_utf8_lossy(&r.raw))
            .field("retry_after", &r.retry_after)
            .field("detail", &r.detail)
            .field("source", &r.source)
            .field("applied", &r.applied)
            .field("attempts", &r.attempts)
            .field("retryable", &r.retryable)
            .field("budget_exhausted", &r.budget_exhausted)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &*self.0;
        let status = r.status.map_or(0, |s| s.as_u16());
        let what = match r.kind {
            ErrorKind::BadRequest => "OpenRouter rejected the request as invalid",
            ErrorKind::Unauthorized => "OpenRouter did not accept the API key",
            ErrorKind::Forbidden => "OpenRouter refused the request to this key",
            ErrorKind::NotFound => "no API key with this hash was found",
            ErrorKind::RateLimited => "OpenRouter is rate limiting these requests",
            ErrorKind::InternalServer => "OpenRouter had an internal error",
            ErrorKind::Status => "OpenRouter answered with an unexpected status",
            ErrorKind::InvalidRequest => {
                return write!(f, "invalid request, nothing was sent: {}", r.detail);
            }
            ErrorKind::Config => return write!(f, "cannot build the client: {}", r.detail),
            ErrorKind::PageLimit => return f.write_str(&r.detail),
            ErrorKind::Store => {
                f.write_str("the secret store failed")?;
                if !r.detail.is_empty() {
                    write!(f, ": {}", r.detail)?;
                }
                return Ok(());
            }
            ErrorKind::Decode => {
                write!(
                    f,
                    "the request was applied (HTTP {status}), but the response could not be \
                     decoded: {}",
                    r.detail
                )?;
                return f.write_str(&attempts_suffix(r.attempts));
            }
            ErrorKind::ResponseTooLarge => {
                write!(
                    f,
                    "the response (HTTP {status}) was larger than the {}-byte cap and was not read",
                    r.detail
                )?;
                if r.applied == Applied::Yes {
                    f.write_str("; the request was applied")?;
                }
                return f.write_str(&attempts_suffix(r.attempts));
            }
            ErrorKind::Timeout | ErrorKind::Connection => return self.fmt_transport(f),
        };
        write!(f, "{what} (HTTP {status})")?;
        match &r.api {
            Some(body) => write!(f, ": {}", excerpt(&body.message, 500))?,
            None if !r.raw.is_empty() => write!(
                f,
                "; the body was not the API's error envelope: {}",
                excerpt(&String::from_utf8_lossy(&r.raw), 200)
            )?,
            None => {}
        }
        if r.status.is_some_and(|s| s.is_success()) {
            f.write_str("; the status means success, so the request was applied")?;
        } else if r.applied == Applied::Maybe {
            f.write_str("; an earlier attempt may have been applied")?;
        }
        if let Some(wait) = r.retry_after {
            write!(f, "; the server asked to wait {:.1} s", wait.as_secs_f64())?;
        }
        f.write_str(&attempts_suffix(r.attempts))?;
        f.write_str(budget_suffix(r.budget_exhausted))?;
        if r.kind == ErrorKind::Unauthorized {
            f.write_str("; check that the key is a valid management key")?;
        }
        Ok(())
    }
}

impl Error {
    fn fmt_transport(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &*self.0;
        let host = &r.detail;
        match (r.kind, r.applied) {
            // The status arrived and said success; only its body failed.
            (_, Applied::Yes) => f.write_str(
                "the request was applied (the server answered with success), but reading the \
                 answer failed",
            )?,
            (ErrorKind::Timeout, _) => write!(f, "the request to {host} timed out")?,
            (_, Applied::No) => write!(f, "could not connect to {host}")?,
            (_, Applied::Maybe) => write!(
                f,
                "the connection to {host} broke before the answer arrived"
            )?,
        }
        // The error's own text plus its causes, which carry the useful part
        // ("connection refused").
        let mut cause = r.source.as_deref().map(|s| s as &dyn std::error::Error);
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        if r.applied == Applied::Maybe {
            f.write_str("; the request may have been applied")?;
        }
        f.write_str(&attempts_suffix(r.attempts))?;
        f.write_str(budget_suffix(r.budget_exhausted))
    }
}

impl std::error::Error for Error {
    /// For [`ErrorKind::Timeout`] and [`ErrorKind::Connection`], the
    /// underlying error: a `reqwest::Error` (whose own sources lead to the
    /// I/O error), or the client's attempt timeout.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

fn attempts_suffix(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    }
}

/// What a message adds when the retry budget stopped the retries.
fn budget_suffix(budget_exhausted: bool) -> &'static str {
    if budget_exhausted {
        "; not retried again: the client's retry budget ran out (too many recent failures)"
    } else {
        ""
    }
}

/// Foreign text (a server's, or a caller's value), fit for a message: at
/// most `max` characters (then `…`), line breaks and tabs as spaces, no
/// other control characters (which a terminal printing the error would
/// obey), and no key secrets (see [`crate::redact::secrets`]).
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let text = crate::redact::secrets(text);
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
