//! Cutting the selected operations, and everything they reference, out of
//! the upstream document.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::walk::{self, Node, RefSite, ref_sites, roots};
use super::{HTTP_METHODS, insert_after, parse_component_ref, pointer_of, show};

/// A selected operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selected {
    /// The stable operationId the fragment gives it.
    pub id: String,
    /// What upstream calls it, if anything.
    pub upstream_id: Option<String>,
    pub path: String,
    /// Lower case, as written in the document (`patch`).
    pub method: String,
}

impl Selected {
    /// JSON pointer of the Operation Object.
    pub fn pointer(&self) -> String {
        pointer_of(&["paths", &self.path, &self.method])
    }

    /// `updateKey (PATCH /keys/{hash})`.
    pub fn label(&self) -> String {
        format!("{} ({} {})", self.id, self.method.to_uppercase(), self.path)
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
    let supported = |v: &str| version == v || version.starts_with(&format!("{v}."));
    if !(supported("3.0") || supported("3.1")) {
        return Err(format!(
            "OpenAPI {version} is not supported (expected 3.0.x or 3.1.x)"
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

/// Finds the operations given as (stable id, method, path), in that order,
/// the method as HTTP spells it (`PATCH`). A missing one is an error that
/// says what the document has at its path.
pub fn find_operations(
    doc: &Value,
    wanted: &[(&str, &str, &str)],
) -> Result<Vec<Selected>, String> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for (id, http_method, path) in wanted {
        let method = http_method.to_ascii_lowercase();
        let at = pointer_of(&["paths", path]);
        let Some(item) = doc.pointer(&at) else {
            missing.push(format!(
                "{http_method} {path}: the document has no path {path}"
            ));
            continue;
        };
        let Some(operation) = item.get(&method).filter(|op| op.is_object()) else {
            let there: Vec<String> = HTTP_METHODS
                .iter()
                .filter_map(|m| {
                    let op = item.get(m)?;
                    let upstream = op
                        .get("operationId")
                        .and_then(Value::as_str)
                        .unwrap_or("no operationId");
                    Some(format!("{} ({upstream})", m.to_uppercase()))
                })
                .collect();
            missing.push(format!(
                "{http_method} {path}: not in the document, which has {} under {path}",
                if there.is_empty() {
                    "no operation".to_owned()
                } else {
                    there.join(", ")
                }
            ));
            continue;
        };
        found.push(Selected {
            id: (*id).to_owned(),
            upstream_id: operation
                .get("operationId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            path: (*path).to_owned(),
            method,
        });
    }
    if missing.is_empty() {
        Ok(found)
    } else {
        Err(format!(
            "selected operation not found:\n  {}",
            missing.join("\n  ")
        ))
    }
}

/// Gives each selected operation of `doc` its stable operationId, keeping
/// upstream's as `x-upstream-operation-id` when it differs. Returns a
/// one-line account for the header.
pub fn stable_ids(doc: &mut Value, operations: &[Selected]) -> String {
    let mut renamed = Vec::new();
    let mut kept = Vec::new();
    for op in operations {
        let Some(Value::Object(map)) = doc.pointer_mut(&op.pointer()) else {
            continue;
        };
        if op.upstream_id.as_deref() == Some(op.id.as_str()) {
            kept.push(op.id.clone());
            continue;
        }
        map.insert("operationId".to_owned(), Value::String(op.id.clone()));
        if let Some(upstream) = &op.upstream_id {
            insert_after(
                map,
                "operationId",
                UPSTREAM_ID,
                Value::String(upstream.clone()),
            );
        }
        renamed.push(format!(
            "{} -> {}",
            op.upstream_id.as_deref().unwrap_or("(none)"),
            op.id
        ));
    }
    match (renamed.is_empty(), kept.is_empty()) {
        (true, _) => "every upstream operationId is already the stable one".to_owned(),
        (false, true) => renamed.join(", "),
        (false, false) => format!("{} ({} kept)", renamed.join(", "), kept.join(", ")),
    }
}

/// The extension that keeps upstream's operationId beside the stable one.
pub const UPSTREAM_ID: &str = "x-upstream-operation-id";

/// The components (kind, name) that `sites` need, directly or transitively.
/// Every reference must resolve within `doc`.
pub fn closure(
    doc: &Value,
    mut pending: Vec<RefSite>,
) -> Result<HashSet<(String, String)>, String> {
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut errors: Vec<String> = Vec::new();
    pending.reverse();
    while let Some(site) = pending.pop() {
        let target = site.target.as_str();
        if let Err(e) = walk::target(doc, &site.at, target) {
            errors.push(e);
            continue;
        }
        let Some((component_kind, name)) = parse_component_ref(target) else {
            errors.push(format!(
                "$ref at {} points to `{target}`, outside `components`; such references cannot be carried over",
                site.at
            ));
            continue;
        };
        let Some(kind) = Node::of_component_kind(&component_kind) else {
            errors.push(format!(
                "$ref at {} points to `{target}`, in an unknown component section `{component_kind}`",
                site.at
            ));
            continue;
        };
        let at = pointer_of(&["components", &component_kind, &name]);
        if !seen.insert((component_kind, name)) {
            continue;
        }
        if let Some(value) = doc.pointer(&at) {
            let mut found = ref_sites(value, kind, &at);
            found.reverse();
            pending.extend(found);
        }
    }
    if errors.is_empty() {
        Ok(seen)
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

/// A new document holding only `operations` and what they need: `openapi`,
/// `info`, `servers`, the global `security` when an operation relies on it,
/// the tags the operations use, their paths, and (by `prune`) exactly the
/// components they reference, security schemes included. The top-level keys
/// come in the conventional order; everything below keeps upstream's.
pub fn select(upstream: Value, operations: &[Selected]) -> Result<Value, String> {
    let Value::Object(mut upstream) = upstream else {
        return Err("not an OpenAPI document: the top level is not a mapping".to_owned());
    };
    let ops: Vec<&Value> = operations
        .iter()
        .filter_map(|o| upstream.get("paths")?.get(&o.path)?.get(&o.method))
        .collect();
    let inherits_security = ops.iter().any(|op| op.get("security").is_none());
    let tags: Vec<Value> = ops
        .iter()
        .filter_map(|op| op.get("tags")?.as_array())
        .flatten()
        .cloned()
        .collect();
    let mut out = Map::new();
    for key in [
        "openapi",
        "info",
        "servers",
        "security",
        "tags",
        "paths",
        "components",
    ] {
        let Some(mut value) = upstream.shift_remove(key) else {
            continue;
        };
        match (key, &mut value) {
            ("security", _) if !inherits_security => continue,
            ("tags", Value::Array(list)) => {
                list.retain(|t| t.get("name").is_some_and(|n| tags.contains(n)));
                if list.is_empty() {
                    continue;
                }
            }
            ("paths", Value::Object(paths)) => paths.retain(|path, item| {
                let chosen = |m: &str| operations.iter().any(|o| o.path == *path && o.method == m);
                if let Value::Object(item) = item {
                    item.retain(|k, _| !HTTP_METHODS.contains(&k.as_str()) || chosen(k));
                }
                HTTP_METHODS.iter().any(|m| chosen(m))
            }),
            _ => {}
        }
        out.insert(key.to_owned(), value);
    }
    let mut doc = Value::Object(out);
    prune(&mut doc)?;
    Ok(doc)
}

/// Removes every component that nothing in `paths` or the security
/// requirements needs any more (after transforms replaced references).
/// Returns a one-line account (`removed A, B`).
pub fn prune(doc: &mut Value) -> Result<String, String> {
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
                    needed.contains(&(kind.clone(), name.clone()))
                };
                if !keep {
                    removed.push(name.clone());
                }
                keep
            });
        }
        components.retain(|_, entries| entries.as_object().is_none_or(|e| !e.is_empty()));
    }
    if doc
        .get("components")
        .and_then(Value::as_object)
        .is_some_and(Map::is_empty)
        && let Some(map) = doc.as_object_mut()
    {
        map.shift_remove("components");
    }
    removed.sort_unstable();
    Ok(match removed.is_empty() {
        true => "nothing to remove".to_owned(),
        false => format!("removed {}", removed.join(", ")),
    })
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

    const UPDATE: (&str, &str, &str) = ("updateKey", "PATCH", "/keys/{hash}");

    fn select_of(doc: &Value, wanted: (&str, &str, &str)) -> Result<Value, String> {
        select(doc.clone(), &find_operations(doc, &[wanted])?)
    }

    fn keys(value: &Value) -> Vec<&str> {
        value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect()
    }

    #[test]
    fn finds_operations_by_method_and_path_and_reports_missing_ones() {
        let doc = upstream();
        let ops = find_operations(&doc, &[UPDATE]).unwrap();
        let (path, method) = ("/keys/{hash}".into(), "patch".into());
        let expected = Selected {
            id: "updateKey".into(),
            upstream_id: Some("updateKeys".into()),
            path,
            method,
        };
        assert_eq!(ops, [expected]);
        assert_eq!(ops[0].pointer(), "/paths/~1keys~1{hash}/patch");
        assert_eq!(ops[0].label(), "updateKey (PATCH /keys/{hash})");
        let wanted = [
            UPDATE,
            ("deleteKey", "DELETE", "/keys/{hash}"),
            ("x", "GET", "/nope"),
        ];
        assert_eq!(
            find_operations(&doc, &wanted).unwrap_err(),
            "selected operation not found:\n  \
             DELETE /keys/{hash}: not in the document, which has GET (getKey), PATCH (updateKeys) under /keys/{hash}\n  \
             GET /nope: the document has no path /nope"
        );
    }

    #[test]
    fn stable_ids_replace_upstream_ones_and_keep_them_beside() {
        let mut doc = upstream();
        let wanted = [
            UPDATE,
            ("getKey", "GET", "/keys/{hash}"),
            ("other", "POST", "/other"),
        ];
        let ops = find_operations(&doc, &wanted).unwrap();
        assert_eq!(
            stable_ids(&mut doc, &ops),
            "updateKeys -> updateKey (getKey, other kept)"
        );
        let op = &doc["paths"]["/keys/{hash}"]["patch"];
        assert_eq!(keys(op)[..2], ["operationId", UPSTREAM_ID]);
        assert_eq!(
            (&op["operationId"], &op[UPSTREAM_ID]),
            (&json!("updateKey"), &json!("updateKeys"))
        );
        doc["paths"]["/other"]["post"]
            .as_object_mut()
            .unwrap()
            .shift_remove("operationId");
        let ops = find_operations(&doc, &[("createOther", "POST", "/other")]).unwrap();
        assert_eq!(stable_ids(&mut doc, &ops), "(none) -> createOther");
        assert!(doc["paths"]["/other"]["post"].get(UPSTREAM_ID).is_none());
    }

    #[test]
    fn selection_copies_exactly_what_is_referenced() {
        let out = select_of(&upstream(), UPDATE).unwrap();
        assert_eq!(
            keys(&out),
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
        assert_eq!(keys(&out["paths"]["/keys/{hash}"]), ["parameters", "patch"]);
        // Upstream order, transitively referenced only.
        assert_eq!(
            keys(&out["components"]["schemas"]),
            ["Err", "Body", "ErrData", "Kind"]
        );
        assert_eq!(keys(&out["components"]["parameters"]), ["Hash"]);
        assert_eq!(keys(&out["components"]["responses"]), ["Bad"]);
        assert_eq!(keys(&out["components"]["securitySchemes"]), ["apiKey"]);
        // An operation's own security replaces the global one.
        let out = select_of(&upstream(), ("other", "POST", "/other")).unwrap();
        assert!(out.get("security").is_none());
        assert_eq!(keys(&out["components"]["securitySchemes"]), ["bearer"]);
    }

    #[test]
    fn bad_references_and_unknown_schemes_name_their_pointer() {
        let mut doc = upstream();
        doc["components"]["schemas"]["Body"]["properties"]["kind"]["$ref"] =
            json!("#/components/schemas/Gone");
        let err = select_of(&doc, UPDATE).unwrap_err();
        let expected = "dangling $ref at /components/schemas/Body/properties/kind: `#/components/schemas/Gone`";
        assert!(err.contains(expected), "{err}");
        doc["components"]["schemas"]["Body"] = json!({"$ref": "other.yaml#/Kind"});
        let err = select_of(&doc, UPDATE).unwrap_err();
        assert!(
            err.contains("$ref at /components/schemas/Body points outside the document"),
            "{err}"
        );
        let mut doc = upstream();
        doc["security"] = json!([{"missing": []}]);
        let err = select_of(&doc, UPDATE).unwrap_err();
        assert!(
            err.contains("security requirement at /security/0 names `missing`"),
            "{err}"
        );
    }

    #[test]
    fn prune_drops_what_became_unreferenced() {
        let mut out = select_of(&upstream(), UPDATE).unwrap();
        out["components"]["schemas"]["Body"]["properties"] = json!({});
        assert_eq!(prune(&mut out).unwrap(), "removed Kind");
        assert!(out["components"]["schemas"].get("Kind").is_none());
    }

    #[test]
    fn document_checks() {
        let err = |doc: Value| check_document(&doc).unwrap_err();
        assert!(err(json!([1])).contains("the top level is a list"));
        assert!(err(json!({"swagger": "2.0"})).contains("Swagger 2.0"));
        assert!(err(json!({"a": 1})).contains("no top-level `openapi` field (top-level keys: a)"));
        for version in ["2.1", "3.2.0", "3.10.0", "3"] {
            let doc = json!({"openapi": version, "info": {}, "paths": {}});
            assert!(err(doc).contains("expected 3.0.x or 3.1.x"), "{version}");
        }
        for version in ["3.0", "3.0.3", "3.1.1"] {
            let doc = json!({"openapi": version, "info": {}, "paths": {}});
            assert_eq!(check_document(&doc), Ok(version), "{version}");
        }
        assert_eq!(check_document(&upstream()).unwrap(), "3.1.0");
    }
}
