//! The one seam between the generated client and the network:
//! `ClientHooks::exec`. Authentication, the retry loop, per-attempt
//! timeouts and the response-size cap all live here.

use std::{cell::RefCell, sync::Arc, time::Duration};

use bytes::{Bytes, BytesMut};
use progenitor_client::{ClientHooks, OperationInfo};
use reqwest::{
    Request, Response, ResponseBuilderExt, StatusCode, Url, Version,
    header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue},
};
use tokio::time::Instant;

use crate::{Applied, RetryConfig, generated};

/// What the generated `Client` carries for us: fixed per client.
#[derive(Clone)]
pub(crate) struct Inner {
    /// `Bearer <key>`, marked sensitive; its bytes are wiped when the last
    /// clone is dropped (see [`crate::secret`]).
    pub(crate) auth: HeaderValue,
    /// User agent and attribution headers, sent on every attempt.
    pub(crate) headers: Arc<HeaderMap>,
    /// The client's defaults, used when a call brings no overrides.
    pub(crate) defaults: CallOptions,
    /// The largest response body that is read.
    pub(crate) max_response_bytes: usize,
    /// The total timeout the reqwest client applies by itself (the one
    /// `ClientBuilder` builds: the default attempt timeout; a caller's
    /// client: unknown, so `None`). A request that needs just this one is
    /// sent without a timeout of its own: setting one costs reqwest a map
    /// and a box in the request's extensions, on every call.
    pub(crate) client_timeout: Option<Duration>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("auth", &"Bearer [redacted]")
            .field("headers", &self.headers)
            .field("defaults", &self.defaults)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("client_timeout", &self.client_timeout)
            .finish()
    }
}

impl Inner {
    /// The API key, for scrubbing it out of text the server sends back.
    pub(crate) fn key(&self) -> &[u8] {
        self.auth
            .as_bytes()
            .strip_prefix(b"Bearer ")
            .unwrap_or_default()
    }
}

/// Settings that one call may override.
#[derive(Clone, Debug)]
pub(crate) struct CallOptions {
    pub(crate) retry: RetryConfig,
    pub(crate) attempt_timeout: Duration,
    pub(crate) headers: Option<Arc<HeaderMap>>,
}

tokio::task_local! {
    /// The call in progress: its options going in, its report coming out.
    /// Scoped around the generated method by [`crate::Client`], so that the
    /// generated code needs to know nothing about either.
    pub(crate) static CALL: Call;
}

pub(crate) struct Call {
    pub(crate) options: CallOptions,
    pub(crate) report: RefCell<Report>,
}

/// What the transport saw, for building a precise error.
#[derive(Default)]
pub(crate) struct Report {
    pub(crate) attempts: u32,
    /// Status of the last response, when one arrived.
    pub(crate) status: Option<StatusCode>,
    /// The server's wait hint on the last response.
    pub(crate) retry_after: Option<Duration>,
    /// The last response body as read.
    pub(crate) body: Bytes,
    /// The last response was over the size cap.
    pub(crate) too_large: bool,
    /// Whether the last failed attempt may have reached the server.
    pub(crate) applied: Option<Applied>,
}

fn report(f: impl FnOnce(&mut Report)) {
    // Outside a call scope (never, in this crate) there is nobody to tell.
    let _ = CALL.try_with(|call| f(&mut call.report.borrow_mut()));
}

/// One attempt's result, with the body already read.
enum Outcome {
    Response {
        head: Head,
        body: Bytes,
    },
    TooLarge {
        head: Head,
    },
    Failed {
        error: reqwest::Error,
        status: Option<StatusCode>,
    },
}

/// A response without its body, to be given a body again.
struct Head {
    status: StatusCode,
    version: Version,
    url: Url,
    headers: HeaderMap,
    /// What the connection left there (reqwest's `remote_addr` reads it).
    extensions: http::Extensions,
}

impl ClientHooks<Inner> for generated::Client {
    async fn exec(&self, mut request: Request, _info: &OperationInfo) -> reqwest::Result<Response> {
        let inner = &self.inner;
        let options = CALL
            .try_with(|call| call.options.clone())
            .unwrap_or_else(|_| inner.defaults.clone());
        prepare(&mut request, inner, &options);

        let retry = options.retry;
        let start = Instant::now();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            // Keep a copy only while another attempt could follow.
            let spare = if attempt < retry.max_attempts() {
                request.try_clone()
            } else {
                None
            };
            let left = retry.max_elapsed().saturating_sub(start.elapsed());
            let timeout = options.attempt_timeout.min(left);
            if inner.client_timeout != Some(timeout) {
                *request.timeout_mut() = Some(timeout);
            }
            report(|r| r.attempts = attempt);

            let outcome = send(&self.client, request, inner.max_response_bytes).await;
            let elapsed = start.elapsed();
            let decision = decide(&retry, &outcome, attempt, spare.is_some(), elapsed);
            log_attempt(attempt, &outcome, &decision, elapsed);
            match (decision, spare) {
                (Decision::Retry { delay, .. }, Some(spare)) => {
                    // Dropping the call's future here cancels the wait.
                    tokio::time::sleep(delay).await;
                    request = spare;
                }
                _ => return finish(outcome),
            }
        }
    }
}

/// Applies the headers every attempt carries. The generated code adds an
/// `api-version` header taken from the spec's `info.version`; OpenRouter
/// documents no such header, so it is not sent.
fn prepare(request: &mut Request, inner: &Inner, options: &CallOptions) {
    let headers = request.headers_mut();
    // A constant name: removing by `&str` would parse the name on every call.
    headers.remove(API_VERSION);
    for (name, value) in inner.headers.iter() {
        headers.insert(name.clone(), value.clone());
    }
    if let Some(extra) = &options.headers {
        for (name, value) in extra.iter() {
            headers.insert(name.clone(), value.clone());
        }
    }
    // Last, so that no extra header can replace it.
    headers.insert(AUTHORIZATION, inner.auth.clone());
}

async fn send(client: &reqwest::Client, request: Request, cap: usize) -> Outcome {
    let mut response = match client.execute(request).await {
        Ok(response) => response,
        Err(error) => {
            return Outcome::Failed {
                error,
                status: None,
            };
        }
    };
    let status = response.status();
    let head = Head {
        status,
        version: response.version(),
        url: response.url().clone(),
        headers: std::mem::take(response.headers_mut()),
        extensions: std::mem::take(response.extensions_mut()),
    };
    match read_capped(&mut response, cap).await {
        Ok(Some(body)) => Outcome::Response { head, body },
        Ok(None) => Outcome::TooLarge { head },
        Err(error) => Outcome::Failed {
            error,
            status: Some(status),
        },
    }
}

/// Reads the whole body, or nothing if it is longer than `cap`. A body
/// that arrives in one chunk is kept without copying.
async fn read_capped(response: &mut Response, cap: usize) -> reqwest::Result<Option<Bytes>> {
    let declared = response.content_length();
    if declared.is_some_and(|len| len > cap as u64) {
        return Ok(None);
    }
    let mut first: Option<Bytes> = None;
    let mut rest: Option<BytesMut> = None;
    while let Some(chunk) = response.chunk().await? {
        let so_far = first.as_ref().map_or(0, Bytes::len) + rest.as_ref().map_or(0, BytesMut::len);
        if so_far + chunk.len() > cap {
            return Ok(None);
        }
        match (&mut first, &mut rest) {
            (None, _) => first = Some(chunk),
            (Some(head), None) => {
                let hint = declared
                    .map_or(0, |len| len as usize)
                    .max(head.len() + chunk.len());
                let mut buf = BytesMut::with_capacity(hint.min(cap));
                buf.extend_from_slice(head);
                buf.extend_from_slice(&chunk);
                rest = Some(buf);
            }
            (Some(_), Some(buf)) => buf.extend_from_slice(&chunk),
        }
    }
    Ok(Some(match rest {
        Some(buf) => buf.freeze(),
        None => first.unwrap_or_default(),
    }))
}

enum Decision {
    Retry { delay: Duration, why: &'static str },
    Stop { why: &'static str },
}

/// Whether and when to try again. Pure apart from the random jitter.
fn decide(
    retry: &RetryConfig,
    outcome: &Outcome,
    attempt: u32,
    may_retry: bool,
    elapsed: Duration,
) -> Decision {
    let hint = match outcome {
        Outcome::Response {
            head: Head {
                status, headers, ..
            },
            ..
        } => {
            if !retry.retries_status(*status) {
                return Decision::Stop {
                    why: if status.is_success() {
                        "success"
                    } else {
                        "status is not retried"
                    },
                };
            }
            crate::retry::retry_after(headers, std::time::SystemTime::now())
        }
        Outcome::TooLarge { .. } => {
            return Decision::Stop {
                why: "response over the size cap",
            };
        }
        Outcome::Failed { error, status } => {
            let retried = match (status, applied_by(error, *status)) {
                // The answer said success and then broke: the update is in.
                (_, Applied::Yes) => false,
                (Some(status), _) => retry.retries_status(*status),
                (None, Applied::No) => retry.retries_connection_errors(),
                (None, _) => {
                    retry.retries_unknown_outcome()
                        && if error.is_timeout() {
                            retry.retries_timeouts()
                        } else {
                            retry.retries_connection_errors()
                        }
                }
            };
            if !retried {
                return Decision::Stop {
                    why: "failure is not retried",
                };
            }
            None
        }
    };
    if !may_retry {
        return Decision::Stop {
            why: "no attempts left",
        };
    }
    let backoff = retry.jittered_backoff(attempt, fastrand::f64());
    let (delay, why) = match hint {
        Some(asked) if asked > retry.max_retry_after() => {
            return Decision::Stop {
                why: "server asked to wait longer than max_retry_after",
            };
        }
        Some(asked) if asked >= backoff => (asked, "server's retry-after"),
        _ => (backoff, "backoff"),
    };
    // Saturating: a server may ask for 2^64-1 seconds, and a caller may
    // lift the caps to Duration::MAX.
    if elapsed
        .saturating_add(delay)
        .saturating_add(retry.min_attempt_time())
        > retry.max_elapsed()
    {
        return Decision::Stop {
            why: "the wait would not fit the time budget",
        };
    }
    Decision::Retry { delay, why }
}

/// Whether a failed attempt may have changed the key.
fn applied_by(error: &reqwest::Error, status: Option<StatusCode>) -> Applied {
    match status {
        Some(status) if status.is_success() => Applied::Yes,
        Some(_) => Applied::No,
        // Failing to connect means nothing was sent. Anything later (a
        // reset, a timeout waiting for the answer) leaves it open.
        None if error.is_connect() => Applied::No,
        None => Applied::Maybe,
    }
}

/// Hands the last outcome to the generated code, and records what the
/// error mapping needs.
fn finish(outcome: Outcome) -> reqwest::Result<Response> {
    match outcome {
        Outcome::Response { head, body } => {
            // The generated code decodes a 200 and keeps its body itself
            // should that fail; only another status becomes an error built
            // from the body and the wait hint, so only then are they kept.
            let kept = (head.status != StatusCode::OK).then(|| {
                let hint = crate::retry::retry_after(&head.headers, std::time::SystemTime::now());
                (hint, body.clone())
            });
            report(|r| {
                r.status = Some(head.status);
                if let Some((hint, copy)) = kept {
                    r.retry_after = hint;
                    r.body = copy;
                }
            });
            Ok(rebuild(head, body))
        }
        Outcome::TooLarge { head } => {
            report(|r| {
                r.status = Some(head.status);
                r.too_large = true;
            });
            // The generated code sees an empty body; `Client` reports the
            // cap instead of whatever that decodes to.
            Ok(rebuild(head, Bytes::new()))
        }
        Outcome::Failed { error, status } => {
            let applied = applied_by(&error, status);
            report(|r| {
                r.status = status;
                r.applied = Some(applied);
            });
            Err(error)
        }
    }
}

/// Gives the response its body back, keeping its URL and extensions (so
/// reqwest need not invent a placeholder URL for it).
fn rebuild(head: Head, body: Bytes) -> Response {
    // The builder is the only way to put the URL where reqwest looks for
    // it; it goes into the response's own extensions map, so nothing new
    // is allocated. It cannot fail with nothing else set, but should it,
    // the response merely loses its URL.
    let mut builder = http::Response::builder();
    if let Some(extensions) = builder.extensions_mut() {
        *extensions = head.extensions;
    }
    let mut response = match builder.url(head.url).body(()) {
        Ok(response) => response.map(|()| body),
        Err(_) => http::Response::new(body),
    };
    *response.status_mut() = head.status;
    *response.version_mut() = head.version;
    *response.headers_mut() = head.headers;
    Response::from(response)
}

fn log_attempt(attempt: u32, outcome: &Outcome, decision: &Decision, elapsed: Duration) {
    let (status, error_kind) = match outcome {
        Outcome::Response { head, .. } | Outcome::TooLarge { head } => {
            (Some(head.status.as_u16()), None)
        }
        Outcome::Failed { error, status } => (status.map(|s| s.as_u16()), Some(error_kind(error))),
    };
    let elapsed_ms = elapsed.as_millis() as u64;
    match decision {
        Decision::Retry { delay, why } => tracing::debug!(
            attempt,
            status,
            error = error_kind,
            elapsed_ms,
            delay_ms = delay.as_millis() as u64,
            reason = why,
            "attempt failed; retrying"
        ),
        Decision::Stop { why } => tracing::debug!(
            attempt,
            status,
            error = error_kind,
            elapsed_ms,
            reason = why,
            "attempt finished"
        ),
    }
}

fn error_kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if error.is_body() {
        "body"
    } else if error.is_request() {
        "request"
    } else {
        "other"
    }
}

/// The header progenitor adds from the spec's `info.version`.
const API_VERSION: HeaderName = HeaderName::from_static("api-version");

/// Header names used by the builder.
pub(crate) const HTTP_REFERER: HeaderName = HeaderName::from_static("http-referer");
pub(crate) const X_OPENROUTER_TITLE: HeaderName = HeaderName::from_static("x-openrouter-title");
