//! Keeping many calls within the server's rate limit, which it does not
//! publish: a pacer that every attempt of a paced client passes through.
//!
//! # The scheme: AIMD on the send rate, started from the rate measured
//!
//! Halving a concurrency limit on each 429 (textbook AIMD) does little
//! against a limit in requests per second when answers come back in a
//! millisecond: one request in flight already sends a thousand a second.
//! So the pacer limits the *rate*, and learns it:
//!
//! - Until the first 429, requests go out as fast as the window of
//!   requests in flight allows (`max_in_flight`).
//! - On a 429, every attempt waits until the `Retry-After` the server
//!   asked for has passed (1 s when it names none; never longer than the
//!   retry policy's `max_retry_after`, nor than a call's time budget allows:
//!   a call whose wait leaves no time for an attempt ends unsent). The send
//!   rate becomes
//!   0.95 × the successes of the last second (what the server let through
//!   while it was saturated), and the window halves. Only the first 429 of
//!   requests sent at one rate counts as a decrease: the others already in
//!   flight say the same thing again.
//! - Each success raises the rate by `1 / rate`, so by one request per
//!   second every second, and the window by `1 / window` (one per window
//!   of successes), up to `max_in_flight`.
//!
//! Against a token bucket (the usual server design) that holds one
//! second's worth, this loses one `Retry-After` pause at the first 429 and
//! then probes upward slowly enough that the bucket, refilled in that
//! pause, rarely runs dry again: measured in PERFORMANCE.md.

use std::{collections::VecDeque, sync::Mutex, time::Duration};

use tokio::{
    sync::{Semaphore, SemaphorePermit},
    time::Instant,
};

/// The pacer shared by a paced client's clones.
#[derive(Debug)]
pub(crate) struct Pacer {
    max_in_flight: usize,
    /// Permits for requests in flight; their number follows `window`.
    slots: Semaphore,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Requests allowed in flight, at least one.
    window: f64,
    /// Permits to retire as they come back, when the window shrank below
    /// what is out.
    owed: usize,
    /// Requests per second, once a 429 has been seen.
    rate: Option<f64>,
    /// The earliest start of the next request, when paced.
    next: Instant,
    /// No request starts before this (a server's `Retry-After`).
    paused_until: Instant,
    /// When the successes of the last second ended.
    successes: VecDeque<Instant>,
    /// Counts the decreases, so that one burst of 429s makes one.
    epoch: u64,
}

/// One attempt's place: in the window, at its time.
pub(crate) struct Permit<'a> {
    pacer: &'a Pacer,
    slot: Option<SemaphorePermit<'a>>,
    epoch: u64,
}

/// How an attempt ended, as far as pacing is concerned.
pub(crate) enum Outcome {
    Success,
    /// A 429, with how long to pause.
    RateLimited(Duration),
    Other,
}

impl Pacer {
    pub(crate) fn new(max_in_flight: usize) -> Pacer {
        let max_in_flight = max_in_flight.max(1);
        let now = Instant::now();
        Pacer {
            max_in_flight,
            slots: Semaphore::new(max_in_flight),
            state: Mutex::new(State {
                window: max_in_flight as f64,
                owed: 0,
                rate: None,
                next: now,
                paused_until: now,
                successes: VecDeque::new(),
                epoch: 0,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays consistent whatever a panicking holder did: every
        // change to it is a single assignment.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a place in the window, for the end of any pause, and for
    /// this request's turn at the current rate.
    pub(crate) async fn acquire(&self) -> Permit<'_> {
        // The semaphore is never closed.
        let slot = self.slots.acquire().await.ok();
        loop {
            let (start, epoch) = {
                let mut state = self.state();
                let now = Instant::now();
                let start = now.max(state.paused_until).max(state.next);
                if let Some(rate) = state.rate {
                    state.next = start + Duration::from_secs_f64(1.0 / rate);
                }
                (start, state.epoch)
            };
            tokio::time::sleep_until(start).await;
            // A pause that began while this request waited for its turn.
            if self.state().paused_until <= Instant::now() {
                return Permit {
                    pacer: self,
                    slot,
                    epoch,
                };
            }
        }
    }
}

impl State {
    /// Keeps the successes of the second before `now` only.
    fn forget_before(&mut self, now: Instant) {
        while (self.successes.front())
            .is_some_and(|at| now.duration_since(*at) > Duration::from_secs(1))
        {
            self.successes.pop_front();
        }
    }
}

impl Permit<'_> {
    /// Learns from how the attempt ended, and frees its place.
    pub(crate) fn finish(mut self, outcome: Outcome) {
        let pacer = self.pacer;
        let mut state = pacer.state();
        let now = Instant::now();
        let mut grow = 0;
        match outcome {
            Outcome::Success => {
                state.successes.push_back(now);
                state.forget_before(now);
                if let Some(rate) = state.rate.as_mut() {
                    *rate += 1.0 / *rate;
                }
                let before = state.window as usize;
                state.window = (state.window + 1.0 / state.window).min(pacer.max_in_flight as f64);
                grow = (state.window as usize).saturating_sub(before);
            }
            Outcome::RateLimited(wait) => {
                // The caller caps the wait at the retry policy's
                // `max_retry_after`; one past the clock's end (a policy with
                // no cap) adds no pause rather than a panic.
                if let Some(until) = now.checked_add(wait) {
                    state.paused_until = state.paused_until.max(until);
                }
                if self.epoch == state.epoch {
                    state.epoch += 1;
                    state.forget_before(now);
                    let measured = state.successes.len() as f64;
                    state.rate = Some(match state.rate {
                        _ if measured >= 1.0 => measured * 0.95,
                        Some(rate) => (rate / 2.0).max(0.5),
                        None => 1.0,
                    });
                    let before = state.window as usize;
                    state.window = (state.window / 2.0).max(1.0);
                    state.owed += before - state.window as usize;
                }
            }
            Outcome::Other => {}
        }
        // Pay what the window owes before it grows again.
        let paid = grow.min(state.owed);
        state.owed -= paid;
        grow -= paid;
        let retire = state.owed > 0;
        if retire {
            state.owed -= 1;
        }
        drop(state);
        // A place not retired is freed by `drop`.
        if retire && let Some(slot) = self.slot.take() {
            slot.forget();
        }
        pacer.slots.add_permits(grow);
    }
}

impl Drop for Permit<'_> {
    /// Frees the place, also when the attempt was cancelled before it
    /// finished.
    fn drop(&mut self) {
        drop(self.slot.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_every_request_then_paces_at_the_rate_measured() {
        let pacer = Pacer::new(8);
        let start = Instant::now();
        for _ in 0..40 {
            pacer.acquire().await.finish(Outcome::Success);
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "unpaced until a 429");
        pacer
            .acquire()
            .await
            .finish(Outcome::RateLimited(Duration::from_secs(1)));
        // A second 429 of the same burst is no second decrease.
        let late = Permit {
            pacer: &pacer,
            slot: None,
            epoch: 0,
        };
        late.finish(Outcome::RateLimited(Duration::from_secs(1)));
        {
            let state = pacer.state();
            assert_eq!(state.rate, Some(40.0 * 0.95));
            assert_eq!(state.window, 4.0);
            assert_eq!(state.epoch, 1);
        }
        let paused = Instant::now();
        pacer.acquire().await.finish(Outcome::Success);
        assert_eq!(paused.elapsed(), Duration::from_secs(1), "the pause");
        let first = Instant::now();
        pacer.acquire().await.finish(Outcome::Success);
        let gap = first.elapsed().as_secs_f64();
        assert!((gap - 1.0 / 38.0).abs() < 0.001, "paced at 38/s: {gap}");
    }

    #[tokio::test(start_paused = true)]
    async fn only_the_last_seconds_successes_set_the_rate() {
        let pacer = Pacer::new(4);
        for _ in 0..30 {
            pacer.acquire().await.finish(Outcome::Success);
        }
        // Quiet for five seconds: those thirty say nothing of the rate now.
        tokio::time::advance(Duration::from_secs(5)).await;
        pacer
            .acquire()
            .await
            .finish(Outcome::RateLimited(Duration::from_secs(1)));
        assert_eq!(pacer.state().rate, Some(1.0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_past_the_clocks_end_is_no_panic() {
        let pacer = Pacer::new(2);
        pacer
            .acquire()
            .await
            .finish(Outcome::RateLimited(Duration::MAX));
        let now = Instant::now();
        pacer.acquire().await.finish(Outcome::Success);
        assert_eq!(now.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn the_window_halves_and_grows_back_one_per_window() {
        let pacer = Pacer::new(8);
        let held: Vec<_> = futures_util::future::join_all((0..8).map(|_| pacer.acquire())).await;
        assert_eq!(pacer.slots.available_permits(), 0);
        let mut held = held.into_iter();
        held.next()
            .unwrap()
            .finish(Outcome::RateLimited(Duration::from_secs(1)));
        // Four owed: the next three that come back are retired.
        for permit in held {
            permit.finish(Outcome::Other);
        }
        assert_eq!(pacer.slots.available_permits(), 4);
        // About a window's worth of successes grows it by one.
        for _ in 0..5 {
            pacer.acquire().await.finish(Outcome::Success);
        }
        assert_eq!(pacer.slots.available_permits(), 5);
    }
}
