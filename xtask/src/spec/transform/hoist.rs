//! Transforms that give inline schemas names: the request bodies, and the
//! key object that several answers describe inline.
//!
//! typify applies `with_replacement` only to named schemas, and build.rs
//! replaces `<OperationId>Request` (`UpdateKeyRequest`) with the handwritten
//! request type; so each request body moves to
//! `components.schemas.<OperationIdPascalCase>Request`. A body that refers to
//! a component gets a copy of it under that name (the original goes if
//! nothing else uses it).

use serde_json::Value;

use super::unify::unify;
use crate::spec::select::Selected;
use crate::spec::walk::{Node, content_schemas, deref};
use crate::spec::{pascal_case, push_token};

pub const NAME: &str = "hoist-request-bodies";
pub const WHY: &str = "typify honours `with_replacement` only for named schemas, and build.rs replaces `<OperationId>Request` with the handwritten request type";

pub const KEY_NAME: &str = "unify-key-objects";
pub const KEY_WHY: &str = "the list, get, update and create answers describe the same key object inline; one named schema lets the library re-export one type";
/// The component the key objects become.
pub const KEY: &str = "ApiKey";

/// `updateKey` -> `UpdateKeyRequest`.
pub fn request_schema_name(operation_id: &str) -> String {
    format!("{}Request", pascal_case(operation_id))
}

/// Hoists the request body schema of every operation. Returns a one-line
/// account (`updateKey -> UpdateKeyRequest`).
pub fn hoist_request_bodies(doc: &mut Value, operations: &[Selected]) -> Result<String, String> {
    let mut done: Vec<String> = Vec::new();
    for op in operations {
        let at = push_token(&op.pointer(), "requestBody");
        let Some(body) = doc.pointer(&at) else {
            continue;
        };
        let (at, body) = deref(doc, &at, body)?;
        let sites: Vec<(String, String)> = content_schemas(body, Node::RequestBody, &at)
            .into_iter()
            .map(|site| (format!("{} request body", op.id), site))
            .collect();
        let name = request_schema_name(&op.id);
        let sources = unify(doc, &name, "The request body.", &sites)
            .map_err(|e| format!("{}: {e}", op.id))?;
        if !sources.is_empty() {
            done.push(format!("{} -> {name}", op.id));
        }
    }
    Ok(if done.is_empty() {
        "no request bodies".to_owned()
    } else {
        done.join("; ")
    })
}

/// Merges the key objects at `sites` (operation id, status, pointer within
/// that response's JSON body schema) into `ApiKey`.
pub fn unify_key_objects(
    doc: &mut Value,
    operations: &[Selected],
    sites: &[(&str, u16, &str)],
) -> Result<String, String> {
    let mut found = Vec::new();
    for (id, status, within) in sites {
        let Some(op) = operations.iter().find(|o| o.id == *id) else {
            return Err(format!(
                "the key object of `{id}` is listed, but `{id}` is not selected"
            ));
        };
        let mut at = push_token(&push_token(&op.pointer(), "responses"), &status.to_string());
        let missing = |at: &str| {
            format!("{id} {status}: no key object at {at} (the JSON body schema's {within})")
        };
        for token in format!("/content/application~1json/schema{within}")
            .split('/')
            .skip(1)
        {
            let value = doc.pointer(&at).ok_or_else(|| missing(&at))?;
            at = format!("{}/{token}", deref(doc, &at, value)?.0);
        }
        if doc.pointer(&at).is_none() {
            return Err(missing(&at));
        }
        let shown = within.replace("/properties/", ".").replace("/items", "[]");
        found.push((
            format!("{id} {status} {}", shown.trim_start_matches('.')),
            at,
        ));
    }
    let about = "An API key as the API describes it.";
    let labels = unify(doc, KEY, about, &found)?;
    Ok(format!("{} -> {KEY}", labels.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::select::find_operations;
    use serde_json::json;

    /// PATCH with `body_schema` and an inline key object; GET whose answer
    /// is a response component with the key object inside a schema component.
    fn doc(body_schema: Value) -> Value {
        let key = json!({"type": "object", "properties": {"hash": {"type": "string"}}});
        json!({
            "paths": {"/k/{hash}": {
                "patch": {
                    "requestBody": {"required": true, "content": {"application/json": {"schema": body_schema}}},
                    "responses": {"200": {"content": {"application/json": {"schema": {"properties": {"data": key}}}}}}
                },
                "get": {"responses": {"200": {"$ref": "#/components/responses/Key"}}}
            }},
            "components": {
                "responses": {"Key": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/KeyAnswer"}}}}},
                "schemas": {"Other": {"type": "string"}, "KeyAnswer": {"properties": {"data": key}}}
            }
        })
    }

    fn ops() -> Vec<Selected> {
        let wanted = [
            ("updateKey", "PATCH", "/k/{hash}"),
            ("getKey", "GET", "/k/{hash}"),
        ];
        find_operations(&doc(json!({})), &wanted).unwrap()
    }

    #[test]
    fn request_bodies_are_hoisted_under_the_stable_name() {
        let body = json!({"type": "object", "properties": {"name": {"type": "string"}}});
        let mut d = doc(body.clone());
        assert_eq!(
            hoist_request_bodies(&mut d, &ops()).unwrap(),
            "updateKey -> UpdateKeyRequest"
        );
        let schema = &d["paths"]["/k/{hash}"]["patch"]["requestBody"]["content"]["application/json"]
            ["schema"];
        assert_eq!(
            schema,
            &json!({"$ref": "#/components/schemas/UpdateKeyRequest"})
        );
        assert_eq!(d["components"]["schemas"]["UpdateKeyRequest"], body);
        let again = d.clone();
        hoist_request_bodies(&mut d, &ops()).unwrap();
        assert_eq!(d, again, "running again changes nothing");

        let mut d = doc(json!({"$ref": "#/components/schemas/Other"}));
        assert_eq!(
            hoist_request_bodies(&mut d, &ops()).unwrap(),
            "updateKey -> UpdateKeyRequest"
        );
        assert_eq!(
            d["components"]["schemas"]["UpdateKeyRequest"],
            json!({"type": "string"})
        );

        d["paths"]["/k/{hash}"]["patch"]["requestBody"]["content"]["application/json"]["schema"] =
            json!({});
        d["components"]["schemas"]["UpdateKeyRequest"] = json!({"type": "integer"});
        let err = hoist_request_bodies(&mut d, &ops()).unwrap_err();
        assert!(
            err.starts_with("updateKey: cannot name the merged schema `UpdateKeyRequest`"),
            "{err}"
        );
        assert_eq!(
            request_schema_name("create-guardrail"),
            "CreateGuardrailRequest"
        );
    }

    #[test]
    fn key_objects_are_found_through_references_and_merged() {
        let mut d = doc(json!({}));
        let sites = [
            ("updateKey", 200, "/properties/data"),
            ("getKey", 200, "/properties/data"),
        ];
        assert_eq!(
            unify_key_objects(&mut d, &ops(), &sites).unwrap(),
            "getKey 200 data, updateKey 200 data -> ApiKey"
        );
        let key = json!({"$ref": "#/components/schemas/ApiKey"});
        assert_eq!(
            d["components"]["schemas"]["KeyAnswer"]["properties"]["data"],
            key
        );
        assert_eq!(
            d["paths"]["/k/{hash}"]["patch"]["responses"]["200"]["content"]["application/json"]["schema"]
                ["properties"]["data"],
            key
        );
        assert_eq!(
            d["components"]["schemas"]["ApiKey"]["properties"]["hash"],
            json!({"type": "string"})
        );

        let mut d = doc(json!({}));
        d["components"]["schemas"]["KeyAnswer"]["properties"]["data"]["properties"]["hash"] =
            json!({"type": "integer"});
        let err = unify_key_objects(&mut d, &ops(), &sites).unwrap_err();
        assert!(err.contains("cannot merge into one `ApiKey`"), "{err}");
        assert!(
            err.contains(
                "/components/schemas/KeyAnswer/properties/data/properties/hash/type is \"integer\""
            ),
            "{err}"
        );

        let err =
            unify_key_objects(&mut d, &ops(), &[("getKey", 200, "/properties/key")]).unwrap_err();
        assert!(
            err.starts_with(
                "getKey 200: no key object at /components/schemas/KeyAnswer/properties/key"
            ),
            "{err}"
        );
    }
}
