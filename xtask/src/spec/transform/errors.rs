//! Transform: unify the error envelopes.
//!
//! Upstream gives every error status its own envelope schema
//! (`BadRequestResponse`, `NotFoundResponse`, ...), each with its own
//! `...ErrorData`, all with the same structure. progenitor requires a single
//! error type per operation, and the handwritten layer wants one error type
//! anyway, so the envelopes become `ErrorResponse` and their `error` objects
//! `ErrorData`. If upstream ever makes them differ, this fails and says where.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::spec::select::Operation;
use crate::spec::walk::{SCHEMA_KEYWORDS, SCHEMA_LIST_KEYWORDS, SCHEMA_MAP_KEYWORDS};
use crate::spec::{
    component_ref, index_of, parse_component_ref, push_token, ref_of, resolve, show,
};

pub const NAME: &str = "unify-error-envelopes";
pub const WHY: &str = "progenitor accepts only one error body type per operation, and upstream declares one structurally identical envelope per status";

/// Component name of the unified envelope (the handwritten layer uses it).
pub const ENVELOPE: &str = "ErrorResponse";
/// Component name of the envelope's `error` object.
pub const DATA: &str = "ErrorData";

/// Keys that only document a schema and may differ between envelopes.
const DOCUMENTATION: [&str; 5] = [
    "description",
    "example",
    "examples",
    "$comment",
    "externalDocs",
];

/// Is this response key an error status (`4xx`, `5XX`, `default`)?
pub fn is_error_status(code: &str) -> bool {
    code == "default" || code.starts_with('4') || code.starts_with('5')
}

/// One distinct envelope schema.
struct Envelope {
    /// Component name, when the response refers to a component.
    name: Option<String>,
    /// Where the schema itself lives.
    pointer: String,
    /// `operationId status` of the responses that use it.
    used_by: Vec<String>,
}

impl Envelope {
    fn sort_key(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.pointer)
    }

    fn label(&self) -> String {
        format!(
            "{} ({})",
            self.name.as_deref().unwrap_or(&self.pointer),
            self.used_by.join(", ")
        )
    }
}

/// Rewrites every error response body of `operations` to refer to
/// `ErrorResponse`. Returns a one-line account of what was unified.
pub fn unify_error_envelopes(doc: &mut Value, operations: &[Operation]) -> Result<String, String> {
    let (sites, mut envelopes) = find_envelopes(doc, operations)?;
    // A canonical order, so that the input's key order cannot change which
    // envelope lends its documentation or how the sources are listed.
    envelopes.sort_by(|a, b| a.sort_key().cmp(b.sort_key()));
    let Some(first) = envelopes.first() else {
        return Ok("no error responses".to_owned());
    };

    let mut problems = Vec::new();
    for other in &envelopes[1..] {
        let mut comparer = Comparer::new(doc);
        comparer.schema(&first.pointer, &other.pointer);
        if !comparer.diffs.is_empty() {
            let shown: Vec<String> = comparer.diffs.iter().take(12).cloned().collect();
            problems.push(format!(
                "{} vs {}:\n    {}",
                first.label(),
                other.label(),
                shown.join("\n    ")
            ));
        }
    }
    if !problems.is_empty() {
        return Err(format!(
            "cannot unify the error responses into one `{ENVELOPE}`: they differ beyond documentation \
             (description, example):\n  {}",
            problems.join("\n  ")
        ));
    }

    // The `error` object of each envelope.
    let mut data: Vec<(Option<String>, String)> = Vec::new();
    for envelope in &envelopes {
        let at = push_token(&push_token(&envelope.pointer, "properties"), "error");
        let Some(error) = doc.pointer(&at) else {
            return Err(format!(
                "error envelope {} has no `error` property ({at}); the client expects `{ENVELOPE}.error` to be `{DATA}`",
                envelope.label()
            ));
        };
        let entry = match ref_of(error) {
            Some(target) => match parse_component_ref(target) {
                Some(c) if c.kind == "schemas" => (Some(c.name), super::schema_pointer(target)),
                _ => {
                    return Err(format!(
                        "{at}: `$ref: {target}` does not name a schema component"
                    ));
                }
            },
            None => (None, at),
        };
        if !data.contains(&entry) {
            data.push(entry);
        }
    }
    data.sort_by(|(na, pa), (nb, pb)| na.as_deref().unwrap_or(pa).cmp(nb.as_deref().unwrap_or(pb)));

    let envelope_names: Vec<&str> = envelopes.iter().filter_map(|e| e.name.as_deref()).collect();
    let data_names: Vec<&str> = data.iter().filter_map(|(n, _)| n.as_deref()).collect();
    for (wanted, sources) in [(ENVELOPE, &envelope_names), (DATA, &data_names)] {
        if resolve(doc, &component_ref("schemas", wanted)).is_some() && !sources.contains(&wanted) {
            return Err(format!(
                "cannot name the unified schema `{wanted}`: /components/schemas/{wanted} already exists and is something else"
            ));
        }
    }

    let Some((first_data_name, first_data_pointer)) = data.first().cloned() else {
        return Err(format!(
            "no `error` object in the error envelope {}",
            first.label()
        ));
    };
    let mut envelope_schema = doc.pointer(&first.pointer).cloned().unwrap_or_default();
    let mut data_schema = doc
        .pointer(&first_data_pointer)
        .cloned()
        .unwrap_or_default();
    if let Some(map) = envelope_schema.as_object_mut() {
        document(
            map,
            format!(
                "The body of every error response. Unified by `cargo xtask refresh-spec` from the structurally identical upstream schemas {}.",
                labels(
                    &envelopes
                        .iter()
                        .map(|e| e.name.clone().unwrap_or_else(|| e.pointer.clone()))
                        .collect::<Vec<_>>()
                )
            ),
        );
        if let Some(Value::Object(properties)) = map.get_mut("properties") {
            properties.insert(
                "error".to_owned(),
                serde_json::json!({ "$ref": component_ref("schemas", DATA) }),
            );
        }
    }
    if let Some(map) = data_schema.as_object_mut() {
        document(
            map,
            format!(
                "The `error` object of `{ENVELOPE}`. Unified from {}.",
                labels(
                    &data
                        .iter()
                        .map(|(n, p)| n.clone().unwrap_or_else(|| p.clone()))
                        .collect::<Vec<_>>()
                )
            ),
        );
    }

    let Some(schemas) = doc
        .as_object_mut()
        .map(|m| {
            m.entry("components")
                .or_insert_with(|| Value::Object(Map::new()))
        })
        .and_then(Value::as_object_mut)
        .map(|c| {
            c.entry("schemas")
                .or_insert_with(|| Value::Object(Map::new()))
        })
        .and_then(Value::as_object_mut)
    else {
        return Err("`components` is not a mapping".to_owned());
    };
    place(schemas, first.name.as_deref(), ENVELOPE, envelope_schema);
    place(schemas, first_data_name.as_deref(), DATA, data_schema);

    let reference = serde_json::json!({ "$ref": component_ref("schemas", ENVELOPE) });
    for site in &sites {
        if let Some(slot) = doc.pointer_mut(site) {
            *slot = reference.clone();
        }
    }

    let mut summary = format!(
        "{} -> {ENVELOPE}",
        labels(
            &envelopes
                .iter()
                .map(|e| e.name.clone().unwrap_or_else(|| e.pointer.clone()))
                .collect::<Vec<_>>()
        )
    );
    summary.push_str(&format!(
        "; {} -> {DATA}",
        labels(
            &data
                .iter()
                .map(|(n, p)| n.clone().unwrap_or_else(|| p.clone()))
                .collect::<Vec<_>>()
        )
    ));
    Ok(summary)
}

fn labels(names: &[String]) -> String {
    names.join(", ")
}

/// Replaces the documentation of a unified schema: its description names
/// the sources, and the status-specific example goes.
fn document(map: &mut Map<String, Value>, description: String) {
    map.shift_remove("example");
    map.shift_remove("examples");
    if let Some(slot) = map.get_mut("description") {
        *slot = Value::String(description);
    } else {
        map.shift_insert(0, "description".to_owned(), Value::String(description));
    }
}

/// Puts `value` under `name`, at the position of `source` when there is one.
fn place(schemas: &mut Map<String, Value>, source: Option<&str>, name: &str, value: Value) {
    match source.and_then(|s| index_of(schemas, s)) {
        Some(i) => {
            schemas.shift_insert(i, name.to_owned(), value);
        }
        None => {
            schemas.insert(name.to_owned(), value);
        }
    }
}

/// Pointers of the error media-type schemas of `operations`, and the
/// distinct envelope schemas they use, in document order.
fn find_envelopes(
    doc: &Value,
    operations: &[Operation],
) -> Result<(Vec<String>, Vec<Envelope>), String> {
    let mut sites: Vec<String> = Vec::new();
    let mut envelopes: Vec<Envelope> = Vec::new();
    for op in operations {
        let op_pointer = op.pointer();
        let Some(Value::Object(responses)) =
            doc.pointer(&op_pointer).and_then(|o| o.get("responses"))
        else {
            continue;
        };
        for (code, response) in responses {
            if !is_error_status(code) {
                continue;
            }
            let mut response_pointer = push_token(&push_token(&op_pointer, "responses"), code);
            let mut response = response;
            if let Some(target) = ref_of(response) {
                let Some(resolved) = resolve(doc, target) else {
                    return Err(format!("dangling $ref at {response_pointer}: `{target}`"));
                };
                response_pointer = target.trim_start_matches('#').to_owned();
                response = resolved;
            }
            let Some(Value::Object(content)) = response.get("content") else {
                continue;
            };
            for (media_type, media) in content {
                let Some(schema) = media.get("schema") else {
                    continue;
                };
                let site = push_token(
                    &push_token(&push_token(&response_pointer, "content"), media_type),
                    "schema",
                );
                if sites.contains(&site) {
                    continue;
                }
                sites.push(site.clone());
                let (name, pointer) = match ref_of(schema) {
                    Some(target) => match parse_component_ref(target) {
                        Some(c) if c.kind == "schemas" => {
                            (Some(c.name), super::schema_pointer(target))
                        }
                        _ => {
                            return Err(format!(
                                "{site}: `$ref: {target}` does not name a schema component"
                            ));
                        }
                    },
                    None => (None, site.clone()),
                };
                let used = format!("{} {code}", op.id);
                match envelopes.iter_mut().find(|e| e.pointer == pointer) {
                    Some(e) => e.used_by.push(used),
                    None => envelopes.push(Envelope {
                        name,
                        pointer,
                        used_by: vec![used],
                    }),
                }
            }
        }
    }
    Ok((sites, envelopes))
}

/// Compares two schemas structurally, following `$ref`s on both sides and
/// ignoring documentation keys; records each difference with the pointers
/// and values on both sides.
struct Comparer<'a> {
    doc: &'a Value,
    diffs: Vec<String>,
    seen: HashSet<(String, String)>,
}

impl<'a> Comparer<'a> {
    fn new(doc: &'a Value) -> Self {
        Comparer {
            doc,
            diffs: Vec::new(),
            seen: HashSet::new(),
        }
    }

    /// Follows `$ref`s from `pointer` to the schema's own location.
    fn deref(&mut self, pointer: &str) -> Option<(String, &'a Value)> {
        let mut pointer = pointer.to_owned();
        for _ in 0..64 {
            let value = self.doc.pointer(&pointer)?;
            match ref_of(value) {
                Some(target) if target.starts_with('#') => {
                    pointer = target.trim_start_matches('#').to_owned()
                }
                _ => return Some((pointer, value)),
            }
        }
        None
    }

    fn schema(&mut self, a: &str, b: &str) {
        let (Some((pa, va)), Some((pb, vb))) = (self.deref(a), self.deref(b)) else {
            self.diffs.push(format!("cannot resolve {a} or {b}"));
            return;
        };
        if !self.seen.insert((pa.clone(), pb.clone())) {
            return;
        }
        let (Value::Object(ma), Value::Object(mb)) = (va, vb) else {
            if va != vb {
                self.diffs
                    .push(format!("{pa} is {}, but {pb} is {}", show(va), show(vb)));
            }
            return;
        };
        let mut keys: Vec<&String> = ma.keys().collect();
        keys.extend(mb.keys().filter(|k| !ma.contains_key(*k)));
        for key in keys {
            if DOCUMENTATION.contains(&key.as_str()) {
                continue;
            }
            let ka = push_token(&pa, key);
            let kb = push_token(&pb, key);
            match (ma.get(key), mb.get(key)) {
                (Some(x), None) => self
                    .diffs
                    .push(format!("{ka} is {}, but {pb} has no `{key}`", show(x))),
                (None, Some(y)) => self
                    .diffs
                    .push(format!("{pa} has no `{key}`, but {kb} is {}", show(y))),
                (Some(x), Some(y)) => self.keyword(key, &ka, x, &kb, y),
                (None, None) => {}
            }
        }
    }

    fn keyword(&mut self, key: &str, ka: &str, x: &Value, kb: &str, y: &Value) {
        if SCHEMA_MAP_KEYWORDS.contains(&key) {
            let (Value::Object(xa), Value::Object(yb)) = (x, y) else {
                return self.literal(ka, x, kb, y);
            };
            for name in xa.keys().filter(|n| !yb.contains_key(*n)) {
                self.diffs.push(format!(
                    "{} exists, but {} does not",
                    push_token(ka, name),
                    push_token(kb, name)
                ));
            }
            for name in yb.keys().filter(|n| !xa.contains_key(*n)) {
                self.diffs.push(format!(
                    "{} does not exist, but {} does",
                    push_token(ka, name),
                    push_token(kb, name)
                ));
            }
            for name in xa.keys().filter(|n| yb.contains_key(*n)) {
                self.schema(&push_token(ka, name), &push_token(kb, name));
            }
        } else if SCHEMA_LIST_KEYWORDS.contains(&key) || (key == "items" && x.is_array()) {
            let (Value::Array(xa), Value::Array(yb)) = (x, y) else {
                return self.literal(ka, x, kb, y);
            };
            if xa.len() != yb.len() {
                self.diffs.push(format!(
                    "{ka} has {} entries, but {kb} has {}",
                    xa.len(),
                    yb.len()
                ));
                return;
            }
            for i in 0..xa.len() {
                self.schema(
                    &push_token(ka, &i.to_string()),
                    &push_token(kb, &i.to_string()),
                );
            }
        } else if (SCHEMA_KEYWORDS.contains(&key) || key == "items")
            && x.is_object()
            && y.is_object()
        {
            self.schema(ka, kb);
        } else if key == "required" {
            let as_set = |v: &Value| -> Option<Vec<String>> {
                let mut names: Vec<String> = v.as_array()?.iter().map(|n| n.to_string()).collect();
                names.sort();
                Some(names)
            };
            if as_set(x) != as_set(y) {
                self.literal(ka, x, kb, y);
            }
        } else {
            self.literal(ka, x, kb, y);
        }
    }

    fn literal(&mut self, ka: &str, x: &Value, kb: &str, y: &Value) {
        if x != y {
            self.diffs
                .push(format!("{ka} is {}, but {kb} is {}", show(x), show(y)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::select::find_operations;
    use serde_json::json;

    fn envelope(data: &str, description: &str) -> Value {
        json!({
            "description": description,
            "example": {"error": {"code": 1}},
            "properties": {
                "error": {"$ref": format!("#/components/schemas/{data}")},
                "user_id": {"type": "string", "nullable": true}
            },
            "required": ["error"],
            "type": "object"
        })
    }

    fn data(code_type: &str) -> Value {
        json!({
            "description": "Error data",
            "properties": {"code": {"type": code_type}, "message": {"type": "string"}},
            "required": ["code", "message"],
            "type": "object"
        })
    }

    fn doc() -> Value {
        json!({
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": {"/k": {"patch": {
                "operationId": "updateKeys",
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}},
                    "400": {"description": "bad", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BadRequestResponse"}}}},
                    "404": {"description": "nf", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NotFoundResponse"}}}},
                    "500": {"$ref": "#/components/responses/Internal"}
                }
            }}},
            "components": {
                "responses": {"Internal": {"description": "ie", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InternalServerResponse"}}}}},
                "schemas": {
                    "BadRequestResponse": envelope("BadRequestResponseErrorData", "Bad request"),
                    "BadRequestResponseErrorData": data("integer"),
                    "NotFoundResponse": envelope("NotFoundResponseErrorData", "Not found"),
                    "NotFoundResponseErrorData": data("integer"),
                    "InternalServerResponse": envelope("InternalServerResponseErrorData", "Oops"),
                    "InternalServerResponseErrorData": data("integer")
                }
            }
        })
    }

    #[test]
    fn identical_envelopes_become_one() {
        let mut d = doc();
        let ops = find_operations(&d, &["updateKeys"]).unwrap();
        let summary = unify_error_envelopes(&mut d, &ops).unwrap();
        assert_eq!(
            summary,
            "BadRequestResponse, InternalServerResponse, NotFoundResponse -> ErrorResponse; \
             BadRequestResponseErrorData, InternalServerResponseErrorData, NotFoundResponseErrorData -> ErrorData"
        );
        let responses = &d["paths"]["/k"]["patch"]["responses"];
        for code in ["400", "404"] {
            assert_eq!(
                responses[code]["content"]["application/json"]["schema"],
                json!({"$ref": "#/components/schemas/ErrorResponse"})
            );
        }
        assert_eq!(
            d["components"]["responses"]["Internal"]["content"]["application/json"]["schema"],
            json!({"$ref": "#/components/schemas/ErrorResponse"})
        );
        // The success body is untouched.
        assert_eq!(
            responses["200"]["content"]["application/json"]["schema"],
            json!({"type": "object"})
        );
        let schemas = d["components"]["schemas"].as_object().unwrap();
        assert_eq!(
            schemas["ErrorResponse"]["properties"]["error"],
            json!({"$ref": "#/components/schemas/ErrorData"})
        );
        assert!(schemas["ErrorResponse"].get("example").is_none());
        assert_eq!(
            schemas["ErrorData"]["properties"]["code"]["type"],
            "integer"
        );
        crate::spec::select::prune(&mut d).unwrap();
        let left: Vec<&String> = d["components"]["schemas"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(left, ["ErrorResponse", "ErrorData"]);
    }

    #[test]
    fn a_structural_difference_is_reported_with_pointers_and_values() {
        let mut d = doc();
        d["components"]["schemas"]["NotFoundResponseErrorData"] = data("string");
        let ops = find_operations(&d, &["updateKeys"]).unwrap();
        let before = d.clone();
        let err = unify_error_envelopes(&mut d, &ops).unwrap_err();
        assert!(
            err.contains(
                "BadRequestResponse (updateKeys 400) vs NotFoundResponse (updateKeys 404)"
            ),
            "{err}"
        );
        assert!(
            err.contains(
                "/components/schemas/BadRequestResponseErrorData/properties/code/type is \"integer\", \
                 but /components/schemas/NotFoundResponseErrorData/properties/code/type is \"string\""
            ),
            "{err}"
        );
        assert!(
            !err.contains("InternalServerResponse (updateKeys 500) vs"),
            "{err}"
        );
        assert_eq!(d, before, "nothing is rewritten on failure");
    }

    #[test]
    fn added_and_missing_properties_and_requiredness_are_reported() {
        let mut d = doc();
        d["components"]["schemas"]["NotFoundResponse"]["properties"]["extra"] =
            json!({"type": "string"});
        d["components"]["schemas"]["InternalServerResponse"]["required"] =
            json!(["error", "user_id"]);
        let ops = find_operations(&d, &["updateKeys"]).unwrap();
        let err = unify_error_envelopes(&mut d, &ops).unwrap_err();
        assert!(
            err.contains("/components/schemas/BadRequestResponse/properties/extra does not exist, but /components/schemas/NotFoundResponse/properties/extra does"),
            "{err}"
        );
        assert!(
            err.contains("/components/schemas/BadRequestResponse/required is [\"error\"], but /components/schemas/InternalServerResponse/required is [\"error\",\"user_id\"]"),
            "{err}"
        );
    }

    #[test]
    fn documentation_and_required_order_do_not_count() {
        let mut d = doc();
        d["components"]["schemas"]["NotFoundResponseErrorData"]["required"] =
            json!(["message", "code"]);
        d["components"]["schemas"]["NotFoundResponseErrorData"]["properties"]["code"]["description"] =
            json!("other words");
        let ops = find_operations(&d, &["updateKeys"]).unwrap();
        assert!(unify_error_envelopes(&mut d, &ops).is_ok());
    }

    #[test]
    fn inline_envelopes_and_name_clashes() {
        let mut d = doc();
        d["paths"]["/k"]["patch"]["responses"]["404"]["content"]["application/json"]["schema"] =
            d["components"]["schemas"]["NotFoundResponse"].clone();
        let ops = find_operations(&d, &["updateKeys"]).unwrap();
        let summary = unify_error_envelopes(&mut d.clone(), &ops).unwrap();
        assert!(
            summary.contains("/paths/~1k/patch/responses/404/content/application~1json/schema"),
            "{summary}"
        );

        d["components"]["schemas"]["ErrorData"] = json!({"type": "string"});
        let err = unify_error_envelopes(&mut d, &ops).unwrap_err();
        assert!(
            err.contains("`ErrorData`: /components/schemas/ErrorData already exists"),
            "{err}"
        );
    }

    #[test]
    fn an_envelope_without_error_property_is_refused() {
        let mut d = doc();
        d["components"]["schemas"]["BadRequestResponse"]["properties"] =
            json!({"message": {"type": "string"}});
        for name in ["NotFoundResponse", "InternalServerResponse"] {
            d["components"]["schemas"][name]["properties"] = json!({"message": {"type": "string"}});
        }
        let ops = find_operations(&d, &["updateKeys"]).unwrap();
        let err = unify_error_envelopes(&mut d, &ops).unwrap_err();
        assert!(err.contains("has no `error` property"), "{err}");
    }

    #[test]
    fn error_statuses() {
        for code in ["400", "4XX", "503", "default"] {
            assert!(is_error_status(code));
        }
        for code in ["200", "2XX", "302"] {
            assert!(!is_error_status(code));
        }
    }
}
