//! The retry budget that every clone of a client shares: what an outage
//! costs with it and without it, that a light error rate is still retried,
//! how it recovers, and whose budget is whose.
//!
//! Everything runs against the crate's fake on tokio's paused clock, with
//! millisecond waits, so that a thousand calls take well under a second.
//! The standard budget holds 500 tokens; a retry takes 5 (10 after a
//! timeout) and a successful call puts 1 back.

use std::{
    cell::RefCell,
    sync::{
        Arc, Once,
        atomic::{AtomicUsize, Ordering::Relaxed},
    },
    time::Duration,
};

use openrouter_keys::{
    ApiKey, Client, Error, KeyUpdate, RetryBudget, RetryConfig,
    fake::{EXAMPLE_KEY_HASH, FakeOpenRouter, Fault},
};
use reqwest::header::{HeaderName, HeaderValue};
use tokio::task::JoinSet;

const TOKEN: &str = "sk-or-v1-test-retry-budget";

/// Calls in the load tests.
const CALLS: usize = 1_000;
/// Calls in flight at once in the load tests.
const CONCURRENCY: usize = 32;

/// Retries a full standard budget pays for when no call succeeds.
fn retries_in_a_full_budget() -> usize {
    let budget = RetryBudget::standard();
    (budget.capacity() / budget.retry_cost()) as usize
}

/// The standard policy with waits of a few milliseconds.
fn quick() -> RetryConfig {
    RetryConfig::standard()
        .with_initial_interval(Duration::from_millis(1))
        .with_max_interval(Duration::from_millis(4))
}

async fn start() -> FakeOpenRouter {
    FakeOpenRouter::start().await.expect("the fake starts")
}

fn client(fake: &FakeOpenRouter, retry: RetryConfig) -> Client {
    Client::builder()
        .api_key(TOKEN)
        .base_url(fake.base_url())
        .retry(retry)
        .build()
        .expect("a client")
}

async fn update(client: &Client) -> Result<ApiKey, Error> {
    client
        .update_key(EXAMPLE_KEY_HASH, &KeyUpdate::new().disabled(false))
        .await
}

/// Makes `calls` calls through clones of `client`, `concurrency` at a time.
async fn run(client: &Client, calls: usize, concurrency: usize) -> Vec<Result<ApiKey, Error>> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = JoinSet::new();
    for _ in 0..concurrency {
        let (client, next) = (client.clone(), Arc::clone(&next));
        workers.spawn(async move {
            let mut outcomes = Vec::new();
            while next.fetch_add(1, Relaxed) < calls {
                outcomes.push(update(&client).await);
            }
            outcomes
        });
    }
    let mut outcomes = Vec::with_capacity(calls);
    while let Some(joined) = workers.join_next().await {
        outcomes.extend(joined.expect("no call panics"));
    }
    assert_eq!(outcomes.len(), calls);
    outcomes
}

/// Calls through `client`, which meets nothing but 503s, until a call
/// ends because the budget refused its retry; returns the calls made.
async fn drain(client: &Client) -> usize {
    for calls in 1.. {
        let error = update(client).await.expect_err("the service is down");
        if error.is_retry_budget_exhausted() {
            return calls;
        }
        assert_eq!(error.attempts(), 4, "{error}");
    }
    unreachable!()
}

#[tokio::test(start_paused = true)]
async fn an_outage_costs_one_tenth_more_requests_than_calls_not_four_times() {
    let fake = start().await;
    fake.fail_next(4 * CALLS, Fault::status(503));
    let client = client(&fake, quick());

    let outcomes = run(&client, CALLS, CONCURRENCY).await;

    // Every first attempt is sent; the budget pays for 100 retries (500
    // tokens at 5 each), and no success ever refills it.
    assert_eq!(retries_in_a_full_budget(), 100);
    assert_eq!(fake.hits(), CALLS + 100);
    assert_eq!(fake.hits(), 1_100);
    assert!(
        fake.hits() <= CALLS * 5 / 4,
        "1.25 requests per call at most"
    );

    let mut refused = 0;
    for outcome in &outcomes {
        let error = outcome.as_ref().expect_err("the service is down");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(503), "{error}");
        assert!(error.is_retryable(), "{error}");
        let message = error.to_string();
        if error.is_retry_budget_exhausted() {
            refused += 1;
            assert!(error.attempts() < 4, "{error}");
            assert!(message.contains("retry budget ran out"), "{message}");
        } else {
            // Only calls that used every attempt escape the budget.
            assert_eq!(error.attempts(), 4, "{error}");
            assert!(!message.contains("retry budget"), "{message}");
        }
    }
    let attempts: usize = outcomes
        .iter()
        .map(|o| o.as_ref().unwrap_err().attempts() as usize)
        .sum();
    assert_eq!(attempts, fake.hits(), "every attempt is reported");
    // At most 33 calls can have had all three of their retries paid for.
    assert!(
        refused >= CALLS - 33,
        "{refused} calls were refused a retry"
    );
}

#[tokio::test(start_paused = true)]
async fn without_the_budget_an_outage_costs_four_requests_a_call() {
    let fake = start().await;
    fake.fail_next(4 * CALLS, Fault::status(503));
    let client = client(&fake, quick().without_budget());

    let outcomes = run(&client, CALLS, CONCURRENCY).await;

    assert_eq!(fake.hits(), 4 * CALLS);
    for outcome in &outcomes {
        let error = outcome.as_ref().expect_err("the service is down");
        assert_eq!(error.attempts(), 4, "{error}");
        assert!(!error.is_retry_budget_exhausted(), "{error}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_light_steady_error_rate_is_always_retried() {
    const SEED: u64 = 13;
    const ERROR_RATE: f64 = 0.10;
    let fake = start().await;
    let client = client(&fake, quick());
    let mut rng = fastrand::Rng::with_seed(SEED);

    // One call at a time, so that each call meets exactly the 503s drawn
    // for it: every answer is a 503 with probability 10 %, independently.
    let mut failed_answers = 0;
    for call in 0..CALLS {
        let mut failures = 0;
        while rng.f64() < ERROR_RATE {
            failures += 1;
        }
        // Four 503s in a row (one chance in 10,000 a call) would end a
        // call whatever the budget; this seed draws none.
        assert!(failures < 4, "call {call} drew {failures} 503s in a row");
        fake.fail_next(failures, Fault::status(503));
        let hits = fake.hits();
        let key = update(&client).await;
        assert!(key.is_ok(), "call {call}: {:?}", key.unwrap_err());
        assert_eq!(fake.hits() - hits, failures + 1, "call {call}");
        failed_answers += failures;
    }

    assert_eq!(failed_answers, 105);
    assert_eq!(fake.hits(), CALLS + 105);
    let share = failed_answers as f64 / fake.hits() as f64;
    assert!((0.09..0.11).contains(&share), "{share}");
    // More retries than a full budget pays for without refills: the
    // successes kept it from running out.
    assert!(failed_answers > retries_in_a_full_budget());
}

thread_local! {
    /// What was logged on this thread, while a test captures it.
    static LOG: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

/// Writes log lines to the calling thread's [`LOG`], if it is capturing.
struct ThreadLog;

impl std::io::Write for ThreadLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOG.with_borrow_mut(|log| {
            if let Some(log) = log {
                log.extend_from_slice(bytes);
            }
        });
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures the debug log of the calling thread: a test on a
/// current-thread runtime sees its own lines only. One global subscriber
/// serves every test: a subscriber set per thread can miss events whose
/// callsites another test's thread registered first.
fn capture_log() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        use tracing_subscriber::{Layer, filter, fmt, layer::SubscriberExt};
        // Threads that capture nothing skip the formatting too.
        // Decided per event, never cached per callsite: a callsite that
        // another test's thread reached first must still reach this one.
        let capturing = filter::dynamic_filter_fn(|meta, _| {
            *meta.level() <= tracing::Level::DEBUG && LOG.with_borrow(Option::is_some)
        });
        let layer = fmt::layer()
            .with_ansi(false)
            .with_writer(|| ThreadLog)
            .with_filter(capturing);
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .expect("no other subscriber in this test binary");
    });
    LOG.with_borrow_mut(|log| *log = Some(Vec::new()));
}

/// The lines logged on this thread since the last call.
fn take_log() -> String {
    let bytes = LOG.with_borrow_mut(|log| log.as_mut().map(std::mem::take).unwrap_or_default());
    String::from_utf8(bytes).expect("log lines are UTF-8")
}

#[tokio::test(start_paused = true)]
async fn after_an_outage_the_fifth_success_pays_for_a_retry() {
    capture_log();
    let fake = start().await;
    let client = client(&fake, quick());

    // The outage empties the budget: 33 calls with three retries each,
    // then one with a single retry, and the next retry is refused.
    fake.fail_next(10_000, Fault::status(503));
    let calls = drain(&client).await;
    assert_eq!(calls, 34);
    assert_eq!(fake.hits() - calls, retries_in_a_full_budget());
    fake.clear_faults();
    take_log();

    // Each success puts back 1 token and a retry takes 5, so the fifth
    // success after the outage pays for the next retry.
    let budget = RetryBudget::standard();
    // A success puts one token back.
    let successes_per_retry = budget.retry_cost();
    assert_eq!(successes_per_retry, 5);
    for success in 1..=successes_per_retry {
        update(&client).await.expect("the outage is over");
        // A single transient 503.
        fake.push_fault(Fault::status(503));
        let hits = fake.hits();
        let probe = update(&client).await;
        let lines = take_log();
        if success < successes_per_retry {
            let error = probe.expect_err("no retry yet");
            assert!(error.is_retry_budget_exhausted(), "{error}");
            assert_eq!(error.attempts(), 1);
            assert_eq!(fake.hits() - hits, 1);
            assert!(
                error.to_string().contains("retry budget ran out"),
                "{error}"
            );
            let refused = lines
                .lines()
                .find(|line| line.contains("attempt finished") && line.contains("status=503"))
                .unwrap_or_else(|| panic!("no line for the refused retry in:\n{lines}"));
            assert!(
                refused.contains(r#"reason="the client's retry budget ran out""#),
                "{refused}"
            );
        } else {
            probe.expect("the fifth success paid for the retry");
            assert_eq!(fake.hits() - hits, 2);
            assert!(lines.contains("attempt failed; retrying"), "{lines}");
            assert!(!lines.contains("retry budget"), "{lines}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn every_clone_shares_the_budget_and_separate_clients_do_not() {
    let fake = start().await;
    fake.fail_next(10_000, Fault::status(503));
    let first = client(&fake, quick());
    let second = client(&fake, quick());

    drain(&first).await;

    let clones = [
        first.clone(),
        first.with_retry(quick().with_max_attempts(10)),
        first.with_timeout(Duration::from_secs(30)),
        first.with_header(
            HeaderName::from_static("x-test"),
            HeaderValue::from_static("1"),
        ),
    ];
    for clone in &clones {
        let hits = fake.hits();
        let error = update(clone).await.unwrap_err();
        assert!(error.is_retry_budget_exhausted(), "{error}");
        assert_eq!(error.attempts(), 1);
        assert_eq!(fake.hits() - hits, 1);
    }

    // A client built on its own has its own, full budget...
    let hits = fake.hits();
    let error = update(&second).await.unwrap_err();
    assert!(!error.is_retry_budget_exhausted(), "{error}");
    assert_eq!(error.attempts(), 4);
    assert_eq!(fake.hits() - hits, 4);
    // ...and so does a clone whose policy has no budget.
    let error = update(&first.with_retry(quick().without_budget()))
        .await
        .unwrap_err();
    assert!(!error.is_retry_budget_exhausted(), "{error}");
    assert_eq!(error.attempts(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_a_timeout_costs_twice_as_much() {
    let fake = start().await;
    // Every answer comes after the attempt timeout.
    fake.fail_next(10_000, Fault::status(503).delay(Duration::from_secs(5)));
    let client = client(&fake, quick()).with_timeout(Duration::from_secs(1));

    let mut retries = 0;
    loop {
        let error = update(&client).await.unwrap_err();
        assert!(error.is_timeout(), "{error}");
        retries += error.attempts() as usize - 1;
        if error.is_retry_budget_exhausted() {
            break;
        }
    }
    let budget = RetryBudget::standard();
    // A retry after a timeout costs twice the retry cost.
    assert_eq!(
        retries,
        (budget.capacity() / (2 * budget.retry_cost())) as usize
    );
    assert_eq!(retries, 50);
}
