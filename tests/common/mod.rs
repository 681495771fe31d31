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
pub const ALL_KINDS: [Kind; 15] = [
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
    Kind::Store,
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
    program(Command::new(example_binary(name)), key)
}

/// The `openrouter-keys` binary, which `cargo test` builds (the tests turn
/// on its `cli` feature), ready to run as [`example_command`] is.
pub fn bin_command(key: Option<&str>) -> Command {
    program(Command::new(env!("CARGO_BIN_EXE_openrouter-keys")), key)
}

fn program(mut command: Command, key: Option<&str>) -> Command {
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

/// A folder of the test's own under the system's temporary folder,
/// removed when dropped.
pub struct Scratch(std::path::PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("openrouter-keys-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        Scratch(dir)
    }

    /// `file` in the folder.
    pub fn path(&self, file: &str) -> std::path::PathBuf {
        self.0.join(file)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
