//! Keeping secrets out of text that the crate shows: the API key, and
//! anything that looks like a key's secret (`sk-or-…`), wherever it came
//! from (a server's answer, a caller's value, a setting).

use std::borrow::Cow;

use bytes::Bytes;
use memchr::memmem;

use crate::ApiErrorBody;

/// What a secret is replaced with.
const REDACTED: &[u8] = b"[redacted]";
/// How every OpenRouter key's secret starts.
const SECRET_PREFIX: &str = "sk-or-";

/// `text` with `key` (when given) and every `sk-or-…` token replaced.
pub(crate) fn text<'a>(text: &'a str, key: &[u8]) -> Cow<'a, str> {
    match replaced(text.as_bytes(), key) {
        None => Cow::Borrowed(text),
        // Only ASCII runs were replaced, by ASCII, so this is UTF-8 still.
        Some(bytes) => Cow::Owned(
            String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        ),
    }
}

/// Whether `text` holds a key's secret (`sk-or-…`). Cheap for a hash,
/// which has no `-` at all.
pub(crate) fn holds_secret(text: &str) -> bool {
    let bytes = text.as_bytes();
    // In `sk-or-`, the first `-` is the third byte.
    memchr::memchr_iter(b'-', bytes).any(|at| {
        at.checked_sub(2)
            .and_then(|start| bytes.get(start..start + SECRET_PREFIX.len()))
            .is_some_and(|run| run == SECRET_PREFIX.as_bytes())
    })
}

/// `text` with every `sk-or-…` token replaced: for quoting a value whose
/// origin is unknown (see [`crate::error::excerpt`]).
pub(crate) fn secrets(text: &str) -> Cow<'_, str> {
    self::text(text, b"")
}

/// `body` with `key` and every `sk-or-…` token replaced.
pub(crate) fn bytes(body: Bytes, key: &[u8]) -> Bytes {
    replaced(&body, key).map_or(body, Bytes::from)
}

/// The API's error object with `key` and every `sk-or-…` token replaced in
/// its message and in every string of its metadata, keys included.
pub(crate) fn api_error(mut body: ApiErrorBody, key: &[u8]) -> ApiErrorBody {
    body.message = text(&body.message, key).into_owned();
    body.metadata = body.metadata.map(|metadata| scrub_map(metadata, key));
    body
}

fn scrub_map(
    map: serde_json::Map<String, serde_json::Value>,
    key: &[u8],
) -> serde_json::Map<String, serde_json::Value> {
    map.into_iter()
        .map(|(k, v)| (text(&k, key).into_owned(), scrub_json(v, key)))
        .collect()
}

/// The nesting is as deep as serde_json allows (128), so the recursion is
/// bounded.
fn scrub_json(value: serde_json::Value, key: &[u8]) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(text(&s, key).into_owned()),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| scrub_json(v, key)).collect())
        }
        Value::Object(map) => Value::Object(scrub_map(map, key)),
        other => other,
    }
}

/// `haystack` with the secrets in it replaced, or `None` when it has none.
fn replaced(haystack: &[u8], key: &[u8]) -> Option<Vec<u8>> {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    if !key.is_empty() {
        spans.extend(memmem::find_iter(haystack, key).map(|at| (at, at + key.len())));
    }
    for at in memmem::find_iter(haystack, SECRET_PREFIX.as_bytes()) {
        let rest = &haystack[at + SECRET_PREFIX.len()..];
        let len = rest
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_'))
            .unwrap_or(rest.len());
        spans.push((at, at + SECRET_PREFIX.len() + len));
    }
    if spans.is_empty() {
        return None;
    }
    spans.sort_unstable();
    let mut out = Vec::with_capacity(haystack.len());
    let mut from = 0;
    for (start, end) in spans {
        // Overlapping spans (the key is itself an `sk-or-` token) are
        // replaced once.
        if start >= from {
            out.extend_from_slice(&haystack[from..start]);
            out.extend_from_slice(REDACTED);
        }
        from = from.max(end);
    }
    out.extend_from_slice(&haystack[from..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_and_every_secret_are_replaced_once() {
        let key = b"my-key";
        assert_eq!(text("nothing here", key), "nothing here");
        assert_eq!(text("a my-key b", key), "a [redacted] b");
        assert_eq!(
            text("x sk-or-v1-abc123, then my-key.", key),
            "x [redacted], then [redacted]."
        );
        // The key is itself a secret: one replacement, not two.
        assert_eq!(text("<sk-or-v1-k>", b"sk-or-v1-k"), "<[redacted]>");
        assert_eq!(secrets("é sk-or-v1-ab\u{e9}"), "é [redacted]\u{e9}");
        for (text, holds) in [
            (
                "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943",
                false,
            ),
            ("sk-or-v1-abc", true),
            (" sk-or-v1-abc", true),
            ("x-sk-or-", true),
            ("sk-or", false),
            ("-sk-o-r-", false),
            ("", false),
        ] {
            assert_eq!(holds_secret(text), holds, "{text}");
        }
        assert_eq!(
            bytes(Bytes::from_static(b"sk-or-"), b""),
            Bytes::from_static(b"[redacted]")
        );
    }
}
