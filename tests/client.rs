//! The client against the crate's fake of the API (`openrouter_keys::fake`)
//! on loopback: wire format, retries, timing (on tokio's paused clock),
//! errors, bad input, redaction, and the retry driver's promises.
//!
//! The fake records every request exactly as it arrived, with the time it
//! arrived on the tokio clock, and answers with the scripted faults queued
//! on it before its normal answer. A few cases need a connection reset
//! after the request was read, which only the raw fault server
//! (`tests/fault_server/`) can do.

mod common;
mod fault_server;

use std::time::Duration;

use common::{HASH, KEY, error_body, success_body, success_json};
use openrouter_keys::{
    Applied, Client, Error, ErrorKind, KeyUpdate, LimitReset, Resend, RetryConfig,
    fake::{FakeOpenRouter, Fault},
};
use reqwest::StatusCode;
use tokio::time::Instant;

async fn start() -> FakeOpenRouter {
    FakeOpenRouter::start().await.expect("the fake starts")
}

fn client(fake: &FakeOpenRouter) -> Client {
    common::client(&fake.base_url(), RetryConfig::standard())
}

/// The API's answer to a successful update (the spec's example, which
/// differs from the fake's seeded key: its limit is 75).
fn ok() -> Fault {
    Fault::status(200).body(success_body())
}

/// An error status with the API's envelope and this message.
fn api_error(status: u16, message: &str) -> Fault {
    Fault::status(status).body(error_body(status, message))
}

/// More faults than any call in these tests makes attempts.
const EVERY_REQUEST: usize = 1_000;

/// Answers every request from now on with `fault`.
fn always(fake: &FakeOpenRouter, fault: Fault) {
    fake.fail_next(EVERY_REQUEST, fault);
}

/// How long the client waited before request `n` (from 1), after request
/// `n - 1`, on the tokio clock.
fn wait_before(fake: &FakeOpenRouter, n: usize) -> Duration {
    let requests = fake.requests();
    requests[n].received_at() - requests[n - 1].received_at()
}

async fn body_sent(update: KeyUpdate) -> String {
    let fake = start().await;
    client(&fake).update_key(HASH, &update).await.unwrap();
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    String::from_utf8(requests[0].body().to_vec()).unwrap()
}

// ---- wire format ----------------------------------------------------------

#[tokio::test]
async fn clearing_the_limit_sends_null() {
    assert_eq!(
        body_sent(KeyUpdate::new().clear_limit()).await,
        r#"{"limit":null}"#
    );
}

#[tokio::test]
async fn setting_the_limit_sends_the_number() {
    assert_eq!(
        body_sent(KeyUpdate::new().limit(75.0)).await,
        r#"{"limit":75}"#
    );
    assert_eq!(
        body_sent(KeyUpdate::new().limit(12.5)).await,
        r#"{"limit":12.5}"#
    );
}

#[tokio::test]
async fn an_unchanged_limit_is_not_sent_at_all() {
    let body = body_sent(KeyUpdate::new().name("renamed")).await;
    assert_eq!(body, r#"{"name":"renamed"}"#);
    assert!(!body.contains("limit"));
}

#[tokio::test]
async fn every_field_in_every_state() {
    assert_eq!(
        body_sent(
            KeyUpdate::new()
                .name("n")
                .disabled(true)
                .limit(0.0)
                .limit_reset(LimitReset::Weekly)
                .include_byok_in_limit(false)
        )
        .await,
        r#"{"name":"n","disabled":true,"limit":0,"limit_reset":"weekly","include_byok_in_limit":false}"#
    );
    assert_eq!(
        body_sent(KeyUpdate::new().clear_limit().clear_limit_reset()).await,
        r#"{"limit":null,"limit_reset":null}"#
    );
    assert_eq!(
        body_sent(KeyUpdate::new().limit_reset(LimitReset::Monthly)).await,
        r#"{"limit_reset":"monthly"}"#
    );
}

#[tokio::test]
async fn method_path_and_headers() {
    let fake = start().await;
    fake.push_fault(ok());
    let client = Client::builder()
        .api_key(KEY)
        .base_url(format!("{}/", fake.base_url()))
        .app_url("https://example.com/app")
        .app_title("Example App")
        .build()
        .unwrap();
    let key = client
        .update_key(HASH, &KeyUpdate::new().disabled(false))
        .await
        .unwrap();
    assert_eq!(key.hash, HASH);
    assert_eq!(key.limit, Some(75.0));

    let sent = &fake.requests()[0];
    assert_eq!(sent.method(), "PATCH");
    assert_eq!(sent.path_and_query(), format!("/api/v1/keys/{HASH}"));
    assert_eq!(
        sent.header("authorization").unwrap(),
        format!("Bearer {KEY}")
    );
    assert_eq!(sent.header("content-type").unwrap(), "application/json");
    assert_eq!(sent.header("accept").unwrap(), "application/json");
    assert_eq!(
        sent.header("user-agent").unwrap(),
        concat!("openrouter-keys/", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        sent.header("http-referer").unwrap(),
        "https://example.com/app"
    );
    assert_eq!(sent.header("x-openrouter-title").unwrap(), "Example App");
    assert_eq!(
        sent.header("api-version"),
        None,
        "progenitor's api-version header is stripped"
    );
}

#[tokio::test]
async fn the_hash_stays_one_path_segment() {
    let fake = start().await;
    let client = client(&fake);
    for (hash, path) in [
        ("a/b", "/api/v1/keys/a%2Fb"),
        ("../admin", "/api/v1/keys/..%2Fadmin"),
        ("x?y=1#z", "/api/v1/keys/x%3Fy=1%23z"),
        ("100%", "/api/v1/keys/100%25"),
        ("sp ace", "/api/v1/keys/sp%20ace"),
        ("%2e%2e", "/api/v1/keys/%252e%252e"),
    ] {
        // No such key: the fake answers 404, which is not retried.
        let _ = client
            .update_key(hash, &KeyUpdate::new().disabled(true))
            .await;
        assert_eq!(
            fake.last_request().unwrap().path_and_query(),
            path,
            "hash {hash:?}"
        );
    }
    assert_eq!(fake.hits(), 6);
}

#[tokio::test]
async fn per_call_headers_are_sent_but_cannot_replace_auth() {
    let fake = start().await;
    let client = client(&fake)
        .with_header("x-request-id".parse().unwrap(), "abc".parse().unwrap())
        .with_header(
            reqwest::header::AUTHORIZATION,
            "Bearer other".parse().unwrap(),
        );
    client
        .update_key(HASH, &KeyUpdate::new().disabled(true))
        .await
        .unwrap();
    let sent = &fake.requests()[0];
    assert_eq!(sent.header("x-request-id").unwrap(), "abc");
    assert_eq!(
        sent.header("authorization").unwrap(),
        format!("Bearer {KEY}")
    );
}

#[tokio::test]
async fn unknown_response_fields_decode() {
    let mut body = success_json();
    body["data"]["brand_new_field"] = serde_json::json!({"nested": [1, 2]});
    body["also_new"] = serde_json::json!(true);
    let fake = start().await;
    always(&fake, Fault::status(200).body(body.to_string()));
    let key = client(&fake)
        .update_key(HASH, &KeyUpdate::new().name("x"))
        .await
        .unwrap();
    assert_eq!(key.name, "My Production Key");
}

// ---- retries --------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn two_503s_then_success_takes_three_attempts() {
    let fake = start().await;
    fake.fail_next(2, api_error(503, "busy"));
    let start = Instant::now();
    let key = client(&fake)
        .update_key(HASH, &KeyUpdate::new().name("x"))
        .await
        .unwrap();
    assert_eq!(key.hash, HASH);
    assert_eq!(fake.hits(), 3);
    // Waits of about 0.5 s and 1 s, each cut by at most a quarter.
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(375 + 750), "{elapsed:?}");
    assert!(elapsed <= Duration::from_millis(1500 + 50), "{elapsed:?}");
    let first_wait = wait_before(&fake, 1);
    assert!(
        first_wait >= Duration::from_millis(375),
        "first retry waited only {first_wait:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn retried_statuses_are_retried() {
    for status in [408u16, 429, 500, 502, 503, 504] {
        let fake = start().await;
        fake.push_fault(api_error(status, "transient"));
        client(&fake)
            .update_key(HASH, &KeyUpdate::new().name("x"))
            .await
            .unwrap();
        assert_eq!(fake.hits(), 2, "status {status}");
    }
}

#[tokio::test(start_paused = true)]
async fn client_errors_are_sent_once() {
    for (status, check) in [
        (
            400u16,
            (|e: &Error| e.kind() == ErrorKind::BadRequest) as fn(&Error) -> bool,
        ),
        (401, |e| e.kind() == ErrorKind::Unauthorized),
        (403, |e| e.kind() == ErrorKind::Forbidden),
        (404, |e| e.kind() == ErrorKind::NotFound),
        (409, |e| e.kind() == ErrorKind::Status),
    ] {
        let fake = start().await;
        always(&fake, api_error(status, "no"));
        let err = client(&fake)
            .update_key(HASH, &KeyUpdate::new().name("x"))
            .await
            .unwrap_err();
        assert_eq!(fake.hits(), 1, "status {status}");
        assert!(check(&err), "status {status}: {err:?}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(err.attempts(), 1);
        assert!(!err.is_retryable());
        assert_eq!(err.api_error().unwrap().message, "no");
        assert_eq!(err.api_error().unwrap().code, i64::from(status));
        assert_eq!(err.applied(), Applied::No);
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_seconds_is_honoured() {
    let fake = start().await;
    fake.push_fault(api_error(429, "slow down").retry_after("3"));
    client(&fake)
        .update_key(HASH, &KeyUpdate::new().name("x"))
        .await
        .unwrap();
    assert_eq!(fake.hits(), 2);
    let waited = wait_before(&fake, 1);
    assert!(waited >= Duration::from_secs(3), "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn retry_after_ms_is_honoured_before_retry_after() {
    let fake = start().await;
    fake.push_fault(
        api_error(429, "slow down")
            .header("retry-after-ms", "2500")
            .retry_after("1"),
    );
    client(&fake)
        .update_key(HASH, &KeyUpdate::new().name("x"))
        .await
        .unwrap();
    let waited = wait_before(&fake, 1);
    assert!(waited >= Duration::from_millis(2500), "{waited:?}");
    assert!(waited < Duration::from_millis(2600), "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn retry_after_http_date_is_honoured() {
    // A date on a whole second (HTTP dates have no fraction) 3 to 4 s from
    // now. The client measures against the wall clock, which moves on while
    // the test runs, so allow half a second of it.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let at = std::time::UNIX_EPOCH + Duration::from_secs(now.as_secs() + 4);
    let fake = start().await;
    fake.push_fault(api_error(503, "later").retry_after(httpdate::fmt_http_date(at)));
    client(&fake)
        .update_key(HASH, &KeyUpdate::new().name("x"))
        .await
        .unwrap();
    let waited = wait_before(&fake, 1);
    assert!(waited >= Duration::from_millis(2500), "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn an_unreadable_retry_after_falls_back_to_backoff() {
    let fake = start().await;
    fake.push_fault(api_error(503, "later").retry_after("soon-ish"));
    client(&fake)
        .update_key(HASH, &KeyUpdate::new().name("x"))
        .await
        .unwrap();
    let waited = wait_before(&fake, 1);
    assert!(
        waited >= Duration::from_millis(375) && waited <= Duration::from_millis(550),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_beyond_the_cap_ends_the_call_at_once() {
    let fake = start().await;
    always(
        &fake,
        api_error(429, "come back in an hour").retry_after("3600"),
    );
    let start = Instant::now();
    let err = client(&fake)
        .update_key(HASH, &KeyUpdate::new().name("x"))
        .await
        .unwrap_err();
    assert!(err.kind() == ErrorKind::RateLimited, "{err:?}");
    assert_eq!(fake.hits(), 1);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert!(start.elapsed() < Duration::from_millis(50));
    assert!(err.to_string().contains("3600.0 s"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_that_does_not_fit_the_budget_ends_the_call() {
    let fake = start().await;
    always(&fake, api_error(503, "wait").retry_after("20"));
    let client =
        client(&fake).with_retry(RetryConfig::standard().with_max_elapsed(Duration::from_secs(10)));
    let start = Instant::now();
    let err = client
        .update_key(HASH, &KeyUpdate::new().name("x"))
        .await
        .unwrap_err();
    assert_eq!(fake.hits(), 1);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(20)));
    assert!(start.elapsed() < Duration::from_millis(50));
}

#[tokio::test(start_paused = true)]
async fn the_budget_is_never_exceeded() {
    for budget_ms in [300u64, 1000, 2000, 5000] {
        let budget = Duration::from_millis(budget_ms);
        let fake = start().await;
        always(&fake, api_error(503, "down"));
        let client = client(&fake).with_retry(
            RetryConfig::standard()
                .with_max_attempts(100)
                .with_max_elapsed(budget),
        );
        let start = Instant::now();
        let err = client
            .update_key(HASH, &KeyUpdate::new().name("x"))
            .await
            .unwrap_err();
        let elapsed = start.elapsed();
        assert!(elapsed <= budget, "budget {budget:?}, took {elapsed:?}");
        assert!(err.kind() == ErrorKind::Status);
        assert_eq!(err.attempts() as usize, fake.hits());
        assert!(err.is_retryable());
    }
}

#[tokio::test(start_paused = true)]
async fn slow_attempts_are_cut_to_the_budget() {
    let fake = start().await;
    fake.set_delay(Some(Duration::from_secs(60)));
    let client = Client::builder()
        .api_key(KEY)
        .base_url(fake.base_url())
        .timeout(Duration::from_secs(20))
        .retry(RetryConfig::standard().with_max_elapsed(Duration::from_secs(5)))
        .build()
        .unwrap();
    let start = Instant::now();
    let err = client
        .update_key(HASH, &KeyUpdate::new().name("x"))
        .await
        .unwrap_err();
    let elapsed = start.elapsed();
    assert!(err.kind() == ErrorKind::Timeout, "{err:?}");
    assert!(elapsed <= Duration::from_millis(5050), "{elapsed:?}");
    assert_eq!(err.applied(), Applied::Maybe);
    assert!(err.to_string().contains("may have been applied"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_timeout_is_retried_then_reported() {
    let fake = start().await;
    fake.set_delay(Some(Duration::from_secs(30)));
    let client = client(&fake).with_timeout(Duration::from_secs(1));
    let err = client
        .update_key(HASH, &KeyUpdate::new().name("x"))
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(err.attempts(), 4);
    assert_eq!(fake.hits(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_per_call_override_beats_the_client_default() {
    let fake = start().await;
    always(&fake, api_error(503, "down"));
    let client = client(&fake);
    let err = client
        .with_retry(RetryConfig::disabled())
        .update_key(HASH, &KeyUpdate::new().name("x"))
        .await;
    assert_eq!(err.unwrap_err().attempts(), 1);
    assert_eq!(fake.hits(), 1);
    // The original client keeps its own policy.
    let err = client
        .update_key(HASH, &KeyUpdate::new().name("x"))
        .await
        .unwrap_err();
    assert_eq!(err.attempts(), 4);
    assert_eq!(fake.hits(), 5);
}

#[tokio::test(start_paused = true)]
async fn connection_refused_is_retried_and_reported() {
    let client = common::client(&fault_server::dead_base_url(), RetryConfig::standard());
    let err = client
        .update_key(HASH, &KeyUpdate::new().name("x"))
        .await
        .unwrap_err();
    assert!(err.kind() == ErrorKind::Connection, "{err:?}");
    assert_eq!(err.attempts(), 4);
    assert_eq!(err.applied(), Applied::No);
    assert!(err.is_retryable());
}

#[tokio::test(start_paused = true)]
async fn dropping_the_future_cancels_the_pending_retry() {
    let fake = start().await;
    always(&fake, api_error(503, "down"));
    let client = client(&fake);
    let update = KeyUpdate::new().name("x");
    let call = client.update_key(HASH, &update);
    // Long enough for the first attempt, far too short for the retries.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), call)
            .await
            .is_err()
    );
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(fake.hits(), 1);
}

// ---- decoding -------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_success_that_cannot_be_decoded_is_not_retried_and_keeps_the_body() {
    let body = r#"{"data":{"hash":"abc","name":"only two fields"}}"#;
    let fake = start().await;
    always(&fake, Fault::status(200).body(body));
    let err = client(&fake)
        .update_key(HASH, &KeyUpdate::new().name("x"))
        .await
        .unwrap_err();
    assert_eq!(fake.hits(), 1);
    assert_eq!(err.kind(), ErrorKind::Decode, "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(200));
    assert_eq!(err.applied(), Applied::Yes);
    assert_eq!(err.raw_body(), Some(body.as_bytes()));
    let text = err.to_string();
    assert!(
        text.starts_with("the request was applied (HTTP 200)"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_html_error_page_keeps_its_status_and_body() {
    let page = "<html><body>502 Bad Gateway</body></html>";
    let html = |status| {
        Fault::status(status)
            .body(page)
            .header("content-type", "text/html")
    };
    let fake = start().await;
    fake.push_fault(html(502));
    always(&fake, html(404));
    let err = client(&fake)
        .update_key(HASH, &KeyUpdate::new().name("x"))
        .await
        .unwrap_err();
    assert!(err.kind() == ErrorKind::NotFound, "{err:?}");
    assert_eq!(fake.hits(), 2);
    assert_eq!(err.raw_body(), Some(page.as_bytes()));
    assert!(err.api_error().is_none());
    assert!(err.to_string().contains("502 Bad Gateway"), "{err}");
}

#[tokio::test]
async fn an_oversized_body_is_not_read() {
    let fake = start().await;
    always(&fake, Fault::status(200).body("x".repeat(64 * 1024)));
    let client = Client::builder()
        .api_key(KEY)
        .base_url(fake.base_url())
        .max_response_bytes(4096)
        .build()
        .unwrap();
    let err = client
        .update_key(HASH, &KeyUpdate::new().name("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ResponseTooLarge, "{err:?}");
    assert!(err.to_string().contains("the 4096-byte cap"), "{err}");
    assert_eq!(err.applied(), Applied::Yes);
    assert_eq!(fake.hits(), 1);
}

// ---- bad input ------------------------------------------------------------

#[tokio::test]
async fn bad_input_is_refused_before_sending() {
    let fake = start().await;
    let client = client(&fake);
    let cases: Vec<(&str, KeyUpdate, &str)> = vec![
        ("", KeyUpdate::new().name("x"), "hash is empty"),
        (".", KeyUpdate::new().name("x"), "not a key hash"),
        ("a\\b", KeyUpdate::new().name("x"), "cannot contain"),
        ("..", KeyUpdate::new().name("x"), "not a key hash"),
        (HASH, KeyUpdate::new(), "sets no field"),
        (HASH, KeyUpdate::new().limit(f64::NAN), "finite"),
        (HASH, KeyUpdate::new().limit(f64::INFINITY), "finite"),
        (HASH, KeyUpdate::new().limit(-1.0), "negative"),
    ];
    for (hash, update, says) in cases {
        let err = client.update_key(hash, &update).await.unwrap_err();
        assert!(err.kind() == ErrorKind::InvalidRequest, "{err:?}");
        assert!(err.to_string().contains(says), "{err}");
        assert_eq!(err.attempts(), 0);
    }
    assert_eq!(fake.hits(), 0);
}

#[test]
fn bad_configuration_is_an_error_not_a_panic() {
    let cases: Vec<(Result<Client, Error>, &str)> = vec![
        (Client::builder().build(), "no API key"),
        (Client::new(""), "empty"),
        (
            Client::new("sk-or-v1-abc\r\nX-Evil: 1"),
            "cannot be sent in an HTTP header",
        ),
        (
            Client::builder()
                .api_key(KEY)
                .base_url("http://example.com/api/v1")
                .build(),
            "refusing plain http",
        ),
        (
            Client::builder()
                .api_key(KEY)
                .base_url("ftp://example.com")
                .build(),
            "scheme `ftp`",
        ),
        (
            Client::builder().api_key(KEY).base_url("not a url").build(),
            "not a valid URL",
        ),
        (
            Client::builder()
                .api_key(KEY)
                .base_url("https://u:p@example.com")
                .build(),
            "credentials",
        ),
        (
            Client::builder()
                .api_key(KEY)
                .app_title("bad\ntitle")
                .build(),
            "app title",
        ),
    ];
    for (result, says) in cases {
        let err = result.unwrap_err();
        assert!(err.kind() == ErrorKind::Config, "{err:?}");
        assert!(err.to_string().contains(says), "{err}");
    }
    assert!(
        Client::builder()
            .api_key(KEY)
            .base_url("http://example.com")
            .allow_insecure_http(true)
            .build()
            .is_ok()
    );
    assert!(
        Client::builder()
            .api_key(KEY)
            .base_url("http://[::1]:8080/api/v1")
            .build()
            .is_ok()
    );
    assert!(
        Client::builder()
            .api_key(KEY)
            .base_url("http://localhost:8080/api/v1")
            .build()
            .is_ok()
    );
}

// ---- redaction ------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn the_key_appears_in_no_formatted_value_or_error() {
    // A server that echoes the key back in its error message and body.
    let fake = start().await;
    fake.push_fault(api_error(401, &format!("invalid key {KEY}")));
    always(
        &fake,
        Fault::status(500)
            .body(format!("<pre>{KEY}</pre>"))
            .header("content-type", "text/html"),
    );
    let client = client(&fake);
    let builder = Client::builder().api_key(KEY);
    let mut texts = vec![
        format!("{client:?}"),
        format!("{client:#?}"),
        format!("{builder:?}"),
    ];
    texts.push(format!("{:?}", RetryConfig::standard()));
    let unauthorized = client
        .update_key(HASH, &KeyUpdate::new().name("x"))
        .await
        .unwrap_err();
    let server_error = client
        .update_key(HASH, &KeyUpdate::new().name("x"))
        .await
        .unwrap_err();
    for err in [&unauthorized, &server_error] {
        texts.push(err.to_string());
        texts.push(format!("{err:?}"));
        texts.push(String::from_utf8_lossy(err.raw_body().unwrap()).into_owned());
    }
    texts.push(unauthorized.api_error().unwrap().message.clone());
    for text in &texts {
        assert!(!text.contains(KEY), "key leaked: {text}");
        assert!(!text.contains("SECRET"), "key leaked: {text}");
    }
    assert!(unauthorized.to_string().contains("[redacted]"));
    // ...while the server did get it.
    assert_eq!(
        fake.requests()[0].header("authorization").unwrap(),
        format!("Bearer {KEY}")
    );
}

#[test]
fn client_is_cheap_to_clone_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_clone<T: Clone>() {}
    assert_send_sync::<Client>();
    assert_clone::<Client>();
    assert_send_sync::<Error>();
    fn assert_send<T: Send>(_: &T) {}
    let client = Client::new(KEY).unwrap();
    let update = KeyUpdate::new().name("x");
    assert_send(&client.update_key(HASH, &update));
}

// ---- the retry driver -----------------------------------------------------

/// `is_retryable()` answers for the policy the call ran under: the same
/// failure is retryable under one policy and not under another.
#[tokio::test(start_paused = true)]
async fn is_retryable_follows_the_configured_policy() {
    let update = KeyUpdate::new().name("x");
    let once = |retry: RetryConfig| retry.with_max_attempts(1);

    // 409: not retried by the standard policy; retried by one that names it
    // (with one attempt allowed, so the call still ends with the 409).
    let fake = start().await;
    always(&fake, api_error(409, "conflict"));
    let client = client(&fake);
    let standard = client.update_key(HASH, &update).await.unwrap_err();
    assert!(standard.kind() == ErrorKind::Status, "{standard:?}");
    assert_eq!(standard.attempts(), 1);
    assert!(!standard.is_retryable(), "{standard}");
    let conflict_retried = RetryConfig::standard().with_retry_status(StatusCode::CONFLICT, true);
    let named = client
        .with_retry(once(conflict_retried))
        .update_key(HASH, &update)
        .await
        .unwrap_err();
    assert_eq!(named.status(), Some(StatusCode::CONFLICT));
    assert_eq!(named.attempts(), 1);
    assert!(named.is_retryable(), "{named}");
    assert_eq!(fake.hits(), 2);

    // 503: retryable under the standard policy, not once no status is.
    let fake = start().await;
    always(&fake, api_error(503, "down"));
    let client = self::client(&fake);
    let standard = client
        .with_retry(once(RetryConfig::standard()))
        .update_key(HASH, &update)
        .await
        .unwrap_err();
    assert!(standard.is_retryable(), "{standard}");
    let no_status = client
        .with_retry(RetryConfig::standard().without_retry_statuses())
        .update_key(HASH, &update)
        .await
        .unwrap_err();
    assert_eq!(no_status.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(no_status.attempts(), 1);
    assert!(!no_status.is_retryable(), "{no_status}");
    assert_eq!(fake.hits(), 2);

    // A refused connection: retryable by default, not with Resend::Never.
    let refused = common::client(&fault_server::dead_base_url(), RetryConfig::standard());
    let standard = refused
        .with_retry(once(RetryConfig::standard()))
        .update_key(HASH, &update)
        .await
        .unwrap_err();
    assert!(standard.kind() == ErrorKind::Connection, "{standard:?}");
    assert!(standard.is_retryable(), "{standard}");
    let never = refused
        .with_retry(RetryConfig::standard().with_resend(Resend::Never))
        .update_key(HASH, &update)
        .await
        .unwrap_err();
    assert!(never.kind() == ErrorKind::Connection, "{never:?}");
    assert_eq!(never.attempts(), 1);
    assert!(!never.is_retryable(), "{never}");
}

/// `Resend::IfUnsent` resends what surely never arrived (a refused
/// connection), and not what may have (a reset after the request was read).
#[tokio::test(start_paused = true)]
async fn resend_if_unsent_retries_a_refused_connection_but_not_a_reset() {
    use fault_server::{FaultServer, Step};

    let if_unsent = RetryConfig::standard().with_resend(Resend::IfUnsent);
    let update = KeyUpdate::new().name("x");

    let refused = common::client(&fault_server::dead_base_url(), if_unsent);
    let err = refused.update_key(HASH, &update).await.unwrap_err();
    assert!(err.kind() == ErrorKind::Connection, "{err:?}");
    assert_eq!(err.applied(), Applied::No);
    assert_eq!(err.attempts(), 4, "retried: {err}");

    let server = FaultServer::always(vec![Step::ReadRequest, Step::Reset]).await;
    let reset = common::client(&server.base_url, if_unsent);
    let err = reset.update_key(HASH, &update).await.unwrap_err();
    assert!(err.kind() == ErrorKind::Connection, "{err:?}");
    assert_eq!(err.applied(), Applied::Maybe);
    assert_eq!(err.attempts(), 1, "not retried: {err}");
    assert!(!err.is_retryable());
    assert_eq!((server.connections(), server.requests()), (1, 1));

    // The standard policy resends the same reset.
    let err = reset
        .with_retry(RetryConfig::standard())
        .update_key(HASH, &update)
        .await
        .unwrap_err();
    assert_eq!(err.attempts(), 4, "{err}");
    assert_eq!(server.requests(), 1 + 4);
}

#[tokio::test(start_paused = true)]
async fn a_refused_connection_names_the_address_and_keeps_its_cause() {
    let base_url = fault_server::dead_base_url();
    let addr = base_url
        .strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let client = common::client(&base_url, RetryConfig::disabled());
    let err = client
        .update_key(HASH, &KeyUpdate::new().name("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err:?}");
    assert_eq!(err.applied(), Applied::No);
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("could not connect to {addr}")),
        "{text}"
    );
    assert!(!text.contains("may have been applied"), "{text}");

    let source = std::error::Error::source(&err).expect("the error has a source");
    let cause = source
        .downcast_ref::<reqwest::Error>()
        .expect("the source is a reqwest::Error");
    assert!(cause.is_connect(), "{cause:?}");
}

#[test]
fn a_zero_timeout_is_refused() {
    let err = Client::builder()
        .api_key(KEY)
        .timeout(Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(err.kind() == ErrorKind::Config, "{err:?}");
    assert!(err.to_string().contains("timeout"), "{err}");
    // The shortest timeout that is not zero is a timeout all the same.
    let client = Client::builder()
        .api_key(KEY)
        .timeout(Duration::from_nanos(1))
        .build()
        .unwrap();
    assert_eq!(client.timeout(), Duration::from_nanos(1));
}

/// `with_header`, `with_timeout` and `with_retry` return a changed clone;
/// the client they were called on sends as before.
#[tokio::test(start_paused = true)]
async fn a_per_call_override_changes_only_the_clone() {
    let fake = start().await;
    let original = client(&fake);
    let update = KeyUpdate::new().name("x");

    // with_header
    let tagged = original.with_header("x-request-id".parse().unwrap(), "abc".parse().unwrap());
    tagged.update_key(HASH, &update).await.unwrap();
    original.update_key(HASH, &update).await.unwrap();
    let sent = fake.take_requests();
    assert_eq!(sent[0].header("x-request-id"), Some("abc"));
    assert_eq!(sent[1].header("x-request-id"), None);

    // with_timeout: answers take 5 s; the clone gives up on each attempt
    // after 1 s, the original waits up to its own 10 s.
    fake.set_delay(Some(Duration::from_secs(5)));
    let hasty = original.with_timeout(Duration::from_secs(1));
    assert_eq!(hasty.timeout(), Duration::from_secs(1));
    assert_eq!(original.timeout(), openrouter_keys::DEFAULT_ATTEMPT_TIMEOUT);
    let err = hasty
        .with_retry(RetryConfig::disabled())
        .update_key(HASH, &update)
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    let start = Instant::now();
    original.update_key(HASH, &update).await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    fake.set_delay(None);

    // with_retry
    always(&fake, api_error(503, "down"));
    let hits = fake.hits();
    let once = original.with_retry(RetryConfig::disabled());
    assert_eq!(once.retry_config().max_attempts(), 1);
    let err = once.update_key(HASH, &update).await.unwrap_err();
    assert_eq!(err.attempts(), 1);
    assert_eq!(original.retry_config(), RetryConfig::standard());
    let err = original.update_key(HASH, &update).await.unwrap_err();
    assert_eq!(err.attempts(), 4);
    assert_eq!(fake.hits(), hits + 1 + 4);
}
