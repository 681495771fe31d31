//! Transform: OpenAPI 3.1 -> 3.0.3.
//!
//! OpenAPI 3.1 schemas are JSON Schema 2020-12; 3.0.3 schemas are an older,
//! smaller dialect. Each construct below is rewritten into its 3.0.3
//! equivalent. Anything without a faithful equivalent is reported with its
//! JSON pointer instead of being dropped, and so is any keyword that 3.0.3
//! does not know (the list of known keywords is closed on purpose: a later
//! upstream version that starts using something new must fail loudly).
//!
//! | 3.1 | 3.0.3 |
//! |---|---|
//! | `type: [T, 'null']` | `type: T` + `nullable: true` |
//! | `type: [A, B, ...]` | `anyOf` of one branch per type, each with the keywords that apply to it |
//! | `type: 'null'` | `enum: [null]` + `nullable: true` |
//! | `anyOf`/`oneOf` with a `{type: 'null'}` branch | the branch removed, `nullable: true` |
//! | `enum` containing `null`, no `type` | `nullable: true` added (`null` stays in the enum) |
//! | `const: v` | `enum: [v]` |
//! | `exclusiveMinimum: n` (a number) | `minimum: n` + `exclusiveMinimum: true` (or nothing if `minimum` is already stricter) |
//! | `examples: [a, ...]` | `example: a` (the full list kept as `x-examples` when there is more than one) |
//! | `$ref` beside assertions | `allOf: [{$ref}]` beside them (3.0 ignores `$ref` siblings) |
//! | boolean schema `true` / `false` | `{}` / `{not: {}}` (`additionalProperties` keeps its boolean) |
//! | `contentEncoding: base64` | `format: byte`; other `content*` annotations become `x-` extensions |
//! | `$comment` | `x-comment` |
//! | `info.summary`, `license.identifier` | `x-summary`, `x-identifier` |
//!
//! 3.0-style keywords found under a 3.1 header (`nullable: true`, boolean
//! `exclusiveMinimum`) are already 3.0.3 and stay as they are.

use serde_json::{Map, Value, json};

use crate::spec::walk::{self, Node, SCHEMA_KEYWORDS, SCHEMA_LIST_KEYWORDS, SCHEMA_MAP_KEYWORDS};
use crate::spec::{HTTP_METHODS, index_of, insert_after, push_token, rename_key, show};

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

/// Keywords that only mean something for one instance type; a multi-type
/// schema hands them to the matching `anyOf` branch.
fn keywords_for(ty: &str) -> &'static [&'static str] {
    match ty {
        "string" => &["minLength", "maxLength", "pattern", "format"],
        "number" | "integer" => &[
            "minimum",
            "maximum",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "multipleOf",
            "format",
        ],
        "array" => &["items", "minItems", "maxItems", "uniqueItems"],
        "object" => &[
            "properties",
            "required",
            "additionalProperties",
            "minProperties",
            "maxProperties",
        ],
        _ => &[],
    }
}

/// Keys that only annotate; 3.0 ignores them beside a `$ref`, so a
/// reference that carries only these needs no rewriting.
fn is_annotation(key: &str) -> bool {
    matches!(
        key,
        "description" | "summary" | "title" | "example" | "examples" | "$comment"
    ) || key.starts_with("x-")
}

/// Why a JSON Schema 2020-12 keyword cannot be expressed in 3.0.3.
fn unsupported_reason(key: &str) -> &'static str {
    match key {
        "prefixItems" | "items" => "tuple validation",
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
        self.errors
            .push(format!("{}: {message}", display_pointer(pointer)));
    }
}

fn display_pointer(pointer: &str) -> &str {
    if pointer.is_empty() { "/" } else { pointer }
}

/// Rewrites `doc` (in place) as OpenAPI 3.0.3. Returns the number of edits.
/// On failure, the error lists every construct that could not be converted.
pub fn to_openapi_3_0_3(doc: &mut Value) -> Result<usize, String> {
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

    convert_document_fields(doc, &mut ctx);

    let mut schema_roots: Vec<String> = Vec::new();
    for (pointer, node, value) in walk::roots(doc) {
        walk::visit(value, node, &pointer, &mut |_, kind, at| {
            if kind == Node::Schema {
                schema_roots.push(at.to_owned());
                false
            } else {
                true
            }
        });
    }
    for pointer in schema_roots {
        if let Some(schema) = doc.pointer_mut(&pointer) {
            convert_schema(schema, &pointer, &mut ctx);
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
        Ok(ctx.edits)
    } else {
        Err(format!(
            "cannot convert to OpenAPI {TARGET_VERSION} without losing meaning:\n  {}",
            ctx.errors.join("\n  ")
        ))
    }
}

/// The few 3.1 additions outside schemas that can reach a selected document.
fn convert_document_fields(doc: &mut Value, ctx: &mut Ctx) {
    if let Some(Value::Object(info)) = doc.get_mut("info") {
        if info.contains_key("summary") {
            rename_key(info, "summary", "x-summary");
            ctx.edits += 1;
        }
        if let Some(Value::Object(license)) = info.get_mut("license")
            && license.contains_key("identifier")
        {
            rename_key(license, "identifier", "x-identifier");
            ctx.edits += 1;
        }
    }
    if let Some(Value::Object(components)) = doc.get("components") {
        if components
            .get("pathItems")
            .and_then(Value::as_object)
            .is_some_and(|m| !m.is_empty())
        {
            ctx.fail("/components/pathItems", "3.0.3 has no reusable path items");
        }
        if let Some(Value::Object(schemes)) = components.get("securitySchemes") {
            for (name, scheme) in schemes {
                if scheme.get("type").and_then(Value::as_str) == Some("mutualTLS") {
                    ctx.fail(
                        &push_token("/components/securitySchemes", name),
                        "security scheme type `mutualTLS` does not exist in 3.0.3",
                    );
                }
            }
        }
    }
    if let Some(Value::Object(paths)) = doc.get("paths") {
        for (path, item) in paths {
            for method in HTTP_METHODS {
                if let Some(op) = item.get(method)
                    && op.get("responses").is_none()
                {
                    ctx.fail(
                        &push_token(&push_token(&push_token("", "paths"), path), method),
                        "operation has no `responses`, which 3.0.3 requires",
                    );
                }
            }
        }
    }
}

/// Converts a schema and (first) all of its subschemas.
fn convert_schema(schema: &mut Value, pointer: &str, ctx: &mut Ctx) {
    match schema {
        Value::Bool(accept) => {
            *schema = if *accept {
                json!({})
            } else {
                json!({"not": {}})
            };
            ctx.edits += 1;
        }
        Value::Object(map) => {
            for key in SCHEMA_MAP_KEYWORDS {
                if let Some(Value::Object(entries)) = map.get_mut(key) {
                    let base = push_token(pointer, key);
                    for (name, child) in entries.iter_mut() {
                        convert_schema(child, &push_token(&base, name), ctx);
                    }
                }
            }
            match map.get_mut("items") {
                Some(Value::Array(_)) => ctx.fail(
                    &push_token(pointer, "items"),
                    "a list of schemas under `items` (tuple validation) has no 3.0.3 equivalent",
                ),
                Some(items) => convert_schema(items, &push_token(pointer, "items"), ctx),
                None => {}
            }
            for key in SCHEMA_KEYWORDS {
                if let Some(child) = map.get_mut(key) {
                    if key == "additionalProperties" && child.is_boolean() {
                        continue;
                    }
                    convert_schema(child, &push_token(pointer, key), ctx);
                }
            }
            for key in SCHEMA_LIST_KEYWORDS {
                if let Some(Value::Array(items)) = map.get_mut(key) {
                    let base = push_token(pointer, key);
                    for (i, child) in items.iter_mut().enumerate() {
                        convert_schema(child, &push_token(&base, &i.to_string()), ctx);
                    }
                }
            }
            convert_node(map, pointer, ctx);
        }
        other => ctx.fail(
            pointer,
            format!("a schema must be a mapping, found {}", show(other)),
        ),
    }
}

/// Converts one schema object whose subschemas are already converted.
fn convert_node(map: &mut Map<String, Value>, pointer: &str, ctx: &mut Ctx) {
    if map.contains_key("$ref") {
        if map.keys().all(|k| k == "$ref" || is_annotation(k)) {
            return;
        }
        wrap_ref(map);
        ctx.edits += 1;
    }
    if map.contains_key("$comment") {
        rename_key(map, "$comment", "x-comment");
        ctx.edits += 1;
    }
    convert_const(map, pointer, ctx);
    convert_exclusive_bounds(map, pointer, ctx);
    convert_examples(map, pointer, ctx);
    convert_content_annotations(map, ctx);
    let mut nullable = convert_type(map, pointer, ctx);
    nullable |= drop_null_branches(map, ctx);
    let enum_has_null = map
        .get("enum")
        .and_then(Value::as_array)
        .is_some_and(|values| values.iter().any(Value::is_null));
    if enum_has_null && !map.contains_key("type") && !map.contains_key("nullable") {
        nullable = true;
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
        if key.starts_with("x-") || KEYWORDS_3_0.contains(&key.as_str()) {
            continue;
        }
        ctx.errors.push(format!(
            "{}: keyword `{key}` has no OpenAPI {TARGET_VERSION} equivalent ({})",
            display_pointer(pointer),
            unsupported_reason(key)
        ));
    }
}

/// `{$ref: X, <assertions>}` -> `{allOf: [{$ref: X}], <assertions>}`.
fn wrap_ref(map: &mut Map<String, Value>) {
    let Some(position) = index_of(map, "$ref") else {
        return;
    };
    let Some(reference) = map.shift_remove("$ref") else {
        return;
    };
    let wrapped = json!({ "$ref": reference });
    match map.get_mut("allOf") {
        Some(Value::Array(all)) => all.insert(0, wrapped),
        _ => {
            map.shift_insert(position, "allOf".to_owned(), Value::Array(vec![wrapped]));
        }
    }
}

/// `const: v` -> `enum: [v]` (intersected with an `enum` beside it).
fn convert_const(map: &mut Map<String, Value>, pointer: &str, ctx: &mut Ctx) {
    let Some(constant) = map.get("const").cloned() else {
        return;
    };
    match map.get("enum") {
        Some(Value::Array(values)) => {
            if values.contains(&constant) {
                map.insert("enum".to_owned(), Value::Array(vec![constant]));
                map.shift_remove("const");
            } else {
                ctx.fail(
                    pointer,
                    format!(
                        "`const: {}` is not among its `enum` values, so no value is valid",
                        show(&constant)
                    ),
                );
                return;
            }
        }
        _ => {
            rename_key(map, "const", "enum");
            map.insert("enum".to_owned(), Value::Array(vec![constant]));
        }
    }
    ctx.edits += 1;
}

/// Numeric `exclusiveMinimum`/`exclusiveMaximum` (3.1) -> bound + boolean flag.
fn convert_exclusive_bounds(map: &mut Map<String, Value>, pointer: &str, ctx: &mut Ctx) {
    for (exclusive, bound, lower) in [
        ("exclusiveMinimum", "minimum", true),
        ("exclusiveMaximum", "maximum", false),
    ] {
        let limit = match map.get(exclusive) {
            None | Some(Value::Bool(_)) => continue,
            Some(Value::Number(n)) => n.clone(),
            Some(other) => {
                ctx.fail(
                    pointer,
                    format!(
                        "`{exclusive}` must be a number or a boolean, found {}",
                        show(other)
                    ),
                );
                continue;
            }
        };
        let existing = map.get(bound).and_then(Value::as_f64);
        let limit_f = limit.as_f64().unwrap_or(f64::NAN);
        let inclusive_is_stricter =
            existing.is_some_and(|b| if lower { b > limit_f } else { b < limit_f });
        if inclusive_is_stricter {
            map.shift_remove(exclusive);
        } else if map.contains_key(bound) {
            map.insert(bound.to_owned(), Value::Number(limit));
            map.insert(exclusive.to_owned(), Value::Bool(true));
        } else {
            if let Some(i) = index_of(map, exclusive) {
                map.shift_insert(i, bound.to_owned(), Value::Number(limit));
            }
            map.insert(exclusive.to_owned(), Value::Bool(true));
        }
        ctx.edits += 1;
    }
}

/// `examples: [a, b]` -> `example: a` (+ `x-examples` with the full list).
fn convert_examples(map: &mut Map<String, Value>, pointer: &str, ctx: &mut Ctx) {
    let Some(examples) = map.get("examples").cloned() else {
        return;
    };
    let Value::Array(list) = examples else {
        ctx.fail(
            pointer,
            format!(
                "schema `examples` must be a list, found {}",
                show(&examples)
            ),
        );
        return;
    };
    match list.first() {
        Some(first) if !map.contains_key("example") => {
            rename_key(map, "examples", "example");
            map.insert("example".to_owned(), first.clone());
            if list.len() > 1 {
                insert_after(map, "example", "x-examples", Value::Array(list));
            }
        }
        _ => rename_key(map, "examples", "x-examples"),
    }
    ctx.edits += 1;
}

/// `contentEncoding: base64` -> `format: byte`; other content annotations
/// (which JSON Schema does not assert) become extensions.
fn convert_content_annotations(map: &mut Map<String, Value>, ctx: &mut Ctx) {
    if map.get("contentEncoding").and_then(Value::as_str) == Some("base64")
        && !map.contains_key("format")
    {
        rename_key(map, "contentEncoding", "format");
        map.insert("format".to_owned(), Value::String("byte".to_owned()));
        ctx.edits += 1;
    }
    for key in ["contentEncoding", "contentMediaType"] {
        if map.contains_key(key) {
            rename_key(map, key, &format!("x-{key}"));
            ctx.edits += 1;
        }
    }
}

/// Handles the `type` keyword. Returns whether the type list allowed null.
fn convert_type(map: &mut Map<String, Value>, pointer: &str, ctx: &mut Ctx) -> bool {
    let names: Vec<String> = match map.get("type") {
        None => return false,
        Some(Value::String(t)) if TYPES.contains(&t.as_str()) => return false,
        Some(Value::String(t)) if t == "null" => vec![t.clone()],
        Some(Value::String(t)) => {
            ctx.fail(pointer, format!("unknown type `{t}`"));
            return false;
        }
        Some(Value::Array(list)) => {
            let mut names: Vec<String> = Vec::new();
            for item in list {
                match item.as_str() {
                    Some(t) if TYPES.contains(&t) || t == "null" => {
                        if !names.iter().any(|n| n == t) {
                            names.push(t.to_owned());
                        }
                    }
                    _ => {
                        ctx.fail(
                            pointer,
                            format!("unknown type {} in the `type` list", show(item)),
                        );
                        return false;
                    }
                }
            }
            names
        }
        Some(other) => {
            ctx.fail(
                pointer,
                format!("`type` must be a string or a list, found {}", show(other)),
            );
            return false;
        }
    };
    ctx.edits += 1;
    let nullable = names.iter().any(|n| n == "null");
    let types: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| *n != "null")
        .collect();
    match types.as_slice() {
        [] => make_null_only(map, pointer, ctx),
        [single] => {
            map.insert("type".to_owned(), Value::String((*single).to_owned()));
        }
        several => split_types(map, several),
    }
    nullable
}

/// A schema that admits only `null`: `enum: [null]` with `nullable: true`,
/// which is how progenitor recognises a null value.
fn make_null_only(map: &mut Map<String, Value>, pointer: &str, ctx: &mut Ctx) {
    let position = index_of(map, "type").unwrap_or(map.len());
    map.shift_remove("type");
    let values = match map.get("enum") {
        Some(Value::Array(values)) => {
            let nulls: Vec<Value> = values.iter().filter(|v| v.is_null()).cloned().collect();
            if nulls.is_empty() {
                ctx.fail(
                    pointer,
                    "`type: null` with an `enum` that lacks null admits no value",
                );
            }
            nulls
        }
        _ => vec![Value::Null],
    };
    if map.contains_key("enum") {
        map.insert("enum".to_owned(), Value::Array(values));
    } else {
        map.shift_insert(
            position.min(map.len()),
            "enum".to_owned(),
            Value::Array(values),
        );
    }
}

/// `type: [A, B]` -> `anyOf: [{type: A, ...}, {type: B, ...}]`, each branch
/// taking the keywords that apply to its type.
fn split_types(map: &mut Map<String, Value>, types: &[&str]) {
    let position = index_of(map, "type").unwrap_or(map.len());
    let branches: Vec<Value> = types
        .iter()
        .map(|ty| {
            let mut branch = Map::new();
            branch.insert("type".to_owned(), Value::String((*ty).to_owned()));
            for key in keywords_for(ty) {
                if let Some(value) = map.get(*key) {
                    branch.insert((*key).to_owned(), value.clone());
                }
            }
            Value::Object(branch)
        })
        .collect();
    map.shift_remove("type");
    for ty in types {
        for key in keywords_for(ty) {
            map.shift_remove(*key);
        }
    }
    match map.get_mut("anyOf") {
        Some(_) => {
            let any = json!({ "anyOf": branches });
            match map.get_mut("allOf") {
                Some(Value::Array(all)) => all.push(any),
                _ => {
                    map.insert("allOf".to_owned(), Value::Array(vec![any]));
                }
            }
        }
        None => {
            map.shift_insert(
                position.min(map.len()),
                "anyOf".to_owned(),
                Value::Array(branches),
            );
        }
    }
}

/// Removes null-only branches (already converted to `enum: [null]`) from
/// `anyOf`/`oneOf`; returns whether any was removed.
fn drop_null_branches(map: &mut Map<String, Value>, ctx: &mut Ctx) -> bool {
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
            if branches.len() != before {
                removed = true;
                ctx.edits += 1;
                if branches.is_empty() {
                    map.shift_remove(key);
                    if !map.contains_key("enum") {
                        map.insert("enum".to_owned(), json!([null]));
                    }
                }
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

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object().unwrap().keys().map(String::as_str).collect()
    }

    #[test]
    fn type_list_with_null_becomes_nullable() {
        let out =
            convert(json!({"description": "d", "type": ["string", "null"], "format": "date-time"}))
                .unwrap();
        assert_eq!(
            out,
            json!({"description": "d", "type": "string", "nullable": true, "format": "date-time"})
        );
        assert_eq!(keys(&out), ["description", "type", "nullable", "format"]);
    }

    #[test]
    fn nullable_object_with_free_form_values() {
        let out = convert(json!({"additionalProperties": {}, "type": ["object", "null"]})).unwrap();
        assert_eq!(
            out,
            json!({"additionalProperties": {}, "type": "object", "nullable": true})
        );
    }

    #[test]
    fn enum_with_null_keeps_null_and_is_nullable() {
        let out = convert(json!({"enum": ["daily", null], "type": ["string", "null"]})).unwrap();
        assert_eq!(
            out,
            json!({"enum": ["daily", null], "type": "string", "nullable": true})
        );
        // Untyped enum with null: null was valid in 3.1, so it must stay valid.
        let out = convert(json!({"enum": ["a", null]})).unwrap();
        assert_eq!(out, json!({"enum": ["a", null], "nullable": true}));
    }

    #[test]
    fn nullable_keyword_under_a_3_1_header_is_kept() {
        let schema =
            json!({"type": "number", "nullable": true, "exclusiveMinimum": true, "minimum": 0});
        assert_eq!(convert(schema.clone()).unwrap(), schema);
    }

    #[test]
    fn multi_type_becomes_any_of_with_keywords_split() {
        let out = convert(json!({
            "description": "d",
            "type": ["string", "integer", "null"],
            "maxLength": 3,
            "minimum": 1,
            "enum": ["a", 1, null]
        }))
        .unwrap();
        assert_eq!(
            out,
            json!({
                "description": "d",
                "anyOf": [{"type": "string", "maxLength": 3}, {"type": "integer", "minimum": 1}],
                "nullable": true,
                "enum": ["a", 1, null]
            })
        );
    }

    #[test]
    fn multi_type_beside_existing_any_of_goes_into_all_of() {
        let out = convert(
            json!({"type": ["string", "array"], "anyOf": [{"minLength": 1}, {"minItems": 1}]}),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({
                "anyOf": [{"minLength": 1}, {"minItems": 1}],
                "allOf": [{"anyOf": [{"type": "string"}, {"type": "array"}]}]
            })
        );
    }

    #[test]
    fn const_becomes_single_value_enum() {
        assert_eq!(
            convert(json!({"type": "string", "const": "x"})).unwrap(),
            json!({"type": "string", "enum": ["x"]})
        );
        assert_eq!(
            convert(json!({"const": null})).unwrap(),
            json!({"enum": [null], "nullable": true})
        );
        assert_eq!(
            convert(json!({"const": "a", "enum": ["a", "b"]})).unwrap(),
            json!({"enum": ["a"]})
        );
        let err = convert(json!({"const": "z", "enum": ["a"]})).unwrap_err();
        assert!(
            err.contains("/components/schemas/S: `const: \"z\"`"),
            "{err}"
        );
    }

    #[test]
    fn numeric_exclusive_bounds() {
        assert_eq!(
            convert(json!({"type": "number", "exclusiveMinimum": 0})).unwrap(),
            json!({"type": "number", "minimum": 0, "exclusiveMinimum": true})
        );
        // An inclusive bound that is stricter wins.
        assert_eq!(
            convert(json!({"type": "number", "minimum": 5, "exclusiveMinimum": 0})).unwrap(),
            json!({"type": "number", "minimum": 5})
        );
        // Equal bounds: the exclusive one is stricter.
        assert_eq!(
            convert(json!({"maximum": 9, "exclusiveMaximum": 9})).unwrap(),
            json!({"maximum": 9, "exclusiveMaximum": true})
        );
        assert_eq!(
            convert(json!({"maximum": 1, "exclusiveMaximum": 9})).unwrap(),
            json!({"maximum": 1})
        );
    }

    #[test]
    fn schema_examples() {
        assert_eq!(
            convert(json!({"examples": ["a"]})).unwrap(),
            json!({"example": "a"})
        );
        assert_eq!(
            convert(json!({"examples": ["a", "b"], "type": "string"})).unwrap(),
            json!({"example": "a", "x-examples": ["a", "b"], "type": "string"})
        );
        assert_eq!(
            convert(json!({"example": "z", "examples": ["a"]})).unwrap(),
            json!({"example": "z", "x-examples": ["a"]})
        );
        assert!(
            convert(json!({"examples": {"a": 1}}))
                .unwrap_err()
                .contains("must be a list")
        );
    }

    #[test]
    fn null_branches_of_any_of_become_nullable() {
        let out = convert(json!({"anyOf": [{"$ref": "#/components/schemas/S"}, {"type": "null"}]}))
            .unwrap();
        assert_eq!(
            out,
            json!({"anyOf": [{"$ref": "#/components/schemas/S"}], "nullable": true})
        );
        let out =
            convert(json!({"oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]}))
                .unwrap();
        assert_eq!(
            out,
            json!({"oneOf": [{"type": "string"}, {"type": "integer"}], "nullable": true})
        );
        assert_eq!(
            convert(json!({"type": "null"})).unwrap(),
            json!({"enum": [null], "nullable": true})
        );
    }

    #[test]
    fn refs_with_assertions_are_wrapped_but_annotations_are_not() {
        let plain = json!({"$ref": "#/components/schemas/S", "description": "d"});
        assert_eq!(convert(plain.clone()).unwrap(), plain);
        let out =
            convert(json!({"$ref": "#/components/schemas/S", "type": ["object", "null"]})).unwrap();
        assert_eq!(
            out,
            json!({"allOf": [{"$ref": "#/components/schemas/S"}], "type": "object", "nullable": true})
        );
    }

    #[test]
    fn boolean_schemas_and_comments() {
        let out = convert(json!({
            "properties": {"any": true, "none": false},
            "additionalProperties": false,
            "$comment": "c"
        }))
        .unwrap();
        assert_eq!(
            out,
            json!({
                "properties": {"any": {}, "none": {"not": {}}},
                "additionalProperties": false,
                "x-comment": "c"
            })
        );
    }

    #[test]
    fn content_annotations() {
        assert_eq!(
            convert(json!({"type": "string", "contentEncoding": "base64", "contentMediaType": "image/png"})).unwrap(),
            json!({"type": "string", "format": "byte", "x-contentMediaType": "image/png"})
        );
    }

    #[test]
    fn unconvertible_constructs_are_errors_with_pointers() {
        let err = convert(json!({
            "properties": {
                "bar": {"type": "array", "prefixItems": [{"type": "string"}]},
                "baz": {"if": {"type": "string"}, "then": {"minLength": 1}},
                "tuple": {"items": [{"type": "string"}]},
                "odd": {"type": "float"}
            }
        }))
        .unwrap_err();
        assert!(
            err.contains("/components/schemas/S/properties/bar: keyword `prefixItems` has no OpenAPI 3.0.3 equivalent (tuple validation)"),
            "{err}"
        );
        assert!(
            err.contains("/components/schemas/S/properties/baz: keyword `if`"),
            "{err}"
        );
        assert!(
            err.contains("/components/schemas/S/properties/baz: keyword `then`"),
            "{err}"
        );
        assert!(
            err.contains("/components/schemas/S/properties/tuple/items: a list of schemas"),
            "{err}"
        );
        assert!(
            err.contains("/components/schemas/S/properties/odd: unknown type `float`"),
            "{err}"
        );
    }

    #[test]
    fn schemas_everywhere_in_the_structure_are_converted() {
        let mut doc = json!({
            "openapi": "3.1.1",
            "info": {"title": "t", "version": "1", "summary": "s", "license": {"name": "MIT", "identifier": "MIT"}},
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
        assert_eq!(doc["info"]["x-summary"], "s");
        assert_eq!(doc["info"]["license"]["x-identifier"], "MIT");
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
        assert_eq!(to_openapi_3_0_3(&mut doc).unwrap(), 0);
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
            "openapi": "3.1.0", "info": {}, "paths": {"/a": {"get": {}}},
            "components": {"securitySchemes": {"m": {"type": "mutualTLS"}}}
        });
        let err = to_openapi_3_0_3(&mut doc).unwrap_err();
        assert!(
            err.contains("/components/securitySchemes/m: security scheme type `mutualTLS`"),
            "{err}"
        );
        assert!(
            err.contains("/paths/~1a/get: operation has no `responses`"),
            "{err}"
        );
    }
}
