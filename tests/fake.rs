//! Tests of `openrouter_keys::fake`, driven over HTTP with reqwest, including
//! its agreement with the types the crate generates from `openapi.yaml`.

use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use openrouter_keys::{
    ApiErrorBody, ApiKey, CurrentKey, KeyUpdate, LimitReset, NewKey,
    fake::{DEFAULT_WORKSPACE_ID, EXAMPLE_KEY_HASH, FakeKey, FakeOpenRouter, Fault, Operation},
};
use reqwest::header::HeaderMap;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};

const TOKEN: &str = "sk-or-v1-test-management-key-0123456789";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A client for any test. Building one loads TLS roots, which is slow, so all
/// tests share this one; it keeps no idle connections, so nothing in it
/// belongs to one test's runtime.
fn http() -> reqwest::Client {
    static CLIENT: LazyLock<reqwest::Client> = LazyLock::new(|| {
        reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(0)
            .build()
            .expect("a reqwest client")
    });
    CLIENT.clone()
}

async fn start() -> FakeOpenRouter {
    FakeOpenRouter::start().await.expect("the fake starts")
}

/// A response, read completely.
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: bytes::Bytes,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header"))
    }

    /// The `data` of a 200 response.
    #[track_caller]
    fn data(&self) -> Value {
        assert_eq!(self.status, 200, "body: {}", self.text());
        let body = self.json();
        let object = body.as_object().expect("an object");
        assert_eq!(object.len(), 1, "only `data`: {body}");
        body["data"].clone()
    }

    #[track_caller]
    fn assert_error(&self, status: u16, message: &str) {
        assert_eq!(self.status, status, "body: {}", self.text());
        assert_eq!(self.header("content-type"), Some("application/json"));
        assert_eq!(
            self.json(),
            json!({ "error": { "code": status, "message": message } })
        );
    }
}

async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("the fake answers");
    Reply {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.bytes().await.expect("a complete body"),
    }
}

/// An authenticated JSON `PATCH` of `hash`.
async fn patch_key(fake: &FakeOpenRouter, hash: &str, body: Value) -> Reply {
    send(
        http()
            .patch(fake.key_url(hash))
            .bearer_auth(TOKEN)
            .json(&body),
    )
    .await
}

/// An authenticated JSON `PATCH` of the example key.
async fn patch(fake: &FakeOpenRouter, body: Value) -> Reply {
    patch_key(fake, EXAMPLE_KEY_HASH, body).await
}

/// An authenticated `PATCH` of the example key with a raw body.
async fn patch_raw(fake: &FakeOpenRouter, content_type: &str, body: &'static str) -> Reply {
    send(
        http()
            .patch(fake.key_url(EXAMPLE_KEY_HASH))
            .bearer_auth(TOKEN)
            .header("content-type", content_type)
            .body(body),
    )
    .await
}

fn example_json() -> Value {
    FakeKey::example().to_json()
}

/// `actual` equals `expected` apart from the members named in `except`.
#[track_caller]
fn assert_same_except(actual: &Value, expected: &Value, except: &[&str]) {
    let strip = |v: &Value| {
        let mut v = v.clone();
        for name in except {
            v.as_object_mut().expect("an object").remove(*name);
        }
        v
    };
    let (a, e) = (strip(actual), strip(expected));
    assert!(same(&a, &e), "\nactual:   {a}\nexpected: {e}");
}

/// Deep equality in which numbers compare by value (`100 == 100.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same(x, y))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .all(|(k, x)| ys.get(k).is_some_and(|y| same(x, y)))
        }
        _ => a == b,
    }
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

// ---------------------------------------------------------------------------
// PATCH semantics: absent leaves unchanged, null clears, a value sets
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_example_key_is_seeded() {
    let fake = start().await;
    assert_eq!(fake.key(EXAMPLE_KEY_HASH), Some(FakeKey::example()));
    let key = FakeKey::example();
    assert_eq!(key.name, "My Production Key");
    assert_eq!(key.label, "sk-or-v1-0e6...1c96");
    assert_eq!(key.limit, Some(100.0));
    assert_eq!(key.limit_remaining(), Some(74.5));
    assert_eq!(key.limit_reset, Some(LimitReset::Monthly));
    assert_eq!(example_json()["expires_at"], json!("2027-12-31T23:59:59Z"));
    assert_eq!(example_json()["created_at"], json!("2025-08-24T10:30:00Z"));
    assert_eq!(example_json()["updated_at"], json!("2025-08-24T15:45:00Z"));
}

#[tokio::test]
async fn absent_fields_leave_the_key_unchanged() {
    let fake = start().await;
    let data = patch(&fake, json!({ "name": "Renamed" })).await.data();
    assert_eq!(data["name"], "Renamed");
    // Everything else, limit and limit_reset included, is as before.
    assert_same_except(&data, &example_json(), &["name", "updated_at"]);
}

#[tokio::test]
async fn absent_limit_is_unchanged_when_limit_reset_changes() {
    let fake = start().await;
    let data = patch(&fake, json!({ "limit_reset": "weekly" }))
        .await
        .data();
    assert_eq!(data["limit_reset"], "weekly");
    assert_eq!(data["limit"], 100);
    assert_eq!(data["limit_remaining"], 74.5);
}

#[tokio::test]
async fn absent_limit_reset_is_unchanged_when_limit_changes() {
    let fake = start().await;
    let data = patch(&fake, json!({ "limit": 60 })).await.data();
    assert_eq!(data["limit"], 60);
    assert_eq!(data["limit_reset"], "monthly");
}

#[tokio::test]
async fn null_limit_clears_it_and_limit_remaining() {
    let fake = start().await;
    let data = patch(&fake, json!({ "limit": null })).await.data();
    assert!(data["limit"].is_null(), "{data}");
    assert!(data["limit_remaining"].is_null(), "{data}");
    assert_eq!(data["limit_reset"], "monthly", "only the limit is cleared");
    assert_eq!(fake.key(EXAMPLE_KEY_HASH).unwrap().limit, None);

    // A later update that does not mention the limit keeps it cleared.
    let data = patch(&fake, json!({ "disabled": false })).await.data();
    assert!(data["limit"].is_null(), "{data}");
}

#[tokio::test]
async fn limit_value_sets_it_and_recomputes_limit_remaining() {
    let fake = start().await;
    for (limit, remaining) in [
        (json!(30), json!(4.5)),
        (json!(1000.25), json!(974.75)),
        (json!(25.5), json!(0)),
        (json!(0), json!(0)),
        (json!(100), json!(74.5)),
    ] {
        let data = patch(&fake, json!({ "limit": limit })).await.data();
        assert!(same(&data["limit"], &limit), "{limit} -> {data}");
        assert!(
            same(&data["limit_remaining"], &remaining),
            "{limit} -> {data}"
        );
        let key = fake.key(EXAMPLE_KEY_HASH).unwrap();
        assert_eq!(key.limit, limit.as_f64());
        assert_eq!(key.limit_remaining(), remaining.as_f64());
    }
    // Setting a limit after clearing it brings limit_remaining back.
    patch(&fake, json!({ "limit": null })).await.data();
    let data = patch(&fake, json!({ "limit": 50 })).await.data();
    assert_eq!(data["limit_remaining"], 24.5);
}

#[tokio::test]
async fn limit_remaining_is_floored_at_zero() {
    let fake = start().await;
    let data = patch(&fake, json!({ "limit": 10 })).await.data();
    assert_eq!(data["limit"], 10);
    assert_eq!(data["limit_remaining"], 0, "usage 25.5 exceeds the limit");
    let data = patch(&fake, json!({ "limit": -0.0 })).await.data();
    assert_eq!(
        data["limit"].to_string(),
        "0",
        "negative zero is stored as 0"
    );
}

#[tokio::test]
async fn null_limit_reset_clears_it() {
    let fake = start().await;
    let data = patch(&fake, json!({ "limit_reset": null })).await.data();
    assert!(data["limit_reset"].is_null(), "{data}");
    assert_eq!(data["limit"], 100, "only the reset is cleared");
    assert_eq!(fake.key(EXAMPLE_KEY_HASH).unwrap().limit_reset, None);
}

#[tokio::test]
async fn limit_reset_value_sets_it() {
    let fake = start().await;
    patch(&fake, json!({ "limit_reset": null })).await.data();
    for &reset in LimitReset::ALL {
        let data = patch(&fake, json!({ "limit_reset": reset.as_str() }))
            .await
            .data();
        assert_eq!(data["limit_reset"], reset.as_str());
        assert_eq!(fake.key(EXAMPLE_KEY_HASH).unwrap().limit_reset, Some(reset));
    }
}

#[tokio::test]
async fn name_is_set_and_label_is_kept() {
    let fake = start().await;
    for name in ["Staging key", "", "  spaced  ", "ключ 🔑"] {
        let data = patch(&fake, json!({ "name": name })).await.data();
        assert_eq!(data["name"], name);
        assert_eq!(data["label"], "sk-or-v1-0e6...1c96");
        assert_eq!(fake.key(EXAMPLE_KEY_HASH).unwrap().name, name);
    }
}

#[tokio::test]
async fn disabled_is_set_both_ways() {
    let fake = start().await;
    let data = patch(&fake, json!({ "disabled": true })).await.data();
    assert_eq!(data["disabled"], true);
    assert!(fake.key(EXAMPLE_KEY_HASH).unwrap().disabled);
    // A disabled key can still be updated, which is how it is re-enabled.
    let data = patch(&fake, json!({ "disabled": false })).await.data();
    assert_eq!(data["disabled"], false);
    assert!(!fake.key(EXAMPLE_KEY_HASH).unwrap().disabled);
}

#[tokio::test]
async fn include_byok_in_limit_is_set_without_changing_limit_remaining() {
    let fake = start().await;
    let data = patch(&fake, json!({ "include_byok_in_limit": true }))
        .await
        .data();
    assert_eq!(data["include_byok_in_limit"], true);
    assert_eq!(
        data["limit_remaining"], 74.5,
        "BYOK usage is not subtracted"
    );
    let data = patch(&fake, json!({ "include_byok_in_limit": false }))
        .await
        .data();
    assert_eq!(data["include_byok_in_limit"], false);
}

#[tokio::test]
async fn updated_at_changes_on_every_update() {
    let fake = start().await;
    fake.set_clock(Some(
        utc(2026, 1, 2, 3, 4, 5) + chrono::Duration::milliseconds(987),
    ));
    let data = patch(&fake, json!({ "disabled": false })).await.data();
    assert_eq!(data["updated_at"], "2026-01-02T03:04:05Z", "whole seconds");
    assert_eq!(data["created_at"], "2025-08-24T10:30:00Z");

    // Even an update that changes no value touches updated_at.
    fake.set_clock(Some(utc(2026, 1, 2, 3, 4, 6)));
    let data = patch(&fake, json!({ "disabled": false })).await.data();
    assert_eq!(data["updated_at"], "2026-01-02T03:04:06Z");
    assert_eq!(
        fake.key(EXAMPLE_KEY_HASH).unwrap().updated_at,
        Some(utc(2026, 1, 2, 3, 4, 6))
    );
}

#[tokio::test]
async fn updated_at_follows_the_system_clock_by_default() {
    let fake = start().await;
    let before = DateTime::<Utc>::from(std::time::SystemTime::now()).timestamp();
    let data = patch(&fake, json!({ "name": "now" })).await.data();
    let after = DateTime::<Utc>::from(std::time::SystemTime::now()).timestamp();

    let text = data["updated_at"].as_str().expect("a string");
    assert_eq!(text.len(), "2025-08-24T15:45:00Z".len(), "{text}");
    assert!(text.ends_with('Z'), "{text}");
    let parsed = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%SZ")
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .and_utc()
        .timestamp();
    assert!(
        (before..=after).contains(&parsed),
        "{before} <= {parsed} <= {after}"
    );
}

#[tokio::test]
async fn the_response_is_the_stored_key() {
    let fake = start().await;
    let data = patch(
        &fake,
        json!({ "name": "Both", "limit": 40, "limit_reset": "daily", "disabled": true }),
    )
    .await
    .data();
    let stored = fake.key(EXAMPLE_KEY_HASH).unwrap();
    assert_eq!(data, stored.to_json());
    assert_eq!(stored.name, "Both");
    assert_eq!(stored.limit, Some(40.0));
    assert_eq!(stored.limit_reset, Some(LimitReset::Daily));
    assert!(stored.disabled);
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    let fake = start().await;
    let data = patch(
        &fake,
        json!({ "name": "Known", "label": "sk-or-v1-forged", "usage": 0, "surprise": [1, 2] }),
    )
    .await
    .data();
    assert_eq!(data["name"], "Known");
    assert_eq!(data["label"], "sk-or-v1-0e6...1c96", "label cannot be set");
    assert_eq!(data["usage"], 25.5, "usage cannot be set");
    assert!(data.get("surprise").is_none(), "{data}");
}

#[tokio::test]
async fn other_keys_are_updated_independently() {
    let fake = start().await;
    let other = FakeKey {
        hash: "0123abcd".to_owned(),
        name: "Other".to_owned(),
        limit: None,
        limit_reset: None,
        usage: 1.0,
        ..FakeKey::example()
    };
    assert_eq!(fake.insert_key(other.clone()), None);
    let data = patch_key(&fake, "0123abcd", json!({ "limit": 3 }))
        .await
        .data();
    assert_eq!(data["hash"], "0123abcd");
    assert_eq!(data["limit_remaining"], 2);
    assert_eq!(fake.key(EXAMPLE_KEY_HASH), Some(FakeKey::example()));

    // Replacing returns the previous version; removing makes it unknown.
    assert_eq!(
        fake.insert_key(other.clone()).map(|k| k.limit),
        Some(Some(3.0))
    );
    assert_eq!(fake.remove_key("0123abcd"), Some(other));
    patch_key(&fake, "0123abcd", json!({ "limit": 3 }))
        .await
        .assert_error(404, "API key not found");
}

#[tokio::test]
async fn the_hash_is_percent_decoded_before_lookup() {
    let fake = start().await;
    let hash = "team key/β?#%";
    fake.insert_key(FakeKey {
        hash: hash.to_owned(),
        ..FakeKey::example()
    });
    let url = fake.key_url(hash);
    assert!(url.ends_with("/keys/team%20key%2F%CE%B2%3F%23%25"), "{url}");
    let data = patch_key(&fake, hash, json!({ "name": "decoded" }))
        .await
        .data();
    assert_eq!(data["hash"], hash);
    assert_eq!(fake.key(hash).unwrap().name, "decoded");
    assert_eq!(
        fake.last_request().unwrap().path(),
        "/api/v1/keys/team%20key%2F%CE%B2%3F%23%25",
        "recorded as sent"
    );

    // Needlessly encoded characters decode too: %66 is `f`.
    let encoded = format!("{}/keys/%66{}", fake.base_url(), &EXAMPLE_KEY_HASH[1..]);
    let reply = send(
        http()
            .patch(&encoded)
            .bearer_auth(TOKEN)
            .json(&json!({ "name": "via %66" })),
    )
    .await;
    assert_eq!(reply.data()["hash"], EXAMPLE_KEY_HASH);

    // A segment that is not UTF-8 once decoded names no key.
    let reply = send(
        http()
            .patch(format!("{}/keys/%FF", fake.base_url()))
            .bearer_auth(TOKEN)
            .json(&json!({ "name": "x" })),
    )
    .await;
    reply.assert_error(404, "API key not found");
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

#[tokio::test]
async fn missing_authorization_is_401() {
    let fake = start().await;
    let reply = send(
        http()
            .patch(fake.key_url(EXAMPLE_KEY_HASH))
            .json(&json!({ "name": "x" })),
    )
    .await;
    reply.assert_error(401, "Missing Authentication header");
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    assert_eq!(fake.key(EXAMPLE_KEY_HASH), Some(FakeKey::example()));
}

#[tokio::test]
async fn non_bearer_authorization_is_401() {
    let fake = start().await;
    for value in ["Basic dXNlcjpwYXNz", "Token abc", "Bearertoken", TOKEN] {
        let reply = send(
            http()
                .patch(fake.key_url(EXAMPLE_KEY_HASH))
                .header("authorization", value)
                .json(&json!({ "name": "x" })),
        )
        .await;
        reply.assert_error(
            401,
            "Invalid Authentication header: expected 'Bearer <key>'",
        );
    }
    assert_eq!(fake.key(EXAMPLE_KEY_HASH), Some(FakeKey::example()));
}

#[tokio::test]
async fn empty_bearer_token_is_401() {
    let fake = start().await;
    for value in ["Bearer", "Bearer ", "Bearer    ", "bearer \t"] {
        let reply = send(
            http()
                .patch(fake.key_url(EXAMPLE_KEY_HASH))
                .header("authorization", value)
                .json(&json!({ "name": "x" })),
        )
        .await;
        reply.assert_error(401, "Invalid Authentication header: empty bearer token");
    }
    assert_eq!(fake.key(EXAMPLE_KEY_HASH), Some(FakeKey::example()));
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let fake = start().await;
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let reply = send(
            http()
                .patch(fake.key_url(EXAMPLE_KEY_HASH))
                .header("authorization", format!("{scheme} {TOKEN}"))
                .json(&json!({ "name": scheme })),
        )
        .await;
        assert_eq!(reply.data()["name"], scheme);
    }
}

#[tokio::test]
async fn a_required_key_is_enforced() {
    let fake = start().await;
    fake.require_key(TOKEN);
    let reply = send(
        http()
            .patch(fake.key_url(EXAMPLE_KEY_HASH))
            .bearer_auth("sk-or-v1-someone-else")
            .json(&json!({ "name": "intruder" })),
    )
    .await;
    reply.assert_error(401, "Invalid management key");
    assert_eq!(fake.key(EXAMPLE_KEY_HASH), Some(FakeKey::example()));

    assert_eq!(
        patch(&fake, json!({ "name": "owner" })).await.data()["name"],
        "owner"
    );

    fake.accept_any_key();
    let reply = send(
        http()
            .patch(fake.key_url(EXAMPLE_KEY_HASH))
            .bearer_auth("sk-or-v1-someone-else")
            .json(&json!({ "name": "anyone" })),
    )
    .await;
    assert_eq!(reply.data()["name"], "anyone");
}

#[tokio::test]
async fn unknown_hash_is_404() {
    let fake = start().await;
    patch_key(&fake, "no-such-key", json!({ "name": "x" }))
        .await
        .assert_error(404, "API key not found");
    // Lookup is exact: case matters.
    patch_key(
        &fake,
        &EXAMPLE_KEY_HASH.to_uppercase(),
        json!({ "name": "x" }),
    )
    .await
    .assert_error(404, "API key not found");
    fake.remove_key(EXAMPLE_KEY_HASH).expect("seeded");
    patch(&fake, json!({ "name": "x" }))
        .await
        .assert_error(404, "API key not found");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_400() {
    let fake = start().await;
    for body in [
        "not json",
        "",
        "{",
        r#"{"name": "x",}"#,
        r#"{"limit": 1e999}"#,
    ] {
        let reply = patch_raw(&fake, "application/json", body).await;
        assert_eq!(reply.status, 400, "{body:?}: {}", reply.text());
        let envelope = reply.json();
        assert_eq!(envelope["error"]["code"], 400);
        let message = envelope["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("Request body is not valid JSON: "),
            "{body:?}: {message}"
        );
    }
    assert_eq!(fake.key(EXAMPLE_KEY_HASH), Some(FakeKey::example()));
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_400() {
    let fake = start().await;
    for body in ["[]", r#"[{"name": "x"}]"#, r#""name""#, "1", "null", "true"] {
        patch_raw(&fake, "application/json", body)
            .await
            .assert_error(400, "Request body must be a JSON object");
    }
    assert_eq!(fake.key(EXAMPLE_KEY_HASH), Some(FakeKey::example()));
}

#[tokio::test]
async fn fields_of_the_wrong_type_are_400() {
    let fake = start().await;
    let cases = [
        (
            "name",
            "a string",
            vec![json!(1), json!(null), json!(true), json!(["x"])],
        ),
        (
            "disabled",
            "a boolean",
            vec![json!("true"), json!(null), json!(0)],
        ),
        (
            "include_byok_in_limit",
            "a boolean",
            vec![json!("false"), json!(null), json!(1)],
        ),
        (
            "limit",
            "a non-negative number or null",
            vec![json!("10"), json!(true), json!({}), json!([10])],
        ),
        (
            "limit_reset",
            "one of \"daily\", \"weekly\", \"monthly\" or null",
            vec![json!(1), json!(true), json!(["daily"])],
        ),
    ];
    for (field, expected, values) in cases {
        for value in values {
            patch(&fake, json!({ field: value })).await.assert_error(
                400,
                &format!("Invalid value for '{field}': expected {expected}"),
            );
        }
    }
    assert_eq!(fake.key(EXAMPLE_KEY_HASH), Some(FakeKey::example()));
}

#[tokio::test]
async fn a_negative_limit_is_400() {
    let fake = start().await;
    for limit in [json!(-1), json!(-0.01), json!(-1e308)] {
        patch(&fake, json!({ "limit": limit })).await.assert_error(
            400,
            "Invalid value for 'limit': expected a non-negative number or null",
        );
    }
    assert_eq!(fake.key(EXAMPLE_KEY_HASH), Some(FakeKey::example()));
}

#[tokio::test]
async fn an_unknown_limit_reset_is_400() {
    let fake = start().await;
    for reset in ["yearly", "Daily", "MONTHLY", "never", "", "null"] {
        patch(&fake, json!({ "limit_reset": reset })).await.assert_error(
            400,
            "Invalid value for 'limit_reset': expected one of \"daily\", \"weekly\", \"monthly\" or null",
        );
    }
    assert_eq!(fake.key(EXAMPLE_KEY_HASH), Some(FakeKey::example()));
}

#[tokio::test]
async fn a_body_without_known_fields_is_400() {
    let fake = start().await;
    for body in [json!({}), json!({ "label": "x", "hash": "y", "limits": 5 })] {
        patch(&fake, body).await.assert_error(
            400,
            "Request body sets none of the updatable fields: \
             name, disabled, limit, limit_reset, include_byok_in_limit",
        );
    }
    assert_eq!(fake.key(EXAMPLE_KEY_HASH), Some(FakeKey::example()));
}

#[tokio::test]
async fn a_body_that_is_not_declared_json_is_400() {
    let fake = start().await;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/jsonx",
    ] {
        patch_raw(&fake, content_type, r#"{"name": "x"}"#)
            .await
            .assert_error(400, "Content-Type must be application/json");
    }
    let reply = send(
        http()
            .patch(fake.key_url(EXAMPLE_KEY_HASH))
            .bearer_auth(TOKEN)
            .body(r#"{"name": "x"}"#),
    )
    .await;
    reply.assert_error(400, "Content-Type must be application/json");
    assert_eq!(fake.key(EXAMPLE_KEY_HASH), Some(FakeKey::example()));

    // Parameters and case do not matter.
    let reply = patch_raw(&fake, "Application/JSON; charset=utf-8", r#"{"name": "x"}"#).await;
    assert_eq!(reply.data()["name"], "x");
}

#[tokio::test]
async fn a_rejected_update_changes_nothing() {
    let fake = start().await;
    patch(
        &fake,
        json!({ "name": "half", "disabled": true, "limit": -5 }),
    )
    .await
    .assert_error(
        400,
        "Invalid value for 'limit': expected a non-negative number or null",
    );
    assert_eq!(fake.key(EXAMPLE_KEY_HASH), Some(FakeKey::example()));
}

#[tokio::test]
async fn other_paths_are_404_and_other_methods_405() {
    let fake = start().await;
    let origin = format!("http://{}", fake.addr());
    for path in [
        "/",
        "/api/v1",
        "/api/v1/",
        "/api/v1/keys/",
        "/api/v1/keysx",
        "/api/v1/key/",
        "/api/v1/key/x",
        &format!("/api/v1/keys/{EXAMPLE_KEY_HASH}/"),
        &format!("/api/v1/keys/{EXAMPLE_KEY_HASH}/extra"),
        &format!("/api/v2/keys/{EXAMPLE_KEY_HASH}"),
        &format!("/keys/{EXAMPLE_KEY_HASH}"),
    ] {
        let reply = send(
            http()
                .patch(format!("{origin}{path}"))
                .bearer_auth(TOKEN)
                .json(&json!({ "name": "x" })),
        )
        .await;
        reply.assert_error(404, "Resource not found");
    }
    let base = fake.base_url();
    let cases = [
        (
            fake.key_url(EXAMPLE_KEY_HASH),
            "GET, PATCH, DELETE",
            ["POST", "PUT", "OPTIONS"],
        ),
        (
            format!("{base}/keys"),
            "GET, POST",
            ["PATCH", "DELETE", "PUT"],
        ),
        (format!("{base}/key"), "GET", ["POST", "PATCH", "DELETE"]),
    ];
    for (url, allow, methods) in cases {
        for method in methods {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let reply = send(
                http()
                    .request(method.clone(), &url)
                    .bearer_auth(TOKEN)
                    .json(&json!({ "name": "x" })),
            )
            .await;
            reply.assert_error(405, "Method not allowed");
            assert_eq!(reply.header("allow"), Some(allow), "{method} {url}");
        }
    }
    assert_eq!(fake.keys(), [FakeKey::example()]);
}

#[tokio::test]
async fn checks_run_in_the_documented_order() {
    let fake = start().await;
    let origin = format!("http://{}", fake.addr());
    // Routing comes before authentication...
    send(http().patch(format!("{origin}/api/v1/nothing")))
        .await
        .assert_error(404, "Resource not found");
    send(http().post(fake.key_url(EXAMPLE_KEY_HASH)))
        .await
        .assert_error(405, "Method not allowed");
    // ...authentication before the body...
    send(http().patch(fake.key_url("no-such-key")).body("garbage"))
        .await
        .assert_error(401, "Missing Authentication header");
    // ...and the body before the lookup.
    patch_key(&fake, "no-such-key", json!({}))
        .await
        .assert_error(
            400,
            "Request body sets none of the updatable fields: \
                            name, disabled, limit, limit_reset, include_byok_in_limit",
        );
    // Fields are checked in a fixed order.
    patch(&fake, json!({ "limit_reset": 1, "name": 1 }))
        .await
        .assert_error(400, "Invalid value for 'name': expected a string");
}

// ---------------------------------------------------------------------------
// Scripted faults
// ---------------------------------------------------------------------------

#[tokio::test]
async fn two_503s_then_success() {
    let fake = start().await;
    fake.fail_next(2, Fault::status(503).retry_after("7"));
    assert_eq!(fake.pending_faults(), 2);

    let mut statuses = Vec::new();
    for attempt in 1..=3 {
        let reply = patch(&fake, json!({ "name": "eventually" })).await;
        statuses.push(reply.status);
        assert_eq!(fake.hits(), attempt);
        assert_eq!(fake.pending_faults(), 2usize.saturating_sub(attempt));
        if reply.status == 503 {
            reply.assert_error(503, "Service Unavailable");
            assert_eq!(reply.header("retry-after"), Some("7"));
            assert_eq!(fake.key(EXAMPLE_KEY_HASH), Some(FakeKey::example()));
        } else {
            assert_eq!(reply.header("retry-after"), None);
            assert_eq!(reply.data()["name"], "eventually");
        }
    }
    assert_eq!(statuses, [503, 503, 200]);

    let requests = fake.requests();
    assert_eq!(requests.len(), 3, "faulted requests are recorded too");
    for request in &requests {
        assert_eq!(request.method(), "PATCH");
        assert_eq!(request.body(), br#"{"name":"eventually"}"#);
    }
}

#[tokio::test]
async fn faults_are_used_in_order_with_their_headers_and_bodies() {
    let fake = start().await;
    fake.push_fault(Fault::status(429).retry_after("soon"));
    fake.push_fault(
        Fault::status(502)
            .body("<html>Bad gateway</html>")
            .header("content-type", "text/html")
            .header("x-served-by", "edge-1")
            .header("x-served-by", "edge-2"),
    );
    fake.push_fault(
        Fault::status(200)
            .body("not json")
            .retry_after("-1")
            .retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
    );
    fake.push_fault(Fault::status(500));

    let reply = patch(&fake, json!({ "name": "x" })).await;
    reply.assert_error(429, "Too Many Requests");
    assert_eq!(reply.header("retry-after"), Some("soon"));

    let reply = patch(&fake, json!({ "name": "x" })).await;
    assert_eq!(reply.status, 502);
    assert_eq!(reply.text(), "<html>Bad gateway</html>");
    assert_eq!(reply.header("content-type"), Some("text/html"));
    let served_by: Vec<_> = reply.headers.get_all("x-served-by").iter().collect();
    assert_eq!(served_by, ["edge-1", "edge-2"]);
    assert_eq!(reply.header("retry-after"), None);

    let reply = patch(&fake, json!({ "name": "x" })).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "not json");
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(
        reply.header("retry-after"),
        Some("Wed, 21 Oct 2015 07:28:00 GMT")
    );

    patch(&fake, json!({ "name": "x" }))
        .await
        .assert_error(500, "Internal Server Error");

    assert_eq!(fake.pending_faults(), 0);
    assert_eq!(
        fake.key(EXAMPLE_KEY_HASH),
        Some(FakeKey::example()),
        "no fault applied the update"
    );
    assert_eq!(
        patch(&fake, json!({ "name": "x" })).await.data()["name"],
        "x"
    );
    assert_eq!(fake.hits(), 5);
}

#[tokio::test]
async fn a_fault_after_processing_applies_the_update() {
    let fake = start().await;
    fake.push_fault(Fault::status(502).after_processing());
    patch(&fake, json!({ "name": "applied", "limit": 20 }))
        .await
        .assert_error(502, "Bad Gateway");
    let key = fake.key(EXAMPLE_KEY_HASH).unwrap();
    assert_eq!(key.name, "applied");
    assert_eq!(key.limit, Some(20.0));

    // An invalid request still fails validation underneath; nothing changes.
    fake.push_fault(Fault::status(504).after_processing());
    patch(&fake, json!({ "limit": -1 }))
        .await
        .assert_error(504, "Gateway Timeout");
    assert_eq!(fake.key(EXAMPLE_KEY_HASH).unwrap().limit, Some(20.0));
}

#[tokio::test]
async fn faults_apply_to_any_request() {
    let fake = start().await;
    fake.fail_next(2, Fault::status(503));
    // No credentials and an unknown path: the fault still comes first.
    send(http().get(format!("http://{}/elsewhere", fake.addr())))
        .await
        .assert_error(503, "Service Unavailable");
    send(http().patch(fake.key_url(EXAMPLE_KEY_HASH)))
        .await
        .assert_error(503, "Service Unavailable");
    send(http().get(format!("http://{}/elsewhere", fake.addr())))
        .await
        .assert_error(404, "Resource not found");
    assert_eq!(fake.hits(), 3);
}

#[tokio::test]
async fn cleared_faults_are_not_used() {
    let fake = start().await;
    fake.fail_next(3, Fault::status(500));
    fake.fail_next(0, Fault::status(400));
    assert_eq!(fake.pending_faults(), 3);
    fake.clear_faults();
    assert_eq!(fake.pending_faults(), 0);
    assert_eq!(
        patch(&fake, json!({ "name": "clean" })).await.data()["name"],
        "clean"
    );
}

#[test]
#[should_panic(expected = "a fault's status must be in 200..=999, not 101")]
fn a_fault_cannot_be_informational() {
    let _ = Fault::status(101);
}

#[test]
#[should_panic(expected = "a fault's status must be in 200..=999, not 42")]
fn a_fault_needs_a_valid_status() {
    let _ = Fault::status(42);
}

#[test]
#[should_panic(expected = "not a valid header value")]
fn a_retry_after_must_be_a_header_value() {
    let _ = Fault::status(503).retry_after("1\r\nx-injected: yes");
}

// ---------------------------------------------------------------------------
// The paused clock
// ---------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn retries_with_retry_after_run_on_the_paused_clock() {
    let fake = start().await;
    fake.fail_next(2, Fault::status(503).retry_after("2"));
    let (virtual_start, real_start) = (tokio::time::Instant::now(), std::time::Instant::now());

    // A client that honours Retry-After, as the crate's client will.
    let mut attempts = 0;
    let reply = loop {
        attempts += 1;
        let reply = patch(&fake, json!({ "limit": 5 })).await;
        match reply.header("retry-after").map(str::parse::<u64>) {
            Some(Ok(seconds)) if reply.status == 503 => {
                tokio::time::sleep(Duration::from_secs(seconds)).await;
            }
            _ => break reply,
        }
    };
    assert_eq!(attempts, 3);
    assert_eq!(reply.data()["limit"], 5);
    assert_eq!(fake.hits(), 3);
    assert!(virtual_start.elapsed() >= Duration::from_secs(4));
    assert!(
        real_start.elapsed() < Duration::from_secs(4),
        "no real waiting"
    );
}

#[tokio::test(start_paused = true)]
async fn delays_run_on_the_paused_clock() {
    let fake = start().await;
    let real_start = std::time::Instant::now();

    fake.push_fault(Fault::status(504).delay(Duration::from_secs(30)));
    let start = tokio::time::Instant::now();
    patch(&fake, json!({ "name": "slow" }))
        .await
        .assert_error(504, "Gateway Timeout");
    assert!(
        start.elapsed() >= Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );

    // The server-wide delay applies to normal responses.
    fake.set_delay(Some(Duration::from_secs(5)));
    let start = tokio::time::Instant::now();
    assert_eq!(
        patch(&fake, json!({ "name": "slow" })).await.data()["name"],
        "slow"
    );
    assert!(
        start.elapsed() >= Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );

    assert!(
        real_start.elapsed() < Duration::from_secs(30),
        "no real waiting"
    );
}

#[tokio::test(start_paused = true)]
async fn requests_are_stamped_with_the_paused_clock() {
    let fake = start().await;
    let start = tokio::time::Instant::now();
    fake.push_fault(Fault::status(503));
    patch(&fake, json!({ "name": "first" }))
        .await
        .assert_error(503, "Service Unavailable");
    tokio::time::sleep(Duration::from_secs(7)).await;
    patch(&fake, json!({ "name": "second" })).await.data();

    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    let (first, second) = (requests[0].received_at(), requests[1].received_at());
    assert!(first >= start, "stamped after the test started");
    let between = second - first;
    assert!(
        between >= Duration::from_secs(7) && between < Duration::from_millis(7100),
        "{between:?}"
    );
    assert!(second <= tokio::time::Instant::now());

    // A delayed answer: the stamp is when the request arrived, not when it
    // was answered.
    fake.push_fault(Fault::status(504).delay(Duration::from_secs(30)));
    let sent = tokio::time::Instant::now();
    patch(&fake, json!({ "name": "third" }))
        .await
        .assert_error(504, "Gateway Timeout");
    let arrived = fake.last_request().unwrap().received_at() - sent;
    assert!(arrived < Duration::from_secs(1), "{arrived:?}");
    assert!(sent.elapsed() >= Duration::from_secs(30));
}

#[tokio::test(start_paused = true)]
async fn a_client_timeout_during_a_delayed_fault_leaves_the_key_unchanged() {
    let fake = start().await;
    fake.push_fault(Fault::status(200).delay(Duration::from_secs(60)));
    let attempt = tokio::time::timeout(
        Duration::from_secs(10),
        patch(&fake, json!({ "name": "never" })),
    )
    .await;
    assert!(attempt.is_err(), "the client gave up first");
    assert_eq!(fake.hits(), 1);
    assert_eq!(fake.key(EXAMPLE_KEY_HASH), Some(FakeKey::example()));

    // With a plain delay the update happens even though the client gives up.
    fake.set_delay(Some(Duration::from_secs(60)));
    let attempt = tokio::time::timeout(
        Duration::from_secs(10),
        patch(&fake, json!({ "name": "applied anyway" })),
    )
    .await;
    assert!(attempt.is_err(), "the client gave up first");
    assert_eq!(fake.hits(), 2);
    assert_eq!(fake.key(EXAMPLE_KEY_HASH).unwrap().name, "applied anyway");
}

// ---------------------------------------------------------------------------
// Inspection
// ---------------------------------------------------------------------------

#[tokio::test]
async fn requests_are_recorded_exactly() {
    let fake = start().await;
    let body = "{ \"name\" :\t\"Ünïcode\" ,\n\"x\": 1e2 }";
    let target = format!(
        "/api/v1/keys/%66{}?dry_run=1&q=%20a+b",
        &EXAMPLE_KEY_HASH[1..]
    );
    let reply = send(
        http()
            .patch(format!("http://{}{target}", fake.addr()))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json; charset=utf-8")
            .header("x-trace", "abc-123")
            .header("x-multi", "one")
            .header("x-multi", "two")
            .body(body),
    )
    .await;
    assert_eq!(reply.data()["name"], "Ünïcode");

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method(), "PATCH");
    assert_eq!(request.path_and_query(), target);
    assert_eq!(
        request.path(),
        format!("/api/v1/keys/%66{}", &EXAMPLE_KEY_HASH[1..])
    );
    assert_eq!(request.query(), Some("dry_run=1&q=%20a+b"));
    assert_eq!(request.body(), body.as_bytes());
    assert_eq!(request.body_json().unwrap()["x"], 100.0);
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(
        request.header("X-Trace"),
        Some("abc-123"),
        "case-insensitive"
    );
    assert_eq!(
        request.header("content-length"),
        Some(body.len().to_string().as_str())
    );
    assert_eq!(request.header("x-absent"), None);
    let multi: Vec<_> = request
        .headers()
        .iter()
        .filter(|(name, _)| name == "x-multi")
        .map(|(_, value)| value.as_slice())
        .collect();
    assert_eq!(multi, [b"one".as_slice(), b"two".as_slice()]);
    assert!(
        request
            .headers()
            .iter()
            .all(|(name, _)| *name == name.to_lowercase())
    );
    assert_eq!(fake.last_request().unwrap().path_and_query(), target);
}

#[tokio::test]
async fn debug_output_hides_the_key() {
    let fake = start().await;
    fake.require_key(TOKEN);
    patch(&fake, json!({ "name": "secret-free" })).await.data();
    let request = fake.last_request().unwrap();
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );

    let debug = format!("{request:?}");
    assert!(!debug.contains(TOKEN), "{debug}");
    assert!(
        debug.contains(r#"("authorization", "<redacted>")"#),
        "{debug}"
    );
    assert!(debug.contains("secret-free"), "the rest is shown: {debug}");
    let pretty = format!("{request:#?}");
    assert!(!pretty.contains(TOKEN), "{pretty}");

    let handle = format!("{fake:?}");
    assert!(!handle.contains(TOKEN), "{handle}");
    assert!(handle.contains("requires_key: true"), "{handle}");
}

#[tokio::test]
async fn hits_count_every_request_whatever_the_outcome() {
    let fake = start().await;
    fake.push_fault(Fault::status(500));
    patch(&fake, json!({ "name": "a" })).await; // fault
    send(http().get(format!("http://{}/", fake.addr()))).await; // 404
    send(http().patch(fake.key_url(EXAMPLE_KEY_HASH))).await; // 401
    patch(&fake, json!({})).await; // 400
    patch(&fake, json!({ "name": "b" })).await; // 200
    assert_eq!(fake.hits(), 5);
    let seen: Vec<_> = fake
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method(), r.path()))
        .collect();
    let key_path = format!("/api/v1/keys/{EXAMPLE_KEY_HASH}");
    assert_eq!(
        seen,
        [
            format!("PATCH {key_path}"),
            "GET /".to_owned(),
            format!("PATCH {key_path}"),
            format!("PATCH {key_path}"),
            format!("PATCH {key_path}"),
        ]
    );
}

#[tokio::test]
async fn take_requests_drains_the_record_but_not_the_hit_count() {
    let fake = start().await;
    patch(&fake, json!({ "name": "first" })).await.data();
    let taken = fake.take_requests();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].body(), br#"{"name":"first"}"#);
    assert!(fake.requests().is_empty());
    assert!(fake.last_request().is_none());

    patch(&fake, json!({ "name": "second" })).await.data();
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(fake.last_request().unwrap().body(), br#"{"name":"second"}"#);
    assert_eq!(fake.hits(), 2);
}

// ---------------------------------------------------------------------------
// Lifetime
// ---------------------------------------------------------------------------

#[tokio::test]
async fn base_url_points_at_the_api_root() {
    let fake = start().await;
    let base = fake.base_url();
    assert_eq!(
        base,
        format!("http://127.0.0.1:{}/api/v1", fake.addr().port())
    );
    assert!(fake.addr().ip().is_loopback());
    assert_eq!(fake.key_url("abc"), format!("{base}/keys/abc"));
}

#[tokio::test]
async fn shutdown_stops_the_server_for_every_clone() {
    let fake = start().await;
    let clone = fake.clone();
    // A client of its own, to leave an idle keep-alive connection in its pool.
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let first = client
        .patch(fake.key_url(EXAMPLE_KEY_HASH))
        .bearer_auth(TOKEN)
        .json(&json!({ "name": "before" }))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    first.bytes().await.unwrap();

    clone.shutdown().await;
    let after = client
        .patch(fake.key_url(EXAMPLE_KEY_HASH))
        .bearer_auth(TOKEN)
        .json(&json!({ "name": "after" }))
        .send()
        .await;
    assert!(after.is_err(), "{after:?}");
    assert!(tokio::net::TcpStream::connect(fake.addr()).await.is_err());
    assert_eq!(fake.hits(), 1);
    assert_eq!(fake.key(EXAMPLE_KEY_HASH).unwrap().name, "before");
    fake.shutdown().await; // a second call returns at once
}

#[tokio::test]
async fn the_server_stops_when_the_last_handle_is_dropped() {
    let fake = start().await;
    let addr = fake.addr();
    let clone = fake.clone();
    drop(fake);
    // One handle left: still serving.
    assert_eq!(
        patch(&clone, json!({ "name": "alive" })).await.data()["name"],
        "alive"
    );
    drop(clone);
    // The server task needs a few turns of the runtime to close its listener.
    for _ in 0..10_000 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("{addr} still accepts connections after the last handle was dropped");
}

// ---------------------------------------------------------------------------
// The key lifecycle: helpers
// ---------------------------------------------------------------------------

/// The workspace of the keys that are not in the default one.
const OTHER_WORKSPACE: &str = "6b2e7c5a-1f0d-4e8b-9a3c-5d7f9e1b2c4d";

/// A request of `method` to `path` under the base URL, with the management
/// token.
fn api(fake: &FakeOpenRouter, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    api_as(fake, TOKEN, method, path)
}

/// A request of `method` to `path` under the base URL, with `token`.
fn api_as(
    fake: &FakeOpenRouter,
    token: &str,
    method: reqwest::Method,
    path: &str,
) -> reqwest::RequestBuilder {
    http()
        .request(method, format!("{}{path}", fake.base_url()))
        .bearer_auth(token)
}

/// `GET /keys` with this query (`""` or `"?..."`).
async fn list(fake: &FakeOpenRouter, query: &str) -> Reply {
    send(api(fake, reqwest::Method::GET, &format!("/keys{query}"))).await
}

/// `POST /keys` with this JSON body.
async fn create(fake: &FakeOpenRouter, body: Value) -> Reply {
    send(api(fake, reqwest::Method::POST, "/keys").json(&body)).await
}

/// `POST /keys` with a raw body.
async fn create_raw(fake: &FakeOpenRouter, content_type: &str, body: &'static str) -> Reply {
    send(
        api(fake, reqwest::Method::POST, "/keys")
            .header("content-type", content_type)
            .body(body),
    )
    .await
}

/// `GET /keys/{hash}`.
async fn get_key(fake: &FakeOpenRouter, hash: &str) -> Reply {
    send(http().get(fake.key_url(hash)).bearer_auth(TOKEN)).await
}

/// `DELETE /keys/{hash}`.
async fn delete_key(fake: &FakeOpenRouter, hash: &str) -> Reply {
    send(http().delete(fake.key_url(hash)).bearer_auth(TOKEN)).await
}

/// `GET /key` with this bearer token.
async fn current_key(fake: &FakeOpenRouter, token: &str) -> Reply {
    send(
        http()
            .get(format!("{}/key", fake.base_url()))
            .bearer_auth(token),
    )
    .await
}

/// Every operation, called with `token`, with a valid request for the key
/// `hash`.
async fn call_every_operation(fake: &FakeOpenRouter, token: &str, hash: &str) -> Vec<Reply> {
    use reqwest::Method;
    // `key_url`'s path under the base URL, the hash percent-encoded.
    let key_url = fake.key_url(hash);
    let key = &key_url[fake.base_url().len()..];
    let name = json!({ "name": "by token" });
    vec![
        send(api_as(fake, token, Method::GET, "/keys")).await,
        send(api_as(fake, token, Method::POST, "/keys").json(&name)).await,
        send(api_as(fake, token, Method::GET, key)).await,
        send(api_as(fake, token, Method::PATCH, key).json(&name)).await,
        send(api_as(fake, token, Method::DELETE, key)).await,
        send(api_as(fake, token, Method::GET, "/key")).await,
    ]
}

impl Reply {
    /// The `data` and the secret `key` of a 201 from `POST /keys`.
    #[track_caller]
    fn created(&self) -> (Value, String) {
        assert_eq!(self.status, 201, "body: {}", self.text());
        assert_eq!(self.header("content-type"), Some("application/json"));
        let body = self.json();
        let object = body.as_object().expect("an object");
        let mut members: Vec<&str> = object.keys().map(String::as_str).collect();
        members.sort_unstable();
        assert_eq!(members, ["data", "key"], "{body}");
        let secret = body["key"].as_str().expect("the secret is a string");
        (body["data"].clone(), secret.to_owned())
    }

    /// The hashes on a page of `GET /keys`, in order.
    #[track_caller]
    fn hashes(&self) -> Vec<String> {
        self.data()
            .as_array()
            .expect("`data` is an array")
            .iter()
            .map(|key| key["hash"].as_str().expect("a hash").to_owned())
            .collect()
    }
}

/// Whether `text` is `len` lower-case hex digits.
fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The hex part of a secret, checking its form.
#[track_caller]
fn secret_hex(secret: &str) -> &str {
    let hex = secret
        .strip_prefix("sk-or-v1-")
        .unwrap_or_else(|| panic!("{secret:?} starts with sk-or-v1-"));
    assert!(is_hex(hex, 64), "{secret:?}");
    hex
}

/// The label of the key whose secret has this hex part: the secret masked.
fn masked_label(hex: &str) -> String {
    format!("sk-or-v1-{}...{}", &hex[..3], &hex[60..])
}

/// A key for the store, hash `key-NNN`, enabled, in the default workspace,
/// created `i` minutes before the example key: the listing (newest first)
/// shows the example key, then `key-001`, `key-002`, ...
fn numbered(i: usize) -> FakeKey {
    let example = FakeKey::example();
    FakeKey {
        hash: format!("key-{i:03}"),
        name: format!("Key {i}"),
        created_at: example.created_at - chrono::Duration::minutes(i as i64),
        ..example
    }
}

/// `GET /key`'s `data` for a management key, as the fake documents it.
fn management_key_json() -> Value {
    json!({
        "label": "Management key",
        "limit": null,
        "limit_remaining": null,
        "limit_reset": null,
        "include_byok_in_limit": false,
        "usage": 0,
        "usage_daily": 0,
        "usage_weekly": 0,
        "usage_monthly": 0,
        "byok_usage": 0,
        "byok_usage_daily": 0,
        "byok_usage_weekly": 0,
        "byok_usage_monthly": 0,
        "is_free_tier": false,
        "is_management_key": true,
        "is_provisioning_key": true,
        "creator_user_id": null,
        "expires_at": null,
        "rate_limit": {
            "interval": "1h",
            "note": "This field is deprecated and safe to ignore.",
            "requests": 1000,
        },
    })
}

// ---------------------------------------------------------------------------
// Create
// ---------------------------------------------------------------------------

#[tokio::test]
async fn create_answers_201_with_the_new_key_and_its_secret() {
    let fake = start().await;
    fake.set_clock(Some(
        utc(2026, 3, 4, 5, 6, 7) + chrono::Duration::milliseconds(250),
    ));
    let reply = create(
        &fake,
        json!({
            "name": "CI key",
            "limit": 50,
            "limit_reset": "monthly",
            "include_byok_in_limit": true,
            "expires_at": "2027-12-31T23:59:59Z",
            "creator_user_id": "user_123",
            "workspace_id": OTHER_WORKSPACE.to_uppercase(),
        }),
    )
    .await;
    let (data, secret) = reply.created();
    let hex = secret_hex(&secret);
    let hash = data["hash"].as_str().expect("a hash").to_owned();
    assert!(is_hex(&hash, 64), "{hash}");
    assert_ne!(hash, hex, "the hash is not the secret");

    let expected = json!({
        "hash": hash,
        "name": "CI key",
        "label": masked_label(hex),
        "disabled": false,
        "limit": 50,
        "limit_remaining": 50,
        "limit_reset": "monthly",
        "include_byok_in_limit": true,
        "usage": 0,
        "usage_daily": 0,
        "usage_weekly": 0,
        "usage_monthly": 0,
        "byok_usage": 0,
        "byok_usage_daily": 0,
        "byok_usage_weekly": 0,
        "byok_usage_monthly": 0,
        "created_at": "2026-03-04T05:06:07Z",
        "updated_at": null,
        "creator_user_id": "user_123",
        "workspace_id": OTHER_WORKSPACE,
        "expires_at": "2027-12-31T23:59:59Z",
    });
    assert_same_except(&data, &expected, &[]);

    // Stored as answered, after the seeded key.
    let stored = fake.key(&hash).expect("the new key is stored");
    assert_eq!(stored.to_json(), data);
    assert_eq!(stored.created_at, utc(2026, 3, 4, 5, 6, 7));
    assert_eq!(stored.expires_at, Some(utc(2027, 12, 31, 23, 59, 59)));
    assert_eq!(stored.limit_reset, Some(LimitReset::Monthly));
    let hashes: Vec<String> = fake.keys().into_iter().map(|k| k.hash).collect();
    assert_eq!(hashes, [EXAMPLE_KEY_HASH, hash.as_str()]);
}

#[tokio::test]
async fn create_with_only_a_name_takes_the_defaults() {
    let fake = start().await;
    let (data, secret) = create(&fake, json!({ "name": "Minimal" })).await.created();
    secret_hex(&secret);
    let expected = json!({
        "name": "Minimal",
        "disabled": false,
        "limit": null,
        "limit_remaining": null,
        "limit_reset": null,
        "include_byok_in_limit": false,
        "usage": 0,
        "usage_daily": 0,
        "usage_weekly": 0,
        "usage_monthly": 0,
        "byok_usage": 0,
        "byok_usage_daily": 0,
        "byok_usage_weekly": 0,
        "byok_usage_monthly": 0,
        "updated_at": null,
        "creator_user_id": null,
        "workspace_id": DEFAULT_WORKSPACE_ID,
        "expires_at": null,
    });
    assert_same_except(&data, &expected, &["hash", "label", "created_at"]);

    // Explicit nulls are the same as absent fields; unknown fields are ignored.
    let (data, _) = create(
        &fake,
        json!({
            "name": "Nulls",
            "limit": null,
            "limit_reset": null,
            "expires_at": null,
            "creator_user_id": null,
            "disabled": true,
            "usage": 12,
        }),
    )
    .await
    .created();
    let mut expected = expected;
    expected["name"] = json!("Nulls");
    assert_same_except(&data, &expected, &["hash", "label", "created_at"]);
}

#[tokio::test]
async fn created_hashes_and_secrets_are_fresh() {
    let fake = start().await;
    let mut hashes = std::collections::HashSet::new();
    let mut secrets = std::collections::HashSet::new();
    for i in 0..64 {
        let (data, secret) = create(&fake, json!({ "name": format!("Key {i}") }))
            .await
            .created();
        let hash = data["hash"].as_str().unwrap().to_owned();
        assert!(is_hex(&hash, 64), "{hash}");
        secret_hex(&secret);
        assert!(hashes.insert(hash), "a repeated hash");
        assert!(secrets.insert(secret), "a repeated secret");
    }
    assert!(!hashes.contains(EXAMPLE_KEY_HASH));
    assert_eq!(fake.keys().len(), 65);
}

#[tokio::test]
async fn create_refuses_a_bad_body_and_creates_nothing() {
    let fake = start().await;
    let name = "Invalid value for 'name': expected a non-empty string";
    let limit = "Invalid value for 'limit': expected a non-negative number or null";
    let limit_reset = "Invalid value for 'limit_reset': expected one of \"daily\", \"weekly\", \"monthly\" or null";
    let include = "Invalid value for 'include_byok_in_limit': expected a boolean";
    let expires = "Invalid value for 'expires_at': expected an RFC 3339 date-time in UTC \
                   (such as \"2027-12-31T23:59:59Z\") or null";
    let creator = "Invalid value for 'creator_user_id': expected a non-empty string or null";
    let workspace = "Invalid value for 'workspace_id': expected a UUID";
    let cases = [
        (json!({}), "Missing required field 'name'"),
        (json!({ "limit": 5 }), "Missing required field 'name'"),
        (json!({ "name": "" }), name),
        (json!({ "name": null }), name),
        (json!({ "name": 5 }), name),
        (json!({ "name": ["x"] }), name),
        (json!({ "name": "x", "limit": -1 }), limit),
        (json!({ "name": "x", "limit": "5" }), limit),
        (json!({ "name": "x", "limit_reset": "yearly" }), limit_reset),
        (json!({ "name": "x", "limit_reset": 1 }), limit_reset),
        (
            json!({ "name": "x", "include_byok_in_limit": "true" }),
            include,
        ),
        (
            json!({ "name": "x", "include_byok_in_limit": null }),
            include,
        ),
        (
            json!({ "name": "x", "expires_at": "2027-12-31T23:59:59+01:00" }),
            expires,
        ),
        (
            json!({ "name": "x", "expires_at": "2027-12-31T18:59:59-05:00" }),
            expires,
        ),
        (
            json!({ "name": "x", "expires_at": "2027-12-31T23:59:59" }),
            expires,
        ),
        (json!({ "name": "x", "expires_at": "2027-12-31" }), expires),
        (json!({ "name": "x", "expires_at": "tomorrow" }), expires),
        (json!({ "name": "x", "expires_at": 1_830_297_599 }), expires),
        (json!({ "name": "x", "creator_user_id": "" }), creator),
        (json!({ "name": "x", "creator_user_id": 7 }), creator),
        (json!({ "name": "x", "workspace_id": "default" }), workspace),
        (json!({ "name": "x", "workspace_id": null }), workspace),
        (
            json!({ "name": "x", "workspace_id": "6b2e7c5a1f0d4e8b9a3c5d7f9e1b2c4d" }),
            workspace,
        ),
        (json!({ "name": "x", "workspace_id": 5 }), workspace),
        // Fields are checked in a fixed order.
        (json!({ "workspace_id": 5, "limit": -1, "name": "" }), name),
        (
            json!({ "workspace_id": 5, "expires_at": "x", "limit": -1, "name": "x" }),
            limit,
        ),
        (
            json!({ "workspace_id": 5, "expires_at": "x", "name": "x" }),
            expires,
        ),
    ];
    for (body, message) in cases {
        let reply = create(&fake, body.clone()).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text());
        reply.assert_error(400, message);
    }
    create_raw(&fake, "text/plain", r#"{"name": "x"}"#)
        .await
        .assert_error(400, "Content-Type must be application/json");
    create_raw(&fake, "application/json", "[]")
        .await
        .assert_error(400, "Request body must be a JSON object");
    let reply = create_raw(&fake, "application/json", "{").await;
    assert_eq!(reply.status, 400);
    let message = reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.starts_with("Request body is not valid JSON: "),
        "{message}"
    );

    assert_eq!(fake.keys(), [FakeKey::example()], "nothing was created");
}

#[tokio::test]
async fn expires_at_is_accepted_in_utc_and_kept_in_whole_seconds() {
    let fake = start().await;
    for (sent, answered) in [
        (json!("2027-12-31T23:59:59Z"), json!("2027-12-31T23:59:59Z")),
        (
            json!("2027-12-31T23:59:59+00:00"),
            json!("2027-12-31T23:59:59Z"),
        ),
        (
            json!("2027-12-31T23:59:59.750Z"),
            json!("2027-12-31T23:59:59Z"),
        ),
        (json!("2001-02-03T04:05:06Z"), json!("2001-02-03T04:05:06Z")),
        (json!(null), json!(null)),
    ] {
        let (data, _) = create(&fake, json!({ "name": "x", "expires_at": sent }))
            .await
            .created();
        assert_eq!(data["expires_at"], answered, "{sent}");
        let stored = fake.key(data["hash"].as_str().unwrap()).unwrap();
        assert_eq!(stored.to_json()["expires_at"], answered, "{sent}");
    }
}

// ---------------------------------------------------------------------------
// Get and delete
// ---------------------------------------------------------------------------

#[tokio::test]
async fn get_answers_the_stored_key() {
    let fake = start().await;
    let reply = get_key(&fake, EXAMPLE_KEY_HASH).await;
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_same_except(&reply.data(), &example_json(), &[]);

    // The key as it is now, disabled or not.
    patch(&fake, json!({ "disabled": true, "limit": 30 }))
        .await
        .data();
    let data = get_key(&fake, EXAMPLE_KEY_HASH).await.data();
    assert_eq!(data, fake.key(EXAMPLE_KEY_HASH).unwrap().to_json());
    assert_eq!(data["disabled"], true);
    assert_eq!(data["limit_remaining"], 4.5);

    // The hash is percent-decoded, and looked up exactly.
    let encoded = format!("{}/keys/%66{}", fake.base_url(), &EXAMPLE_KEY_HASH[1..]);
    let reply = send(http().get(encoded).bearer_auth(TOKEN)).await;
    assert_eq!(reply.data()["hash"], EXAMPLE_KEY_HASH);
    for hash in ["no-such-key", &EXAMPLE_KEY_HASH.to_uppercase()] {
        get_key(&fake, hash)
            .await
            .assert_error(404, "API key not found");
    }
    assert_eq!(
        fake.key(EXAMPLE_KEY_HASH).unwrap().name,
        "My Production Key"
    );
}

#[tokio::test]
async fn delete_removes_the_key() {
    let fake = start().await;
    fake.insert_key(numbered(1));
    let reply = delete_key(&fake, "key-001").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.text(), r#"{"deleted":true}"#);
    assert_eq!(fake.key("key-001"), None);
    assert_eq!(fake.keys(), [FakeKey::example()]);

    // Gone for every operation.
    delete_key(&fake, "key-001")
        .await
        .assert_error(404, "API key not found");
    get_key(&fake, "key-001")
        .await
        .assert_error(404, "API key not found");
    patch_key(&fake, "key-001", json!({ "name": "back" }))
        .await
        .assert_error(404, "API key not found");

    // Deleting the last key leaves an empty listing.
    assert_eq!(delete_key(&fake, EXAMPLE_KEY_HASH).await.status, 200);
    assert!(
        list(&fake, "?include_disabled=true")
            .await
            .hashes()
            .is_empty()
    );
    assert!(fake.keys().is_empty());
}

#[tokio::test]
async fn create_get_list_update_delete_get() {
    let fake = start().await;
    fake.set_clock(Some(utc(2026, 5, 1, 12, 0, 0)));
    let (created, _) = create(&fake, json!({ "name": "Lifecycle", "limit": 10 }))
        .await
        .created();
    let hash = created["hash"].as_str().unwrap().to_owned();

    assert_eq!(get_key(&fake, &hash).await.data(), created);

    let page = list(&fake, "").await.data();
    assert_eq!(page.as_array().map(Vec::len), Some(2));
    assert_eq!(page[0], created);
    assert_same_except(&page[1], &example_json(), &[]);

    fake.set_clock(Some(utc(2026, 5, 2, 12, 0, 0)));
    let updated = patch_key(&fake, &hash, json!({ "name": "Renamed", "disabled": true }))
        .await
        .data();
    assert_same_except(&updated, &created, &["name", "disabled", "updated_at"]);
    assert_eq!(updated["name"], "Renamed");
    assert_eq!(updated["disabled"], true);
    assert_eq!(updated["updated_at"], "2026-05-02T12:00:00Z");
    assert_eq!(get_key(&fake, &hash).await.data(), updated);
    assert_eq!(list(&fake, "").await.hashes(), [EXAMPLE_KEY_HASH]);
    assert_eq!(
        list(&fake, "?include_disabled=true").await.hashes(),
        [hash.as_str(), EXAMPLE_KEY_HASH]
    );

    assert_eq!(delete_key(&fake, &hash).await.text(), r#"{"deleted":true}"#);
    get_key(&fake, &hash)
        .await
        .assert_error(404, "API key not found");
    assert_eq!(
        list(&fake, "?include_disabled=true").await.hashes(),
        [EXAMPLE_KEY_HASH]
    );

    let operations: Vec<_> = fake
        .requests()
        .iter()
        .map(|r| r.operation().expect("every request reached an operation"))
        .collect();
    use Operation::{Create, Delete, Get, List, Update};
    assert_eq!(
        operations,
        [
            Create, Get, List, Update, Get, List, List, Delete, Get, List
        ]
    );
}

// ---------------------------------------------------------------------------
// List
// ---------------------------------------------------------------------------

#[tokio::test]
async fn list_answers_the_newest_keys_first() {
    let fake = start().await;
    fake.insert_key(numbered(2));
    fake.insert_key(numbered(1));
    // Created now, so the newest.
    let (created, _) = create(&fake, json!({ "name": "Created" })).await.created();
    let created = created["hash"].as_str().unwrap().to_owned();
    fake.insert_key(FakeKey {
        name: "Replaced".to_owned(),
        ..numbered(2)
    });

    let reply = list(&fake, "").await;
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(
        reply.hashes(),
        [created.as_str(), EXAMPLE_KEY_HASH, "key-001", "key-002"]
    );
    for key in reply.data().as_array().unwrap() {
        let stored = fake.key(key["hash"].as_str().unwrap()).unwrap();
        assert_eq!(*key, stored.to_json());
    }
    assert_eq!(reply.data()[3]["name"], "Replaced");
    // The store keeps its own order.
    let stored: Vec<String> = fake.keys().into_iter().map(|k| k.hash).collect();
    assert_eq!(stored, [EXAMPLE_KEY_HASH, "key-002", "key-001", &created]);
}

#[tokio::test]
async fn keys_may_share_a_name_and_list_by_created_at() {
    let fake = start().await;
    fake.remove_key(EXAMPLE_KEY_HASH);
    let deploy = |hash: &str, minute: u32, workspace: &str, disabled: bool| FakeKey {
        hash: hash.to_owned(),
        name: "deploy".to_owned(),
        created_at: utc(2026, 1, 1, 12, minute, 0),
        workspace_id: workspace.to_owned(),
        disabled,
        ..FakeKey::example()
    };
    // Inserted in no particular order.
    fake.insert_key(deploy("old", 1, DEFAULT_WORKSPACE_ID, false));
    fake.insert_key(deploy("newest", 9, DEFAULT_WORKSPACE_ID, false));
    fake.insert_key(deploy("off", 5, DEFAULT_WORKSPACE_ID, true));
    fake.insert_key(deploy("tie-a", 3, DEFAULT_WORKSPACE_ID, false));
    fake.insert_key(deploy("tie-b", 3, DEFAULT_WORKSPACE_ID, false));
    fake.insert_key(deploy("elsewhere", 7, OTHER_WORKSPACE, false));
    assert!(fake.keys().iter().all(|key| key.name == "deploy"));

    // Newest first; of the two created in the same second, the one stored
    // last comes first, and replacing a key keeps its place.
    fake.insert_key(FakeKey {
        limit: None,
        ..deploy("tie-a", 3, DEFAULT_WORKSPACE_ID, false)
    });
    assert_eq!(
        list(&fake, "").await.hashes(),
        ["newest", "tie-b", "tie-a", "old"]
    );
    assert_eq!(
        list(&fake, "?include_disabled=true").await.hashes(),
        ["newest", "off", "tie-b", "tie-a", "old"]
    );
    assert_eq!(
        list(&fake, &format!("?workspace_id={OTHER_WORKSPACE}"))
            .await
            .hashes(),
        ["elsewhere"]
    );
    // A key created through the API under the same name is newer still.
    fake.set_clock(Some(utc(2026, 1, 1, 12, 10, 0)));
    let (created, _) = create(&fake, json!({ "name": "deploy" })).await.created();
    fake.set_page_size(2);
    assert_eq!(
        list(&fake, "").await.hashes(),
        [created["hash"].as_str().unwrap(), "newest"]
    );
    assert_eq!(list(&fake, "?offset=2").await.hashes(), ["tie-b", "tie-a"]);
}

#[tokio::test]
async fn list_pages_by_offset_with_the_page_size() {
    let fake = start().await;
    for i in 1..=7 {
        fake.insert_key(numbered(i));
    }
    fake.set_page_size(3);
    let all: Vec<String> = fake.keys().into_iter().map(|k| k.hash).collect();
    assert_eq!(all.len(), 8);

    for (offset, expected) in [
        ("0", &all[0..3]),
        ("3", &all[3..6]),
        ("6", &all[6..8]),
        ("1", &all[1..4]),
        ("7", &all[7..8]),
        ("8", &all[8..]),
        ("9", &all[8..]),
        ("18446744073709551615", &all[8..]),
    ] {
        let hashes = list(&fake, &format!("?offset={offset}")).await.hashes();
        assert_eq!(hashes, expected, "offset {offset}");
    }
    // No offset is offset 0.
    assert_eq!(list(&fake, "").await.hashes(), &all[0..3]);

    // A client that pages until a short page sees every key once.
    let mut seen = Vec::new();
    let mut requests = 0;
    loop {
        let page = list(&fake, &format!("?offset={}", seen.len()))
            .await
            .hashes();
        requests += 1;
        let short = page.len() < 3;
        seen.extend(page);
        if short {
            break;
        }
    }
    assert_eq!(seen, all);
    assert_eq!(requests, 3);
}

#[tokio::test]
async fn the_default_page_holds_100_keys() {
    let fake = start().await;
    for i in 1..150 {
        fake.insert_key(numbered(i));
    }
    let first = list(&fake, "").await.hashes();
    assert_eq!(first.len(), 100);
    assert_eq!(first[0], EXAMPLE_KEY_HASH);
    assert_eq!(first[99], "key-099");
    let second = list(&fake, "?offset=100").await.hashes();
    assert_eq!(second.len(), 50);
    assert_eq!(second[49], "key-149");
}

#[tokio::test]
#[should_panic(expected = "a page size must be at least 1")]
async fn a_page_cannot_be_empty() {
    start().await.set_page_size(0);
}

#[tokio::test]
async fn list_hides_disabled_keys_unless_asked() {
    let fake = start().await;
    for i in 1..=5 {
        fake.insert_key(FakeKey {
            disabled: i % 2 == 0,
            ..numbered(i)
        });
    }
    let enabled = [EXAMPLE_KEY_HASH, "key-001", "key-003", "key-005"];
    let every = [
        EXAMPLE_KEY_HASH,
        "key-001",
        "key-002",
        "key-003",
        "key-004",
        "key-005",
    ];
    assert_eq!(list(&fake, "").await.hashes(), enabled);
    assert_eq!(
        list(&fake, "?include_disabled=false").await.hashes(),
        enabled
    );
    assert_eq!(list(&fake, "?include_disabled=true").await.hashes(), every);

    // The offset counts the keys that are listed.
    fake.set_page_size(2);
    assert_eq!(
        list(&fake, "?offset=2").await.hashes(),
        ["key-003", "key-005"]
    );
    assert_eq!(
        list(&fake, "?offset=2&include_disabled=true")
            .await
            .hashes(),
        ["key-002", "key-003"]
    );
}

#[tokio::test]
async fn list_shows_one_workspace() {
    let fake = start().await;
    fake.insert_key(numbered(1));
    fake.insert_key(FakeKey {
        workspace_id: OTHER_WORKSPACE.to_owned(),
        ..numbered(2)
    });
    let (created, _) = create(
        &fake,
        json!({ "name": "Elsewhere", "workspace_id": OTHER_WORKSPACE }),
    )
    .await
    .created();
    let elsewhere = [created["hash"].as_str().unwrap(), "key-002"];

    // Without a workspace, the default one.
    assert_eq!(
        list(&fake, "").await.hashes(),
        [EXAMPLE_KEY_HASH, "key-001"]
    );
    assert_eq!(
        list(&fake, &format!("?workspace_id={DEFAULT_WORKSPACE_ID}"))
            .await
            .hashes(),
        [EXAMPLE_KEY_HASH, "key-001"]
    );
    assert_eq!(
        list(&fake, &format!("?workspace_id={OTHER_WORKSPACE}"))
            .await
            .hashes(),
        elsewhere
    );
    // UUIDs compare without regard to case.
    let upper = OTHER_WORKSPACE.to_uppercase();
    assert_eq!(
        list(&fake, &format!("?workspace_id={upper}"))
            .await
            .hashes(),
        elsewhere
    );
    // A workspace without keys lists nothing.
    assert!(
        list(&fake, "?workspace_id=00000000-0000-0000-0000-000000000000")
            .await
            .hashes()
            .is_empty()
    );
}

#[tokio::test]
async fn list_refuses_bad_parameters() {
    let fake = start().await;
    let include =
        "Invalid value for query parameter 'include_disabled': expected \"true\" or \"false\"";
    let offset = "Invalid value for query parameter 'offset': expected a non-negative integer";
    let workspace = "Invalid value for query parameter 'workspace_id': expected a UUID";
    for (query, message) in [
        ("?include_disabled=yes", include),
        ("?include_disabled=TRUE", include),
        ("?include_disabled=1", include),
        ("?include_disabled=", include),
        ("?include_disabled", include),
        ("?offset=-1", offset),
        ("?offset=%2B1", offset),
        ("?offset=1.5", offset),
        ("?offset=abc", offset),
        ("?offset=", offset),
        ("?offset=18446744073709551616", offset),
        ("?workspace_id=default", workspace),
        ("?workspace_id=", workspace),
        ("?workspace_id=6b2e7c5a1f0d4e8b9a3c5d7f9e1b2c4d", workspace),
        // Parameters are checked in a fixed order, after repetitions.
        ("?workspace_id=x&offset=x&include_disabled=x", include),
        ("?workspace_id=x&offset=x", offset),
        (
            "?include_disabled=x&offset=1&offset=1",
            "Query parameter 'offset' is given more than once",
        ),
        (
            "?workspace_id=x&workspace_id=x",
            "Query parameter 'workspace_id' is given more than once",
        ),
    ] {
        list(&fake, query).await.assert_error(400, message);
    }
    // Unknown parameters are ignored; values are percent-decoded.
    assert_eq!(
        list(&fake, "?limit=5&page=2&offset=%30").await.hashes(),
        [EXAMPLE_KEY_HASH]
    );
}

#[tokio::test]
async fn endless_pages_never_end() {
    let fake = start().await;
    fake.set_page_size(5);
    fake.set_endless_pages(true);

    let first = list(&fake, "").await.data();
    let first = first.as_array().expect("an array");
    assert_eq!(first.len(), 5);
    assert_eq!(first[0]["hash"], format!("{:064x}", 0));
    assert_eq!(first[4]["hash"], format!("{:064x}", 4));
    assert_eq!(first[4]["name"], "Endless key 4");
    assert_eq!(first[4]["workspace_id"], DEFAULT_WORKSPACE_ID);
    assert_eq!(first[4]["disabled"], false);

    // A client bounded to 20 pages never meets a short page.
    let mut offset = 0;
    for _ in 0..20 {
        let hashes = list(&fake, &format!("?offset={offset}")).await.hashes();
        assert_eq!(hashes.len(), 5, "offset {offset}");
        assert_eq!(hashes[0], format!("{offset:064x}"));
        offset += hashes.len();
    }
    assert_eq!(fake.hits(), 21);

    // Far offsets, filters and other workspaces too; the query is still checked.
    let far = list(&fake, "?offset=18446744073709551615&include_disabled=true")
        .await
        .hashes();
    assert_eq!(far.len(), 5);
    assert_eq!(far[4], format!("{:064x}", u128::from(u64::MAX) + 4));
    let other = list(&fake, &format!("?workspace_id={OTHER_WORKSPACE}"))
        .await
        .data();
    assert_eq!(other[0]["workspace_id"], OTHER_WORKSPACE);
    assert_eq!(list(&fake, "?offset=x").await.status, 400);

    // The made-up keys are not stored.
    get_key(&fake, &format!("{:064x}", 3))
        .await
        .assert_error(404, "API key not found");
    assert_eq!(fake.keys(), [FakeKey::example()]);

    fake.set_endless_pages(false);
    assert_eq!(list(&fake, "").await.hashes(), [EXAMPLE_KEY_HASH]);
    assert!(list(&fake, "?offset=5").await.hashes().is_empty());
}

// ---------------------------------------------------------------------------
// The calling key
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_current_key_of_the_management_key() {
    let fake = start().await;
    // Any key is a management key while none is required.
    for token in [TOKEN, "sk-or-v1-anything", "x"] {
        let reply = current_key(&fake, token).await;
        assert_eq!(reply.header("content-type"), Some("application/json"));
        assert_same_except(&reply.data(), &management_key_json(), &[]);
    }

    fake.require_key(TOKEN);
    assert_same_except(
        &current_key(&fake, TOKEN).await.data(),
        &management_key_json(),
        &[],
    );
    let reply = current_key(&fake, "sk-or-v1-someone-else").await;
    reply.assert_error(401, "Invalid API key");
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    list(&fake, "").await.hashes(); // the required key still lists
    send(api_as(
        &fake,
        "sk-or-v1-someone-else",
        reqwest::Method::GET,
        "/keys",
    ))
    .await
    .assert_error(401, "Invalid management key");

    // The header is checked as for every operation.
    let url = format!("{}/key", fake.base_url());
    send(http().get(&url))
        .await
        .assert_error(401, "Missing Authentication header");
    send(http().get(&url).header("authorization", "Basic abc"))
        .await
        .assert_error(
            401,
            "Invalid Authentication header: expected 'Bearer <key>'",
        );
    send(http().get(&url).header("authorization", "Bearer  "))
        .await
        .assert_error(401, "Invalid Authentication header: empty bearer token");
}

#[tokio::test]
async fn the_current_key_of_a_created_key_is_that_key() {
    let fake = start().await;
    let (data, secret) = create(
        &fake,
        json!({
            "name": "Worker",
            "limit": 20,
            "limit_reset": "weekly",
            "include_byok_in_limit": true,
            "expires_at": "2027-06-30T00:00:00Z",
            "creator_user_id": "user_9",
        }),
    )
    .await
    .created();
    let hash = data["hash"].as_str().unwrap().to_owned();
    let hex = secret_hex(&secret);

    let expected = json!({
        "label": masked_label(hex),
        "limit": 20,
        "limit_remaining": 20,
        "limit_reset": "weekly",
        "include_byok_in_limit": true,
        "usage": 0,
        "usage_daily": 0,
        "usage_weekly": 0,
        "usage_monthly": 0,
        "byok_usage": 0,
        "byok_usage_daily": 0,
        "byok_usage_weekly": 0,
        "byok_usage_monthly": 0,
        "is_free_tier": false,
        "is_management_key": false,
        "is_provisioning_key": false,
        "creator_user_id": "user_9",
        "expires_at": "2027-06-30T00:00:00Z",
        "rate_limit": {
            "interval": "1h",
            "note": "This field is deprecated and safe to ignore.",
            "requests": 1000,
        },
    });
    let reply = current_key(&fake, &secret).await;
    assert_same_except(&reply.data(), &expected, &[]);
    assert_eq!(reply.data(), fake.key(&hash).unwrap().to_current_json());

    // The answer follows the stored key, and works with a required key set.
    fake.require_key(TOKEN);
    let mut spent = fake.key(&hash).unwrap();
    spent.usage = 5.0;
    fake.insert_key(spent);
    patch_key(&fake, &hash, json!({ "disabled": true }))
        .await
        .data();
    let data = current_key(&fake, &secret).await.data();
    assert_eq!(data["limit_remaining"], 15);
    assert_eq!(data["usage"], 5);

    // Each created key answers for itself.
    let (other, other_secret) = create(&fake, json!({ "name": "Other" })).await.created();
    let data = current_key(&fake, &other_secret).await.data();
    assert_eq!(data["label"], other["label"]);
    assert!(data["limit"].is_null());
    assert_eq!(current_key(&fake, &secret).await.data()["limit"], 20);
}

#[tokio::test]
async fn a_created_key_is_not_a_management_key() {
    let fake = start().await;
    let (_, secret) = create(&fake, json!({ "name": "Plain" })).await.created();
    for required in [false, true] {
        if required {
            fake.require_key(TOKEN);
        }
        let replies = call_every_operation(&fake, &secret, EXAMPLE_KEY_HASH).await;
        let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
        assert_eq!(
            statuses,
            [403, 403, 403, 403, 403, 200],
            "required: {required}"
        );
        for reply in &replies[..5] {
            reply.assert_error(403, "Only management keys can perform this operation");
        }
    }
    assert_eq!(fake.keys().len(), 2, "nothing was created or deleted");
    assert_eq!(fake.key(EXAMPLE_KEY_HASH), Some(FakeKey::example()));
}

#[tokio::test]
async fn a_deleted_keys_secret_is_an_unknown_key() {
    let fake = start().await;
    let (data, secret) = create(&fake, json!({ "name": "Short-lived" }))
        .await
        .created();
    delete_key(&fake, data["hash"].as_str().unwrap()).await;

    // Accepted as any other key while none is required...
    assert_same_except(
        &current_key(&fake, &secret).await.data(),
        &management_key_json(),
        &[],
    );
    // ...and refused once one is.
    fake.require_key(TOKEN);
    current_key(&fake, &secret)
        .await
        .assert_error(401, "Invalid API key");
    send(api_as(&fake, &secret, reqwest::Method::GET, "/keys"))
        .await
        .assert_error(401, "Invalid management key");
}

// ---------------------------------------------------------------------------
// Faults for one operation
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_fault_for_one_operation_waits_for_it() {
    let fake = start().await;
    fake.push_fault(
        Fault::status(503)
            .retry_after("3")
            .only_for(Operation::Create),
    );
    assert_eq!(fake.pending_faults(), 1);

    let replies = call_every_operation(&fake, TOKEN, "no-such-key").await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 503, 404, 404, 404, 200]);
    replies[1].assert_error(503, "Service Unavailable");
    assert_eq!(replies[1].header("retry-after"), Some("3"));
    assert_eq!(fake.pending_faults(), 0);
    assert_eq!(
        fake.keys(),
        [FakeKey::example()],
        "the faulted create did nothing"
    );

    // Used once: the next create succeeds.
    create(&fake, json!({ "name": "second try" }))
        .await
        .created();
}

#[tokio::test]
async fn faults_are_taken_in_order_by_the_requests_they_apply_to() {
    let fake = start().await;
    fake.push_fault(Fault::status(500).only_for(Operation::Create));
    fake.push_fault(Fault::status(429));
    fake.fail_next(2, Fault::status(502).only_for(Operation::List));
    assert_eq!(fake.pending_faults(), 4);

    // A list takes the oldest fault that applies to it: the 429 for every
    // request, not the 500 for creations queued before it.
    list(&fake, "").await.assert_error(429, "Too Many Requests");
    list(&fake, "").await.assert_error(502, "Bad Gateway");
    create(&fake, json!({ "name": "x" }))
        .await
        .assert_error(500, "Internal Server Error");
    get_key(&fake, EXAMPLE_KEY_HASH).await.data();
    list(&fake, "").await.assert_error(502, "Bad Gateway");
    assert_eq!(fake.pending_faults(), 0);
    assert_eq!(list(&fake, "").await.hashes(), [EXAMPLE_KEY_HASH]);
}

#[tokio::test]
async fn a_fault_can_name_several_operations() {
    let fake = start().await;
    fake.fail_next(
        2,
        Fault::status(504)
            .only_for(Operation::Get)
            .only_for(Operation::Delete)
            .only_for(Operation::Get),
    );
    patch(&fake, json!({ "name": "passes" })).await.data();
    get_key(&fake, EXAMPLE_KEY_HASH)
        .await
        .assert_error(504, "Gateway Timeout");
    current_key(&fake, TOKEN).await.data();
    delete_key(&fake, EXAMPLE_KEY_HASH)
        .await
        .assert_error(504, "Gateway Timeout");
    assert_eq!(fake.pending_faults(), 0);
    assert_eq!(fake.key(EXAMPLE_KEY_HASH).unwrap().name, "passes");
}

#[tokio::test]
async fn requests_for_no_operation_pass_operation_faults_by() {
    let fake = start().await;
    fake.push_fault(Fault::status(503).only_for(Operation::List));
    let origin = format!("http://{}", fake.addr());
    send(
        http()
            .get(format!("{origin}/api/v1/models"))
            .bearer_auth(TOKEN),
    )
    .await
    .assert_error(404, "Resource not found");
    send(
        http()
            .put(format!("{}/keys", fake.base_url()))
            .bearer_auth(TOKEN),
    )
    .await
    .assert_error(405, "Method not allowed");
    assert_eq!(fake.pending_faults(), 1);
    // An unauthenticated list is still a list: the fault comes first.
    send(http().get(format!("{}/keys", fake.base_url())))
        .await
        .assert_error(503, "Service Unavailable");
    assert_eq!(fake.pending_faults(), 0);
}

#[tokio::test]
async fn an_operation_fault_after_processing_still_creates_and_deletes() {
    let fake = start().await;
    fake.push_fault(
        Fault::status(502)
            .after_processing()
            .only_for(Operation::Create),
    );
    create(&fake, json!({ "name": "Lost answer" }))
        .await
        .assert_error(502, "Bad Gateway");
    let keys = fake.keys();
    assert_eq!(keys.len(), 2, "created, though the answer was lost");
    assert_eq!(keys[1].name, "Lost answer");

    fake.push_fault(
        Fault::status(504)
            .after_processing()
            .only_for(Operation::Delete),
    );
    delete_key(&fake, &keys[1].hash)
        .await
        .assert_error(504, "Gateway Timeout");
    assert_eq!(fake.keys(), [FakeKey::example()], "deleted all the same");
}

#[tokio::test]
async fn recorded_requests_name_their_operation() {
    let fake = start().await;
    call_every_operation(&fake, TOKEN, EXAMPLE_KEY_HASH).await;
    send(http().get(format!("{}/keys", fake.base_url()))).await; // 401
    send(http().get(format!("http://{}/", fake.addr()))).await; // 404
    send(http().put(fake.key_url(EXAMPLE_KEY_HASH))).await; // 405
    let recorded: Vec<_> = fake
        .requests()
        .iter()
        .map(|r| (r.method().to_owned(), r.operation()))
        .collect();
    let mut expected: Vec<_> = Operation::ALL
        .iter()
        .map(|op| (op.method().to_owned(), Some(*op)))
        .collect();
    expected.extend([
        ("GET".to_owned(), Some(Operation::List)),
        ("GET".to_owned(), None),
        ("PUT".to_owned(), None),
    ]);
    assert_eq!(recorded, expected);

    let described: Vec<String> = Operation::ALL.iter().map(ToString::to_string).collect();
    assert_eq!(
        described,
        [
            "GET /keys",
            "POST /keys",
            "GET /keys/{hash}",
            "PATCH /keys/{hash}",
            "DELETE /keys/{hash}",
            "GET /key",
        ]
    );
    let management: Vec<bool> = Operation::ALL
        .iter()
        .map(|op| op.needs_management_key())
        .collect();
    assert_eq!(management, [true, true, true, true, true, false]);
}

// ---------------------------------------------------------------------------
// Withheld answers: closed and held connections
// ---------------------------------------------------------------------------

/// Sends `request` as it is on a new connection and reads until the server
/// closes it: every byte the client receives.
async fn raw(fake: &FakeOpenRouter, request: &str) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(fake.addr()).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    // A reset is an end too; what came before it is kept.
    let _ = stream.read_to_end(&mut received).await;
    received
}

/// A raw `PATCH` of the example key that renames it, closing the connection
/// after the answer.
fn raw_rename(name: &str) -> String {
    let body = json!({ "name": name }).to_string();
    format!(
        "PATCH /api/v1/keys/{EXAMPLE_KEY_HASH} HTTP/1.1\r\nHost: fake\r\n\
         Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// A `POST /keys` creating a key with this name, sent by the shared client,
/// which gives up after `timeout`.
fn create_request(fake: &FakeOpenRouter, name: &str, timeout: Duration) -> reqwest::RequestBuilder {
    api(fake, reqwest::Method::POST, "/keys")
        .json(&json!({ "name": name }))
        .timeout(timeout)
}

/// The hashes of the stored keys named `name`.
fn named(fake: &FakeOpenRouter, name: &str) -> Vec<String> {
    fake.keys()
        .into_iter()
        .filter(|key| key.name == name)
        .map(|key| key.hash)
        .collect()
}

#[tokio::test]
async fn a_disconnect_after_processing_creates_the_key_and_answers_nothing() {
    let fake = start().await;
    fake.push_fault(
        Fault::disconnect()
            .after_processing()
            .only_for(Operation::Create),
    );
    let error = create_request(&fake, "lost", Duration::from_secs(30))
        .send()
        .await
        .expect_err("no answer");
    assert!(!error.is_timeout(), "{error:?}");
    assert_eq!(error.status(), None, "{error:?}");
    assert_eq!((fake.hits(), fake.withheld()), (1, 1));
    // Already withheld: no wait.
    fake.until_withheld(1).await;

    // The key was created once; only its answer is lost.
    let lost = named(&fake, "lost");
    assert_eq!(lost.len(), 1);
    assert_eq!(fake.keys().len(), 2);
    // The fault is used up: the next request is answered.
    assert_eq!(list(&fake, "").await.hashes()[0], lost[0]);
    assert_eq!(fake.withheld(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_disconnect_sends_not_a_byte() {
    let fake = start().await;
    // Without a fault the raw request is answered.
    let answered = raw(&fake, &raw_rename("answered")).await;
    assert!(answered.starts_with(b"HTTP/1.1 200 OK\r\n"), "{answered:?}");

    // Before processing: nothing changes and nothing is sent.
    fake.push_fault(Fault::disconnect());
    assert_eq!(raw(&fake, &raw_rename("dropped")).await, b"");
    assert_eq!(fake.key(EXAMPLE_KEY_HASH).unwrap().name, "answered");

    // After processing, and after a delay on the Tokio clock.
    fake.push_fault(
        Fault::disconnect()
            .after_processing()
            .delay(Duration::from_secs(30)),
    );
    let started = tokio::time::Instant::now();
    assert_eq!(raw(&fake, &raw_rename("applied")).await, b"");
    assert_eq!(started.elapsed(), Duration::from_secs(30));
    assert_eq!(fake.key(EXAMPLE_KEY_HASH).unwrap().name, "applied");
    assert_eq!((fake.hits(), fake.withheld()), (3, 2));
}

#[tokio::test(start_paused = true)]
async fn a_hang_holds_the_answer_until_the_client_times_out() {
    let fake = start().await;
    fake.push_fault(Fault::hang().after_processing().only_for(Operation::Create));
    let started = tokio::time::Instant::now();
    let client = tokio::spawn(create_request(&fake, "held", Duration::from_secs(30)).send());

    tokio::time::timeout(Duration::from_secs(5), fake.until_withheld(1))
        .await
        .expect("the answer is held");
    // The key is stored while its creator waits.
    assert_eq!(named(&fake, "held").len(), 1);
    assert!(!client.is_finished());

    let error = client.await.unwrap().expect_err("no answer");
    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(started.elapsed(), Duration::from_secs(30));
    assert_eq!((fake.hits(), fake.withheld()), (1, 1));
    assert_eq!(named(&fake, "held").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_hang_ends_without_an_answer_when_the_server_stops() {
    let fake = start().await;
    fake.push_fault(Fault::hang().after_processing());
    let request = http()
        .patch(fake.key_url(EXAMPLE_KEY_HASH))
        .bearer_auth(TOKEN)
        .json(&json!({ "name": "held" }));
    let client = tokio::spawn(request.send());
    tokio::time::timeout(Duration::from_secs(5), fake.until_withheld(1))
        .await
        .expect("the answer is held");

    // An hour on the Tokio clock changes nothing.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(!client.is_finished());
    assert_eq!(fake.key(EXAMPLE_KEY_HASH).unwrap().name, "held");

    fake.shutdown().await;
    let error = client.await.unwrap().expect_err("no answer");
    assert!(!error.is_timeout(), "{error:?}");
    assert_eq!(error.status(), None, "{error:?}");
}

#[tokio::test(start_paused = true)]
async fn until_withheld_waits_for_the_nth_withheld_answer() {
    let fake = start().await;
    fake.until_withheld(0).await;
    fake.fail_next(
        2,
        Fault::hang().after_processing().only_for(Operation::Create),
    );
    let long = Duration::from_secs(600);
    let first = tokio::spawn(create_request(&fake, "first", long).send());
    tokio::time::timeout(Duration::from_secs(5), fake.until_withheld(1))
        .await
        .expect("the first answer is held");
    // A list passes the faults by and is answered.
    assert_eq!(list(&fake, "").await.status, 200);
    assert!(
        tokio::time::timeout(Duration::from_secs(5), fake.until_withheld(2))
            .await
            .is_err(),
        "only one answer is held"
    );

    let second = tokio::spawn(create_request(&fake, "second", long).send());
    tokio::time::timeout(Duration::from_secs(5), fake.until_withheld(2))
        .await
        .expect("the second answer is held");
    assert_eq!((fake.hits(), fake.withheld()), (3, 2));
    assert_eq!(named(&fake, "first").len(), 1);
    assert_eq!(named(&fake, "second").len(), 1);
    assert!(!first.is_finished() && !second.is_finished());
    first.abort();
    second.abort();
}

// ---------------------------------------------------------------------------
// Changes scripted between requests
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_change_between_pages_repeats_and_skips_keys() {
    let fake = start().await;
    for i in 1..=4 {
        fake.insert_key(numbered(i));
    }
    fake.set_page_size(2);
    // Before the second page, a newer key; before the third, one fewer.
    fake.on_request(Operation::List, 2, |fake| {
        fake.insert_key(FakeKey {
            hash: "newer".to_owned(),
            created_at: utc(2026, 1, 1, 0, 0, 0),
            ..numbered(0)
        });
    });
    fake.on_request(Operation::List, 3, |fake| {
        fake.remove_key("key-001");
    });
    // Other operations do not count.
    assert_eq!(get_key(&fake, "key-001").await.status, 200);

    // A client paging by offset until a short page.
    let mut seen = Vec::new();
    loop {
        let page = list(&fake, &format!("?offset={}", seen.len()))
            .await
            .hashes();
        let short = page.len() < 2;
        seen.extend(page);
        if short {
            break;
        }
    }
    // `key-001` twice, `key-003` and the newer key never.
    assert_eq!(
        seen,
        [EXAMPLE_KEY_HASH, "key-001", "key-001", "key-002", "key-004"]
    );
    assert_eq!(fake.hits(), 4);
    assert!(fake.key("newer").is_some());
    assert!(fake.key("key-001").is_none());
    assert!(
        format!("{fake:?}").contains("pending_changes: 0"),
        "{fake:?}"
    );
}

#[tokio::test]
async fn a_change_runs_before_the_fault_and_the_processing_of_its_request() {
    let fake = start().await;
    // A fault queued by the change meets the request the change ran for.
    fake.on_request(Operation::Update, 1, |fake| {
        fake.push_fault(Fault::status(503).after_processing());
        fake.insert_key(FakeKey {
            name: "changed first".to_owned(),
            ..FakeKey::example()
        });
    });
    // 0 counts as 1: the next request for the operation.
    fake.on_request(Operation::Get, 0, |fake| {
        fake.remove_key(EXAMPLE_KEY_HASH);
    });
    assert!(
        format!("{fake:?}").contains("pending_changes: 2"),
        "{fake:?}"
    );

    // Requests that reach no operation do not count.
    let origin = format!("http://{}", fake.addr());
    assert_eq!(
        send(http().get(format!("{origin}/other"))).await.status,
        404
    );
    let reply = patch(&fake, json!({ "limit": 10 })).await;
    reply.assert_error(503, "Service Unavailable");
    let key = fake.key(EXAMPLE_KEY_HASH).unwrap();
    assert_eq!(
        (key.name.as_str(), key.limit),
        ("changed first", Some(10.0))
    );

    // The key is gone before the get is carried out.
    get_key(&fake, EXAMPLE_KEY_HASH)
        .await
        .assert_error(404, "API key not found");
    assert_eq!(fake.pending_faults(), 0);
    assert_eq!(fake.hits(), 3);
}

// ---------------------------------------------------------------------------
// The rate limit
// ---------------------------------------------------------------------------

/// The statuses of `n` lists, one after the other.
async fn list_statuses(fake: &FakeOpenRouter, n: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..n {
        statuses.push(list(fake, "").await.status);
    }
    statuses
}

#[tokio::test(start_paused = true)]
async fn the_rate_limit_refills_continuously_on_the_tokio_clock() {
    let fake = start().await;
    fake.set_rate_limit(Some(4));
    let started = tokio::time::Instant::now();

    // A full bucket holds a second's worth.
    assert_eq!(
        list_statuses(&fake, 6).await,
        [200, 200, 200, 200, 429, 429]
    );
    let refused = list(&fake, "").await;
    refused.assert_error(429, "Rate limit exceeded");
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(started.elapsed(), Duration::ZERO, "no time passed");

    // A token every quarter second, not before.
    tokio::time::advance(Duration::from_millis(249)).await;
    assert_eq!(list_statuses(&fake, 1).await, [429]);
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(list_statuses(&fake, 2).await, [200, 429]);
    tokio::time::advance(Duration::from_millis(500)).await;
    assert_eq!(list_statuses(&fake, 3).await, [200, 200, 429]);

    // A long wait fills the bucket, and no more.
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(list_statuses(&fake, 5).await, [200, 200, 200, 200, 429]);

    // Every request is recorded; the share of 429s is known.
    assert_eq!((fake.rate_limited(), fake.hits()), (7, 18));
    assert_eq!(fake.requests().len(), 18);
    assert!(
        format!("{fake:?}").contains("rate_limit: Some(4)"),
        "{fake:?}"
    );

    fake.set_rate_limit(None);
    assert_eq!(list_statuses(&fake, 10).await, [200; 10]);
    fake.set_rate_limit(Some(0));
    assert_eq!(list_statuses(&fake, 2).await, [429; 2]);
    assert_eq!(fake.rate_limited(), 9);
}

#[tokio::test(start_paused = true)]
async fn a_refused_request_meets_no_fault_runs_no_change_and_changes_nothing() {
    let fake = start().await;
    fake.set_rate_limit(Some(1));
    assert_eq!(current_key(&fake, TOKEN).await.status, 200);

    fake.push_fault(Fault::status(500).after_processing());
    fake.on_request(Operation::Update, 1, |fake| {
        fake.remove_key("key-001");
    });
    fake.insert_key(numbered(1));
    patch(&fake, json!({ "name": "refused" }))
        .await
        .assert_error(429, "Rate limit exceeded");
    assert_eq!(fake.key(EXAMPLE_KEY_HASH), Some(FakeKey::example()));
    assert_eq!(fake.pending_faults(), 1);
    assert!(fake.key("key-001").is_some(), "the change waits");
    assert_eq!(
        fake.last_request().unwrap().body(),
        br#"{"name":"refused"}"#
    );

    // A second later the same request passes, and meets both.
    tokio::time::advance(Duration::from_secs(1)).await;
    patch(&fake, json!({ "name": "applied" }))
        .await
        .assert_error(500, "Internal Server Error");
    assert_eq!(fake.key(EXAMPLE_KEY_HASH).unwrap().name, "applied");
    assert_eq!(fake.pending_faults(), 0);
    assert!(fake.key("key-001").is_none());
    assert_eq!((fake.rate_limited(), fake.hits()), (1, 3));
}

// ---------------------------------------------------------------------------
// Secrets stay out of Debug output
// ---------------------------------------------------------------------------

#[tokio::test]
async fn no_debug_output_shows_a_secret() {
    let fake = start().await;
    fake.require_key(TOKEN);
    let mut secrets = Vec::new();
    for name in ["One", "Two", "Three"] {
        let (data, secret) = create(&fake, json!({ "name": name })).await.created();
        // Every way of calling with the secret, and the key's own answers.
        current_key(&fake, &secret).await.data();
        send(api_as(&fake, &secret, reqwest::Method::GET, "/keys")).await;
        get_key(&fake, data["hash"].as_str().unwrap()).await.data();
        secrets.push(secret);
    }
    list(&fake, "?include_disabled=true").await.data();
    fake.push_fault(Fault::status(503).only_for(Operation::CurrentKey));

    let mut printed = vec![format!("{fake:?}"), format!("{fake:#?}")];
    for key in fake.keys() {
        printed.push(format!("{key:?}"));
        printed.push(format!("{key:#?}"));
    }
    for request in fake.requests() {
        printed.push(format!("{request:?}"));
        printed.push(format!("{request:#?}"));
    }
    printed.push(format!(
        "{:?}",
        Fault::status(500).only_for(Operation::Create)
    ));
    printed.push(format!("{:?}", Operation::ALL));
    for text in &printed {
        assert!(!text.contains(TOKEN), "{text}");
        for secret in &secrets {
            assert!(!text.contains(secret_hex(secret)), "{text}");
        }
    }
    let handle = format!("{fake:?}");
    assert!(handle.contains("keys: 4"), "{handle}");
    assert!(handle.contains("page_size: 100"), "{handle}");
    assert!(handle.contains("endless_pages: false"), "{handle}");
}

// ---------------------------------------------------------------------------
// Agreement with the types generated from openapi.yaml
// ---------------------------------------------------------------------------

/// `value` without its `null` members, at any depth.
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(members) => members
            .iter()
            .filter(|(_, member)| !member.is_null())
            .map(|(name, member)| (name.clone(), without_nulls(member)))
            .collect(),
        Value::Array(items) => items.iter().map(without_nulls).collect(),
        other => other.clone(),
    }
}

/// Decodes `value` as `T`, one of the crate's types generated from
/// `openapi.yaml`: decoding checks that the required members are there with
/// their types, and the round trip back to JSON that nothing `T` does not
/// declare came along. (`null` members are left out of the comparison: the
/// types skip some `None`s when they serialise.)
fn decode<T: DeserializeOwned + Serialize>(value: &Value) -> Result<T, String> {
    let decoded: T = serde_json::from_value(value.clone()).map_err(|e| format!("{e}: {value}"))?;
    let back = serde_json::to_value(&decoded).map_err(|e| e.to_string())?;
    if same(&without_nulls(&back), &without_nulls(value)) {
        Ok(decoded)
    } else {
        Err(format!("{value} has members the type lacks: {back}"))
    }
}

/// The member names of a JSON object, sorted.
fn member_names(body: &Value) -> Result<Vec<&str>, String> {
    let object = body
        .as_object()
        .ok_or_else(|| format!("not an object: {body}"))?;
    let mut names: Vec<&str> = object.keys().map(String::as_str).collect();
    names.sort_unstable();
    Ok(names)
}

/// Whether `body` has exactly the members `names` (sorted).
fn has_members(body: &Value, names: &[&str]) -> Result<(), String> {
    let found = member_names(body)?;
    if found == names {
        Ok(())
    } else {
        Err(format!("members {found:?} instead of {names:?}"))
    }
}

/// Whether `body`, answered with `status` to a request for `operation`, is
/// what the generated types describe: the error envelope with an
/// [`ApiErrorBody`] for an error, else the operation's wrapper around
/// [`ApiKey`]s or a [`CurrentKey`].
fn check_typed(operation: Operation, status: u16, body: &Value) -> Result<(), String> {
    use Operation::{Create, CurrentKey as Current, Delete, Get, List, Update};
    match (status, operation) {
        (400.., _) => {
            has_members(body, &["error"])?;
            let error: ApiErrorBody = decode(&body["error"])?;
            if error.code == i64::from(status) {
                Ok(())
            } else {
                Err(format!("code {} in a {status}", error.code))
            }
        }
        (200, List) => {
            has_members(body, &["data"])?;
            let keys = body["data"].as_array().ok_or("`data` is not an array")?;
            keys.iter()
                .try_for_each(|key| decode::<ApiKey>(key).map(drop))
        }
        (201, Create) => {
            has_members(body, &["data", "key"])?;
            if !body["key"].is_string() {
                return Err("`key` is not a string".to_owned());
            }
            decode::<ApiKey>(&body["data"]).map(drop)
        }
        (200, Get | Update) => {
            has_members(body, &["data"])?;
            decode::<ApiKey>(&body["data"]).map(drop)
        }
        (200, Current) => {
            has_members(body, &["data"])?;
            decode::<CurrentKey>(&body["data"]).map(drop)
        }
        (200, Delete) if *body == json!({ "deleted": true }) => Ok(()),
        _ => Err(format!("{operation} does not answer {status} with {body}")),
    }
}

/// Asserts [`check_typed`] of `reply`, which must be JSON.
#[track_caller]
fn assert_typed(operation: Operation, reply: &Reply) {
    assert_eq!(reply.header("content-type"), Some("application/json"));
    if let Err(problem) = check_typed(operation, reply.status, &reply.json()) {
        panic!("{operation} {}: {problem}", reply.status);
    }
}

#[tokio::test]
async fn every_operation_is_served_at_its_path() {
    let fake = start().await;
    // `Delete` comes after the operations that need the key.
    for operation in Operation::ALL {
        let path = operation.path().replace("{hash}", EXAMPLE_KEY_HASH);
        let method = reqwest::Method::from_bytes(operation.method().as_bytes()).unwrap();
        let mut request = api(&fake, method, &path);
        if matches!(operation, Operation::Create | Operation::Update) {
            request = request.json(&json!({ "name": "routed" }));
        }
        let reply = send(request).await;
        assert_eq!(reply.status, operation.success_status(), "{operation}");
        assert_typed(operation, &reply);
        let recorded = fake.last_request().unwrap();
        assert_eq!(recorded.operation(), Some(operation));
        assert_eq!(recorded.path(), format!("/api/v1{path}"));
    }
    assert_eq!(fake.hits(), 6);
}

#[tokio::test]
async fn the_key_json_is_what_the_generated_types_declare() {
    // No member of the seeded key is null, so the round trip shows that the
    // fake sends every member the types declare and nothing else.
    let key: ApiKey = decode(&example_json()).unwrap();
    assert_eq!(key.hash, EXAMPLE_KEY_HASH);
    assert_eq!(key.limit, Some(100.0));
    assert_eq!(key.limit_remaining, Some(74.5));
    assert_eq!(key.limit_reset.as_deref(), Some("monthly"));
    assert_eq!(key.expires_at.as_deref(), Some("2027-12-31T23:59:59Z"));
    assert_eq!(member_names(&example_json()).unwrap().len(), 21);

    let current: CurrentKey = decode(&FakeKey::example().to_current_json()).unwrap();
    assert!(!current.is_management_key);
    assert_eq!(current.rate_limit.requests, 1000);
    assert_eq!(
        member_names(&FakeKey::example().to_current_json())
            .unwrap()
            .len(),
        19
    );

    // What the fake sends for a management key is what it documents.
    let fake = start().await;
    let reply = current_key(&fake, TOKEN).await;
    assert_typed(Operation::CurrentKey, &reply);
    assert_eq!(reply.data(), management_key_json());
}

#[tokio::test]
async fn the_documented_update_example_gives_the_documented_answer() {
    // The request example of `updateKey` in openapi.yaml.
    let request = json!({
        "name": "Updated API Key Name",
        "disabled": false,
        "limit": 75,
        "limit_reset": "daily",
        "include_byok_in_limit": true,
    });
    let fake = start().await;
    let reply = patch(&fake, request.clone()).await;
    assert_typed(Operation::Update, &reply);
    let mut expected = example_json();
    for (name, value) in request.as_object().unwrap() {
        expected[name] = value.clone();
    }
    // The answer's example: 75 less the 25.5 used remain. `label` stays the
    // masked secret (the example copies the name into it); `updated_at` is
    // now.
    expected["limit_remaining"] = json!(49.5);
    assert_same_except(&reply.data(), &expected, &["updated_at"]);
}

#[tokio::test]
async fn successful_updates_decode_as_api_keys() {
    let fake = start().await;
    fake.insert_key(FakeKey {
        hash: "minimal".to_owned(),
        updated_at: None,
        creator_user_id: None,
        expires_at: None,
        limit: None,
        limit_reset: None,
        ..FakeKey::example()
    });
    let replies = [
        patch(&fake, json!({ "name": "n" })).await,
        patch(&fake, json!({ "limit": null, "limit_reset": null })).await,
        patch(
            &fake,
            json!({ "limit": 1.25, "limit_reset": "weekly", "disabled": true }),
        )
        .await,
        patch(&fake, json!({ "include_byok_in_limit": true })).await,
        patch_key(&fake, "minimal", json!({ "disabled": true })).await,
    ];
    for reply in &replies {
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_typed(Operation::Update, reply);
    }
    let minimal: ApiKey = decode(&replies[4].data()).unwrap();
    assert_eq!((minimal.limit, minimal.expires_at), (None, None));
    assert!(minimal.disabled);
}

#[tokio::test]
async fn error_answers_decode_as_the_error_envelope() {
    let fake = start().await;
    let origin = format!("http://{}", fake.addr());
    fake.push_fault(Fault::status(429));
    fake.push_fault(Fault::status(500));
    let replies = [
        patch(&fake, json!({ "name": "x" })).await,         // 429
        patch(&fake, json!({ "name": "x" })).await,         // 500
        patch_raw(&fake, "application/json", "nope").await, // 400
        patch_raw(&fake, "application/json", "[]").await,   // 400
        patch_raw(&fake, "text/plain", "{}").await,         // 400
        patch(&fake, json!({ "limit": -1 })).await,         // 400
        patch(&fake, json!({ "limit_reset": "yearly" })).await, // 400
        patch(&fake, json!({})).await,                      // 400
        send(http().patch(fake.key_url(EXAMPLE_KEY_HASH))).await, // 401
        patch_key(&fake, "missing", json!({ "name": "x" })).await, // 404
        // Outside the operations, the envelope is the same.
        send(http().get(format!("{origin}/api/v1/models"))).await, // 404
        send(http().put(fake.key_url(EXAMPLE_KEY_HASH))).await,    // 405
    ];
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [429, 500, 400, 400, 400, 400, 400, 400, 401, 404, 404, 405]
    );
    for reply in &replies {
        assert_typed(Operation::Update, reply);
    }
    let error: ApiErrorBody = decode(&replies[9].json()["error"]).unwrap();
    assert_eq!(error.message, "API key not found");
}

#[tokio::test]
async fn every_field_the_client_sends_is_applied() {
    let fake = start().await;
    let update = KeyUpdate::new()
        .name("All fields")
        .disabled(true)
        .limit(12.5)
        .limit_reset(LimitReset::Weekly)
        .include_byok_in_limit(true);
    let body = serde_json::to_value(&update).unwrap();
    assert_eq!(member_names(&body).unwrap().len(), 5, "{body}");
    let data = patch(&fake, body.clone()).await.data();
    for (field, value) in body.as_object().unwrap() {
        assert!(same(&data[field], value), "{field}: {data}");
    }

    let expires_at = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_830_297_599);
    let new = NewKey::new("All fields")
        .limit(12.5)
        .limit_reset(LimitReset::Daily)
        .include_byok_in_limit(true)
        .expires_at(expires_at)
        .creator_user_id("user_1")
        .workspace_id(OTHER_WORKSPACE);
    let body = serde_json::to_value(&new).unwrap();
    assert_eq!(member_names(&body).unwrap().len(), 7, "{body}");
    let (data, _) = create(&fake, body.clone()).await.created();
    assert_eq!(data["expires_at"], "2027-12-31T23:59:59Z");
    for (field, value) in body.as_object().unwrap() {
        assert!(same(&data[field], value), "{field}: {data}");
    }
}

#[test]
fn the_checks_catch_violations() {
    let key = example_json();
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut body = json!({ "data": key.clone() });
        edit(&mut body);
        check_typed(Operation::Get, 200, &body)
    };
    assert_eq!(broken(&|_| {}), Ok(()));
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit); 7] = [
        ("missing required", |v| {
            v["data"].as_object_mut().unwrap().remove("hash");
        }),
        ("wrong type", |v| v["data"]["disabled"] = json!("no")),
        ("null where not nullable", |v| {
            v["data"]["name"] = json!(null)
        }),
        ("string where number", |v| {
            v["data"]["usage"] = json!("25.5")
        }),
        ("nullable but required", |v| {
            v["data"].as_object_mut().unwrap().remove("limit");
        }),
        ("undeclared member", |v| v["data"]["surprise"] = json!(1)),
        ("undeclared top-level member", |v| v["meta"] = json!({})),
    ];
    for (what, edit) in cases {
        assert!(broken(&edit).is_err(), "{what} was accepted");
    }
    assert_eq!(broken(&|v| v["data"]["limit"] = json!(null)), Ok(()));

    let error = |body: Value| check_typed(Operation::Update, 400, &body);
    assert_eq!(
        error(json!({ "error": { "code": 400, "message": "m" } })),
        Ok(())
    );
    for body in [
        json!({ "error": { "code": "400", "message": "m" } }),
        json!({ "error": { "code": 400.5, "message": "m" } }),
        json!({ "error": { "code": 401, "message": "m" } }),
        json!({ "error": { "message": "m" } }),
        json!({ "code": 400, "message": "m" }),
    ] {
        assert!(error(body.clone()).is_err(), "{body} was accepted");
    }
    assert!(check_typed(Operation::Delete, 200, &json!({ "deleted": false })).is_err());
    assert!(check_typed(Operation::Create, 201, &json!({ "data": key })).is_err());
    assert!(check_typed(Operation::List, 200, &json!({ "data": key })).is_err());
}

#[tokio::test]
async fn lifecycle_answers_decode_as_the_generated_types() {
    use Operation::{Create, CurrentKey, Delete, Get, List, Update};
    let fake = start().await;
    let unauthenticated = |url: String| http().get(url);
    let base = fake.base_url();

    let (created, secret) = create(
        &fake,
        json!({
            "name": "Full",
            "limit": 12.5,
            "limit_reset": "daily",
            "include_byok_in_limit": true,
            "expires_at": "2027-12-31T23:59:59Z",
            "creator_user_id": "user_1",
            "workspace_id": OTHER_WORKSPACE,
        }),
    )
    .await
    .created();
    let hash = created["hash"].as_str().unwrap().to_owned();
    fake.insert_key(FakeKey {
        disabled: true,
        updated_at: None,
        creator_user_id: None,
        expires_at: None,
        limit: None,
        limit_reset: None,
        ..numbered(1)
    });

    let mut checked = vec![
        (List, list(&fake, "").await),
        (List, list(&fake, "?include_disabled=true&offset=1").await),
        (
            List,
            list(&fake, &format!("?workspace_id={OTHER_WORKSPACE}")).await,
        ),
        (List, list(&fake, "?offset=99").await),
        (List, list(&fake, "?offset=-1").await),
        (List, send(unauthenticated(format!("{base}/keys"))).await),
        (Create, create(&fake, json!({ "name": "Minimal" })).await),
        (Create, create(&fake, json!({ "limit": 1 })).await),
        (Create, create_raw(&fake, "text/plain", "{}").await),
        (
            Create,
            send(
                api_as(&fake, &secret, reqwest::Method::POST, "/keys")
                    .json(&json!({ "name": "x" })),
            )
            .await,
        ),
        (Get, get_key(&fake, EXAMPLE_KEY_HASH).await),
        (Get, get_key(&fake, &hash).await),
        (Get, get_key(&fake, "key-001").await),
        (Get, get_key(&fake, "missing").await),
        (Get, send(unauthenticated(fake.key_url(&hash))).await),
        (
            Update,
            patch_key(&fake, &hash, json!({ "limit": null })).await,
        ),
        (
            Update,
            patch_key(&fake, "key-001", json!({ "name": "n" })).await,
        ),
        (
            Update,
            patch_key(&fake, &hash, json!({ "limit": -1 })).await,
        ),
        (
            Update,
            patch_key(&fake, "missing", json!({ "name": "n" })).await,
        ),
        (CurrentKey, current_key(&fake, TOKEN).await),
        (CurrentKey, current_key(&fake, &secret).await),
        (Delete, delete_key(&fake, &hash).await),
        (Delete, delete_key(&fake, &hash).await),
        (Delete, send(http().delete(fake.key_url("key-001"))).await),
    ];
    fake.require_key(TOKEN);
    checked.push((CurrentKey, current_key(&fake, &secret).await));
    checked.push((
        CurrentKey,
        send(unauthenticated(format!("{base}/key"))).await,
    ));
    // Faults of every operation.
    for operation in Operation::ALL {
        for status in [429, 500] {
            fake.push_fault(Fault::status(status).only_for(operation));
            let reply = call_every_operation(&fake, TOKEN, EXAMPLE_KEY_HASH)
                .await
                .into_iter()
                .find(|reply| reply.status == status)
                .expect("the fault was used");
            checked.push((operation, reply));
        }
    }

    let mut statuses: Vec<(Operation, u16)> = checked
        .iter()
        .map(|(op, reply)| (*op, reply.status))
        .collect();
    statuses.sort_by_key(|(op, status)| (op.to_string(), *status));
    statuses.dedup();
    let expected = [
        (List, 200),
        (List, 400),
        (List, 401),
        (Create, 201),
        (Create, 400),
        (Create, 403),
        (Get, 200),
        (Get, 401),
        (Get, 404),
        (Update, 200),
        (Update, 400),
        (Update, 404),
        (Delete, 200),
        (Delete, 401),
        (Delete, 404),
        (CurrentKey, 200),
        (CurrentKey, 401),
    ];
    for pair in expected {
        assert!(
            statuses.contains(&pair),
            "{pair:?} not checked: {statuses:?}"
        );
    }
    for (operation, reply) in &checked {
        assert_typed(*operation, reply);
    }
}

#[tokio::test]
async fn the_documented_create_example_creates_the_documented_answer() {
    // The request example of `createKey` in openapi.yaml.
    let request = json!({
        "name": "My New API Key",
        "limit": 50,
        "limit_reset": "monthly",
        "include_byok_in_limit": true,
        "expires_at": "2027-12-31T23:59:59Z",
    });
    let fake = start().await;
    let reply = create(&fake, request).await;
    assert_typed(Operation::Create, &reply);
    let (data, secret) = reply.created();
    secret_hex(&secret);
    // The answer's example but for the hash, the label (the example shows
    // the name; the fake, the masked secret), the creation time (now) and
    // the creator (the account's user, whom the fake does not know).
    let expected = json!({
        "name": "My New API Key",
        "disabled": false,
        "limit": 50,
        "limit_remaining": 50,
        "limit_reset": "monthly",
        "include_byok_in_limit": true,
        "usage": 0,
        "usage_daily": 0,
        "usage_weekly": 0,
        "usage_monthly": 0,
        "byok_usage": 0,
        "byok_usage_daily": 0,
        "byok_usage_weekly": 0,
        "byok_usage_monthly": 0,
        "updated_at": null,
        "creator_user_id": null,
        "workspace_id": DEFAULT_WORKSPACE_ID,
        "expires_at": "2027-12-31T23:59:59Z",
    });
    assert_same_except(&data, &expected, &["hash", "label", "created_at"]);
}
