//! Transform: OpenAPI 3.1 -> 3.0.3.
//!
//! OpenAPI 3.1 schemas are JSON Schema 2020-12; 3.0.3 schemas are an older,
//! smaller dialect. The constructs that OpenRouter's documents use are
//! rewritten into their 3.0.3 equivalent:
//!
//! | 3.1 | 3.0.3 |
//! |---|---|
//! | `type: [T, 'null']` | `type: T` + `nullable: true` |
//! | `type: 'null'` | `enum: [null]` + `nullable: true` |
//! | `anyOf`/`oneOf` with a `{type: 'null'}` branch | the branch removed, `nullable: true` |
//! | `const: v` | `enum: [v]` |
//!
//! Everything else is refused with its JSON pointer, never dropped: the list
//! of known keywords is closed, so a later upstream version that starts
//! using something new fails loudly. That includes 3.1 constructs no
//! upstream version has used so far (several types in one list, numeric
//! `exclusiveMinimum`, schema `examples`, boolean schemas, `$ref` beside
//! assertions, `info.summary`, ...): a rewrite for one is written, with a
//! test built from the real input, when upstream first uses it.
//!
//! 3.0-style keywords found under a 3.1 header (`nullable: true`, boolean
//! `exclusiveMinimum`, as in the 2025 document) are already 3.0.3 and stay.

use serde_json::{Map, Value, json};

use crate::spec::walk::{self, Node};
use crate::spec::{HTTP_METHODS, index_of, insert_after, pointer_of, show};

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

const TYPES: [&str; 6] = ["string", "number", "integer", "boolean", "array", "object"];

/// Keys that only annotate; 3.0 ignores them beside a `$ref`, so a
/// reference that carries only these needs nothing.
fn is_annotation(key: &str) -> bool {
    matches!(key, "description" | "summary" | "title" | "example") || key.starts_with("x-")
}

/// Why a JSON Schema 2020-12 keyword has no 3.0.3 equivalent.
fn unsupported_reason(key: &str) -> &'static str {
    match key {
        "prefixItems" => "tuple validation",
        "if" | "then" | "else" => "conditional subschemas",
        "patternProperties" => "properties matched by pattern",
        "propertyNames" => "constraints on property names",
        "dependentSchemas" | "dependentRequired" => "dependencies between properties",
        "unevaluatedProperties" | "unevaluatedItems" => "unevaluated-location keywords",
        "contains" | "minContains" | "maxContains" => "`contains` constraints",
        "$defs" | "definitions" => "local definitions (move them to components.schemas)",
        "$id" | "$schema" | "$anchor" | "$dynamicRef" | "$dynamicAnchor" | "$vocabulary" => {
            "JSON Schema identification and dynamic references"
        }
        "examples" => "a list of examples; 3.0.3 has one `example`",
        _ => "not a 3.0.3 Schema Object keyword",
    }
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
    if !(version.starts_with("3.0.")
        || version.starts_with("3.1.")
        || version == "3.0"
        || version == "3.1")
    {
        return Err(format!(
            "OpenAPI {version} is not supported: only 3.0.x and 3.1.x documents can be converted to {TARGET_VERSION}"
        ));
    }
    let mut ctx = Ctx::default();
    check_document_fields(doc, &mut ctx);

    // Every schema, subschemas included, in document order; converted in
    // reverse, so that each schema's subschemas are already converted.
    let mut schemas: Vec<String> = Vec::new();
    for (pointer, node, value) in walk::roots(doc) {
        walk::visit(value, node, &pointer, &mut |_, kind, at| {
            if kind == Node::Schema {
                schemas.push(at.to_owned());
            }
            true
        });
    }
    for pointer in schemas.iter().rev() {
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

/// The 3.1 additions outside schemas that can reach a selected document.
fn check_document_fields(doc: &Value, ctx: &mut Ctx) {
    for (pointer, what) in [
        ("/info/summary", "`info.summary`"),
        ("/info/license/identifier", "`license.identifier`"),
    ] {
        if doc.pointer(pointer).is_some() {
            ctx.fail(pointer, format!("3.0.3 has no {what}"));
        }
    }
    if doc
        .pointer("/components/pathItems")
        .and_then(Value::as_object)
        .is_some_and(|m| !m.is_empty())
    {
        ctx.fail("/components/pathItems", "3.0.3 has no reusable path items");
    }
    if let Some(Value::Object(schemes)) = doc.pointer("/components/securitySchemes") {
        for (name, scheme) in schemes {
            if scheme.get("type").and_then(Value::as_str) == Some("mutualTLS") {
                ctx.fail(
                    &pointer_of(&["components", "securitySchemes", name]),
                    "security scheme type `mutualTLS` does not exist in 3.0.3",
                );
            }
        }
    }
    if let Some(Value::Object(paths)) = doc.get("paths") {
        for (path, item) in paths {
            for method in HTTP_METHODS {
                if item
                    .get(method)
                    .is_some_and(|op| op.get("responses").is_none())
                {
                    ctx.fail(
                        &pointer_of(&["paths", path, method]),
                        "operation has no `responses`, which 3.0.3 requires",
                    );
                }
            }
        }
    }
}

/// Converts one schema whose subschemas are already converted.
fn convert(schema: &mut Value, pointer: &str, ctx: &mut Ctx) {
    let map = match schema {
        Value::Object(map) => map,
        // `additionalProperties: false` is 3.0.3 too.
        Value::Bool(_) if pointer.ends_with("/additionalProperties") => return,
        Value::Bool(_) => return ctx.fail(pointer, "a boolean schema has no OpenAPI 3.0.3 form"),
        other => {
            return ctx.fail(
                pointer,
                format!("a schema must be a mapping, found {}", show(other)),
            );
        }
    };
    if map.get("items").is_some_and(Value::is_array) {
        ctx.fail(
            pointer,
            "a list of schemas under `items` (tuple validation) has no 3.0.3 equivalent",
        );
    }
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
    for bound in ["exclusiveMinimum", "exclusiveMaximum"] {
        if map.get(bound).is_some_and(|v| !v.is_boolean()) {
            ctx.fail(pointer, format!("a numeric `{bound}` (3.1) is not converted; 3.0.3 takes a boolean beside the bound"));
        }
    }
    if let (Some(i), false) = (index_of(map, "const"), map.contains_key("enum")) {
        let constant = map.shift_remove("const").unwrap_or_default();
        map.shift_insert(i, "enum".to_owned(), Value::Array(vec![constant]));
        ctx.edits += 1;
    } else if map.contains_key("const") {
        ctx.fail(pointer, "`const` beside `enum` is not converted");
    }
    let nullable = convert_type(map, pointer, ctx) | drop_null_branches(map, pointer, ctx);
    let enum_has_null = map
        .get("enum")
        .and_then(Value::as_array)
        .is_some_and(|v| v.contains(&Value::Null));
    if enum_has_null && !nullable && map.get("nullable") != Some(&Value::Bool(true)) {
        ctx.fail(pointer, "`enum` lists null, but the schema is not nullable (3.0.3 needs a type list with null or `nullable: true`)");
    }
    if nullable && map.get("nullable") != Some(&Value::Bool(true)) {
        let anchor = ["type", "anyOf", "oneOf", "allOf", "enum"]
            .into_iter()
            .find(|k| map.contains_key(*k))
            .unwrap_or("");
        insert_after(map, anchor, "nullable", Value::Bool(true));
        ctx.edits += 1;
    }
    for key in map.keys() {
        if !key.starts_with("x-") && !KEYWORDS_3_0.contains(&key.as_str()) {
            ctx.fail(
                pointer,
                format!(
                    "keyword `{key}` has no OpenAPI {TARGET_VERSION} equivalent ({})",
                    unsupported_reason(key)
                ),
            );
        }
    }
}

/// Handles the `type` keyword. Returns whether the type list allowed null.
fn convert_type(map: &mut Map<String, Value>, pointer: &str, ctx: &mut Ctx) -> bool {
    let list = match map.get("type") {
        Some(Value::String(t)) if TYPES.contains(&t.as_str()) => return false,
        None => return false,
        Some(Value::String(t)) => vec![Value::String(t.clone())],
        Some(Value::Array(list)) => list.clone(),
        Some(other) => {
            ctx.fail(
                pointer,
                format!("`type` must be a string or a list, found {}", show(other)),
            );
            return false;
        }
    };
    let null = Value::String("null".to_owned());
    let types: Vec<&Value> = list.iter().filter(|t| **t != null).collect();
    match types.as_slice() {
        [] if map.contains_key("enum") => {
            ctx.fail(pointer, "`type: null` beside an `enum` is not converted");
            return false;
        }
        [] => {
            let position = index_of(map, "type").unwrap_or(0);
            map.shift_remove("type");
            map.shift_insert(position, "enum".to_owned(), json!([null]));
        }
        [Value::String(t)] if TYPES.contains(&t.as_str()) => {
            map.insert("type".to_owned(), Value::String(t.clone()));
        }
        [Value::String(t)] => {
            ctx.fail(pointer, format!("unknown type `{t}`"));
            return false;
        }
        _ => {
            ctx.fail(
                pointer,
                format!(
                    "the type list {} names several types, which have no 3.0.3 form here",
                    show(&Value::Array(list.clone()))
                ),
            );
            return false;
        }
    }
    ctx.edits += 1;
    list.contains(&null)
}

/// Removes null-only branches (already converted to `enum: [null]`) from
/// `anyOf`/`oneOf`; returns whether any was removed.
fn drop_null_branches(map: &mut Map<String, Value>, pointer: &str, ctx: &mut Ctx) -> bool {
    let is_null_only = |v: &Value| {
        v.as_object().is_some_and(|m| {
            m.get("enum") == Some(&json!([null]))
                && m.keys()
                    .all(|k| k == "enum" || k == "nullable" || is_annotation(k))
        })
    };
    let mut removed = false;
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = map.get_mut(key) {
            let before = branches.len();
            branches.retain(|b| !is_null_only(b));
            if branches.is_empty() {
                ctx.fail(pointer, format!("`{key}` has only null branches"));
            } else if branches.len() != before {
                removed = true;
                ctx.edits += 1;
            }
        }
    }
    removed
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
            // Null branches, as in the 2025 document.
            (
                json!({"anyOf": [{"$ref": "#/components/schemas/S"}, {"type": "null"}]}),
                json!({"anyOf": [{"$ref": "#/components/schemas/S"}], "nullable": true}),
            ),
            (
                json!({"oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]}),
                json!({"oneOf": [{"type": "string"}, {"type": "integer"}], "nullable": true}),
            ),
            (
                json!({"type": "null"}),
                json!({"enum": [null], "nullable": true}),
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
                "tuple": {"items": [{"type": "string"}]},
                "odd": {"type": "float"},
                "multi": {"type": ["string", "integer", "null"]},
                "bound": {"type": "number", "exclusiveMinimum": 0},
                "ex": {"examples": ["a"]},
                "yes": true,
                "untyped": {"enum": ["a", null]},
                "both": {"const": "a", "enum": ["a", "b"]},
                "only": {"anyOf": [{"type": "null"}]},
                "sibling": {"$ref": "#/components/schemas/S", "type": ["object", "null"]}
            }
        }))
        .unwrap_err();
        for expected in [
            "/properties/bar: keyword `prefixItems` has no OpenAPI 3.0.3 equivalent (tuple validation)",
            "/properties/baz: keyword `if`",
            "/properties/baz: keyword `then`",
            "/properties/tuple: a list of schemas under `items`",
            "/properties/odd: unknown type `float`",
            "/properties/multi: the type list [\"string\",\"integer\",\"null\"] names several types",
            "/properties/ex: keyword `examples`",
            "/properties/yes: a boolean schema has no OpenAPI 3.0.3 form",
            "/properties/bound: a numeric `exclusiveMinimum` (3.1) is not converted",
            "/properties/untyped: `enum` lists null, but the schema is not nullable",
            "/properties/both: `const` beside `enum`",
            "/properties/only: `anyOf` has only null branches",
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

    #[test]
    fn unknown_versions_and_3_1_only_objects_are_refused() {
        let mut doc = json!({"openapi": "3.2.0", "info": {}, "paths": {}});
        assert!(
            to_openapi_3_0_3(&mut doc)
                .unwrap_err()
                .contains("OpenAPI 3.2.0 is not supported")
        );
        let mut doc = json!({
            "openapi": "3.1.0", "info": {"summary": "s", "license": {"identifier": "MIT"}}, "paths": {"/a": {"get": {}}},
            "components": {"securitySchemes": {"m": {"type": "mutualTLS"}}}
        });
        let err = to_openapi_3_0_3(&mut doc).unwrap_err();
        for expected in [
            "/components/securitySchemes/m: security scheme type `mutualTLS`",
            "/paths/~1a/get: operation has no `responses`",
            "/info/summary: 3.0.3 has no `info.summary`",
            "/info/license/identifier: 3.0.3 has no `license.identifier`",
        ] {
            assert!(err.contains(expected), "{expected} in {err}");
        }
    }
}
