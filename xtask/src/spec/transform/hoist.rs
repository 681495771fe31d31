//! Transform: hoist inline request bodies into named components.
//!
//! typify applies `with_replacement` only to named schemas, and build.rs
//! replaces `<OperationId>Request` (e.g. `UpdateKeysRequest`) with the
//! handwritten request type. So the inline body schema of each selected
//! operation moves to `components.schemas.<OperationIdPascalCase>Request`.
//! A body that already refers to a component is renamed to that name when
//! nothing else uses the component.

use serde_json::{Value, json};

use crate::spec::select::Operation;
use crate::spec::{component_ref, parse_component_ref, pascal_case, push_token, ref_of, resolve};

pub const NAME: &str = "hoist-request-bodies";
pub const WHY: &str = "typify honours `with_replacement` only for named schemas, and build.rs replaces `<OperationId>Request` with the handwritten request type";

/// `updateKeys` -> `UpdateKeysRequest`.
pub fn request_schema_name(operation_id: &str) -> String {
    format!("{}Request", pascal_case(operation_id))
}

/// Hoists the request body schema of every operation. Returns a one-line
/// account (`updateKeys -> UpdateKeysRequest`).
pub fn hoist_request_bodies(doc: &mut Value, operations: &[Operation]) -> Result<String, String> {
    let mut done: Vec<String> = Vec::new();
    for op in operations {
        let name = request_schema_name(&op.id);
        let body_pointer = push_token(&op.pointer(), "requestBody");
        let Some(body) = doc.pointer(&body_pointer) else {
            continue;
        };
        let body_pointer = match ref_of(body) {
            Some(target) => {
                if resolve(doc, target).is_none() {
                    return Err(format!("dangling $ref at {body_pointer}: `{target}`"));
                }
                target.trim_start_matches('#').to_owned()
            }
            None => body_pointer,
        };
        let Some(Value::Object(content)) =
            doc.pointer(&body_pointer).and_then(|b| b.get("content"))
        else {
            continue;
        };

        let mut inline: Vec<(String, Value)> = Vec::new();
        let mut named: Vec<(String, String)> = Vec::new();
        for (media_type, media) in content {
            let Some(schema) = media.get("schema") else {
                continue;
            };
            let site = push_token(
                &push_token(&push_token(&body_pointer, "content"), media_type),
                "schema",
            );
            match ref_of(schema) {
                Some(target) => named.push((site, target.to_owned())),
                None => inline.push((site, schema.clone())),
            }
        }

        let wanted = component_ref("schemas", &name);
        if let Some((site, schema)) = inline.first() {
            if let Some((other, _)) = inline.iter().find(|(_, s)| s != schema) {
                return Err(format!(
                    "{}: the request body has different inline schemas at {site} and {other}; cannot hoist both into `{name}`",
                    op.id
                ));
            }
            if let Some((_, target)) = named.iter().find(|(_, t)| *t != wanted) {
                return Err(format!(
                    "{}: the request body mixes an inline schema ({site}) with `$ref: {target}`; cannot hoist into `{name}`",
                    op.id
                ));
            }
            if resolve(doc, &wanted).is_some() {
                return Err(format!(
                    "{}: cannot hoist the request body into `{name}`: /components/schemas/{name} already exists",
                    op.id
                ));
            }
            let schema = schema.clone();
            let sites: Vec<String> = inline.iter().map(|(s, _)| s.clone()).collect();
            let Some(schemas) = schemas_mut(doc) else {
                return Err("`components` is not a mapping".to_owned());
            };
            schemas.insert(name.clone(), schema);
            for site in sites {
                if let Some(slot) = doc.pointer_mut(&site) {
                    *slot = json!({ "$ref": wanted });
                }
            }
            done.push(format!("{} -> {name}", op.id));
        } else if let Some((site, target)) = named.first() {
            if *target == wanted {
                continue;
            }
            if let Some((other, t)) = named.iter().find(|(_, t)| t != target) {
                return Err(format!(
                    "{}: the request body refers to `{target}` at {site} and to `{t}` at {other}; cannot name both `{name}`",
                    op.id
                ));
            }
            let Some(component) = parse_component_ref(target).filter(|c| c.kind == "schemas")
            else {
                return Err(format!(
                    "{site}: `$ref: {target}` does not name a schema component"
                ));
            };
            let own_sites: Vec<&String> = named.iter().map(|(s, _)| s).collect();
            super::rename_schema(doc, &component.name, &name, &own_sites)?;
            done.push(format!(
                "{} -> {name} (renamed from {})",
                op.id, component.name
            ));
        }
    }
    Ok(if done.is_empty() {
        "no inline request bodies".to_owned()
    } else {
        done.join("; ")
    })
}

fn schemas_mut(doc: &mut Value) -> Option<&mut serde_json::Map<String, Value>> {
    doc.as_object_mut()?
        .entry("components")
        .or_insert_with(|| json!({}))
        .as_object_mut()?
        .entry("schemas")
        .or_insert_with(|| json!({}))
        .as_object_mut()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::select::find_operations;

    fn doc(body_schema: Value) -> Value {
        json!({
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": {"/k/{hash}": {"patch": {
                "operationId": "updateKeys",
                "requestBody": {"required": true, "content": {"application/json": {"schema": body_schema}}},
                "responses": {"200": {"description": "ok"}}
            }}},
            "components": {"schemas": {"Other": {"type": "string"}}}
        })
    }

    #[test]
    fn inline_body_is_hoisted_and_referenced() {
        let body = json!({"type": "object", "properties": {"name": {"type": "string"}}});
        let mut d = doc(body.clone());
        let ops = find_operations(&d, &["updateKeys"]).unwrap();
        assert_eq!(
            hoist_request_bodies(&mut d, &ops).unwrap(),
            "updateKeys -> UpdateKeysRequest"
        );
        assert_eq!(
            d["paths"]["/k/{hash}"]["patch"]["requestBody"]["content"]["application/json"]["schema"],
            json!({"$ref": "#/components/schemas/UpdateKeysRequest"})
        );
        assert_eq!(d["components"]["schemas"]["UpdateKeysRequest"], body);
        // Running again changes nothing.
        let again = d.clone();
        assert_eq!(
            hoist_request_bodies(&mut d, &ops).unwrap(),
            "no inline request bodies"
        );
        assert_eq!(d, again);
    }

    #[test]
    fn referenced_body_is_renamed_when_used_only_there() {
        let mut d = doc(json!({"$ref": "#/components/schemas/KeyPatch"}));
        d["components"]["schemas"]["KeyPatch"] = json!({"type": "object"});
        let ops = find_operations(&d, &["updateKeys"]).unwrap();
        let summary = hoist_request_bodies(&mut d, &ops).unwrap();
        assert_eq!(
            summary,
            "updateKeys -> UpdateKeysRequest (renamed from KeyPatch)"
        );
        assert!(d["components"]["schemas"].get("KeyPatch").is_none());
        assert_eq!(
            d["components"]["schemas"]["UpdateKeysRequest"],
            json!({"type": "object"})
        );

        let mut d = doc(json!({"$ref": "#/components/schemas/Other"}));
        d["components"]["schemas"]["Uses"] =
            json!({"items": {"$ref": "#/components/schemas/Other"}});
        let err = hoist_request_bodies(&mut d, &ops).unwrap_err();
        assert!(
            err.contains("/components/schemas/Uses/items also refers to it"),
            "{err}"
        );
    }

    #[test]
    fn name_clash_is_an_error() {
        let mut d = doc(json!({"type": "object"}));
        d["components"]["schemas"]["UpdateKeysRequest"] = json!({"type": "string"});
        let ops = find_operations(&d, &["updateKeys"]).unwrap();
        let err = hoist_request_bodies(&mut d, &ops).unwrap_err();
        assert!(
            err.contains("/components/schemas/UpdateKeysRequest already exists"),
            "{err}"
        );
    }

    #[test]
    fn names_follow_the_operation_id() {
        assert_eq!(request_schema_name("updateKeys"), "UpdateKeysRequest");
        assert_eq!(
            request_schema_name("create-guardrail"),
            "CreateGuardrailRequest"
        );
    }
}
