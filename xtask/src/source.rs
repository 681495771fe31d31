//! Getting the upstream document: from a file or an http(s) URL, never more
//! than a fixed number of bytes, then parsed as JSON or YAML.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

/// Where the document is published.
pub const DEFAULT_SOURCE: &str = "https://openrouter.ai/openapi.json";

/// Largest document accepted, in bytes (the 2026 JSON is about 1.8 MB).
pub const DEFAULT_MAX_BYTES: u64 = 32 * 1024 * 1024;

/// Is `source` a URL rather than a path?
pub fn is_url(source: &str) -> bool {
    source.contains("://")
}

/// How the header names `source`, for people: a URL as given (without any
/// user name or password in it), a file inside the workspace by its path
/// relative to `root`, any other file by its bare name: never an absolute
/// machine path. The flag says whether the name leads back to the
/// document (a URL or a file in the workspace).
pub fn display(source: &str, root: &Path) -> (String, bool) {
    if is_url(source) {
        return match source.split_once("://") {
            Some((scheme, rest)) => {
                let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                let host = authority
                    .rsplit_once('@')
                    .map_or(authority, |(_, host)| host);
                (format!("{scheme}://{host}{path}"), true)
            }
            None => (source.to_owned(), true),
        };
    }
    let path = Path::new(source);
    if let (Ok(file), Ok(root)) = (path.canonicalize(), root.canonicalize())
        && let Ok(relative) = file.strip_prefix(&root)
    {
        let parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        return (parts.join("/"), true);
    }
    let name = path
        .file_name()
        .map_or_else(|| source.to_owned(), |n| n.to_string_lossy().into_owned());
    (name, false)
}

/// Reads the document's bytes from `source`, refusing more than `max_bytes`.
pub fn fetch(source: &str, max_bytes: u64) -> Result<Vec<u8>, String> {
    if is_url(source) {
        download(source, max_bytes)
    } else {
        read_file(source, max_bytes)
    }
}

fn too_large(source: &str, size: Option<u64>, max_bytes: u64) -> String {
    match size {
        Some(size) => format!("{source} is {size} bytes, over the limit of {max_bytes} bytes"),
        None => format!("{source} is larger than the limit of {max_bytes} bytes"),
    }
}

fn read_file(path: &str, max_bytes: u64) -> Result<Vec<u8>, String> {
    let file = File::open(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let metadata = file
        .metadata()
        .map_err(|e| format!("cannot read {path}: {e}"))?;
    if metadata.is_dir() {
        return Err(format!("cannot read {path}: it is a directory"));
    }
    if metadata.len() > max_bytes {
        return Err(too_large(path, Some(metadata.len()), max_bytes));
    }
    read_capped(file, path, max_bytes)
}

/// Reads to the end, but never keeps more than `max_bytes + 1` bytes.
fn read_capped(reader: impl Read, source: &str, max_bytes: u64) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    reader
        .take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {source}: {e}"))?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large(source, None, max_bytes));
    }
    Ok(bytes)
}

fn download(url: &str, max_bytes: u64) -> Result<Vec<u8>, String> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(format!(
            "cannot download {url}: only http:// and https:// URLs are supported"
        ));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_global(Some(Duration::from_secs(300)))
        .user_agent(concat!("openrouter-keys-xtask/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let response = agent
        .get(url)
        .header(
            "Accept",
            "application/json, application/yaml;q=0.9, */*;q=0.5",
        )
        .call()
        .map_err(|e| match e {
            ureq::Error::StatusCode(code) => {
                format!("cannot download {url}: the server answered HTTP {code}")
            }
            other => format!("cannot download {url}: {other}"),
        })?;
    let body = response.into_body();
    if let Some(length) = body.content_length()
        && length > max_bytes
    {
        return Err(too_large(url, Some(length), max_bytes));
    }
    read_capped(body.into_reader(), url, max_bytes)
}

/// Parses the document: JSON when it looks like JSON, YAML otherwise.
pub fn parse(bytes: &[u8], source: &str) -> Result<Value, String> {
    let first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
    let looks_like_json = matches!(first, Some(b'{') | Some(b'['));
    if first.is_none() {
        return Err(format!("{source} is empty"));
    }
    if looks_like_json {
        serde_json::from_slice(bytes).map_err(|e| format!("{source} is not valid JSON: {e}"))
    } else {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| format!("{source} is not valid UTF-8 text: {e}"))?;
        serde_norway::from_str(text).map_err(|e| format!("{source} is not valid YAML: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_and_yaml_give_the_same_value() {
        let from_json = parse(br#"{"a": {"200": [1, 2.5, null, "x"]}}"#, "j").unwrap();
        let from_yaml = parse(b"a:\n  200:\n  - 1\n  - 2.5\n  - null\n  - x\n", "y").unwrap();
        assert_eq!(from_json, json!({"a": {"200": [1, 2.5, null, "x"]}}));
        assert_eq!(from_json, from_yaml);
    }

    #[test]
    fn parse_errors_name_the_source_and_position() {
        let err = parse(b"{\"a\": 1,,}", "doc.json").unwrap_err();
        assert!(err.starts_with("doc.json is not valid JSON: "), "{err}");
        assert!(err.contains("line 1 column"), "{err}");
        let err = parse(b"a: [1, 2\nb: 3\n", "doc.yaml").unwrap_err();
        assert!(err.starts_with("doc.yaml is not valid YAML: "), "{err}");
        assert!(err.contains("line"), "{err}");
        assert!(parse(b" \n", "e").unwrap_err().contains("is empty"));
        assert!(parse(b"\xff\xfe", "bin").unwrap_err().contains("UTF-8"));
    }

    #[test]
    fn reading_is_capped() {
        let data = [b'x'; 100];
        assert_eq!(read_capped(&data[..], "s", 100).unwrap().len(), 100);
        assert!(
            read_capped(&data[..], "s", 99)
                .unwrap_err()
                .contains("larger than the limit of 99 bytes")
        );
    }

    #[test]
    fn the_header_names_a_source_without_machine_paths_or_credentials() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let inside = root.join("xtask").join("Cargo.toml");
        assert_eq!(
            display(inside.to_str().unwrap(), root),
            ("xtask/Cargo.toml".to_owned(), true)
        );
        let outside = std::env::temp_dir().join("saved-2026-08-22.json");
        std::fs::write(&outside, "{}").unwrap();
        assert_eq!(
            display(outside.to_str().unwrap(), root),
            ("saved-2026-08-22.json".to_owned(), false)
        );
        std::fs::remove_file(&outside).unwrap();
        assert_eq!(
            display("/nowhere/at/all.yaml", root),
            ("all.yaml".to_owned(), false)
        );
        assert_eq!(
            display("https://user:secret@openrouter.ai/openapi.json?x=1", root),
            ("https://openrouter.ai/openapi.json?x=1".to_owned(), true)
        );
        assert_eq!(
            display("http://127.0.0.1:8/a", root),
            ("http://127.0.0.1:8/a".to_owned(), true)
        );
    }

    #[test]
    fn urls_and_paths() {
        assert!(is_url("https://openrouter.ai/openapi.json"));
        assert!(!is_url("xtask/tests/fixtures/upstream/x.json"));
        assert!(
            fetch("ftp://example.invalid/x", 10)
                .unwrap_err()
                .contains("only http:// and https://")
        );
    }
}
