//! Transform: OpenAPI 3.1 -> 3.0.3.
//!
//! OpenAPI 3.1 schemas are JSON Schema 2020-12; 3.0.3 schemas are an older,
//! smaller dialect. The two 3.1 constructs that OpenRouter's documents use
//! are rewritten into their 3.0.3 equivalent:
//!
//! | 3.1 | 3.0.3 |
//! |---|---|
//! | `type: [T, 'null']` | `type: T` + `nullable: true` |
//! | `const: v` | `enum: [v]` |
//!
//! Nothing is ever dropped. openapiv3, which reads the fragment for
//! build.rs, ignores keywords it does not know and the keywords beside a
//! `$ref`, so those are refused here with their JSON pointer: the list of
//! known keywords is closed, and a later upstream version that starts using
//! something new fails loudly. So does any other type list. Values that
//! 3.0.3 cannot hold (a boolean schema, a numeric `exclusiveMinimum`, an
//! unknown type) make openapiv3 fail, which the refresh reports with the
//! pointer of the construct before anything is written. A rewrite is added,
//! with a test built from the real input, when upstream first uses one.
//!
//! 3.0-style keywords found under a 3.1 header (`nullable: true`, as in the
//! 2025 document) are already 3.0.3 and stay.

use serde_json::{Value, json};

use crate::spec::walk::{self, Node};
use crate::spec::{index_of, insert_after, show};

pub const NAME: &str = "openapi-3.1-to-3.0.3";
pub const WHY: &str = "progenitor accepts only OpenAPI 3.0.x, and openapiv3 cannot parse 3.1 schemas such as `type: [T, 'null']`";

/// The output version.
pub const TARGET_VERSION: &str = "3.0.3";

/// Every keyword of a 3.0.3 Schema Object (besides `$ref` and `x-*`).
const KEYWORDS_3_0: [&str; 35] = [
    "title",
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "maxProperties",
    "minProperties",
    "required",
    "enum",
    "type",
    "allOf",
    "oneOf",
    "anyOf",
    "not",
    "items",
    "properties",
    "additionalProperties",
    "description",
    "format",
    "default",
    "nullable",
    "discriminator",
    "readOnly",
    "writeOnly",
    "xml",
    "externalDocs",
    "example",
    "deprecated",
];

/// Keys that only annotate; 3.0 ignores them beside a `$ref`, so a
/// reference that carries only these needs nothing.
fn is_annotation(key: &str) -> bool {
    matches!(key, "description" | "summary" | "title" | "example") || key.starts_with("x-")
}

#[derive(Default)]
struct Ctx {
    errors: Vec<String>,
    edits: usize,
}

impl Ctx {
    fn fail(&mut self, pointer: &str, message: impl std::fmt::Display) {
        let pointer = if pointer.is_empty() { "/" } else { pointer };
        self.errors.push(format!("{pointer}: {message}"));
    }
}

/// Rewrites `doc` (in place) as OpenAPI 3.0.3. Returns a one-line account
/// (`OpenAPI 3.1.0 -> 3.0.3, 110 edits`). On failure, the error lists every
/// construct that could not be converted.
pub fn to_openapi_3_0_3(doc: &mut Value) -> Result<String, String> {
    let version = doc
        .get("openapi")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let mut ctx = Ctx::default();
    let mut schemas: Vec<String> = Vec::new();
    for (pointer, node, value) in walk::roots(doc) {
        walk::visit(value, node, &pointer, &mut |_, kind, at| {
            if kind == Node::Schema {
                schemas.push(at.to_owned());
            }
            true
        });
    }
    for pointer in &schemas {
        if let Some(schema) = doc.pointer_mut(pointer) {
            convert(schema, pointer, &mut ctx);
        }
    }

    if version != TARGET_VERSION
        && let Some(map) = doc.as_object_mut()
    {
        map.insert(
            "openapi".to_owned(),
            Value::String(TARGET_VERSION.to_owned()),
        );
        ctx.edits += 1;
    }
    if ctx.errors.is_empty() {
        let edits = ctx.edits;
        Ok(format!(
            "OpenAPI {version} -> {TARGET_VERSION}, {edits} edit{}",
            if edits == 1 { "" } else { "s" }
        ))
    } else {
        Err(format!(
            "cannot convert to OpenAPI {TARGET_VERSION} without losing meaning:\n  {}",
            ctx.errors.join("\n  ")
        ))
    }
}

/// Converts one schema (not its subschemas).
fn convert(schema: &mut Value, pointer: &str, ctx: &mut Ctx) {
    let Value::Object(map) = schema else {
        return;
    };
    if map.contains_key("$ref") {
        let siblings: Vec<&str> = map
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "$ref" && !is_annotation(k))
            .collect();
        if !siblings.is_empty() {
            ctx.fail(
                pointer,
                format!(
                    "keywords beside `$ref` ({}) would be ignored in OpenAPI 3.0.3",
                    siblings.join(", ")
                ),
            );
        }
        return;
    }
    if let (Some(i), false) = (index_of(map, "const"), map.contains_key("enum")) {
        let constant = map.shift_remove("const").unwrap_or_default();
        map.shift_insert(i, "enum".to_owned(), json!([constant]));
        ctx.edits += 1;
    }
    if let Some(Value::Array(list)) = map.get("type").cloned() {
        let null = json!("null");
        match list.iter().filter(|t| **t != null).collect::<Vec<_>>()[..] {
            [only] => {
                map.insert("type".to_owned(), only.clone());
                ctx.edits += 1;
                if list.contains(&null) && map.get("nullable") != Some(&json!(true)) {
                    insert_after(map, "type", "nullable", json!(true));
                    ctx.edits += 1;
                }
            }
            _ => ctx.fail(
                pointer,
                format!(
                    "the type list {} has no OpenAPI 3.0.3 form (only [T, 'null'] is rewritten)",
                    show(&Value::Array(list.clone()))
                ),
            ),
        }
    }
    for key in map.keys() {
        if !key.starts_with("x-") && !KEYWORDS_3_0.contains(&key.as_str()) {
            ctx.fail(
                pointer,
                format!("keyword `{key}` has no OpenAPI {TARGET_VERSION} equivalent"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Converts one schema placed in `components.schemas.S` of a 3.1 document.
    fn convert(schema: Value) -> Result<Value, String> {
        let mut doc = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {},
            "components": {"schemas": {"S": schema}}
        });
        to_openapi_3_0_3(&mut doc)?;
        assert_eq!(doc["openapi"], "3.0.3");
        Ok(doc["components"]["schemas"]["S"].take())
    }

    #[test]
    fn the_constructs_upstream_uses_are_rewritten() {
        let cases = [
            // Nullable fields, key order kept, `nullable` right after `type`.
            (
                json!({"description": "d", "type": ["string", "null"], "format": "date-time"}),
                json!({"description": "d", "type": "string", "nullable": true, "format": "date-time"}),
            ),
            // The 2026 document's nullable query parameter and free-form object.
            (
                json!({"example": 0, "minimum": 0, "type": ["integer", "null"]}),
                json!({"example": 0, "minimum": 0, "type": "integer", "nullable": true}),
            ),
            (
                json!({"additionalProperties": {}, "type": ["object", "null"]}),
                json!({"additionalProperties": {}, "type": "object", "nullable": true}),
            ),
            // An enum that lists null keeps it.
            (
                json!({"enum": ["daily", null], "type": ["string", "null"]}),
                json!({"enum": ["daily", null], "type": "string", "nullable": true}),
            ),
            // `const`, as in the answer of DELETE /keys/{hash}.
            (
                json!({"const": true, "description": "d", "type": "boolean"}),
                json!({"enum": [true], "description": "d", "type": "boolean"}),
            ),
            // Already 3.0.3: 3.0-style keywords under a 3.1 header, a
            // reference with a description, a closed object.
            (
                json!({"type": "number", "nullable": true, "exclusiveMinimum": true, "minimum": 0}),
                json!({"type": "number", "nullable": true, "exclusiveMinimum": true, "minimum": 0}),
            ),
            (
                json!({"$ref": "#/components/schemas/S", "description": "d"}),
                json!({"$ref": "#/components/schemas/S", "description": "d"}),
            ),
            (
                json!({"additionalProperties": false}),
                json!({"additionalProperties": false}),
            ),
        ];
        for (input, expected) in cases {
            let out = convert(input.clone()).unwrap();
            assert_eq!(out, expected, "{input}");
            let order: Vec<&String> = out.as_object().unwrap().keys().collect();
            assert_eq!(
                order,
                expected.as_object().unwrap().keys().collect::<Vec<_>>(),
                "{input}"
            );
        }
    }

    #[test]
    fn constructs_without_a_rewrite_are_errors_with_pointers() {
        let err = convert(json!({
            "properties": {
                "bar": {"type": "array", "prefixItems": [{"type": "string"}]},
                "baz": {"if": {"type": "string"}, "then": {"minLength": 1}},
                "multi": {"type": ["string", "integer", "null"]},
                "none": {"type": ["null"]},
                "ex": {"examples": ["a"]},
                "both": {"const": "a", "enum": ["a", "b"]},
                "sibling": {"$ref": "#/components/schemas/S", "type": ["object", "null"]}
            }
        }))
        .unwrap_err();
        for expected in [
            "/properties/bar: keyword `prefixItems` has no OpenAPI 3.0.3 equivalent",
            "/properties/baz: keyword `if`",
            "/properties/baz: keyword `then`",
            "/properties/multi: the type list [\"string\",\"integer\",\"null\"] has no OpenAPI 3.0.3 form",
            "/properties/none: the type list [\"null\"] has no OpenAPI 3.0.3 form",
            "/properties/ex: keyword `examples`",
            "/properties/both: keyword `const`",
            "/properties/sibling: keywords beside `$ref` (type) would be ignored",
        ] {
            assert!(
                err.contains(&format!("/components/schemas/S{expected}")),
                "{expected} in {err}"
            );
        }
    }

    #[test]
    fn schemas_everywhere_in_the_structure_are_converted() {
        let mut doc = json!({
            "openapi": "3.1.1",
            "info": {"title": "t", "version": "1"},
            "paths": {"/a": {"get": {
                "parameters": [{"name": "p", "in": "query", "schema": {"type": ["integer", "null"]}}],
                "responses": {"200": {
                    "description": "ok",
                    "headers": {"h": {"schema": {"const": 1}}},
                    "content": {"application/json": {"schema": {"type": ["boolean", "null"]}, "examples": {"e": {"value": {"type": ["x"]}}}}}
                }}
            }}}
        });
        to_openapi_3_0_3(&mut doc).unwrap();
        let op = &doc["paths"]["/a"]["get"];
        assert_eq!(
            op["parameters"][0]["schema"],
            json!({"type": "integer", "nullable": true})
        );
        assert_eq!(
            op["responses"]["200"]["headers"]["h"]["schema"],
            json!({"enum": [1]})
        );
        let media = &op["responses"]["200"]["content"]["application/json"];
        assert_eq!(
            media["schema"],
            json!({"type": "boolean", "nullable": true})
        );
        // Example values are data, not schemas.
        assert_eq!(media["examples"]["e"]["value"], json!({"type": ["x"]}));
    }

    #[test]
    fn conversion_is_idempotent_and_3_0_input_passes_through() {
        let mut doc = json!({
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": {},
            "components": {"schemas": {"S": {"type": "string", "nullable": true, "enum": ["a", null]}}}
        });
        let before = doc.clone();
        assert_eq!(
            to_openapi_3_0_3(&mut doc).unwrap(),
            "OpenAPI 3.0.3 -> 3.0.3, 0 edits"
        );
        assert_eq!(doc, before);
    }
}
