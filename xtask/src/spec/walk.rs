//! Structure-aware traversal of an OpenAPI document.
//!
//! A generic walk over every JSON value would mistake data for structure: a
//! property *named* `example` holds a schema, while the keyword `example`
//! holds a literal that may even contain a `$ref` key. So this module knows
//! which object kinds sit where (OpenAPI 3.0 and 3.1 agree on this) and
//! visits only real structure.

use serde_json::Value;

use super::{HTTP_METHODS, push_token, ref_of};

/// The kind of OpenAPI object found at a position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    PathItem,
    Operation,
    Parameter,
    Header,
    RequestBody,
    Response,
    MediaType,
    Encoding,
    Schema,
    Example,
    Link,
    Callback,
    SecurityScheme,
}

impl Node {
    /// The kind of the entries of `components.<kind>`.
    pub fn of_component_kind(kind: &str) -> Option<Node> {
        Some(match kind {
            "schemas" => Node::Schema,
            "responses" => Node::Response,
            "parameters" => Node::Parameter,
            "examples" => Node::Example,
            "requestBodies" => Node::RequestBody,
            "headers" => Node::Header,
            "securitySchemes" => Node::SecurityScheme,
            "links" => Node::Link,
            "callbacks" => Node::Callback,
            "pathItems" => Node::PathItem,
            _ => return None,
        })
    }
}

/// The keywords of a 3.0.3 Schema Object whose value is one subschema (the
/// conversion refuses the 2020-12 ones, so their subschemas need no visit).
pub const SCHEMA_KEYWORDS: [&str; 3] = ["items", "additionalProperties", "not"];
/// Schema keywords whose value is a list of subschemas.
pub const SCHEMA_LIST_KEYWORDS: [&str; 3] = ["allOf", "anyOf", "oneOf"];

/// The direct children of `value` (an object of kind `node` at `pointer`),
/// each with its pointer and kind. Reference Objects have no children,
/// except that a 3.1 schema may carry keywords beside its `$ref`.
pub fn children<'a>(value: &'a Value, node: Node, pointer: &str) -> Vec<(String, Node, &'a Value)> {
    let mut out = Vec::new();
    let Some(map) = value.as_object() else {
        return out;
    };
    if node != Node::Schema && ref_of(value).is_some() {
        return out;
    }
    let one = |key: &str, kind: Node, out: &mut Vec<(String, Node, &'a Value)>| {
        if let Some(child) = map.get(key) {
            out.push((push_token(pointer, key), kind, child));
        }
    };
    let named =
        |key: &str, kind: Node, skip_extensions: bool, out: &mut Vec<(String, Node, &'a Value)>| {
            if let Some(Value::Object(entries)) = map.get(key) {
                let base = push_token(pointer, key);
                for (name, child) in entries {
                    if skip_extensions && name.starts_with("x-") {
                        continue;
                    }
                    out.push((push_token(&base, name), kind, child));
                }
            }
        };
    let listed = |key: &str, kind: Node, out: &mut Vec<(String, Node, &'a Value)>| {
        if let Some(Value::Array(items)) = map.get(key) {
            let base = push_token(pointer, key);
            for (i, child) in items.iter().enumerate() {
                out.push((push_token(&base, &i.to_string()), kind, child));
            }
        }
    };
    match node {
        Node::PathItem => {
            listed("parameters", Node::Parameter, &mut out);
            for method in HTTP_METHODS {
                one(method, Node::Operation, &mut out);
            }
        }
        Node::Operation => {
            listed("parameters", Node::Parameter, &mut out);
            one("requestBody", Node::RequestBody, &mut out);
            named("responses", Node::Response, true, &mut out);
            named("callbacks", Node::Callback, false, &mut out);
        }
        Node::Callback => {
            for (expression, child) in map {
                if !expression.starts_with("x-") {
                    out.push((push_token(pointer, expression), Node::PathItem, child));
                }
            }
        }
        Node::Parameter | Node::Header => {
            one("schema", Node::Schema, &mut out);
            named("content", Node::MediaType, false, &mut out);
            named("examples", Node::Example, false, &mut out);
        }
        Node::MediaType => {
            one("schema", Node::Schema, &mut out);
            named("examples", Node::Example, false, &mut out);
            named("encoding", Node::Encoding, false, &mut out);
        }
        Node::Encoding => named("headers", Node::Header, false, &mut out),
        Node::RequestBody => named("content", Node::MediaType, false, &mut out),
        Node::Response => {
            named("headers", Node::Header, false, &mut out);
            named("content", Node::MediaType, false, &mut out);
            named("links", Node::Link, false, &mut out);
        }
        Node::Schema => {
            named("properties", Node::Schema, false, &mut out);
            for key in SCHEMA_KEYWORDS {
                one(key, Node::Schema, &mut out);
            }
            for key in SCHEMA_LIST_KEYWORDS {
                listed(key, Node::Schema, &mut out);
            }
        }
        Node::Example | Node::Link | Node::SecurityScheme => {}
    }
    out
}

/// Pointers of the `content/<media type>/schema` entries of `value` (an
/// object of kind `node` at `pointer`, such as a request body or a
/// response), for the media types that have a schema.
pub fn content_schemas(value: &Value, node: Node, pointer: &str) -> Vec<String> {
    children(value, node, pointer)
        .into_iter()
        .filter(|(_, kind, media)| *kind == Node::MediaType && media.get("schema").is_some())
        .map(|(at, _, _)| push_token(&at, "schema"))
        .collect()
}

/// Calls `f` on `value` and, while `f` returns true, on its descendants,
/// depth first in document order.
pub fn visit<'a>(
    value: &'a Value,
    node: Node,
    pointer: &str,
    f: &mut dyn FnMut(&'a Value, Node, &str) -> bool,
) {
    if f(value, node, pointer) {
        for (child_pointer, kind, child) in children(value, node, pointer) {
            visit(child, kind, &child_pointer, f);
        }
    }
}

/// The top-level structure of a document: every path item and every
/// component, with pointers and kinds, in document order.
pub fn roots(doc: &Value) -> Vec<(String, Node, &Value)> {
    let mut out = Vec::new();
    if let Some(Value::Object(paths)) = doc.get("paths") {
        for (path, item) in paths {
            if !path.starts_with("x-") {
                out.push((super::pointer_of(&["paths", path]), Node::PathItem, item));
            }
        }
    }
    if let Some(Value::Object(components)) = doc.get("components") {
        for (kind, entries) in components {
            let (Some(node), Value::Object(entries)) = (Node::of_component_kind(kind), entries)
            else {
                continue;
            };
            for (name, item) in entries {
                out.push((super::pointer_of(&["components", kind, name]), node, item));
            }
        }
    }
    out
}

/// Resolves one reference (`#/components/schemas/Foo`) found at `at`: the
/// pointer and value it leads to. Only local references are supported.
pub fn target<'a>(
    doc: &'a Value,
    at: &str,
    reference: &str,
) -> Result<(String, &'a Value), String> {
    let Some(pointer) = reference.strip_prefix('#') else {
        return Err(format!(
            "$ref at {at} points outside the document (`{reference}`); only local references are supported"
        ));
    };
    match doc.pointer(pointer) {
        Some(value) => Ok((pointer.to_owned(), value)),
        None => Err(format!(
            "dangling $ref at {at}: `{reference}` does not exist in the document"
        )),
    }
}

/// Follows `value` (found at `at`) through `$ref`s to the object it stands
/// for, and returns that object's pointer and value (`at` and `value`
/// themselves when `value` is no reference). This is the one place where
/// references are resolved.
pub fn deref<'a>(
    doc: &'a Value,
    at: &str,
    value: &'a Value,
) -> Result<(String, &'a Value), String> {
    let (mut at, mut value) = (at.to_owned(), value);
    for _ in 0..64 {
        match ref_of(value) {
            Some(reference) => (at, value) = target(doc, &at, reference)?,
            None => return Ok((at, value)),
        }
    }
    Err(format!("$ref at {at} is part of a cycle of references"))
}

/// One reference found in the document: a `$ref`, or a value of a
/// discriminator's `mapping`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefSite {
    /// The object holding `$ref`, or the mapping's string.
    pub at: String,
    /// The reference as a URI (`#/components/schemas/Foo`); a bare schema
    /// name in a discriminator mapping is expanded to that form.
    pub target: String,
}

/// Every reference under `value` (of kind `node`, at `pointer`).
pub fn ref_sites(value: &Value, node: Node, pointer: &str) -> Vec<RefSite> {
    let mut out = Vec::new();
    visit(value, node, pointer, &mut |v, kind, at| {
        if let Some(target) = ref_of(v) {
            out.push(RefSite {
                at: at.to_owned(),
                target: target.to_owned(),
            });
        }
        if kind == Node::Schema
            && let Some(Value::Object(mapping)) =
                v.get("discriminator").and_then(|d| d.get("mapping"))
        {
            let base = push_token(&push_token(at, "discriminator"), "mapping");
            for (key, target) in mapping {
                if let Some(target) = target.as_str() {
                    let target = if target.contains('#') || target.contains('/') {
                        target.to_owned()
                    } else {
                        super::component_ref("schemas", target)
                    };
                    out.push(RefSite {
                        at: push_token(&base, key),
                        target,
                    });
                }
            }
        }
        true
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refs_are_found_in_structure_but_not_in_literals() {
        let op = json!({
            "parameters": [{"$ref": "#/components/parameters/P"}],
            "requestBody": {"content": {"application/json": {
                "schema": {"properties": {
                    "example": {"$ref": "#/components/schemas/Named"},
                    "x": {"type": "string", "example": {"$ref": "not a reference"}}
                }},
                "examples": {"one": {"value": {"$ref": "data"}}}
            }}},
            "responses": {
                "200": {"$ref": "#/components/responses/Ok"},
                "x-note": {"$ref": "ignored"}
            }
        });
        let sites = ref_sites(&op, Node::Operation, "/op");
        let targets: Vec<&str> = sites.iter().map(|s| s.target.as_str()).collect();
        assert_eq!(
            targets,
            [
                "#/components/parameters/P",
                "#/components/schemas/Named",
                "#/components/responses/Ok"
            ]
        );
        assert_eq!(
            sites[1].at,
            "/op/requestBody/content/application~1json/schema/properties/example"
        );
    }

    #[test]
    fn discriminator_mappings_count_as_references() {
        let schema = json!({
            "oneOf": [{"$ref": "#/components/schemas/A"}],
            "discriminator": {"propertyName": "t", "mapping": {"a": "A", "b": "#/components/schemas/B"}}
        });
        let sites = ref_sites(&schema, Node::Schema, "");
        let found: Vec<(&str, &str)> = sites
            .iter()
            .map(|s| (s.at.as_str(), s.target.as_str()))
            .collect();
        let expected = [
            ("/discriminator/mapping/a", "#/components/schemas/A"),
            ("/discriminator/mapping/b", "#/components/schemas/B"),
            ("/oneOf/0", "#/components/schemas/A"),
        ];
        assert_eq!(found, expected);
    }

    #[test]
    fn schema_refs_with_siblings_are_still_walked() {
        let schema = json!({"$ref": "#/components/schemas/A", "properties": {"b": {"$ref": "#/components/schemas/B"}}});
        let sites = ref_sites(&schema, Node::Schema, "");
        assert_eq!(sites.len(), 2);
        // Outside schemas a Reference Object is opaque.
        let response = json!({"$ref": "#/components/responses/R", "content": {"a/b": {"schema": {"$ref": "#/x"}}}});
        assert_eq!(ref_sites(&response, Node::Response, "").len(), 1);
    }

    #[test]
    fn references_resolve_through_chains_and_fail_with_their_pointer() {
        let doc = json!({"components": {"schemas": {
            "A": {"$ref": "#/components/schemas/B"},
            "B": {"type": "string"},
            "C": {"$ref": "#/components/schemas/C"}
        }}});
        let r = json!({"$ref": "#/components/schemas/A"});
        let (at, value) = deref(&doc, "/x", &r).unwrap();
        assert_eq!(
            (at.as_str(), value),
            ("/components/schemas/B", &json!({"type": "string"}))
        );
        assert_eq!(
            deref(&doc, "/y", &json!({"type": "integer"})).unwrap().0,
            "/y"
        );
        let error = |target: &str| deref(&doc, "/x", &json!({ "$ref": target })).unwrap_err();
        let gone =
            "dangling $ref at /x: `#/components/schemas/Gone` does not exist in the document";
        assert_eq!(error("#/components/schemas/Gone"), gone);
        assert!(error("other.yaml#/X").contains("points outside the document"));
        assert!(error("#/components/schemas/C").contains("cycle"));
    }

    #[test]
    fn roots_list_paths_and_components() {
        let doc = json!({
            "paths": {"/a": {}, "x-ext": {}},
            "components": {"schemas": {"S": {}}, "securitySchemes": {"k": {}}, "x-custom": {"y": {}}}
        });
        let found: Vec<(String, Node)> = roots(&doc).into_iter().map(|(p, n, _)| (p, n)).collect();
        assert_eq!(
            found,
            [
                ("/paths/~1a".to_owned(), Node::PathItem),
                ("/components/schemas/S".to_owned(), Node::Schema),
                (
                    "/components/securitySchemes/k".to_owned(),
                    Node::SecurityScheme
                )
            ]
        );
    }
}
