//! Cutting the selected operations, and everything they reference, out of
//! the upstream document.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::walk::{Node, RefSite, ref_sites, roots};
use super::{HTTP_METHODS, parse_component_ref, pointer_of, resolve, show};

/// Where a selected operation lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    pub id: String,
    pub path: String,
    /// Lower case, as written in the document (`patch`).
    pub method: String,
}

impl Operation {
    /// JSON pointer of the Operation Object.
    pub fn pointer(&self) -> String {
        pointer_of(&["paths", &self.path, &self.method])
    }
}

/// Checks that `doc` looks like an OpenAPI 3 document and returns its
/// `openapi` version.
pub fn check_document(doc: &Value) -> Result<&str, String> {
    let Some(map) = doc.as_object() else {
        return Err(format!(
            "not an OpenAPI document: the top level is {}, not a mapping",
            kind_of(doc)
        ));
    };
    if let Some(version) = map.get("swagger") {
        return Err(format!(
            "not an OpenAPI 3 document: it declares `swagger: {}` (Swagger 2.0 is not supported)",
            show(version)
        ));
    }
    let version = match map.get("openapi") {
        Some(Value::String(v)) => v.as_str(),
        Some(other) => {
            return Err(format!(
                "not an OpenAPI document: `openapi` is {}, not a version string",
                show(other)
            ));
        }
        None => {
            let keys: Vec<&str> = map.keys().map(String::as_str).take(8).collect();
            return Err(format!(
                "not an OpenAPI document: no top-level `openapi` field (top-level keys: {})",
                if keys.is_empty() {
                    "none".to_owned()
                } else {
                    keys.join(", ")
                }
            ));
        }
    };
    if !version.starts_with("3.") {
        return Err(format!(
            "not an OpenAPI 3 document: `openapi: {version}` (expected 3.0.x or 3.1.x)"
        ));
    }
    if !map.get("info").is_some_and(Value::is_object) {
        return Err("not an OpenAPI document: `info` is missing or not a mapping".to_owned());
    }
    if !map.get("paths").is_some_and(Value::is_object) {
        return Err("not an OpenAPI document: `paths` is missing or not a mapping".to_owned());
    }
    Ok(version)
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Finds the operations with the given ids, in `ids` order.
pub fn find_operations(doc: &Value, ids: &[&str]) -> Result<Vec<Operation>, String> {
    let mut found: Vec<Operation> = Vec::new();
    let mut total = 0usize;
    let empty = Map::new();
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for (path, item) in paths {
        if path.starts_with("x-") {
            continue;
        }
        let Some(item_map) = item.as_object() else {
            return Err(format!(
                "{} is {}, not a Path Item Object",
                pointer_of(&["paths", path]),
                show(item)
            ));
        };
        if let Some(target) = item_map.get("$ref").and_then(Value::as_str) {
            // Only matters when the referenced item holds a selected operation.
            let holds_selected = resolve(doc, target).is_some_and(|resolved| {
                HTTP_METHODS.iter().any(|m| {
                    resolved
                        .get(m)
                        .and_then(|op| op.get("operationId"))
                        .and_then(Value::as_str)
                        .is_some_and(|id| ids.contains(&id))
                })
            });
            if holds_selected {
                return Err(format!(
                    "{} is a reference (`{target}`) to a path item holding a selected operation; \
                     referenced path items are not supported",
                    pointer_of(&["paths", path])
                ));
            }
            continue;
        }
        for (method, operation) in item_map {
            if !HTTP_METHODS.contains(&method.as_str()) {
                continue;
            }
            total += 1;
            let Some(id) = operation.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            if !ids.contains(&id) {
                continue;
            }
            if let Some(first) = found.iter().find(|o| o.id == id) {
                return Err(format!(
                    "operationId `{id}` is used twice: by {} {} and by {} {}",
                    first.method.to_uppercase(),
                    first.path,
                    method.to_uppercase(),
                    path
                ));
            }
            found.push(Operation {
                id: id.to_owned(),
                path: path.clone(),
                method: method.clone(),
            });
        }
    }
    let missing: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| !found.iter().any(|o| o.id == *id))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "operationId {} not found: none of the document's {total} operations has it",
            missing
                .iter()
                .map(|id| format!("`{id}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    found.sort_by_key(|o| ids.iter().position(|id| *id == o.id));
    Ok(found)
}

/// The components (kind, name) that `sites` need, directly or transitively,
/// in discovery order. Every reference must resolve within `doc`.
pub fn closure(doc: &Value, mut pending: Vec<RefSite>) -> Result<Vec<(String, String)>, String> {
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut order = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    pending.reverse();
    while let Some(site) = pending.pop() {
        let target = site.target.as_str();
        if !target.starts_with('#') {
            errors.push(format!(
                "$ref at {} points outside the document (`{target}`); only local references are supported",
                site.at
            ));
            continue;
        }
        if resolve(doc, target).is_none() {
            errors.push(format!(
                "dangling $ref at {}: `{target}` does not exist in the document",
                site.at
            ));
            continue;
        }
        let Some(component) = parse_component_ref(target) else {
            errors.push(format!(
                "$ref at {} points to `{target}`, outside `components`; such references cannot be carried over",
                site.at
            ));
            continue;
        };
        let Some(kind) = Node::of_component_kind(&component.kind) else {
            errors.push(format!(
                "$ref at {} points to `{target}`, in an unknown component section `{}`",
                site.at, component.kind
            ));
            continue;
        };
        let key = (component.kind.clone(), component.name.clone());
        if !seen.insert(key.clone()) {
            continue;
        }
        let at = pointer_of(&["components", &component.kind, &component.name]);
        if let Some(value) = doc.pointer(&at) {
            let mut found = ref_sites(value, kind, &at);
            found.reverse();
            pending.extend(found);
        }
        order.push(key);
    }
    if errors.is_empty() {
        Ok(order)
    } else {
        errors.dedup();
        Err(errors.join("\n"))
    }
}

/// Names of the security schemes that `doc`'s requirements use: the global
/// `security` and each operation's own. Fails on a requirement that names a
/// scheme `schemes` does not define.
fn used_security_schemes(doc: &Value, schemes: Option<&Value>) -> Result<Vec<String>, String> {
    let mut lists: Vec<(String, &Value)> = Vec::new();
    if let Some(global) = doc.get("security") {
        lists.push(("/security".to_owned(), global));
    }
    if let Some(Value::Object(paths)) = doc.get("paths") {
        for (path, item) in paths {
            for method in HTTP_METHODS {
                if let Some(security) = item.get(method).and_then(|op| op.get("security")) {
                    lists.push((pointer_of(&["paths", path, method, "security"]), security));
                }
            }
        }
    }
    let mut names: Vec<String> = Vec::new();
    let mut errors = Vec::new();
    for (at, list) in lists {
        let Some(requirements) = list.as_array() else {
            errors.push(format!(
                "{at} is {}, not a list of security requirements",
                show(list)
            ));
            continue;
        };
        for (i, requirement) in requirements.iter().enumerate() {
            let Some(requirement) = requirement.as_object() else {
                errors.push(format!("{at}/{i} is not a security requirement mapping"));
                continue;
            };
            for name in requirement.keys() {
                if schemes.and_then(|s| s.get(name)).is_none() {
                    errors.push(format!(
                        "security requirement at {at}/{i} names `{name}`, which components.securitySchemes does not define"
                    ));
                } else if !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(names)
    } else {
        Err(errors.join("\n"))
    }
}

/// A new document holding only `operations` and what they reference:
/// `openapi`, `info`, `servers`, the global `security` when an operation
/// relies on it, the tags the operations use, their paths, and exactly the
/// components they need (including security schemes).
///
/// The top-level keys come in the conventional order; everything below
/// keeps the upstream order.
pub fn select(upstream: &Value, operations: &[Operation]) -> Result<Value, String> {
    let mut out = Map::new();
    for key in ["openapi", "info", "servers"] {
        if let Some(value) = upstream.get(key) {
            out.insert(key.to_owned(), value.clone());
        }
    }

    let inherits_global = operations.iter().any(|o| {
        upstream
            .pointer(&o.pointer())
            .is_some_and(|op| op.get("security").is_none())
    });
    if inherits_global && let Some(global) = upstream.get("security") {
        out.insert("security".to_owned(), global.clone());
    }

    let mut used_tags: Vec<&str> = Vec::new();
    for o in operations {
        if let Some(Value::Array(tags)) =
            upstream.pointer(&o.pointer()).and_then(|op| op.get("tags"))
        {
            used_tags.extend(tags.iter().filter_map(Value::as_str));
        }
    }
    if let Some(Value::Array(tags)) = upstream.get("tags") {
        let kept: Vec<Value> = tags
            .iter()
            .filter(|t| {
                t.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| used_tags.contains(&n))
            })
            .cloned()
            .collect();
        if !kept.is_empty() {
            out.insert("tags".to_owned(), Value::Array(kept));
        }
    }

    let mut paths = Map::new();
    if let Some(Value::Object(upstream_paths)) = upstream.get("paths") {
        for (path, item) in upstream_paths {
            let chosen: Vec<&str> = operations
                .iter()
                .filter(|o| &o.path == path)
                .map(|o| o.method.as_str())
                .collect();
            let Some(item) = item.as_object().filter(|_| !chosen.is_empty()) else {
                continue;
            };
            let kept: Map<String, Value> = item
                .iter()
                .filter(|(k, _)| {
                    !HTTP_METHODS.contains(&k.as_str()) || chosen.contains(&k.as_str())
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            paths.insert(path.clone(), Value::Object(kept));
        }
    }
    out.insert("paths".to_owned(), Value::Object(paths));

    let mut doc = Value::Object(out);
    let sites: Vec<RefSite> = roots(&doc)
        .into_iter()
        .flat_map(|(at, node, value)| ref_sites(value, node, &at))
        .collect();
    let needed = closure(upstream, sites)?;
    let schemes = used_security_schemes(
        &doc,
        upstream
            .get("components")
            .and_then(|c| c.get("securitySchemes")),
    )?;

    let mut components = Map::new();
    if let Some(Value::Object(upstream_components)) = upstream.get("components") {
        for (kind, entries) in upstream_components {
            let Value::Object(entries) = entries else {
                continue;
            };
            let kept: Map<String, Value> = entries
                .iter()
                .filter(|(name, _)| {
                    if kind == "securitySchemes" {
                        schemes.contains(name)
                    } else {
                        needed.iter().any(|(k, n)| k == kind && n == *name)
                    }
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if !kept.is_empty() {
                components.insert(kind.clone(), Value::Object(kept));
            }
        }
    }
    if !components.is_empty()
        && let Some(map) = doc.as_object_mut()
    {
        map.insert("components".to_owned(), Value::Object(components));
    }
    Ok(doc)
}

/// Removes every component that nothing in `paths` or the security
/// requirements needs any more (after transforms replaced references).
/// Returns the pointers of what was removed.
pub fn prune(doc: &mut Value) -> Result<Vec<String>, String> {
    let sites: Vec<RefSite> = roots(doc)
        .into_iter()
        .filter(|(at, _, _)| at.starts_with("/paths/"))
        .flat_map(|(at, node, value)| ref_sites(value, node, &at))
        .collect();
    let needed = closure(doc, sites)?;
    let schemes = used_security_schemes(
        doc,
        doc.get("components").and_then(|c| c.get("securitySchemes")),
    )?;
    let mut removed = Vec::new();
    if let Some(Value::Object(components)) = doc.get_mut("components") {
        for (kind, entries) in components.iter_mut() {
            let Value::Object(entries) = entries else {
                continue;
            };
            entries.retain(|name, _| {
                let keep = if kind == "securitySchemes" {
                    schemes.contains(name)
                } else {
                    needed.iter().any(|(k, n)| k == kind && n == name)
                };
                if !keep {
                    removed.push(pointer_of(&["components", kind, name]));
                }
                keep
            });
        }
        components.retain(|_, entries| entries.as_object().is_none_or(|e| !e.is_empty()));
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn upstream() -> Value {
        json!({
            "openapi": "3.1.0",
            "info": {"title": "T", "version": "1"},
            "servers": [{"url": "https://example.invalid"}],
            "security": [{"apiKey": []}],
            "tags": [{"name": "Keys"}, {"name": "Other"}],
            "x-top": true,
            "paths": {
                "/keys/{hash}": {
                    "parameters": [{"$ref": "#/components/parameters/Hash"}],
                    "get": {"operationId": "getKey", "responses": {"200": {"description": "ok"}}},
                    "patch": {
                        "operationId": "updateKeys",
                        "tags": ["Keys"],
                        "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Body"}}}},
                        "responses": {"400": {"$ref": "#/components/responses/Bad"}}
                    }
                },
                "/other": {"post": {"operationId": "other", "security": [{"bearer": []}], "responses": {}}}
            },
            "components": {
                "parameters": {"Hash": {"name": "hash", "in": "path", "required": true, "schema": {"type": "string"}}},
                "responses": {"Bad": {"description": "bad", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Err"}}}}},
                "schemas": {
                    "Unused": {"type": "string"},
                    "Err": {"properties": {"error": {"$ref": "#/components/schemas/ErrData"}}},
                    "Body": {"properties": {"kind": {"$ref": "#/components/schemas/Kind"}}},
                    "ErrData": {"type": "object"},
                    "Kind": {"enum": ["a"]}
                },
                "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}, "bearer": {"type": "http", "scheme": "bearer"}}
            }
        })
    }

    #[test]
    fn finds_operations_and_reports_missing_ones() {
        let doc = upstream();
        let ops = find_operations(&doc, &["updateKeys"]).unwrap();
        assert_eq!(
            ops,
            [Operation {
                id: "updateKeys".into(),
                path: "/keys/{hash}".into(),
                method: "patch".into()
            }]
        );
        assert_eq!(ops[0].pointer(), "/paths/~1keys~1{hash}/patch");
        let err = find_operations(&doc, &["updateKeys", "nope"]).unwrap_err();
        assert!(err.contains("`nope` not found"), "{err}");
        assert!(err.contains("3 operations"), "{err}");
    }

    #[test]
    fn duplicate_operation_ids_are_rejected() {
        let mut doc = upstream();
        doc["paths"]["/other"]["post"]["operationId"] = json!("updateKeys");
        let err = find_operations(&doc, &["updateKeys"]).unwrap_err();
        assert!(err.contains("used twice"), "{err}");
    }

    #[test]
    fn selection_copies_exactly_what_is_referenced() {
        let doc = upstream();
        let ops = find_operations(&doc, &["updateKeys"]).unwrap();
        let out = select(&doc, &ops).unwrap();
        let top: Vec<&String> = out.as_object().unwrap().keys().collect();
        assert_eq!(
            top,
            [
                "openapi",
                "info",
                "servers",
                "security",
                "tags",
                "paths",
                "components"
            ]
        );
        assert_eq!(out["tags"], json!([{"name": "Keys"}]));
        let item = out["paths"]["/keys/{hash}"].as_object().unwrap();
        assert_eq!(item.keys().collect::<Vec<_>>(), ["parameters", "patch"]);
        let schemas: Vec<&String> = out["components"]["schemas"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        // Upstream order, transitively referenced only.
        assert_eq!(schemas, ["Err", "Body", "ErrData", "Kind"]);
        assert!(out["components"]["parameters"]["Hash"].is_object());
        assert!(out["components"]["responses"]["Bad"].is_object());
        let schemes: Vec<&String> = out["components"]["securitySchemes"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(schemes, ["apiKey"]);
    }

    #[test]
    fn operation_level_security_replaces_the_global_one() {
        let doc = upstream();
        let ops = find_operations(&doc, &["other"]).unwrap();
        let out = select(&doc, &ops).unwrap();
        assert!(out.get("security").is_none());
        let schemes: Vec<&String> = out["components"]["securitySchemes"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(schemes, ["bearer"]);
    }

    #[test]
    fn dangling_references_name_their_pointer() {
        let mut doc = upstream();
        doc["components"]["schemas"]["Body"]["properties"]["kind"]["$ref"] =
            json!("#/components/schemas/Gone");
        let ops = find_operations(&doc, &["updateKeys"]).unwrap();
        let err = select(&doc, &ops).unwrap_err();
        assert!(
            err.contains("dangling $ref at /components/schemas/Body/properties/kind: `#/components/schemas/Gone`"),
            "{err}"
        );
    }

    #[test]
    fn unknown_security_schemes_are_errors() {
        let mut doc = upstream();
        doc["security"] = json!([{"missing": []}]);
        let ops = find_operations(&doc, &["updateKeys"]).unwrap();
        let err = select(&doc, &ops).unwrap_err();
        assert!(err.contains("names `missing`"), "{err}");
    }

    #[test]
    fn external_references_are_errors() {
        let mut doc = upstream();
        doc["components"]["schemas"]["Kind"] = json!({"$ref": "other.yaml#/Kind"});
        let ops = find_operations(&doc, &["updateKeys"]).unwrap();
        let err = select(&doc, &ops).unwrap_err();
        assert!(err.contains("outside the document"), "{err}");
    }

    #[test]
    fn prune_drops_what_became_unreferenced() {
        let doc = upstream();
        let ops = find_operations(&doc, &["updateKeys"]).unwrap();
        let mut out = select(&doc, &ops).unwrap();
        out["components"]["schemas"]["Body"]["properties"] = json!({});
        let removed = prune(&mut out).unwrap();
        assert_eq!(removed, ["/components/schemas/Kind"]);
        assert!(out["components"]["schemas"].get("Kind").is_none());
    }

    #[test]
    fn document_checks() {
        assert!(check_document(&json!([1])).unwrap_err().contains("a list"));
        assert!(
            check_document(&json!({"swagger": "2.0"}))
                .unwrap_err()
                .contains("Swagger 2.0")
        );
        assert!(
            check_document(&json!({"a": 1}))
                .unwrap_err()
                .contains("no top-level `openapi`")
        );
        assert!(check_document(&json!({"openapi": "2.1", "info": {}, "paths": {}})).is_err());
        assert_eq!(check_document(&upstream()).unwrap(), "3.1.0");
    }
}
