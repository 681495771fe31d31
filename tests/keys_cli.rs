//! The `openrouter-keys` binary (the whole key lifecycle), end to end, as a
//! separate process against the crate's fake: exit codes, the JSON on
//! stdout and the one-line messages on stderr.

mod common;

use std::process::Output;

use common::{KEY, stderr};
use openrouter_keys::fake::{EXAMPLE_KEY_HASH, FakeOpenRouter, Fault};

/// Runs the binary against `fake` (through --base-url, with the test key)
/// or, when `fake` is `None`, with no key and no URL.
async fn run(fake: Option<&FakeOpenRouter>, args: &[&str]) -> Output {
    let mut command = common::bin_command(fake.map(|_| KEY));
    if let Some(fake) = fake {
        command.args(["--base-url", &fake.base_url()]);
    }
    command.args(args).output().await.expect("the example runs")
}

/// The JSON on stdout of a run that succeeded.
fn json(output: &Output) -> serde_json::Value {
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(output));
    common::stdout_json(output)
}

async fn fake() -> FakeOpenRouter {
    let fake = FakeOpenRouter::start().await.unwrap();
    fake.require_key(KEY);
    fake
}

#[tokio::test]
async fn create_get_list_update_delete_through_the_cli() {
    let fake = fake().await;

    let output = run(
        Some(&fake),
        &[
            "create",
            "--name",
            "customer 42",
            "--limit",
            "20",
            "--limit-reset",
            "monthly",
        ],
    )
    .await;
    let created = json(&output);
    let secret = created["key"].as_str().expect("the secret").to_owned();
    assert!(secret.starts_with("sk-or-v1-"), "{secret}");
    assert_eq!(created["data"]["name"], "customer 42");
    assert_eq!(created["data"]["limit"], 20.0);
    let hash = created["data"]["hash"].as_str().unwrap().to_owned();
    let err = stderr(&output);
    assert!(err.contains("shown once"), "{err}");
    assert!(!err.contains(&secret), "the secret on stderr: {err}");
    assert_eq!(
        fake.last_request().unwrap().body(),
        br#"{"name":"customer 42","limit":20,"limit_reset":"monthly"}"#
    );

    assert_eq!(
        json(&run(Some(&fake), &["get", &hash]).await)["name"],
        "customer 42"
    );

    let all = json(&run(Some(&fake), &["list", "--all"]).await);
    let hashes: Vec<_> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["hash"].clone())
        .collect();
    assert!(hashes.contains(&hash.clone().into()), "{hashes:?}");
    assert!(hashes.contains(&EXAMPLE_KEY_HASH.into()), "{hashes:?}");

    let updated = json(
        &run(
            Some(&fake),
            &["update", &hash, "--disable", "--limit", "none"],
        )
        .await,
    );
    assert_eq!(updated["disabled"], true);
    assert_eq!(updated["limit"], serde_json::Value::Null);
    assert_eq!(
        fake.last_request().unwrap().body(),
        br#"{"disabled":true,"limit":null}"#
    );

    // Disabled keys are listed only when asked for.
    let enabled = json(&run(Some(&fake), &["list"]).await);
    assert!(
        !enabled
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["hash"] == hash.as_str())
    );
    let every = json(&run(Some(&fake), &["list", "--include-disabled"]).await);
    assert!(
        every
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["hash"] == hash.as_str())
    );

    assert_eq!(
        json(&run(Some(&fake), &["delete", &hash]).await),
        serde_json::json!({ "deleted": true })
    );
    let gone = run(Some(&fake), &["get", &hash]).await;
    assert_eq!(gone.status.code(), Some(1));
    assert!(stderr(&gone).contains("HTTP 404"), "{}", stderr(&gone));
}

#[tokio::test]
async fn current_answers_for_the_calling_key() {
    let fake = fake().await;
    let current = json(&run(Some(&fake), &["current"]).await);
    assert_eq!(current["is_management_key"], true);
    let request = fake.last_request().unwrap();
    assert_eq!((request.method(), request.path()), ("GET", "/api/v1/key"));
}

#[tokio::test]
async fn with_no_key_it_refuses_and_with_fake_it_runs_against_its_own_fake() {
    let output = run(None, &["get", EXAMPLE_KEY_HASH]).await;
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("OPENROUTER_API_KEY is not set") && err.contains("--fake"),
        "{err}"
    );

    let output = run(None, &["--fake", "get", EXAMPLE_KEY_HASH]).await;
    assert_eq!(json(&output)["hash"], EXAMPLE_KEY_HASH);
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("in-process fake"), "{err}");
}

#[tokio::test]
async fn usage_errors_exit_2_and_send_nothing() {
    let fake = fake().await;
    for args in [
        &["--timeout", "0", "current"][..],
        &["--max-elapsed", "0", "current"],
        &["--timeout", "-1", "current"],
        &["create", "--name", "   "],
        &["create", "--name", "x", "--workspace-id", "not-a-uuid"],
        &["create", "--name", "x", "--expires-at", "tomorrow"],
        &["list", "--workspace-id", "ws"],
        &["get", ".."],
    ] {
        let output = run(Some(&fake), args).await;
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(fake.hits(), 0);

    let output = run(
        Some(&fake),
        &["create", "--name", "x", "--limit-reset", "yearly"],
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    for value in ["daily", "weekly", "monthly", "none"] {
        assert!(err.contains(value), "`{value}` is not named: {err}");
    }
}

#[tokio::test]
async fn api_errors_exit_1_with_one_line() {
    let fake = fake().await;
    fake.push_fault(Fault::status(403).body(common::error_body(403, "not your workspace")));
    let output = run(Some(&fake), &["--no-retry", "create", "--name", "x"]).await;
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("HTTP 403") && err.contains("not your workspace"),
        "{err}"
    );
}
