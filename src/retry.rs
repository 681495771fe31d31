//! When to try a request again, and how long to wait first.

use std::time::{Duration, SystemTime};

use reqwest::{StatusCode, header::HeaderMap};

use crate::{Applied, Error, ErrorKind, RetryBudget};

/// How a client retries a failed attempt.
///
/// A value type: build one with [`RetryConfig::standard`] or
/// [`RetryConfig::disabled`], adjust it with the `with_*` setters, and hand
/// it to [`ClientBuilder::retry`](crate::ClientBuilder::retry) or, for one
/// call, to [`Client::with_retry`](crate::Client::with_retry).
///
/// # The standard policy
///
/// | setting | default |
/// |---|---|
/// | attempts in all ([`with_max_attempts`](Self::with_max_attempts)) | 4 (one try and three retries) |
/// | first wait ([`with_initial_interval`](Self::with_initial_interval)) | 500 ms |
/// | growth per retry ([`with_multiplier`](Self::with_multiplier)) | × 2 |
/// | longest wait ([`with_max_interval`](Self::with_max_interval)) | 8 s |
/// | jitter (fixed) | up to 25 % shorter, never longer |
/// | whole-call budget ([`with_max_elapsed`](Self::with_max_elapsed)) | 30 s |
/// | longest server-requested wait ([`with_max_retry_after`](Self::with_max_retry_after)) | 30 s |
/// | time kept for one more attempt (fixed) | 100 ms |
/// | statuses retried ([`with_retry_status`](Self::with_retry_status)) | 408, 429, 500, 502, 503, 504 |
/// | failures with no answer ([`with_resend`](Self::with_resend)) | [`Resend::Always`]: retried, whether or not the request may have arrived |
/// | retries of all the client's calls together ([`with_budget`](Self::with_budget)) | [`RetryBudget::standard`]: 100 retries in reserve, and one more per five successful calls |
///
/// The waits before retries one to three are therefore about 0.5 s, 1 s and
/// 2 s, each shortened by at most a quarter at random.
///
/// # The retry budget
///
/// Every clone of a client draws its retries from one shared
/// [`RetryBudget`], so that many calls failing at once do not multiply the
/// load on a failing service: in an outage, 1,000 calls send about 1,100
/// requests rather than 4,000. A retry the budget refuses ends the call
/// with the last error, as if the attempts had run out.
///
/// # The time budget
///
/// `max_elapsed` bounds the whole call, waits and attempts together. Before
/// each wait the client checks that the time spent so far, plus the wait,
/// plus 100 ms for one more attempt still fits; when it does not, the call ends at
/// once with the last error (which keeps the server's `Retry-After`, if it
/// sent one). The timeout of every attempt is also cut to what is left of
/// the budget. So a call never outlasts the budget by more than the time it
/// takes to notice a timeout.
///
/// # Server hints
///
/// A response may say how long to wait, in `retry-after-ms` (milliseconds)
/// or `Retry-After` (seconds, or an HTTP date). The client never retries
/// sooner than asked: the wait is the longer of the hint and the backoff.
/// When the hint is longer than `max_retry_after`, or does not fit the
/// budget, the client gives up at once instead of waiting. A hint that
/// cannot be read is ignored and the backoff applies.
///
/// # Why these defaults
///
/// Updating a key is a small, interactive management call. Other SDKs for
/// this API retry for up to an hour with no per-attempt timeout, which
/// leaves a caller hanging on an outage; ours gives up within 30 seconds,
/// which is long enough to ride out a brief 5xx blip or a short rate-limit
/// window (OpenRouter's `Retry-After` values are seconds, not minutes) and
/// short enough for a person or a deploy script waiting on the answer. The
/// first retry waits half a second rather than zero, so that a retry storm
/// does not hit a struggling server at once; jitter only shortens a wait, so
/// the cap is a cap.
///
/// # Retrying a request that may have been applied
///
/// When a connection breaks or an attempt times out after the request was
/// sent, the client cannot know whether the server acted on it. With the
/// standard [`Resend::Always`] it retries anyway, and that is safe only for
/// operations that can be repeated: `PATCH` sets absolute values (a name, a
/// limit, a flag; nothing is incremented), so applying it twice leaves the
/// key as applying it once; `GET` changes nothing; and a repeated `DELETE`
/// can only find the key gone. The one thing a repeated update can do is
/// overwrite a change that someone else made to the same fields between
/// the two attempts. Choose [`Resend::IfUnsent`] to get such a failure back
/// at once, as an error whose [`applied`](crate::Error::applied) is `Maybe`.
///
/// # Operations that must not be repeated
///
/// Creating a key is not idempotent: a second `POST` can create a second key.
/// For it the client never resends a request that may have arrived, whatever
/// [`Resend`] says, and of the configured statuses it retries only those
/// that say the server did nothing: 429 (rate limited before it was
/// processed) and 503 (the service was not available to process it).
#[derive(Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RetryConfig {
    max_attempts: u32,
    initial_interval: Duration,
    multiplier: f64,
    max_interval: Duration,
    max_elapsed: Duration,
    max_retry_after: Duration,
    statuses: StatusSet,
    resend: Resend,
    budget: Option<RetryBudget>,
}

/// Which attempts that ended without an answer are retried: a refused or
/// broken connection, or a timeout.
///
/// Whether such a request may have reached the server decides what a retry
/// risks, so this is one choice rather than a switch per kind of failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Resend {
    /// None: the first such failure ends the call.
    Never,
    /// Only when the request surely did not reach the server: the
    /// connection could not be opened (refused, unreachable, or the
    /// connect timeout passed).
    IfUnsent,
    /// Also when it may have reached the server: the connection broke, or
    /// the attempt timed out, before the answer arrived. The standard; for
    /// operations that are not idempotent it acts as [`Resend::IfUnsent`].
    Always,
}

/// The fraction of a backoff wait that jitter may remove: each wait is
/// drawn uniformly from `[backoff × 0.75, backoff]`, so it is never longer
/// than the backoff and never shorter than three quarters of it.
pub(crate) const JITTER: f64 = 0.25;

/// How much of the time budget must be left, after a wait, for one more
/// attempt to be worth making.
pub(crate) const MIN_ATTEMPT_TIME: Duration = Duration::from_millis(100);

impl Default for RetryConfig {
    /// The same as [`RetryConfig::standard`].
    fn default() -> Self {
        Self::standard()
    }
}

impl RetryConfig {
    /// The standard policy, described on [`RetryConfig`].
    pub const fn standard() -> Self {
        Self {
            max_attempts: 4,
            initial_interval: Duration::from_millis(500),
            multiplier: 2.0,
            max_interval: Duration::from_secs(8),
            max_elapsed: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(30),
            statuses: StatusSet::standard(),
            resend: Resend::Always,
            budget: Some(RetryBudget::standard()),
        }
    }

    /// Sends every request once. The budget still bounds the call.
    pub const fn disabled() -> Self {
        let mut config = Self::standard();
        config.max_attempts = 1;
        config
    }

    /// Attempts in all, the first included; at least 1 (a 0 is taken as 1).
    pub const fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = if attempts == 0 { 1 } else { attempts };
        self
    }

    /// The wait before the first retry.
    pub const fn with_initial_interval(mut self, interval: Duration) -> Self {
        self.initial_interval = interval;
        self
    }

    /// How much each wait grows over the one before; values below 1 (and
    /// NaN) are taken as 1.
    pub fn with_multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = if multiplier >= 1.0 && multiplier.is_finite() {
            multiplier
        } else {
            1.0
        };
        self
    }

    /// The longest wait the backoff will choose.
    pub const fn with_max_interval(mut self, interval: Duration) -> Self {
        self.max_interval = interval;
        self
    }

    /// The budget for the whole call: attempts and waits together.
    pub const fn with_max_elapsed(mut self, budget: Duration) -> Self {
        self.max_elapsed = budget;
        self
    }

    /// The longest wait a server may ask for; a longer `Retry-After` ends
    /// the call at once.
    pub const fn with_max_retry_after(mut self, limit: Duration) -> Self {
        self.max_retry_after = limit;
        self
    }

    /// Retries (`true`) or stops retrying (`false`) responses with this
    /// status. Only 4xx and 5xx statuses can be retried; others are ignored.
    pub fn with_retry_status(mut self, status: StatusCode, retry: bool) -> Self {
        self.statuses.set(status, retry);
        self
    }

    /// Retries no status at all; add some back with
    /// [`with_retry_status`](Self::with_retry_status).
    pub fn without_retry_statuses(mut self) -> Self {
        self.statuses = StatusSet::EMPTY;
        self
    }

    /// Which attempts that ended without an answer are retried; default
    /// [`Resend::Always`].
    pub const fn with_resend(mut self, resend: Resend) -> Self {
        self.resend = resend;
        self
    }

    /// Draws retries from the client's shared retry budget with these
    /// settings; the default is [`RetryBudget::standard`].
    pub const fn with_budget(mut self, budget: RetryBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Retries without a retry budget: each call makes the attempts this
    /// policy allows, however many other calls are failing.
    pub const fn without_budget(mut self) -> Self {
        self.budget = None;
        self
    }

    /// Attempts in all.
    pub const fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The wait before the first retry.
    pub const fn initial_interval(&self) -> Duration {
        self.initial_interval
    }

    /// The growth factor of the waits.
    pub const fn multiplier(&self) -> f64 {
        self.multiplier
    }

    /// The longest backoff wait.
    pub const fn max_interval(&self) -> Duration {
        self.max_interval
    }

    /// The budget for the whole call.
    pub const fn max_elapsed(&self) -> Duration {
        self.max_elapsed
    }

    /// The longest server-requested wait that is honoured.
    pub const fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// Which attempts without an answer are retried.
    pub const fn resend(&self) -> Resend {
        self.resend
    }

    /// The retry budget's settings, or `None` when retries are not
    /// budgeted.
    pub const fn budget(&self) -> Option<RetryBudget> {
        self.budget
    }

    /// Whether this policy retries the failure `error` of an operation that
    /// is `idempotent` (or not), attempts and budget permitting. The one
    /// classification: the retry loop asks it, and
    /// [`Error::is_retryable`](crate::Error::is_retryable) reports its
    /// answer.
    pub(crate) fn retries(&self, error: &Error, idempotent: bool) -> bool {
        match error.kind() {
            ErrorKind::ResponseTooLarge
            | ErrorKind::Decode
            | ErrorKind::InvalidRequest
            | ErrorKind::Config
            | ErrorKind::PageLimit
            | ErrorKind::Store => false,
            // An answer, or no answer at all.
            _ => match error.answered() {
                Some(status) if status.is_success() => false,
                Some(status) => {
                    self.statuses.contains(status)
                        && (idempotent
                            || matches!(
                                status,
                                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
                            ))
                }
                None => match error.applied() {
                    Applied::No => self.resend != Resend::Never,
                    Applied::Maybe => self.resend == Resend::Always && idempotent,
                    Applied::Yes => false,
                },
            },
        }
    }

    /// The backoff wait before retry number `retry` (1 for the first
    /// retry), before jitter: `initial × multiplier^(retry-1)`, capped at
    /// `max_interval`.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(1024) as i32;
        let secs = self.initial_interval.as_secs_f64() * self.multiplier.powi(exponent);
        let cap = self.max_interval.as_secs_f64();
        // `min` also absorbs an infinite product; a cap of Duration::MAX
        // rounds up as an f64, past what a Duration holds.
        Duration::try_from_secs_f64(secs.min(cap).max(0.0)).unwrap_or(self.max_interval)
    }

    /// The wait before retry number `retry` with jitter applied: a point
    /// drawn uniformly from `[backoff × (1 − jitter), backoff]`. `unit`
    /// is a number in `[0, 1)`; the client draws it at random.
    pub(crate) fn jittered_backoff(&self, retry: u32, unit: f64) -> Duration {
        let base = self.backoff(retry);
        let cut = base.as_secs_f64() * JITTER * unit.clamp(0.0, 1.0);
        base.saturating_sub(Duration::try_from_secs_f64(cut).unwrap_or(base))
    }
}

impl std::fmt::Debug for RetryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryConfig")
            .field("max_attempts", &self.max_attempts)
            .field("initial_interval", &self.initial_interval)
            .field("multiplier", &self.multiplier)
            .field("max_interval", &self.max_interval)
            .field("max_elapsed", &self.max_elapsed)
            .field("max_retry_after", &self.max_retry_after)
            .field("statuses", &self.statuses)
            .field("resend", &self.resend)
            .field("budget", &self.budget)
            .finish()
    }
}

/// A set of 4xx and 5xx statuses, as a bit set so that [`RetryConfig`]
/// stays `Copy` and costs nothing to consult.
#[derive(Clone, Copy, PartialEq, Eq)]
struct StatusSet([u64; 4]);

impl StatusSet {
    const EMPTY: StatusSet = StatusSet([0; 4]);
    const FIRST: u16 = 400;
    const LAST: u16 = 599;

    const fn standard() -> Self {
        let mut set = Self::EMPTY;
        let codes = [408u16, 429, 500, 502, 503, 504];
        let mut i = 0;
        while i < codes.len() {
            let bit = (codes[i] - Self::FIRST) as usize;
            set.0[bit / 64] |= 1 << (bit % 64);
            i += 1;
        }
        set
    }

    fn index(status: StatusCode) -> Option<usize> {
        let code = status.as_u16();
        (Self::FIRST..=Self::LAST)
            .contains(&code)
            .then(|| usize::from(code - Self::FIRST))
    }

    fn set(&mut self, status: StatusCode, on: bool) {
        if let Some(bit) = Self::index(status) {
            if on {
                self.0[bit / 64] |= 1 << (bit % 64);
            } else {
                self.0[bit / 64] &= !(1 << (bit % 64));
            }
        }
    }

    fn contains(&self, status: StatusCode) -> bool {
        Self::index(status).is_some_and(|bit| self.0[bit / 64] & (1 << (bit % 64)) != 0)
    }
}

impl std::fmt::Debug for StatusSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries((Self::FIRST..=Self::LAST).filter(|code| {
                StatusCode::from_u16(*code).is_ok_and(|status| self.contains(status))
            }))
            .finish()
    }
}

/// Reads the server's wait hint from response headers: `retry-after-ms`
/// first (a number of milliseconds), then `Retry-After` as delta-seconds
/// or as an HTTP date (relative to `now`). A header that cannot be read is
/// ignored; a date in the past means "now".
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let ms = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
        .and_then(|ms| Duration::try_from_secs_f64(ms / 1000.0).ok());
    if ms.is_some() {
        return ms;
    }
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn standard_backoff_grows_and_is_capped() {
        let c = RetryConfig::standard();
        assert_eq!(c.backoff(1), Duration::from_millis(500));
        assert_eq!(c.backoff(2), Duration::from_secs(1));
        assert_eq!(c.backoff(3), Duration::from_secs(2));
        assert_eq!(c.backoff(5), Duration::from_secs(8));
        assert_eq!(c.backoff(60), Duration::from_secs(8));
        assert_eq!(c.backoff(u32::MAX), Duration::from_secs(8));
    }

    #[test]
    fn jitter_shortens_but_never_lengthens() {
        let c = RetryConfig::standard();
        assert_eq!(c.jittered_backoff(1, 0.0), Duration::from_millis(500));
        assert_eq!(
            c.jittered_backoff(1, 0.999_999),
            Duration::from_millis(375) + Duration::from_nanos(125)
        );
        for retry in 1..10 {
            for unit in [0.0, 0.3, 0.7, 0.999] {
                let d = c.jittered_backoff(retry, unit);
                assert!(d <= c.max_interval(), "{d:?} is over the cap");
                assert!(d >= c.backoff(retry).mul_f64(0.75) - Duration::from_nanos(1));
            }
        }
    }

    #[test]
    fn first_retry_is_not_immediate() {
        let c = RetryConfig::standard();
        assert!(c.jittered_backoff(1, 0.999_999) >= Duration::from_millis(375));
    }

    #[test]
    fn standard_statuses() {
        let c = RetryConfig::standard();
        for code in [408, 429, 500, 502, 503, 504] {
            assert!(
                c.statuses.contains(StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
        for code in [200, 301, 400, 401, 403, 404, 409, 422, 501, 505] {
            assert!(
                !c.statuses.contains(StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
        let c = c
            .with_retry_status(StatusCode::CONFLICT, true)
            .with_retry_status(StatusCode::TOO_MANY_REQUESTS, false);
        assert!(c.statuses.contains(StatusCode::CONFLICT));
        assert!(!c.statuses.contains(StatusCode::TOO_MANY_REQUESTS));
        assert_eq!(
            format!("{:?}", c.statuses),
            "{408, 409, 500, 502, 503, 504}"
        );
    }

    #[test]
    fn one_classification_for_statuses_and_failures_without_an_answer() {
        let standard = RetryConfig::standard();
        let status = |code| {
            Error::answer(
                StatusCode::from_u16(code).unwrap(),
                None,
                bytes::Bytes::new(),
                None,
            )
        };
        let unanswered =
            |applied| Error::transport(None, "cut".into(), applied, false, "h:1".to_owned());
        // Idempotent: every configured status, and both kinds of failure.
        for code in [408, 429, 500, 502, 503, 504] {
            assert!(standard.retries(&status(code), true), "{code}");
        }
        assert!(!standard.retries(&status(404), true));
        assert!(
            !standard.retries(&status(204), true),
            "a success is applied"
        );
        assert!(standard.retries(&unanswered(Applied::No), true));
        assert!(standard.retries(&unanswered(Applied::Maybe), true));
        assert!(!standard.retries(&unanswered(Applied::Yes), true));
        // An error answer whose body broke off counts by its status.
        let broken = |code| {
            let status = StatusCode::from_u16(code).unwrap();
            Error::transport(
                Some(status),
                "cut".into(),
                Applied::No,
                false,
                "h:1".to_owned(),
            )
        };
        assert!(standard.retries(&broken(503), false));
        assert!(!standard.retries(&broken(500), false));
        // What no retry can change.
        assert!(!standard.retries(&Error::too_large(StatusCode::SERVICE_UNAVAILABLE, 1), true));
        assert!(!standard.retries(&Error::invalid("no"), true));
        // Not idempotent: only the statuses that say nothing was done, and
        // never a request that may have arrived.
        for (code, retried) in [
            (429, true),
            (503, true),
            (500, false),
            (502, false),
            (504, false),
        ] {
            assert_eq!(standard.retries(&status(code), false), retried, "{code}");
        }
        assert!(standard.retries(&unanswered(Applied::No), false));
        assert!(!standard.retries(&unanswered(Applied::Maybe), false));
        // Resend narrows what is retried without an answer.
        let unsent = standard.with_resend(Resend::IfUnsent);
        assert!(unsent.retries(&unanswered(Applied::No), true));
        assert!(!unsent.retries(&unanswered(Applied::Maybe), true));
        let never = standard.with_resend(Resend::Never);
        assert!(!never.retries(&unanswered(Applied::No), true));
        // Statuses follow the configured set, for both kinds of operation.
        let none = standard.without_retry_statuses();
        assert!(!none.retries(&status(503), true) && !none.retries(&status(429), false));
    }

    #[test]
    fn setters_clamp_nonsense() {
        let c = RetryConfig::standard()
            .with_max_attempts(0)
            .with_multiplier(f64::NAN);
        assert_eq!(c.max_attempts(), 1);
        assert_eq!(c.multiplier(), 1.0);
        assert_eq!(RetryConfig::disabled().max_attempts(), 1);
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            retry_after(&headers(&[("retry-after", "3")]), now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(
                &headers(&[("retry-after-ms", "1500"), ("retry-after", "9")]),
                now
            ),
            Some(Duration::from_millis(1500))
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(120));
        assert_eq!(
            retry_after(&headers(&[("retry-after", &date)]), now),
            Some(Duration::from_secs(120))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(120));
        assert_eq!(
            retry_after(&headers(&[("retry-after", &past)]), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "-5")]), now), None);
        assert_eq!(
            retry_after(&headers(&[("retry-after-ms", "NaN")]), now),
            None
        );
        assert_eq!(
            retry_after(
                &headers(&[("retry-after-ms", "junk"), ("retry-after", "2")]),
                now
            ),
            Some(Duration::from_secs(2))
        );
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }
}
