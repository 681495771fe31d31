//! The retry driver: one loop that every operation goes through.
//!
//! A public method validates its input, names its [`Operation`], and hands
//! the driver a closure that calls the generated method. The driver owns
//! everything between: the attempts, the per-attempt timeout cut to what is
//! left of the budget, the server's wait hints, the jittered backoff, the
//! retry budget it shares with the client's other calls, and the mapping
//! of what happened into one [`Error`] with its `attempts()` and
//! `applied()`.
//!
//! # Why the retries are here, and not in `ClientHooks::exec`
//!
//! Retrying inside `exec` means keeping a copy of the request while the
//! first attempt runs, in case a second one follows: six allocations on
//! every call, though nearly every call succeeds at once. Here, a retry
//! calls the generated method again, which builds the request afresh; the
//! first attempt copies nothing. The settings of a call travel on the
//! [`Client`] value itself (`with_retry` and `with_timeout` return a clone
//! that carries them), so nothing has to reach `exec` through a side
//! channel.
//!
//! The attempt timeout is reqwest's, set per clone by `exec`: it covers
//! connecting, the answer's head and its body, and says which it cut, so a
//! success whose body came too late is known to have been applied. Only
//! when less of the budget is left than an attempt may take does the driver
//! add a timeout of its own around the generated method; that one cannot
//! tell the phases apart, so its failure may have been applied. Both run on
//! the tokio clock, so paused-clock tests drive them.
//!
//! What happened is read from the generated method's result itself: the
//! decoded value, or progenitor's error. Error statuses and oversized
//! bodies arrive as the error of reading the body, carrying what `exec`
//! learned (see [`crate::transport`]).

use std::{error::Error as _, future::Future, time::Duration};

use bytes::Bytes;
use progenitor_client::{Error as Raw, ResponseValue};
use reqwest::StatusCode;
use tokio::time::Instant;
use tracing::Instrument;

use crate::{
    Applied, Client, Error,
    error::{ApiFailure, DecodeFailure, TransportFailure},
    generated::types::ErrorResponse,
    retry::Failure,
    transport::{Kind, Unread},
};

/// What the driver needs to know of an operation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Operation {
    /// The operationId in `openapi.yaml`, for logs.
    pub(crate) id: &'static str,
    /// The documented success status.
    pub(crate) success: StatusCode,
    /// Whether sending the request twice does no more than sending it once
    /// (see [`crate::RetryConfig`]).
    pub(crate) idempotent: bool,
    /// Whether a success answer carries a secret (a created key), so that
    /// no error may keep its body or quote from it.
    pub(crate) secret_in_answer: bool,
}

type Generated<T> = Result<ResponseValue<T>, Raw<ErrorResponse>>;

/// How one attempt failed.
enum Ended {
    /// An answer the operation does not document as its success: an error
    /// status, or another success status (after which the request was
    /// applied).
    Answer {
        status: StatusCode,
        retry_after: Option<Duration>,
        body: Bytes,
    },
    TooLarge {
        status: StatusCode,
        cap: usize,
    },
    /// The documented success status, with a body that did not decode.
    Undecodable {
        status: StatusCode,
        raw: Bytes,
        reason: String,
    },
    /// No usable answer. `status` is that of an error answer whose body
    /// broke off.
    Transport {
        source: Box<dyn std::error::Error + Send + Sync>,
        applied: Applied,
        status: Option<StatusCode>,
        timed_out: bool,
    },
    /// The request could not be built; nothing was sent.
    Invalid(String),
}

/// The error of an attempt that the driver cut to what was left of the
/// time budget.
#[derive(Debug)]
struct AttemptTimedOut(Duration);

impl std::fmt::Display for AttemptTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no answer within the {:?} left of the time budget",
            self.0
        )
    }
}

impl std::error::Error for AttemptTimedOut {}

impl Client {
    /// Runs `send` (one call of a generated method) until it succeeds, the
    /// policy says stop, or the budget runs out.
    pub(crate) async fn call<T, F, Fut>(
        &self,
        op: Operation,
        hash: Option<&str>,
        mut send: F,
    ) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Generated<T>>,
    {
        let span = tracing::debug_span!("openrouter_keys", operation_id = op.id, hash);
        async {
            let retry = &self.retry;
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
                // large, and moving it costs a copy. The rare one is boxed,
                // so that the usual call's future does not grow by a timer.
                let result = if left < self.raw.inner.attempt_timeout {
                    tokio::time::timeout(left, Box::pin(read(op, &mut send))).await
                } else {
                    Ok(read(op, &mut send).await)
                };
                let ended = match result {
                    Ok(Ok(value)) => {
                        self.budget.succeeded(retry.budget());
                        tracing::debug!(
                            attempt,
                            status = op.success.as_u16(),
                            elapsed_ms = start.elapsed().as_millis() as u64,
                            reason = "success",
                            "attempt finished"
                        );
                        return Ok(value);
                    }
                    Ok(Err(ended)) => ended,
                    Err(_) => Ended::Transport {
                        source: Box::new(AttemptTimedOut(left)),
                        applied: Applied::Maybe,
                        status: None,
                        timed_out: true,
                    },
                };
                let failure = failure(&ended);
                let retryable = failure.is_some_and(|f| retry.retries(f, op.idempotent));
                let elapsed = start.elapsed();
                let (delay, why) = if !retryable {
                    (None, "not retried")
                } else if attempt >= retry.max_attempts() {
                    (None, "no attempts left")
                } else {
                    self.wait(&ended, attempt, elapsed)
                };
                // Asked last, so that only a retry that will be made takes
                // from the budget.
                let (delay, why, refused) = match delay {
                    Some(_) if !self.budget.try_retry(retry.budget(), timed_out(&ended)) => {
                        (None, "the client's retry budget ran out", true)
                    }
                    _ => (delay, why, false),
                };
                log_attempt(attempt, &ended, delay, why, elapsed);
                match delay {
                    // Dropping the call's future here cancels the wait.
                    // Boxed for the same reason: only a retry waits.
                    Some(delay) => Box::pin(tokio::time::sleep(delay)).await,
                    None => {
                        return Err(self.error(ended, attempt, retryable, refused, earlier));
                    }
                }
                if let Ended::Transport { applied, .. } = ended {
                    earlier = earlier.max(applied);
                }
            }
        }
        .instrument(span)
        .await
    }

    /// The wait before the next attempt, or why there is none.
    fn wait(
        &self,
        ended: &Ended,
        attempt: u32,
        elapsed: Duration,
    ) -> (Option<Duration>, &'static str) {
        let retry = &self.retry;
        let backoff = retry.jittered_backoff(attempt, fastrand::f64());
        let hint = match ended {
            Ended::Answer { retry_after, .. } => *retry_after,
            _ => None,
        };
        let (delay, why) = match hint {
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
            .saturating_add(retry.min_attempt_time());
        if needed > retry.max_elapsed() {
            return (None, "the wait would not fit the time budget");
        }
        (Some(delay), why)
    }

    /// The error a call ends with; `budget_exhausted` when the retry
    /// budget refused the retry that would have followed, `earlier` what
    /// the attempts before the last may have done.
    fn error(
        &self,
        ended: Ended,
        attempts: u32,
        retryable: bool,
        budget_exhausted: bool,
        earlier: Applied,
    ) -> Error {
        match ended {
            Ended::Answer {
                status,
                retry_after,
                body,
            } => {
                let envelope = serde_json::from_slice::<ErrorResponse>(&body).ok();
                Error::from_status(ApiFailure {
                    status,
                    body: envelope.map(|envelope| {
                        let mut body = envelope.error;
                        body.message = self.scrub(&body.message).into_owned();
                        body.metadata = body.metadata.map(|metadata| self.scrub_map(metadata));
                        Box::new(body)
                    }),
                    raw: self.scrub_bytes(body),
                    retry_after,
                    attempts,
                    retryable,
                    budget_exhausted,
                    earlier,
                })
            }
            Ended::TooLarge { status, cap } => Error::ResponseTooLarge {
                status,
                limit: cap,
                attempts,
            },
            Ended::Undecodable {
                status,
                raw,
                reason,
            } => Error::Decode(DecodeFailure {
                status,
                raw: self.scrub_bytes(raw),
                // serde_json quotes the offending string, which may be the
                // key echoed back.
                reason: crate::error::excerpt(&self.scrub(&reason), 500),
                attempts,
            }),
            Ended::Transport {
                source,
                applied,
                timed_out,
                ..
            } => {
                let failure = TransportFailure {
                    source,
                    applied: applied.max(earlier),
                    attempts,
                    retryable,
                    budget_exhausted,
                    host: self.host(),
                };
                if timed_out {
                    Error::Timeout(failure)
                } else {
                    Error::Connection(failure)
                }
            }
            Ended::Invalid(message) => Error::InvalidRequest(format!(
                "the request could not be built: {}",
                self.scrub(&message)
            )),
        }
    }
}

/// Reads one attempt's result, including an answer's body that the
/// generated code left unread.
async fn read<T, Fut: Future<Output = Generated<T>>>(
    op: Operation,
    send: &mut impl FnMut() -> Fut,
) -> Result<T, Ended> {
    // Called here rather than by the caller, so that the generated
    // method's future is built where it is polled, not moved there.
    Err(match send().await {
        Ok(value) => return Ok(value.into_inner()),
        Err(Raw::UnexpectedResponse(response)) => {
            let status = response.status();
            let retry_after =
                crate::retry::retry_after(response.headers(), std::time::SystemTime::now());
            // Boxed: only an answer the operation does not document gets here.
            match Box::pin(response.bytes()).await {
                Ok(body) => Ended::Answer {
                    status,
                    retry_after,
                    // A success status other than the documented one: its
                    // body may hold the secret the operation creates.
                    body: if op.secret_in_answer && status.is_success() {
                        Bytes::new()
                    } else {
                        body
                    },
                },
                Err(error) => body_error(error),
            }
        }
        Err(Raw::ResponseBodyError(error)) => body_error(error),
        // The body holds the created key's secret, and serde_json's message
        // may quote any part of it: keep neither.
        Err(Raw::InvalidResponsePayload(..)) if op.secret_in_answer => Ended::Undecodable {
            status: op.success,
            raw: Bytes::new(),
            reason: "the body does not match the documented answer (withheld: it may hold \
                     the created key's secret)"
                .to_owned(),
        },
        Err(Raw::InvalidResponsePayload(raw, error)) => Ended::Undecodable {
            // Error statuses never reach the generated decoder (see
            // `crate::transport`), so this is the documented success.
            status: op.success,
            raw,
            reason: error.to_string(),
        },
        Err(Raw::ErrorResponse(value)) => {
            // Not produced while `exec` keeps error statuses from the
            // decoder; handled all the same.
            let status = value.status();
            let retry_after =
                crate::retry::retry_after(value.headers(), std::time::SystemTime::now());
            Ended::Answer {
                status,
                retry_after,
                body: serde_json::to_vec(&value.into_inner())
                    .map(Bytes::from)
                    .unwrap_or_default(),
            }
        }
        Err(Raw::CommunicationError(error)) if error.is_builder() => {
            Ended::Invalid(error.to_string())
        }
        Err(Raw::CommunicationError(error) | Raw::InvalidUpgrade(error)) => {
            // Failing to connect means nothing was sent. Anything later (a reset, the client's own timeout)
            // leaves it open.
            let applied = if error.is_connect() {
                Applied::No
            } else {
                Applied::Maybe
            };
            Ended::Transport {
                timed_out: error.is_timeout(),
                source: Box::new(error),
                applied,
                status: None,
            }
        }
        Err(Raw::InvalidRequest(message) | Raw::Custom(message)) => Ended::Invalid(message),
    })
}

/// An answer that `exec` carried on the body's error, or a success body
/// that broke off.
fn body_error(error: reqwest::Error) -> Ended {
    let mut cause = error.source();
    while let Some(c) = cause {
        if let Some(unread) = c.downcast_ref::<Unread>() {
            let status = unread.status;
            return match &unread.kind {
                Kind::ErrorBody(body) => Ended::Answer {
                    status,
                    retry_after: unread.retry_after,
                    body: body.clone(),
                },
                Kind::TooLarge { cap } => Ended::TooLarge { status, cap: *cap },
                Kind::Broken(_) => Ended::Transport {
                    timed_out: error.is_timeout(),
                    source: Box::new(error),
                    applied: Applied::No,
                    status: Some(status),
                },
            };
        }
        cause = c.source();
    }
    // Only a success answer's body is read by the generated code.
    Ended::Transport {
        timed_out: error.is_timeout(),
        source: Box::new(error),
        applied: Applied::Yes,
        status: None,
    }
}

/// Whether the attempt timed out, which makes its retry cost more (see
/// [`crate::RetryBudget`]).
fn timed_out(ended: &Ended) -> bool {
    matches!(
        ended,
        Ended::Transport {
            timed_out: true,
            ..
        }
    )
}

/// What the retry policy is asked about, or `None` when nothing could be
/// gained by asking again.
fn failure(ended: &Ended) -> Option<Failure> {
    match ended {
        Ended::Answer { status, .. } if !status.is_success() => Some(Failure::Status(*status)),
        Ended::Transport {
            status: Some(status),
            ..
        } => Some(Failure::Status(*status)),
        Ended::Transport { applied, .. } => Some(Failure::Transport(*applied)),
        _ => None,
    }
}

fn log_attempt(
    attempt: u32,
    ended: &Ended,
    delay: Option<Duration>,
    why: &'static str,
    elapsed: Duration,
) {
    let (status, error) = match ended {
        Ended::Invalid(_) => (None, None),
        Ended::Answer { status, .. }
        | Ended::TooLarge { status, .. }
        | Ended::Undecodable { status, .. } => (Some(status.as_u16()), None),
        Ended::Transport {
            status,
            timed_out,
            applied,
            ..
        } => (
            status.map(|s| s.as_u16()),
            Some(match (timed_out, applied) {
                (true, _) => "timeout",
                (false, Applied::No) if status.is_some() => "body",
                (false, Applied::No) => "connect",
                (false, Applied::Yes) => "body",
                (false, Applied::Maybe) => "connection",
            }),
        ),
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
