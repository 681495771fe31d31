//! What every test binary shares: the API key the tests send, the key hash
//! they update, the body of a successful update, a client for a URL, the
//! kinds of error, and the examples run as processes.
//!
//! Each test binary that needs it declares `mod common;`; the fault server
//! (`tests/fault_server/`) reads its constants from here too.

#![allow(dead_code)]

use std::process::Output;

use openrouter_keys::{Client, Error, RetryConfig};
use tokio::process::Command;

/// The API key every test uses. The `SECRET` tail and the hex run in the
/// middle make a leak, even a partial one, easy to find.
pub const KEY: &str = "sk-or-v1-test-0123456789abcdef-SECRET";

/// The hash of the key the tests update: the example in OpenRouter's API
/// description, which the fake seeds and the success body names.
pub const HASH: &str = openrouter_keys::fake::EXAMPLE_KEY_HASH;

/// The body the API sends for a successful update, as a JSON value
/// (`tests/fixtures/key_response.json`: the spec's 200 example).
pub fn success_json() -> serde_json::Value {
    serde_json::from_str(include_str!("../fixtures/key_response.json"))
        .expect("the fixture is JSON")
}

/// The same body on one line, as a server would send it.
pub fn success_body() -> String {
    success_json().to_string()
}

/// The API's error envelope, `{"error": {"code": status, "message": ...}}`.
pub fn error_body(status: u16, message: &str) -> String {
    serde_json::json!({ "error": { "code": status, "message": message } }).to_string()
}

/// A client with the test key for `base_url`, with `retry`.
pub fn client(base_url: &str, retry: RetryConfig) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(base_url)
        .retry(retry)
        .build()
        .unwrap()
}

pub use openrouter_keys::ErrorKind as Kind;

/// Every kind of error the tests know, so that a test can check it
/// provoked them all.
pub const ALL_KINDS: [Kind; 14] = [
    Kind::BadRequest,
    Kind::Unauthorized,
    Kind::Forbidden,
    Kind::NotFound,
    Kind::RateLimited,
    Kind::InternalServer,
    Kind::Status,
    Kind::Timeout,
    Kind::Connection,
    Kind::InvalidRequest,
    Kind::Config,
    Kind::Decode,
    Kind::ResponseTooLarge,
    Kind::PageLimit,
];

/// An error's kind and whether it was applied, as `Connection/Maybe`:
/// the outcome as the fault table reports it.
pub fn outcome(error: &Error) -> String {
    format!("{:?}/{:?}", error.kind(), error.applied())
}

/// The path of the example `name`, which `cargo test` builds beside the
/// test binaries.
pub fn example_binary(name: &str) -> std::path::PathBuf {
    let mut dir = std::env::current_exe().expect("the test's own path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing; `cargo test` builds it, or run `cargo build --example {name}`",
        path.display()
    );
    path
}

/// The example `name`, ready to run: no RUST_LOG from the caller's
/// environment, killed when dropped, and `key` setting or unsetting
/// OPENROUTER_API_KEY.
pub fn example_command(name: &str, key: Option<&str>) -> Command {
    let mut command = Command::new(example_binary(name));
    command.env_remove("RUST_LOG").kill_on_drop(true);
    match key {
        Some(key) => command.env("OPENROUTER_API_KEY", key),
        None => command.env_remove("OPENROUTER_API_KEY"),
    };
    command
}

/// An example's stdout, which must be JSON.
pub fn stdout_json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// An example's stderr, as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
