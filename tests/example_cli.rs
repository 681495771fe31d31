//! The `update_key` example, end to end, as a separate process: exit codes,
//! the JSON on stdout and the one-line messages on stderr.
//!
//! `cargo test` builds the examples before it runs the tests; the binary is
//! found next to this test's own executable.

mod common;
mod fault_server;

use std::process::Output;

use common::{KEY, stderr, stdout_json};
use openrouter_keys::fake::{EXAMPLE_KEY_HASH, FakeOpenRouter, Fault};
use tokio::process::Command;

/// The example, ready to run; `key` sets or unsets OPENROUTER_API_KEY.
fn command(key: Option<&str>) -> Command {
    common::example_command("update_key", key)
}

/// The example against `fake`, through --base-url, with the test key.
fn against(fake: &FakeOpenRouter) -> Command {
    let mut command = command(Some(KEY));
    command.args(["--base-url", &fake.base_url()]);
    command
}

/// Runs the example with `args`; `key` sets or unsets OPENROUTER_API_KEY.
async fn run(args: &[&str], key: Option<&str>) -> Output {
    command(key)
        .args(args)
        .output()
        .await
        .expect("the example runs")
}

/// Runs the example against `fake` with `args`.
async fn run_against(fake: &FakeOpenRouter, args: &[&str]) -> Output {
    against(fake)
        .args(args)
        .output()
        .await
        .expect("the example runs")
}

#[tokio::test]
async fn offline_default_applies_the_spec_example_to_the_fake() {
    let output = run(&[], None).await;
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let key = stdout_json(&output);
    assert_eq!(key["hash"], EXAMPLE_KEY_HASH);
    assert_eq!(key["name"], "Updated API Key Name");
    assert_eq!(key["limit"], 75.0);
    assert_eq!(key["limit_reset"], "daily");
    assert_eq!(key["include_byok_in_limit"], true);
    assert_eq!(key["disabled"], false);
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "one line on stderr: {err}");
    assert!(err.contains("fake"), "{err}");
}

#[tokio::test]
async fn none_clears_and_absent_fields_are_left_alone() {
    let output = run(&["--limit", "none", "--limit-reset", "none"], None).await;
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let key = stdout_json(&output);
    assert_eq!(key["limit"], serde_json::Value::Null);
    assert_eq!(key["limit_reset"], serde_json::Value::Null);
    assert_eq!(key["limit_remaining"], serde_json::Value::Null);
    // Not given, so not changed: the seeded name stays.
    assert_eq!(key["name"], "My Production Key");
}

#[tokio::test]
async fn only_the_given_fields_are_sent() {
    let fake = FakeOpenRouter::start().await.unwrap();
    let output = run_against(&fake, &[EXAMPLE_KEY_HASH, "--limit", "none", "--disable"]).await;
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert_eq!(stderr(&output), "");
    let request = fake.last_request().unwrap();
    assert_eq!(request.body(), br#"{"disabled":true,"limit":null}"#);
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(stdout_json(&output)["disabled"], true);
}

#[tokio::test]
async fn usage_and_validation_errors_exit_2_and_send_nothing() {
    let fake = FakeOpenRouter::start().await.unwrap();
    let url = fake.base_url();
    let cases: Vec<(Vec<&str>, Option<&str>, &str)> = vec![
        (vec!["--limit", "lots"], None, "not a number"),
        (vec!["--limit", "-5"], None, "non-negative"),
        (vec!["--limit", "NaN"], None, "finite"),
        (
            vec!["--limit-reset", "hourly"],
            None,
            "daily, weekly, monthly or none",
        ),
        (vec!["--disable", "--enable"], None, "cannot be used with"),
        (vec!["--timeout", "-1"], None, "seconds"),
        (
            vec!["--base-url", &url, EXAMPLE_KEY_HASH, "--name", "x"],
            None,
            "OPENROUTER_API_KEY",
        ),
        (
            vec![
                "--base-url",
                "http://example.com/api/v1",
                "h",
                "--name",
                "x",
            ],
            Some(KEY),
            "plain http",
        ),
        (
            vec!["--base-url", &url, EXAMPLE_KEY_HASH],
            Some(KEY),
            "sets no field",
        ),
        (
            vec!["--base-url", &url, "..", "--name", "x"],
            Some(KEY),
            "not a key hash",
        ),
        (vec!["--no-such-flag"], None, "unexpected argument"),
    ];
    for (args, key, says) in cases {
        let output = run(&args, key).await;
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(fake.hits(), 0);
}

/// `--timeout` and `--max-elapsed` take a positive number of seconds;
/// anything else is a usage error, reported on one line before anything
/// starts or is sent, whether a server was given or the fake would run.
#[tokio::test]
async fn a_duration_that_is_not_positive_is_a_one_line_usage_error() {
    let fake = FakeOpenRouter::start().await.unwrap();
    let url = fake.base_url();
    for flag in ["--timeout", "--max-elapsed"] {
        for value in [
            "0", "-0", "0.0", "1e-12", "-1", "-0.5", "soon", "", "NaN", "inf",
        ] {
            let against_a_server = [
                "--base-url",
                &url,
                EXAMPLE_KEY_HASH,
                "--name",
                "x",
                flag,
                value,
            ];
            for (args, key) in [
                (&against_a_server[..], Some(KEY)),
                (&[flag, value][..], None),
            ] {
                let output = run(args, key).await;
                let err = stderr(&output);
                assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
                assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
                assert!(err.starts_with("error: "), "{args:?}: {err}");
                assert!(err.contains(flag), "{args:?}: names the flag: {err}");
                assert!(err.contains("seconds"), "{args:?}: {err}");
                assert!(output.stdout.is_empty(), "{args:?}");
            }
        }
    }
    assert_eq!(fake.hits(), 0, "nothing was sent");
}

#[tokio::test]
async fn positive_durations_are_accepted() {
    let fake = FakeOpenRouter::start().await.unwrap();
    let output = run_against(
        &fake,
        &[
            EXAMPLE_KEY_HASH,
            "--name",
            "x",
            "--timeout",
            "0.5",
            "--max-elapsed",
            "2.5",
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert_eq!(stdout_json(&output)["name"], "x");
    assert_eq!(fake.hits(), 1);
}

/// A value that is not accepted is answered with every value that is.
#[tokio::test]
async fn a_bad_limit_reset_names_every_accepted_value() {
    let output = run(&["--limit-reset", "yearly"], None).await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(output.stdout.is_empty());
    assert!(err.contains("yearly"), "{err}");
    // The flag's placeholder lists them already; the message itself must.
    let message = err.replace("<daily|weekly|monthly|none>", "");
    for accepted in ["daily", "weekly", "monthly", "none"] {
        assert!(
            message.contains(accepted),
            "does not name {accepted}: {err}"
        );
    }
}

#[tokio::test]
async fn api_errors_exit_1_with_one_line_naming_status_and_message() {
    let fake = FakeOpenRouter::start().await.unwrap();
    let output = run_against(&fake, &["no-such-hash", "--name", "x"]).await;
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("HTTP 404"), "{err}");
    assert!(output.stdout.is_empty());
    assert_eq!(fake.hits(), 1);
}

#[tokio::test]
async fn a_connection_failure_exits_1() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/api/v1");
    let output = run(
        &["--base-url", &url, "h", "--name", "x", "--no-retry"],
        Some(KEY),
    )
    .await;
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("could not connect to 127.0.0.1:"), "{err}");
}

#[tokio::test]
async fn two_503s_then_success_with_verbose_attempts() {
    let fake = FakeOpenRouter::start().await.unwrap();
    fake.fail_next(2, Fault::status(503).retry_after("0"));
    let output = run_against(&fake, &[EXAMPLE_KEY_HASH, "--limit", "10", "-v"]).await;
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert_eq!(fake.hits(), 3);
    assert_eq!(stdout_json(&output)["limit"], 10.0);
    let err = stderr(&output);
    assert_eq!(err.matches("retrying").count(), 2, "{err}");
    assert!(err.contains("attempt=3"), "{err}");
}

#[tokio::test]
async fn no_retry_sends_once() {
    let fake = FakeOpenRouter::start().await.unwrap();
    fake.fail_next(5, Fault::status(503));
    let output = run_against(&fake, &[EXAMPLE_KEY_HASH, "--name", "x", "--no-retry"]).await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(fake.hits(), 1);
    assert!(stderr(&output).contains("HTTP 503"), "{}", stderr(&output));
}

#[tokio::test]
async fn the_key_never_appears_even_at_trace_level() {
    let fake = FakeOpenRouter::start().await.unwrap();
    // The server echoes the key back in its error message.
    fake.fail_next(
        1,
        Fault::status(401).body(common::error_body(401, &format!("bad key {KEY}"))),
    );
    let mut command = against(&fake);
    command
        .args([EXAMPLE_KEY_HASH, "--name", "x", "-v"])
        .env("RUST_LOG", "trace");
    let failed = command.output().await.unwrap();
    let succeeded = command.output().await.unwrap();
    assert_eq!(failed.status.code(), Some(1));
    assert_eq!(succeeded.status.code(), Some(0));
    for output in [&failed, &succeeded] {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            stderr(output)
        );
        assert!(!all.contains(KEY), "the key leaked:\n{all}");
        assert!(!all.contains("SECRET"), "the key leaked:\n{all}");
    }
    assert!(stderr(&failed).contains("[redacted]"));
    assert_eq!(fake.hits(), 2);
}

#[tokio::test]
async fn rust_log_takes_target_level_directives_and_names_bad_ones() {
    let fake = FakeOpenRouter::start().await.unwrap();
    let run_with = |rust_log: &'static str| {
        let mut command = against(&fake);
        command
            .args([EXAMPLE_KEY_HASH, "--limit", "10"])
            .env("RUST_LOG", rust_log);
        async move { command.output().await.expect("the example runs") }
    };

    let output = run_with("openrouter_keys=debug").await;
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let err = stderr(&output);
    assert_eq!(err.matches("attempt finished").count(), 1, "{err}");

    let output = run_with("openrouter_keys=loud").await;
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let err = stderr(&output);
    assert!(err.starts_with("note: RUST_LOG ignored ("), "{err}");
    assert!(!err.contains("attempt finished"), "{err}");
    assert_eq!(fake.hits(), 2);
}

/// A key's secret pasted where the hash goes (as OpenRouter's own docs
/// show it) is refused before anything is sent, and is printed nowhere,
/// even with every log on.
#[tokio::test]
async fn a_secret_given_as_the_hash_exits_2_and_is_shown_nowhere() {
    let secret = "sk-or-v1-abababababababababababababababababababababababababababababababab";
    let fake = FakeOpenRouter::start().await.unwrap();
    let output = against(&fake)
        .args([secret, "--limit", "5", "-v"])
        .env("RUST_LOG", "trace")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(fake.hits(), 0);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        stderr(&output)
    );
    assert!(!all.contains("abababab"), "the secret leaked:\n{all}");
    assert!(
        stderr(&output).contains("a key's secret (`sk-or-…`), not its hash; `list` shows"),
        "{}",
        stderr(&output)
    );
}

/// The client asks the proxy settings once, when it is built, and a proxy
/// that the environment names for the base URL is used, as reqwest alone
/// would use it; without one, requests go straight to the server.
#[tokio::test]
async fn a_proxy_named_by_the_environment_carries_the_requests() {
    let proxy = fault_server::FaultServer::always(fault_server::answer(fault_server::ok())).await;
    let fake = FakeOpenRouter::start().await.unwrap();
    let output = against(&fake)
        .args([EXAMPLE_KEY_HASH, "--name", "proxied"])
        .env("HTTP_PROXY", &proxy.base_url)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(fake.hits(), 0);
    let received = proxy.received();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].target,
        format!("{}/keys/{EXAMPLE_KEY_HASH}", fake.base_url())
    );

    let output = against(&fake)
        .args([EXAMPLE_KEY_HASH, "--name", "direct"])
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(fake.hits(), 1);
    assert_eq!(proxy.received().len(), 1);
}
