//! The key lifecycle beyond the update: list, get, create, delete and the
//! current key, against the raw fault server on loopback. What each sends
//! (method, path, query, exact body), how each is retried (creating is not
//! idempotent), how a listing walks its pages and stops, and that a
//! created key's secret shows nowhere but through `expose_secret`.

mod common;
mod fault_server;

use common::{HASH, KEY, Kind, error_body, success_json};
use fault_server::{FaultServer, Script, Step, answer, api_error, dead_base_url, ok, response};
use openrouter_keys::{
    Applied, Client, ErrorKind, ExposeSecret, LimitReset, ListOptions, NewKey, RetryConfig,
};

const SECRET: &str = "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";
const WORKSPACE: &str = "0b5e6a4c-3f2d-4e1a-9c8b-7d6e5f4a3b2c";

fn client(base_url: &str) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(base_url)
        // Short waits, so that retries take no time on the paused clock.
        .retry(RetryConfig::standard().without_budget())
        .build()
        .unwrap()
}

fn json(status: u16, body: &serde_json::Value) -> Script {
    answer(response(
        status,
        &[("content-type", "application/json")],
        body.to_string().as_bytes(),
    ))
}

fn key_data() -> serde_json::Value {
    success_json()["data"].clone()
}

fn created() -> serde_json::Value {
    serde_json::json!({ "data": key_data(), "key": SECRET })
}

fn page(n: usize) -> serde_json::Value {
    serde_json::json!({ "data": vec![key_data(); n] })
}

/// The request is read, then the connection closes: it may have arrived.
fn lost_answer() -> Script {
    vec![Step::ReadRequest, Step::Close]
}

// ---- wire format ----------------------------------------------------------

#[tokio::test]
async fn each_operation_sends_its_method_path_query_and_body() {
    let server = FaultServer::start(
        vec![
            json(200, &page(1)),
            answer(ok()),
            json(201, &created()),
            json(200, &serde_json::json!({ "deleted": true })),
        ],
        json(500, &serde_json::json!({})),
    )
    .await;
    let client = client(&server.base_url);

    let keys = client
        .list_keys(
            &ListOptions::new()
                .include_disabled(true)
                .offset(5)
                .workspace_id(WORKSPACE),
        )
        .await
        .unwrap();
    assert_eq!(keys.len(), 1);
    let key = client.get_key(HASH).await.unwrap();
    assert_eq!(key.hash, HASH);
    let new = NewKey::new("customer 42")
        .limit(20.0)
        .limit_reset(LimitReset::Monthly)
        .include_byok_in_limit(false)
        .expires_at(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000))
        .workspace_id(WORKSPACE)
        .creator_user_id("user_1");
    let made = client.create_key(&new).await.unwrap();
    assert_eq!(made.key.expose_secret(), SECRET);
    client.delete_key(HASH).await.unwrap();

    let seen: Vec<_> = server
        .received()
        .iter()
        .map(|r| {
            (
                r.method.clone(),
                r.target.clone(),
                String::from_utf8_lossy(&r.body).into_owned(),
            )
        })
        .collect();
    let keys_path = format!("/api/v1/keys/{HASH}");
    assert_eq!(
        seen,
        [
            (
                "GET".to_owned(),
                format!("/api/v1/keys?include_disabled=true&offset=5&workspace_id={WORKSPACE}"),
                String::new()
            ),
            ("GET".to_owned(), keys_path.clone(), String::new()),
            (
                "POST".to_owned(),
                "/api/v1/keys".to_owned(),
                format!(
                    r#"{{"name":"customer 42","limit":20,"limit_reset":"monthly","include_byok_in_limit":false,"expires_at":"2027-01-15T08:00:00Z","creator_user_id":"user_1","workspace_id":"{WORKSPACE}"}}"#
                )
            ),
            ("DELETE".to_owned(), keys_path, String::new()),
        ]
    );
    for request in server.received() {
        assert_eq!(
            request.header("authorization").unwrap(),
            format!("Bearer {KEY}")
        );
        assert_eq!(request.header("api-version"), None);
    }
}

#[tokio::test]
async fn the_current_key_is_read_with_any_key() {
    let body = serde_json::json!({ "data": {
        "byok_usage": 0, "byok_usage_daily": 0, "byok_usage_monthly": 0, "byok_usage_weekly": 0,
        "creator_user_id": null, "include_byok_in_limit": false, "is_free_tier": false,
        "is_management_key": false, "is_provisioning_key": false, "label": "sk-or-v1-0f1...2e1f0",
        "limit": 10, "limit_remaining": 7.5, "limit_reset": null,
        "rate_limit": { "interval": "10s", "note": "legacy", "requests": -1 },
        "usage": 2.5, "usage_daily": 0, "usage_monthly": 2.5, "usage_weekly": 0
    }});
    let server = FaultServer::always(json(200, &body)).await;
    let current = client(&server.base_url).current_key().await.unwrap();
    assert!(!current.is_management_key);
    assert_eq!(current.limit_remaining, Some(7.5));
    let request = &server.received()[0];
    assert_eq!(
        (request.method.as_str(), request.target.as_str()),
        ("GET", "/api/v1/key")
    );
}

#[tokio::test]
async fn bad_input_is_refused_before_sending() {
    let client = client(&dead_base_url());
    for (what, error) in [
        (
            "empty name",
            client.create_key(&NewKey::new("  ")).await.unwrap_err(),
        ),
        (
            "negative limit",
            client
                .create_key(&NewKey::new("a").limit(-1.0))
                .await
                .unwrap_err(),
        ),
        (
            "NaN limit",
            client
                .create_key(&NewKey::new("a").limit(f64::NAN))
                .await
                .unwrap_err(),
        ),
        (
            "expiry before 1970",
            client
                .create_key(
                    &NewKey::new("a")
                        .expires_at(std::time::UNIX_EPOCH - std::time::Duration::from_secs(1)),
                )
                .await
                .unwrap_err(),
        ),
        (
            "workspace not a UUID",
            client
                .create_key(&NewKey::new("a").workspace_id("ws-1"))
                .await
                .unwrap_err(),
        ),
        (
            "list workspace not a UUID",
            client
                .list_keys(&ListOptions::new().workspace_id("ws-1"))
                .await
                .unwrap_err(),
        ),
        ("get empty hash", client.get_key("").await.unwrap_err()),
        ("delete dot-dot", client.delete_key("..").await.unwrap_err()),
    ] {
        assert!(
            error.kind() == ErrorKind::InvalidRequest,
            "{what}: {error:?}"
        );
        assert_eq!(error.attempts(), 0, "{what}");
    }
}

// ---- errors -----------------------------------------------------------------

#[tokio::test]
async fn each_documented_error_status_has_its_variant() {
    for (status, kind) in [
        (400, Kind::BadRequest),
        (401, Kind::Unauthorized),
        (403, Kind::Forbidden),
        (404, Kind::NotFound),
        (429, Kind::RateLimited),
        (500, Kind::InternalServer),
    ] {
        let server = FaultServer::always(answer(api_error(status, "no"))).await;
        let error = client(&server.base_url)
            .with_retry(RetryConfig::disabled())
            .create_key(&NewKey::new("a"))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), kind, "{status}: {error}");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(error.api_error().unwrap().message, "no");
        assert_eq!(error.applied(), Applied::No);
    }
}

// ---- retries by operation -----------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_create_whose_answer_is_lost_is_sent_once_and_may_have_been_applied() {
    let server = FaultServer::always(lost_answer()).await;
    let error = client(&server.base_url)
        .create_key(&NewKey::new("a"))
        .await
        .unwrap_err();
    assert_eq!(server.requests(), 1);
    assert_eq!(error.attempts(), 1);
    assert_eq!(error.applied(), Applied::Maybe);
    assert!(!error.is_retryable());
    assert!(
        error.to_string().contains("may have been applied"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_create_that_could_not_connect_is_retried() {
    let error = client(&dead_base_url())
        .create_key(&NewKey::new("a"))
        .await
        .unwrap_err();
    assert!(error.kind() == ErrorKind::Connection, "{error:?}");
    assert_eq!(error.attempts(), 4);
    assert_eq!(error.applied(), Applied::No);
}

#[tokio::test(start_paused = true)]
async fn a_create_is_retried_on_429_and_503_but_not_on_500() {
    for (status, requests) in [(429, 2), (503, 2), (500, 1), (502, 1)] {
        let server = FaultServer::start(
            vec![answer(api_error(status, "busy"))],
            json(201, &created()),
        )
        .await;
        let result = client(&server.base_url).create_key(&NewKey::new("a")).await;
        assert_eq!(server.requests(), requests, "{status}");
        assert_eq!(result.is_ok(), requests == 2, "{status}");
    }
}

#[tokio::test(start_paused = true)]
async fn get_delete_and_update_are_retried_after_a_lost_answer() {
    let server = FaultServer::start(vec![lost_answer()], answer(ok())).await;
    client(&server.base_url).get_key(HASH).await.unwrap();
    assert_eq!(server.requests(), 2);

    let server = FaultServer::start(
        vec![lost_answer()],
        json(200, &serde_json::json!({ "deleted": true })),
    )
    .await;
    client(&server.base_url).delete_key(HASH).await.unwrap();
    assert_eq!(server.requests(), 2);

    let server = FaultServer::start(vec![lost_answer()], answer(ok())).await;
    client(&server.base_url)
        .update_key(HASH, &openrouter_keys::KeyUpdate::new().disabled(true))
        .await
        .unwrap();
    assert_eq!(server.requests(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_delete_that_finds_the_key_gone_after_a_lost_answer_may_have_deleted_it() {
    let server = FaultServer::start(
        vec![lost_answer()],
        answer(api_error(404, "API key not found")),
    )
    .await;
    let error = client(&server.base_url).delete_key(HASH).await.unwrap_err();
    assert!(error.kind() == ErrorKind::NotFound, "{error:?}");
    assert_eq!(error.attempts(), 2);
    assert_eq!(error.applied(), Applied::Maybe);
    assert!(
        error.to_string().contains("may have been applied"),
        "{error}"
    );

    // Without an earlier attempt of unknown outcome: there was no such key.
    let server = FaultServer::always(answer(api_error(404, "API key not found"))).await;
    let error = client(&server.base_url).delete_key(HASH).await.unwrap_err();
    assert_eq!(error.attempts(), 1);
    assert_eq!(error.applied(), Applied::No);
    assert!(
        !error.to_string().contains("may have been applied"),
        "{error}"
    );
}

// ---- pagination -------------------------------------------------------------

#[tokio::test]
async fn listing_everything_walks_the_offsets_until_an_empty_page() {
    let server = FaultServer::start(
        vec![
            json(200, &page(2)),
            json(200, &page(1)),
            json(200, &page(0)),
        ],
        json(500, &serde_json::json!({})),
    )
    .await;
    let keys = client(&server.base_url)
        .list_all_keys(&ListOptions::new().offset(10))
        .await
        .unwrap();
    assert_eq!(keys.len(), 3);
    let targets: Vec<_> = server.received().into_iter().map(|r| r.target).collect();
    assert_eq!(
        targets,
        [
            "/api/v1/keys?offset=10",
            "/api/v1/keys?offset=12",
            "/api/v1/keys?offset=13"
        ]
    );
}

#[tokio::test]
async fn pages_that_never_end_stop_at_the_page_bound() {
    let server = FaultServer::always(json(200, &page(3))).await;
    let error = client(&server.base_url)
        .list_all_keys(&ListOptions::new().max_pages(4))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PageLimit, "{error:?}");
    assert!(error.to_string().contains("(12 keys)"), "{error}");
    assert_eq!(server.requests(), 4);
    assert!(error.to_string().contains("after 4 pages"), "{error}");
}

// ---- the created key's secret -------------------------------------------

fn assert_no_secret(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} shows the secret: {text}");
    assert!(
        !text.contains(&SECRET[9..40]),
        "{what} shows part of the secret: {text}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_secret_shows_only_through_expose_secret() {
    fault_server::logs::install();
    let _ = fault_server::logs::take();
    // The server echoes the secret into the key's name as well.
    let mut body = created();
    body["data"]["name"] = SECRET.into();
    let server = FaultServer::always(json(201, &body)).await;
    let made = client(&server.base_url)
        .create_key(&NewKey::new("a"))
        .await
        .unwrap();
    assert_eq!(made.key.expose_secret(), SECRET);
    assert_no_secret("CreatedKey's Debug", &format!("{made:?}"));
    assert_no_secret("CreatedKey's pretty Debug", &format!("{made:#?}"));
    assert_no_secret("the secret's Debug", &format!("{:?}", made.key));
    let log = fault_server::logs::take();
    assert!(
        log.contains("attempt finished"),
        "nothing was logged:\n{log}"
    );
    assert_no_secret("the TRACE log", &log);
}

#[tokio::test]
async fn an_answer_with_the_secret_that_cannot_be_read_keeps_no_trace_of_it() {
    let mut broken = created();
    broken["data"]["usage"] = SECRET.into();
    let scripts = [
        ("201 that does not decode", json(201, &broken)),
        ("200 instead of 201", json(200, &created())),
        (
            "201 cut short",
            answer(response(
                201,
                &[("content-type", "application/json")],
                format!(r#"{{"key":"{SECRET}","data":{{"#).as_bytes(),
            )),
        ),
    ];
    for (what, script) in scripts {
        let server = FaultServer::always(script).await;
        let error = client(&server.base_url)
            .create_key(&NewKey::new("a"))
            .await
            .unwrap_err();
        assert_eq!(error.applied(), Applied::Yes, "{what}: {error:?}");
        assert_no_secret(what, &format!("{error} {error:?}"));
        assert_no_secret(
            what,
            &String::from_utf8_lossy(error.raw_body().unwrap_or_default()),
        );
    }
}

#[tokio::test]
async fn an_error_envelope_on_create_is_kept_whole() {
    let server = FaultServer::always(answer(response(
        403,
        &[],
        error_body(403, "workspace is not yours").as_bytes(),
    )))
    .await;
    let error = client(&server.base_url)
        .create_key(&NewKey::new("a"))
        .await
        .unwrap_err();
    assert!(error.kind() == ErrorKind::Forbidden, "{error:?}");
    assert_eq!(
        error.raw_body(),
        Some(error_body(403, "workspace is not yours").as_bytes())
    );
}
