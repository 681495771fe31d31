//! Merging schemas that are structurally identical into one named component.
//!
//! Three transforms are this one operation: the error envelopes become
//! `ErrorResponse`/`ErrorData`, the key objects `ApiKey`, and each request
//! body `<OperationId>Request` (a merge of one). A site is a place that holds
//! a schema, inline or as a `$ref`; after the merge every site refers to the
//! component. Schemas that differ beyond documentation are never merged: the
//! error lists each difference with the pointers on both sides.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use crate::spec::walk::{self, Node, SCHEMA_KEYWORDS, SCHEMA_LIST_KEYWORDS};
use crate::spec::{component_ref, index_of, parse_component_ref, push_token, show};

/// Keys that only document a schema and may differ between merged schemas.
const DOCUMENTATION: [&str; 2] = ["description", "example"];

/// One distinct schema among the sites.
struct Source {
    /// The component's name, or the label of the first site holding it.
    label: String,
    pointer: String,
    value: Value,
}

/// Makes `components.schemas.<name>` the schema that every site in `sites`
/// (label, pointer) holds, and points the sites at it. With more than one
/// distinct source, the component's description becomes `about` followed by
/// the list of sources, and an `example` is kept only when all sources
/// agree on it. Returns the sources' labels, in the order used.
pub fn unify(
    doc: &mut Value,
    name: &str,
    about: &str,
    sites: &[(String, String)],
) -> Result<Vec<String>, String> {
    let mut sources: Vec<Source> = Vec::new();
    for (label, site) in sites {
        let Some(value) = doc.pointer(site) else {
            return Err(format!("{site} does not exist ({label})"));
        };
        let (pointer, value) = walk::deref(doc, site, value)?;
        if sources.iter().any(|s| s.pointer == pointer) {
            continue;
        }
        let label = match parse_component_ref(&format!("#{pointer}")) {
            Some((kind, name))
                if kind == "schemas" && component_ref(&kind, &name) == format!("#{pointer}") =>
            {
                name
            }
            _ => label.clone(),
        };
        sources.push(Source {
            label,
            pointer,
            value: value.clone(),
        });
    }
    // A canonical order, so that the input's key order cannot change which
    // source lends its documentation or how the sources are listed.
    sources.sort_by(|a, b| a.label.cmp(&b.label));
    let Some(first) = sources.first() else {
        return Ok(Vec::new());
    };

    let mut problems = Vec::new();
    for other in &sources[1..] {
        let mut comparer = Comparer {
            doc,
            diffs: Vec::new(),
            seen: HashSet::new(),
        };
        comparer.schema(&first.pointer, &other.pointer);
        if !comparer.diffs.is_empty() {
            let shown: Vec<String> = comparer.diffs.into_iter().take(12).collect();
            problems.push(format!(
                "{} vs {}:\n    {}",
                first.label,
                other.label,
                shown.join("\n    ")
            ));
        }
    }
    if !problems.is_empty() {
        return Err(format!(
            "cannot merge into one `{name}`: the schemas differ beyond documentation (description, example):\n  {}",
            problems.join("\n  ")
        ));
    }
    let wanted = component_ref("schemas", name);
    if doc.pointer(&wanted[1..]).is_some()
        && !sources.iter().any(|s| format!("#{}", s.pointer) == wanted)
    {
        return Err(format!(
            "cannot name the merged schema `{name}`: /components/schemas/{name} already exists and is something else"
        ));
    }

    let labels: Vec<String> = sources.iter().map(|s| s.label.clone()).collect();
    let mut merged = first.value.clone();
    if let (Value::Object(map), true) = (&mut merged, sources.len() > 1) {
        let description = format!(
            "{about} Unified by `cargo xtask refresh-spec` from the structurally identical upstream schemas {}.",
            labels.join(", ")
        );
        if sources
            .iter()
            .any(|s| s.value.get("example") != first.value.get("example"))
        {
            map.shift_remove("example");
        }
        match map.get_mut("description") {
            Some(slot) => *slot = Value::String(description),
            None => {
                map.shift_insert(0, "description".to_owned(), Value::String(description));
            }
        }
    }
    let anchor = parse_component_ref(&format!("#{}", first.pointer)).map(|(_, name)| name);
    let Some(schemas) = schemas_mut(doc) else {
        return Err("`components` or `components.schemas` is not a mapping".to_owned());
    };
    match anchor.and_then(|a| index_of(schemas, &a)) {
        Some(i) if !schemas.contains_key(name) => {
            schemas.shift_insert(i, name.to_owned(), merged);
        }
        _ => {
            schemas.insert(name.to_owned(), merged);
        }
    }
    for (_, site) in sites {
        if let Some(slot) = doc.pointer_mut(site) {
            *slot = json!({ "$ref": wanted });
        }
    }
    Ok(labels)
}

fn schemas_mut(doc: &mut Value) -> Option<&mut Map<String, Value>> {
    doc.as_object_mut()?
        .entry("components")
        .or_insert_with(|| json!({}))
        .as_object_mut()?
        .entry("schemas")
        .or_insert_with(|| json!({}))
        .as_object_mut()
}

/// Compares two schemas structurally, following `$ref`s on both sides and
/// ignoring documentation; records each difference with the pointers and
/// values on both sides. Subschemas are found by the document walk.
struct Comparer<'a> {
    doc: &'a Value,
    diffs: Vec<String>,
    seen: HashSet<(String, String)>,
}

impl Comparer<'_> {
    fn schema(&mut self, a: &str, b: &str) {
        let doc = self.doc;
        let resolved = |at: &str| {
            let value = doc
                .pointer(at)
                .ok_or_else(|| format!("{at} does not exist"))?;
            walk::deref(doc, at, value)
        };
        let ((pa, va), (pb, vb)) = match (resolved(a), resolved(b)) {
            (Ok(x), Ok(y)) => (x, y),
            (Err(e), _) | (_, Err(e)) => return self.diffs.push(e),
        };
        if !self.seen.insert((pa.clone(), pb.clone())) {
            return;
        }
        let (Value::Object(ma), Value::Object(mb)) = (va, vb) else {
            return self.literal(&pa, va, &pb, vb);
        };
        let mut keys: Vec<&String> = ma.keys().collect();
        keys.extend(mb.keys().filter(|k| !ma.contains_key(*k)));
        for key in keys {
            let (ka, kb) = (push_token(&pa, key), push_token(&pb, key));
            match (ma.get(key), mb.get(key)) {
                _ if DOCUMENTATION.contains(&key.as_str()) => {}
                (Some(x), None) => self
                    .diffs
                    .push(format!("{ka} is {}, but {pb} has no `{key}`", show(x))),
                (None, Some(y)) => self
                    .diffs
                    .push(format!("{pa} has no `{key}`, but {kb} is {}", show(y))),
                (Some(x), Some(y)) if holds_subschemas(key, x, y) => {}
                (Some(x), Some(y)) if key == "required" => {
                    let set = |v: &Value| -> Option<Vec<String>> {
                        let mut names: Vec<String> =
                            v.as_array()?.iter().map(Value::to_string).collect();
                        names.sort();
                        Some(names)
                    };
                    if set(x) != set(y) {
                        self.literal(&ka, x, &kb, y);
                    }
                }
                (Some(x), Some(y)) => self.literal(&ka, x, &kb, y),
                (None, None) => {}
            }
        }
        let relative = |base: &str, v: &Value| -> Vec<String> {
            walk::children(v, Node::Schema, base)
                .into_iter()
                .map(|(p, _, _)| p[base.len()..].to_owned())
                .collect()
        };
        let (ra, rb) = (relative(&pa, va), relative(&pb, vb));
        for rel in &ra {
            let (ca, cb) = (format!("{pa}{rel}"), format!("{pb}{rel}"));
            if rb.contains(rel) {
                self.schema(&ca, &cb);
            } else {
                self.diffs.push(format!("{ca} exists, but {cb} does not"));
            }
        }
        for rel in rb.iter().filter(|r| !ra.contains(r)) {
            self.diffs
                .push(format!("{pa}{rel} does not exist, but {pb}{rel} does"));
        }
    }

    fn literal(&mut self, ka: &str, x: &Value, kb: &str, y: &Value) {
        if x != y {
            self.diffs
                .push(format!("{ka} is {}, but {kb} is {}", show(x), show(y)));
        }
    }
}

/// Whether `key` holds subschemas on both sides, so that the walk compares
/// them one by one instead of as literals.
fn holds_subschemas(key: &str, x: &Value, y: &Value) -> bool {
    let keyword = key == "properties"
        || SCHEMA_KEYWORDS.contains(&key)
        || SCHEMA_LIST_KEYWORDS.contains(&key);
    keyword && ((x.is_object() && y.is_object()) || (x.is_array() && y.is_array()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        json!({
            "paths": {"/k": {"get": {"responses": {
                "200": {"content": {"application/json": {"schema": {
                    "properties": {"data": {"description": "one", "example": {"a": 1}, "type": "object", "required": ["b", "a"],
                        "properties": {"a": {"type": "integer"}, "b": {"type": "string", "description": "x"}}}}
                }}}},
                "400": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Bad"}}}}
            }}}},
            "components": {"schemas": {
                "First": {"type": "string"},
                "Bad": {"description": "two", "example": {"a": 1}, "type": "object", "required": ["a", "b"],
                    "properties": {"a": {"type": "integer"}, "b": {"$ref": "#/components/schemas/B"}}},
                "B": {"type": "string", "description": "y"}
            }}
        })
    }

    const DATA: &str =
        "/paths/~1k/get/responses/200/content/application~1json/schema/properties/data";

    fn sites() -> Vec<(String, String)> {
        let bad = "/paths/~1k/get/responses/400/content/application~1json/schema";
        vec![
            ("get 200 data".to_owned(), DATA.to_owned()),
            ("get 400".to_owned(), bad.to_owned()),
        ]
    }

    fn names(d: &Value) -> Vec<&str> {
        d["components"]["schemas"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect()
    }

    #[test]
    fn identical_schemas_merge_into_one_component_at_the_first_ones_place() {
        let mut d = doc();
        assert_eq!(
            unify(&mut d, "Thing", "A thing.", &sites()).unwrap(),
            ["Bad", "get 200 data"]
        );
        assert_eq!(names(&d), ["First", "Thing", "Bad", "B"]);
        let thing = &d["components"]["schemas"]["Thing"];
        let description = "A thing. Unified by `cargo xtask refresh-spec` from the structurally identical upstream schemas Bad, get 200 data.";
        assert_eq!(thing["description"], description);
        assert_eq!(
            thing["example"],
            json!({"a": 1}),
            "kept: both sources agree"
        );
        for (_, site) in sites() {
            assert_eq!(
                d.pointer(&site).unwrap(),
                &json!({"$ref": "#/components/schemas/Thing"})
            );
        }
        // Merging into a name that is one of the sources replaces it in place.
        let mut d = doc();
        assert_eq!(
            unify(&mut d, "Bad", "A thing.", &sites()).unwrap(),
            ["Bad", "get 200 data"]
        );
        assert_eq!(names(&d), ["First", "Bad", "B"]);
    }

    #[test]
    fn examples_that_differ_are_dropped_and_one_source_keeps_its_documentation() {
        let mut d = doc();
        d["components"]["schemas"]["Bad"]["example"] = json!({"a": 2});
        unify(&mut d, "Thing", "A thing.", &sites()).unwrap();
        assert!(d["components"]["schemas"]["Thing"].get("example").is_none());
        let mut d = doc();
        unify(&mut d, "Only", "Ignored.", &sites()[..1]).unwrap();
        assert_eq!(d["components"]["schemas"]["Only"]["description"], "one");
        assert_eq!(names(&d).last(), Some(&"Only"));
    }

    #[test]
    fn differences_clashes_and_missing_sites_are_errors_and_nothing_is_merged() {
        let mut d = doc();
        d["components"]["schemas"]["B"]["type"] = json!("integer");
        d["components"]["schemas"]["Bad"]["properties"]["extra"] = json!({});
        d["components"]["schemas"]["Bad"]["required"] = json!(["a"]);
        let before = d.clone();
        let err = unify(&mut d, "Thing", "A thing.", &sites()).unwrap_err();
        for expected in [
            "cannot merge into one `Thing`: the schemas differ beyond documentation (description, example):\n  Bad vs get 200 data:",
            &format!(
                "/components/schemas/Bad/required is [\"a\"], but {DATA}/required is [\"b\",\"a\"]"
            ),
            &format!(
                "/components/schemas/B/type is \"integer\", but {DATA}/properties/b/type is \"string\""
            ),
            &format!(
                "/components/schemas/Bad/properties/extra exists, but {DATA}/properties/extra does not"
            ),
        ] {
            assert!(err.contains(expected), "{expected} in {err}");
        }
        assert_eq!(d, before);
        let err = unify(&mut doc(), "First", "A thing.", &sites()).unwrap_err();
        assert!(
            err.contains("/components/schemas/First already exists and is something else"),
            "{err}"
        );
        let gone = [("gone".to_owned(), "/paths/~1nope".to_owned())];
        assert_eq!(
            unify(&mut doc(), "X", "A thing.", &gone).unwrap_err(),
            "/paths/~1nope does not exist (gone)"
        );
    }
}
