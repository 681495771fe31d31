//! The retry budget: a cap on retries shared by every call of a client.
//!
//! Each call retries well on its own, but many calls failing at once
//! multiply the load on a service that is already failing: with four
//! attempts a call, an outage quadruples the requests. The budget is a
//! token bucket that every clone of a [`Client`](crate::Client) draws on: a
//! retry takes tokens, a successful call puts one back, and when the bucket
//! cannot pay for a retry the call ends as if its attempts had run out.
//!
//! The settings ([`RetryBudget`]) travel in [`RetryConfig`](crate::RetryConfig),
//! a value type; the tokens ([`SharedBudget`]) live in the client, behind an
//! `Arc` that every clone shares.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

/// How many retries a client may make, over all its calls together.
///
/// A token bucket: it starts full with [`capacity`](Self::capacity)
/// tokens; each retry takes [`retry_cost`](Self::retry_cost) of them
/// (twice as many when the attempt timed out), each successful call puts
/// one back (up
/// to the capacity), and a retry the bucket cannot pay for is not made: the
/// call ends with the last error, which says so
/// ([`Error::is_retry_budget_exhausted`](crate::Error::is_retry_budget_exhausted)).
/// First attempts are never refused, so the budget only ever removes
/// retries; and a call that fails on its first attempt costs nothing.
///
/// The tokens are shared by every clone of the client built by one
/// [`ClientBuilder::build`](crate::ClientBuilder::build), including those
/// made with [`Client::with_retry`](crate::Client::with_retry),
/// [`with_timeout`](crate::Client::with_timeout) and
/// [`with_header`](crate::Client::with_header); two clients built
/// separately have separate budgets. Each call measures the shared tokens
/// against the settings in its own [`RetryConfig`](crate::RetryConfig); a
/// call whose config has no budget
/// ([`RetryConfig::without_budget`](crate::RetryConfig::without_budget))
/// neither draws on it nor refills it.
///
/// # The standard budget
///
/// | setting | default |
/// |---|---|
/// | tokens in a full bucket ([`with_capacity`](Self::with_capacity)) | 500 |
/// | cost of a retry ([`with_retry_cost`](Self::with_retry_cost)) | 5 |
/// | cost of a retry after a timeout (twice the retry cost) | 10 |
/// | tokens a successful call puts back (fixed) | 1 |
///
/// # What these numbers mean, and why
///
/// - **In an outage**, however many calls are made, the client sends at
///   most 100 retries (500 / 5; 50 if every attempt times out) before each
///   call is down to its one attempt: 1,000 calls send 1,100 requests
///   rather than 4,000. The reserve is large enough that a fresh client
///   rides out a short blip in full (33 calls can each use all three
///   retries) and that a script making a handful of calls never notices
///   it, and small next to the load of a busy client.
/// - **In the long run** a success earns a fifth of a retry, so retries are
///   capped at one for every five successful calls. With a share `p` of
///   attempts failing at random, a call needs `p / (1 − p)` retries on
///   average, so every failure is retried, indefinitely, up to
///   `p` = 1/6 (17 %); above that the retries are cut to a fifth of the
///   successes.
/// - **A timeout costs double**: it held a connection and the server's
///   attention for a whole attempt timeout, and it is the surest sign of
///   overload, so repeating it is what a struggling service can least
///   afford.
/// - **After an outage** has emptied the bucket, five successful calls pay
///   for the next retry, and 500 refill it.
///
/// The values are those of the retry quota in the AWS SDKs' long-standing
/// standard retry mode, which have a long record against overloaded
/// services; unlike that quota, a retry that succeeds is not refunded here,
/// which keeps the long-run bound above a plain ratio.
///
/// ```
/// use openrouter_keys::{RetryBudget, RetryConfig};
///
/// // A bigger reserve for a client that makes many calls at once:
/// let config = RetryConfig::standard().with_budget(RetryBudget::standard().with_capacity(2_000));
/// assert_eq!(config.budget().map(|b| b.capacity()), Some(2_000));
///
/// // No budget: every call retries as its own policy says.
/// assert_eq!(RetryConfig::standard().without_budget().budget(), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RetryBudget {
    capacity: u32,
    retry_cost: u32,
}

impl Default for RetryBudget {
    /// The same as [`RetryBudget::standard`].
    fn default() -> Self {
        Self::standard()
    }
}

impl RetryBudget {
    /// The standard budget, described on [`RetryBudget`].
    pub const fn standard() -> Self {
        Self {
            capacity: 500,
            retry_cost: 5,
        }
    }

    /// Tokens in a full bucket, which is how a client starts. 0 allows no
    /// retry that costs anything.
    pub const fn with_capacity(mut self, tokens: u32) -> Self {
        self.capacity = tokens;
        self
    }

    /// Tokens a retry takes; twice as many after an attempt that timed
    /// out. 0 makes retries free. With the refill of one token per
    /// successful call, this is how many successes pay for a retry.
    pub const fn with_retry_cost(mut self, tokens: u32) -> Self {
        self.retry_cost = tokens;
        self
    }

    /// Tokens in a full bucket.
    pub const fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Tokens a retry takes.
    pub const fn retry_cost(&self) -> u32 {
        self.retry_cost
    }
}

/// The tokens every clone of a client shares.
///
/// Kept as the tokens *taken* from a full bucket rather than those left,
/// so that it needs no settings of its own: a new client has taken none,
/// and each call compares what was taken with the capacity in its own
/// [`RetryBudget`].
#[derive(Debug, Default)]
pub(crate) struct SharedBudget {
    taken: AtomicU32,
}

impl SharedBudget {
    /// Takes the cost of one retry (after a timeout, if `timed_out`);
    /// `false`, taking nothing, when the bucket cannot pay for it. Always
    /// `true` without a budget.
    pub(crate) fn try_retry(&self, budget: Option<RetryBudget>, timed_out: bool) -> bool {
        let Some(budget) = budget else {
            return true;
        };
        let cost = if timed_out {
            budget.retry_cost.saturating_mul(2)
        } else {
            budget.retry_cost
        };
        // Relaxed: the count guards no other memory.
        self.taken
            .fetch_update(Relaxed, Relaxed, |taken| {
                taken.checked_add(cost).filter(|&t| t <= budget.capacity)
            })
            .is_ok()
    }

    /// Puts back what a successful call earns.
    #[inline]
    pub(crate) fn succeeded(&self, budget: Option<RetryBudget>) {
        // A full bucket, by far the common case, costs one load and no
        // write, so that concurrent successes do not contend for the line.
        if budget.is_some() && self.taken.load(Relaxed) != 0 {
            let _ = self
                .taken
                .fetch_update(Relaxed, Relaxed, |taken| (taken != 0).then(|| taken - 1));
        }
    }

    /// Tokens taken from a full bucket and not yet put back.
    #[cfg(test)]
    fn taken(&self) -> u32 {
        self.taken.load(Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STANDARD: Option<RetryBudget> = Some(RetryBudget::standard());

    #[test]
    fn a_full_standard_bucket_pays_for_100_retries_or_50_after_timeouts() {
        let shared = SharedBudget::default();
        for _ in 0..100 {
            assert!(shared.try_retry(STANDARD, false));
        }
        assert_eq!(shared.taken(), 500);
        assert!(!shared.try_retry(STANDARD, false));
        assert!(!shared.try_retry(STANDARD, true));
        assert_eq!(shared.taken(), 500, "a refusal takes nothing");

        let shared = SharedBudget::default();
        for _ in 0..50 {
            assert!(shared.try_retry(STANDARD, true));
        }
        assert!(!shared.try_retry(STANDARD, true));
        assert_eq!(shared.taken(), 500);
    }

    #[test]
    fn a_timeout_can_be_refused_when_a_plain_retry_is_not() {
        let shared = SharedBudget::default();
        for _ in 0..99 {
            assert!(shared.try_retry(STANDARD, false));
        }
        // 5 tokens left: enough for a retry, not for one after a timeout.
        assert!(!shared.try_retry(STANDARD, true));
        assert!(shared.try_retry(STANDARD, false));
        assert!(!shared.try_retry(STANDARD, false));
    }

    #[test]
    fn five_successes_pay_for_a_retry_after_an_outage() {
        let shared = SharedBudget::default();
        while shared.try_retry(STANDARD, false) {}
        for success in 1..=5 {
            shared.succeeded(STANDARD);
            assert_eq!(shared.taken(), 500 - success);
            let paid = shared.try_retry(STANDARD, false);
            assert_eq!(paid, success == 5, "after {success} successes");
        }
        assert_eq!(shared.taken(), 500);
    }

    #[test]
    fn successes_never_fill_past_the_capacity() {
        let shared = SharedBudget::default();
        shared.succeeded(STANDARD);
        assert_eq!(shared.taken(), 0);
        assert!(shared.try_retry(STANDARD, true));
        for _ in 0..20 {
            shared.succeeded(STANDARD);
        }
        assert_eq!(shared.taken(), 0);
    }

    #[test]
    fn without_a_budget_nothing_is_counted() {
        let shared = SharedBudget::default();
        for _ in 0..10_000 {
            assert!(shared.try_retry(None, true));
        }
        assert_eq!(shared.taken(), 0);
        assert!(shared.try_retry(STANDARD, false));
        shared.succeeded(None);
        assert_eq!(shared.taken(), 5);
    }

    #[test]
    fn each_call_measures_the_shared_tokens_against_its_own_capacity() {
        let shared = SharedBudget::default();
        let small = Some(RetryBudget::standard().with_capacity(20));
        for _ in 0..4 {
            assert!(shared.try_retry(small, false));
        }
        assert!(!shared.try_retry(small, false));
        // A clone with the standard capacity still has 480 tokens.
        assert!(shared.try_retry(STANDARD, false));
        assert_eq!(shared.taken(), 25);
        assert!(!shared.try_retry(small, false));
    }

    #[test]
    fn extreme_settings_neither_overflow_nor_wrap() {
        let shared = SharedBudget::default();
        let huge = Some(
            RetryBudget::standard()
                .with_capacity(u32::MAX)
                .with_retry_cost(u32::MAX - 1),
        );
        assert!(shared.try_retry(huge, false));
        assert!(!shared.try_retry(huge, false));
        assert_eq!(shared.taken(), u32::MAX - 1);

        let free = Some(RetryBudget::standard().with_capacity(0).with_retry_cost(0));
        let shared = SharedBudget::default();
        assert!(shared.try_retry(free, false));
        assert!(shared.try_retry(free, true));
        assert_eq!(shared.taken(), 0);
    }
}
