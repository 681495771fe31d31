//! Helpers shared by the xtask integration tests: running the binary,
//! scratch directories, and a one-shot HTTP server on loopback.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

/// The document the checked-in `openapi.yaml` is generated from, relative
/// to the workspace root (as recorded in its header).
pub const FIXTURE_JSON: &str = "xtask/tests/fixtures/upstream/openrouter-openapi-2026-08-22.json";
/// The same document as YAML.
pub const FIXTURE_YAML: &str = "xtask/tests/fixtures/upstream/openrouter-openapi-2026-08-22.yaml";
/// An older document, written with `nullable: true`.
pub const FIXTURE_2025: &str = "xtask/tests/fixtures/upstream/openrouter-openapi-2025-11-08.yaml";
/// The `retrieved` date of the checked-in file.
pub const FIXTURE_DATE: &str = "2026-08-22";
/// The six operations, their stable operationIds and their methods and
/// paths: the crate's one list, compiled here as the xtask compiles it.
#[path = "../../../src/operation.rs"]
pub mod operation;

/// A fixture document as a JSON value (JSON or YAML file).
pub fn fixture(path: &str) -> serde_json::Value {
    let text = read(path);
    if path.ends_with(".json") {
        serde_json::from_str(&text).expect("the fixture is JSON")
    } else {
        serde_norway::from_str(&text).expect("the fixture is YAML")
    }
}

/// The operationIds of a generated file, in document order, by method and path.
pub fn operation_ids(text: &str) -> Vec<(String, String)> {
    let doc: serde_json::Value = serde_norway::from_str(text).expect("YAML");
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let id = op["operationId"].as_str().unwrap_or_default();
            out.push((format!("{} {path}", method.to_uppercase()), id.to_owned()));
        }
    }
    out.sort();
    out
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

pub fn checked_in_spec() -> PathBuf {
    workspace_root().join("openapi.yaml")
}

/// The result of one run of the xtask binary.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs `xtask <args>` from the workspace root.
pub fn xtask(args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(workspace_root())
        .output()
        .expect("the xtask binary runs");
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Runs `xtask refresh-spec <args> --spec <spec>`.
pub fn refresh(spec: &Path, args: &[&str]) -> Run {
    let spec = spec.to_str().expect("UTF-8 temp path");
    let mut all = vec!["refresh-spec"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--spec", spec]);
    xtask(&all)
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "xtask-test-{}-{}-{name}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Scratch(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, content).expect("write temp file");
        path
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).expect("read temp file")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(workspace_root().join(path)).expect("readable file")
}

/// Serves one HTTP response on 127.0.0.1 and returns the URL to fetch:
/// `status` (`200 OK`), then `headers` (extra header lines), then the body
/// as given, and the connection closed after it. The download is tested
/// through the real client and a real socket, and never leaves loopback.
pub fn serve_once(status: &str, headers: &str, body: Vec<u8>) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("local addr").port();
    let head = format!("HTTP/1.1 {status}\r\nConnection: close\r\n{headers}\r\n");
    let handle = std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        // The client may hang up early (size cap); that is fine.
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&body);
    });
    (format!("http://127.0.0.1:{port}/openapi.json"), handle)
}

/// Reverses the key order of every mapping in a JSON value.
pub fn reverse_keys(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .rev()
                .map(|(k, v)| (k.clone(), reverse_keys(v)))
                .collect(),
        ),
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(reverse_keys).collect())
        }
        other => other.clone(),
    }
}

/// The document part of a generated file (everything after the header).
pub fn body(text: &str) -> &str {
    let start = text
        .split_inclusive('\n')
        .take_while(|l| l.starts_with('#'))
        .map(str::len)
        .sum();
    &text[start..]
}
