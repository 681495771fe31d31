//! Reading and rewriting OpenAPI documents held as `serde_json::Value`.
//!
//! Every map is an order-preserving map (serde_json's `preserve_order`), so
//! the output keeps the upstream key order. For the same reason, code here
//! removes keys with `shift_remove`, never `remove` (which would swap the
//! last key into the hole).

pub mod drift;
pub mod emit;
pub mod select;
pub mod transform;
pub mod walk;

use serde_json::{Map, Value};

/// HTTP methods that may appear as keys of a Path Item Object, in the
/// specification's order.
pub const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Appends one reference token to a JSON pointer, escaping `~` and `/`.
pub fn push_token(pointer: &str, token: &str) -> String {
    let mut out = String::with_capacity(pointer.len() + token.len() + 1);
    out.push_str(pointer);
    out.push('/');
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
    out
}

/// Builds a JSON pointer from unescaped tokens.
pub fn pointer_of(tokens: &[&str]) -> String {
    tokens.iter().fold(String::new(), |p, t| push_token(&p, t))
}

/// Undoes the escaping of one reference token.
pub fn unescape_token(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// The `$ref` value that points at `#/components/<kind>/<name>`.
pub fn component_ref(kind: &str, name: &str) -> String {
    format!("#{}", pointer_of(&["components", kind, name]))
}

/// Parses `#/components/<kind>/<name>[/...]` into (kind, name), unescaped;
/// `None` for anything else.
pub fn parse_component_ref(reference: &str) -> Option<(String, String)> {
    let mut parts = reference.strip_prefix("#/components/")?.split('/');
    let (kind, name) = (parts.next()?, parts.next()?);
    (!kind.is_empty() && !name.is_empty()).then(|| (unescape_token(kind), unescape_token(name)))
}

/// The `$ref` string of a Reference Object (or a 3.1 schema using `$ref`).
pub fn ref_of(value: &Value) -> Option<&str> {
    value.get("$ref").and_then(Value::as_str)
}

/// Position of `key` in an ordered map.
pub fn index_of(map: &Map<String, Value>, key: &str) -> Option<usize> {
    map.keys().position(|k| k == key)
}

/// Inserts `key` right after `anchor` (or at the end when `anchor` is absent),
/// replacing any earlier value of `key` in place.
pub fn insert_after(map: &mut Map<String, Value>, anchor: &str, key: &str, value: Value) {
    if let Some(slot) = map.get_mut(key) {
        *slot = value;
        return;
    }
    match index_of(map, anchor) {
        Some(i) => {
            map.shift_insert(i + 1, key.to_owned(), value);
        }
        None => {
            map.insert(key.to_owned(), value);
        }
    }
}

/// A short description of a JSON value for messages (`"integer"`, `true`, an
/// object with keys ...), cut to a readable length.
pub fn show(value: &Value) -> String {
    let text = match value {
        Value::Object(map) if map.len() > 4 => {
            let keys: Vec<&str> = map.keys().map(String::as_str).take(4).collect();
            format!("an object with keys {}, ...", keys.join(", "))
        }
        other => other.to_string(),
    };
    if text.chars().count() > 120 {
        let cut: String = text.chars().take(117).collect();
        format!("{cut}...")
    } else {
        text
    }
}

/// `updateKey` -> `UpdateKey`, `get-user_by id` -> `GetUserById`.
pub fn pascal_case(identifier: &str) -> String {
    identifier
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_and_component_references() {
        assert_eq!(
            pointer_of(&["paths", "/keys/{hash}", "patch"]),
            "/paths/~1keys~1{hash}/patch"
        );
        assert_eq!(push_token("/a", "x~y"), "/a/x~0y");
        assert_eq!(unescape_token("~1keys~1~0x"), "/keys/~x");
        assert_eq!(component_ref("schemas", "A/B"), "#/components/schemas/A~1B");
        let parsed = parse_component_ref("#/components/schemas/A~1B/properties/bar");
        assert_eq!(parsed, Some(("schemas".to_owned(), "A/B".to_owned())));
        for other in [
            "#/components/schemas",
            "#/paths/x",
            "other.yaml#/components/schemas/X",
        ] {
            assert_eq!(parse_component_ref(other), None, "{other}");
        }
    }

    #[test]
    fn small_helpers() {
        let mut m = json!({"a": 1, "type": 2, "c": 3})
            .as_object()
            .unwrap()
            .clone();
        insert_after(&mut m, "type", "nullable", json!(true));
        insert_after(&mut m, "missing", "end", json!(0));
        assert_eq!(
            m.keys().collect::<Vec<_>>(),
            ["a", "type", "nullable", "c", "end"]
        );
        assert_eq!(pascal_case("get-user_by id"), "GetUserById");
        assert_eq!(show(&json!("integer")), "\"integer\"");
        let long = show(&json!("x".repeat(300)));
        assert!(long.ends_with("...") && long.len() <= 120);
    }
}
