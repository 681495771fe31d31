//! The retry driver, and the one reader of answers: every operation goes
//! through [`Call::run`].
//!
//! A public method validates its input, names its [`Operation`], and hands
//! the driver a closure that calls the generated method. The driver owns
//! everything between: the attempts, the per-attempt timeout cut to what is
//! left of the budget, the server's wait hints, the jittered backoff, the
//! retry budget it shares with the client's other calls, and what happened,
//! as one [`Error`] with its `attempts()` and `applied()`.
//!
//! # One way for every answer
//!
//! build.rs makes each generated method hand its answer back unread (as
//! progenitor's `UnexpectedResponse`), success or not, so a success and an
//! error answer take the same way: `exec` sends, the generated method
//! returns the answer, and [`Call::read`] reads it once. That is where the
//! status is compared with the operation's success, the wait hint is
//! parsed, the body is read within its cap, and the body is decoded: into
//! the type that the generated method's signature names, or into the
//! error envelope. Each failure becomes an [`Error`] at once, and the
//! retry policy reads that same value.
//!
//! # Why the retries are here, and not in `ClientHooks::exec`
//!
//! Retrying inside `exec` means keeping a copy of the request while the
//! first attempt runs, in case a second one follows: six allocations on
//! every call, though nearly every call succeeds at once. Here, a retry
//! calls the generated method again, which builds the request afresh; the
//! first attempt copies nothing.
//!
//! The attempt timeout is reqwest's, set per clone by `exec`: it covers
//! connecting, the answer's head and its body, and says which it cut, so a
//! success whose body came too late is known to have been applied. Only
//! when less of the budget is left than an attempt may take does the driver
//! add a timeout of its own around the attempt; that one cannot tell the
//! phases apart, so its failure may have been applied. Both run on the
//! tokio clock, so paused-clock tests drive them.

use std::{future::Future, time::Duration};

use bytes::{Bytes, BytesMut};
use progenitor_client::{Error as Raw, ResponseValue};
use reqwest::Response;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tracing::Instrument;

use crate::{
    Applied, Error, ErrorKind, RetryConfig,
    budget::SharedBudget,
    generated,
    generated::types::ErrorResponse,
    operation::Operation,
    pace::{Outcome, Pacer},
    redact,
};

type Generated<T> = Result<ResponseValue<T>, Raw<ErrorResponse>>;

/// What one call runs with: the generated client (with the key, headers
/// and timeout of this clone), the retry policy and the shared budget.
pub(crate) struct Call<'a> {
    pub(crate) raw: &'a generated::Client,
    pub(crate) retry: &'a RetryConfig,
    pub(crate) budget: &'a SharedBudget,
    /// For a paced client: what every attempt waits for, and tells how it
    /// ended (see [`crate::pace`]).
    pub(crate) pacer: Option<&'a Pacer>,
}

/// The error of an attempt that the driver cut to what was left of the
/// time budget.
#[derive(Debug)]
struct AttemptTimedOut(Duration, Applied);

impl std::fmt::Display for AttemptTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.1 {
            Applied::No => write!(
                f,
                "the {:?} left of the time budget went in waiting for the server's rate \
                 limit; nothing was sent",
                self.0
            ),
            _ => write!(
                f,
                "the {:?} left of the time budget ran out before an answer",
                self.0
            ),
        }
    }
}

impl std::error::Error for AttemptTimedOut {}

impl Call<'_> {
    /// Runs `send` (one call of a generated method) until it succeeds, the
    /// policy says stop, or the budget runs out.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        op: Operation,
        hash: Option<&str>,
        mut send: F,
    ) -> Result<T, Error>
    where
        T: DeserializeOwned,
        F: FnMut() -> Fut,
        Fut: Future<Output = Generated<T>>,
    {
        let span = tracing::debug_span!("openrouter_keys", operation_id = op.id(), hash);
        async {
            let retry = self.retry;
            let start = Instant::now();
            let mut attempt: u32 = 0;
            // Whether an earlier attempt may have been applied: then so may
            // the call, whatever the last attempt says.
            let mut earlier = Applied::No;
            loop {
                attempt += 1;
                // Nothing of the budget is spent before the first attempt.
                let left = match attempt {
                    1 => retry.max_elapsed(),
                    _ => retry.max_elapsed().saturating_sub(start.elapsed()),
                };
                // Each branch builds the attempt's future in place: it is
                // large, and moving it costs a copy. The rare ones are
                // boxed, so that the usual call's future does not grow by
                // a timer or a pacer's permit.
                let result = if let Some(pacer) = self.pacer {
                    Box::pin(self.paced(pacer, op, &mut send, left)).await
                } else if left < self.raw.inner.attempt_timeout {
                    tokio::time::timeout(left, Box::pin(self.attempt(op, &mut send)))
                        .await
                        .unwrap_or_else(|_| Err(self.cut(left, Applied::Maybe)))
                } else {
                    self.attempt(op, &mut send).await
                };
                let error = match result {
                    Ok(value) => {
                        self.budget.succeeded(retry.budget());
                        tracing::debug!(
                            attempt,
                            status = op.success_status(),
                            elapsed_ms = start.elapsed().as_millis() as u64,
                            reason = "success",
                            "attempt finished"
                        );
                        return Ok(value);
                    }
                    Err(error) => error,
                };
                let retryable = retry.retries(&error, op.is_idempotent());
                let elapsed = start.elapsed();
                let (delay, why) = if !retryable {
                    (None, "not retried")
                } else if attempt >= retry.max_attempts() {
                    (None, "no attempts left")
                } else {
                    wait(retry, &error, attempt, elapsed)
                };
                // Asked last, so that only a retry that will be made takes
                // from the budget.
                let refused =
                    delay.is_some() && !self.budget.try_retry(retry.budget(), error.is_timeout());
                let (delay, why) = match refused {
                    true => (None, "the client's retry budget ran out"),
                    false => (delay, why),
                };
                log_attempt(attempt, &error, delay, why, elapsed);
                let Some(delay) = delay else {
                    return Err(error.ended(attempt, earlier, retryable, refused));
                };
                earlier = earlier.max(error.applied());
                // Dropping the call's future here cancels the wait. Boxed
                // for the same reason: only a retry waits.
                Box::pin(tokio::time::sleep(delay)).await;
            }
        }
        .instrument(span)
        .await
    }

    /// One attempt of a paced client: its turn from the pacer, then the
    /// attempt, within what is `left` of the call's time, then what the
    /// pacer learns from it.
    async fn paced<T, Fut>(
        &self,
        pacer: &Pacer,
        op: Operation,
        send: &mut impl FnMut() -> Fut,
        left: Duration,
    ) -> Result<T, Error>
    where
        T: DeserializeOwned,
        Fut: Future<Output = Generated<T>>,
    {
        // The wait for a turn counts against the call's time, and ends it
        // with nothing sent when that runs out.
        let waited = Instant::now();
        let Ok(permit) = tokio::time::timeout(left, pacer.acquire()).await else {
            return Err(self.cut(left, Applied::No));
        };
        // A wait that leaves too little time for an attempt ends the call
        // here, rather than with a request cut short in flight.
        let waited = waited.elapsed();
        if !waited.is_zero() && left.saturating_sub(waited) < crate::retry::MIN_ATTEMPT_TIME {
            return Err(self.cut(left, Applied::No));
        }
        let left = left - waited;
        // Past the attempt timeout, reqwest's own cut comes first.
        let result = tokio::time::timeout(left, self.attempt(op, send))
            .await
            .unwrap_or_else(|_| Err(self.cut(left, Applied::Maybe)));
        permit.finish(match &result {
            Ok(_) => Outcome::Success,
            // Paused as asked (1 s when not), and no longer than the retry
            // policy would wait.
            Err(e) if e.kind() == ErrorKind::RateLimited => Outcome::RateLimited(
                e.retry_after()
                    .unwrap_or(Duration::from_secs(1))
                    .min(self.retry.max_retry_after()),
            ),
            Err(_) => Outcome::Other,
        });
        result
    }

    /// The error of an attempt cut short at what was `left` of the call's
    /// time: `applied` is [`Applied::No`] when it was cut before sending.
    fn cut(&self, left: Duration, applied: Applied) -> Error {
        Error::transport(
            None,
            Box::new(AttemptTimedOut(left, applied)),
            applied,
            true,
            self.host(),
        )
    }

    /// One attempt: the generated method sends the request and hands its
    /// answer back unread (see build.rs), and [`read`](Self::read) reads it.
    async fn attempt<T, Fut>(
        &self,
        op: Operation,
        send: &mut impl FnMut() -> Fut,
    ) -> Result<T, Error>
    where
        T: DeserializeOwned,
        Fut: Future<Output = Generated<T>>,
    {
        // Called here rather than by the caller, so that the generated
        // method's future is built where it is polled, not moved there.
        let failure = match send().await {
            Err(Raw::UnexpectedResponse(response)) => return self.read(op, response).await,
            Err(Raw::CommunicationError(error)) if error.is_builder() => {
                return Err(Error::invalid(format!(
                    "the request could not be built: {}",
                    self.scrub(&error.to_string())
                )));
            }
            Err(Raw::InvalidRequest(message) | Raw::Custom(message)) => {
                return Err(Error::invalid(self.scrub(&message).into_owned()));
            }
            Err(Raw::CommunicationError(error) | Raw::InvalidUpgrade(error)) => error,
            // Not produced: the generated method decodes nothing.
            Ok(value) => return Ok(value.into_inner()),
            Err(other) => {
                return Err(Error::transport(
                    None,
                    Box::new(other),
                    Applied::Maybe,
                    false,
                    self.host(),
                ));
            }
        };
        // Failing to connect means nothing was sent. Anything later (a
        // reset, the attempt's timeout) leaves it open.
        let applied = if failure.is_connect() {
            Applied::No
        } else {
            Applied::Maybe
        };
        let timed_out = failure.is_timeout();
        Err(Error::transport(
            None,
            Box::new(failure),
            applied,
            timed_out,
            self.host(),
        ))
    }

    /// Reads an answer: its body within the cap, decoded into `T` when the
    /// status is the operation's success, else kept (scrubbed) in the
    /// error, with the envelope and the wait hint.
    async fn read<T: DeserializeOwned>(
        &self,
        op: Operation,
        response: Response,
    ) -> Result<T, Error> {
        let status = response.status();
        let success = status.as_u16() == op.success_status();
        let retry_after = (!status.is_success())
            .then(|| crate::retry::retry_after(response.headers(), std::time::SystemTime::now()))
            .flatten();
        let cap = self.raw.inner.max_response_bytes;
        let body = match capped(response, cap).await {
            Ok(body) => body,
            Err(Capped::TooLarge) => return Err(Error::too_large(status, cap)),
            Err(Capped::Broken(error)) => {
                let applied = if status.is_success() {
                    Applied::Yes
                } else {
                    Applied::No
                };
                let timed_out = error.is_timeout();
                return Err(Error::transport(
                    Some(status),
                    Box::new(error),
                    applied,
                    timed_out,
                    self.host(),
                ));
            }
        };
        if success {
            return serde_json::from_slice(&body).map_err(|error| {
                if op.answers_with_secret() {
                    // serde_json's message may quote any part of a body
                    // that holds the created key's secret: keep neither.
                    Error::decode(
                        status,
                        Bytes::new(),
                        "the body does not match the documented answer (withheld: it may hold \
                         the created key's secret)"
                            .to_owned(),
                    )
                } else {
                    Error::decode(
                        status,
                        self.scrub_bytes(body),
                        crate::error::excerpt(&self.scrub(&error.to_string()), 500),
                    )
                }
            });
        }
        // A success status other than the documented one may carry the
        // created key's secret too.
        let raw = if op.answers_with_secret() && status.is_success() {
            Bytes::new()
        } else {
            self.scrub_bytes(body)
        };
        let api = serde_json::from_slice::<ErrorResponse>(&raw)
            .ok()
            .map(|envelope| redact::api_error(envelope.error, self.raw.inner.key()));
        Err(Error::answer(status, api, raw, retry_after))
    }

    fn scrub<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        redact::text(text, self.raw.inner.key())
    }

    fn scrub_bytes(&self, body: Bytes) -> Bytes {
        redact::bytes(body, self.raw.inner.key())
    }

    /// `host:port` of the base URL, for messages.
    fn host(&self) -> String {
        reqwest::Url::parse(&self.raw.baseurl)
            .ok()
            .and_then(|url| {
                let host = url.host_str()?.to_owned();
                Some(match url.port_or_known_default() {
                    Some(port) => format!("{host}:{port}"),
                    None => host,
                })
            })
            .unwrap_or_else(|| "the server".to_owned())
    }
}

/// Why a body was not read.
enum Capped {
    /// It is longer than the cap; what was read of it is dropped.
    TooLarge,
    /// It broke off, or its attempt timed out.
    Broken(reqwest::Error),
}

/// The whole body, or why not: a declared length over the cap is refused
/// before anything is read, and a body of unknown length is read as it
/// comes and dropped at the cap.
async fn capped(mut response: Response, cap: usize) -> Result<Bytes, Capped> {
    match response.content_length() {
        Some(len) if len > cap as u64 => Err(Capped::TooLarge),
        Some(_) => response.bytes().await.map_err(Capped::Broken),
        None => {
            let mut body = BytesMut::new();
            while let Some(chunk) = response.chunk().await.map_err(Capped::Broken)? {
                if body.len() + chunk.len() > cap {
                    return Err(Capped::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body.freeze())
        }
    }
}

/// The wait before the next attempt, or why there is none.
fn wait(
    retry: &RetryConfig,
    error: &Error,
    attempt: u32,
    elapsed: Duration,
) -> (Option<Duration>, &'static str) {
    let backoff = retry.jittered_backoff(attempt, fastrand::f64());
    let (delay, why) = match error.retry_after() {
        Some(asked) if asked > retry.max_retry_after() => {
            return (None, "server asked to wait longer than max_retry_after");
        }
        Some(asked) if asked >= backoff => (asked, "server's retry-after"),
        _ => (backoff, "backoff"),
    };
    // Saturating: a server may ask for 2^64-1 seconds, and a caller may
    // lift the caps to Duration::MAX.
    let needed = elapsed
        .saturating_add(delay)
        .saturating_add(crate::retry::MIN_ATTEMPT_TIME);
    if needed > retry.max_elapsed() {
        return (None, "the wait would not fit the time budget");
    }
    (Some(delay), why)
}

fn log_attempt(
    attempt: u32,
    error: &Error,
    delay: Option<Duration>,
    why: &'static str,
    elapsed: Duration,
) {
    let status = error.answered().map(|s| s.as_u16());
    let error = match (error.kind(), error.applied()) {
        (ErrorKind::Timeout, _) => Some("timeout"),
        (ErrorKind::Connection, Applied::No) if status.is_some() => Some("body"),
        (ErrorKind::Connection, Applied::No) => Some("connect"),
        (ErrorKind::Connection, Applied::Yes) => Some("body"),
        (ErrorKind::Connection, Applied::Maybe) => Some("connection"),
        _ => None,
    };
    let elapsed_ms = elapsed.as_millis() as u64;
    match delay {
        Some(delay) => tracing::debug!(
            attempt,
            status,
            error,
            elapsed_ms,
            delay_ms = delay.as_millis() as u64,
            reason = why,
            "attempt failed; retrying"
        ),
        None => tracing::debug!(
            attempt,
            status,
            error,
            elapsed_ms,
            reason = why,
            "attempt finished"
        ),
    }
}
