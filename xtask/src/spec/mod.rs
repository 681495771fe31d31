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

/// A local reference into `components`, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentRef {
    /// `schemas`, `responses`, `parameters`, ...
    pub kind: String,
    /// The component's name, unescaped.
    pub name: String,
}

/// Parses `#/components/<kind>/<name>[/...]`; `None` for anything else.
pub fn parse_component_ref(reference: &str) -> Option<ComponentRef> {
    let rest = reference.strip_prefix("#/components/")?;
    let mut parts = rest.split('/');
    let kind = parts.next().filter(|k| !k.is_empty())?;
    let name = parts.next().filter(|n| !n.is_empty())?;
    Some(ComponentRef {
        kind: unescape_token(kind),
        name: unescape_token(name),
    })
}

/// Resolves a local `$ref` (`#/...`) against the document root.
pub fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    root.pointer(pointer)
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

/// Renames `old` to `new` keeping the entry's position. No-op without `old`.
pub fn rename_key(map: &mut Map<String, Value>, old: &str, new: &str) {
    if let Some(i) = index_of(map, old)
        && let Some(value) = map.shift_remove(old)
    {
        map.shift_insert(i, new.to_owned(), value);
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

/// `updateKeys` -> `UpdateKeys`, `get-user_by id` -> `GetUserById`.
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
    fn pointers_escape_and_unescape() {
        assert_eq!(
            pointer_of(&["paths", "/keys/{hash}", "patch"]),
            "/paths/~1keys~1{hash}/patch"
        );
        assert_eq!(push_token("/a", "x~y"), "/a/x~0y");
        assert_eq!(unescape_token("~1keys~1~0x"), "/keys/~x");
        assert_eq!(component_ref("schemas", "A/B"), "#/components/schemas/A~1B");
    }

    #[test]
    fn component_refs_parse() {
        let r = parse_component_ref("#/components/schemas/Foo/properties/bar").unwrap();
        assert_eq!((r.kind.as_str(), r.name.as_str()), ("schemas", "Foo"));
        assert_eq!(parse_component_ref("#/components/schemas"), None);
        assert_eq!(parse_component_ref("#/paths/x"), None);
        assert_eq!(
            parse_component_ref("other.yaml#/components/schemas/X"),
            None
        );
    }

    #[test]
    fn ordered_map_edits_keep_positions() {
        let mut m = json!({"a": 1, "type": 2, "c": 3})
            .as_object()
            .unwrap()
            .clone();
        insert_after(&mut m, "type", "nullable", json!(true));
        rename_key(&mut m, "a", "z");
        let keys: Vec<&String> = m.keys().collect();
        assert_eq!(keys, ["z", "type", "nullable", "c"]);
        insert_after(&mut m, "missing", "end", json!(0));
        assert_eq!(m.keys().next_back().unwrap(), "end");
    }

    #[test]
    fn pascal_case_joins_words() {
        assert_eq!(pascal_case("updateKeys"), "UpdateKeys");
        assert_eq!(pascal_case("get-user_by id"), "GetUserById");
    }

    #[test]
    fn show_is_short() {
        assert_eq!(show(&json!("integer")), "\"integer\"");
        let long = json!("x".repeat(300));
        assert!(show(&long).ends_with("...") && show(&long).len() <= 120);
    }
}
