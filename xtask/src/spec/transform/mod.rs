//! The named transforms applied to the selected document, in order.
//!
//! Each transform is deterministic, records what it did in one line, and
//! fails (naming the JSON pointer) rather than guess.

pub mod errors;
pub mod hoist;
pub mod openapi30;

use serde_json::Value;

use super::walk::{Site, ref_sites, roots};
use super::{component_ref, rename_key};

/// A transform that ran, for the provenance header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub name: &'static str,
    /// One line: why the transform is needed.
    pub why: &'static str,
    /// One line: what it did to this document.
    pub detail: String,
}

/// `#/components/schemas/X` -> `/components/schemas/X`.
fn schema_pointer(reference: &str) -> String {
    reference.trim_start_matches('#').to_owned()
}

/// Renames `components.schemas.<old>` to `<new>` and rewrites the references
/// to it. Refuses when a reference other than `allowed` uses it.
fn rename_schema(doc: &mut Value, old: &str, new: &str, allowed: &[&String]) -> Result<(), String> {
    let old_ref = component_ref("schemas", old);
    let new_ref = component_ref("schemas", new);
    if super::resolve(doc, &new_ref).is_some() {
        return Err(format!(
            "cannot rename `{old}` to `{new}`: /components/schemas/{new} already exists"
        ));
    }
    let sites: Vec<_> = roots(doc)
        .into_iter()
        .flat_map(|(at, node, value)| ref_sites(value, node, &at))
        .filter(|s| s.target == old_ref || s.target.starts_with(&format!("{old_ref}/")))
        .collect();
    if let Some(other) = sites.iter().find(|s| !allowed.contains(&&s.at)) {
        return Err(format!(
            "cannot rename `{old}` to `{new}`: {} also refers to it",
            other.at
        ));
    }
    if let Some(Value::Object(schemas)) =
        doc.get_mut("components").and_then(|c| c.get_mut("schemas"))
    {
        rename_key(schemas, old, new);
    }
    for site in sites {
        let target = format!("{new_ref}{}", &site.target[old_ref.len()..]);
        match site.site {
            Site::Ref => {
                if let Some(Value::Object(map)) = doc.pointer_mut(&site.at) {
                    map.insert("$ref".to_owned(), Value::String(target));
                }
            }
            Site::Mapping => {
                if let Some(slot) = doc.pointer_mut(&site.at) {
                    *slot = Value::String(target);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rename_rewrites_refs_and_mappings() {
        let mut doc = json!({
            "paths": {"/a": {"get": {"responses": {"200": {"description": "", "content": {"a/b": {"schema": {"$ref": "#/components/schemas/Old"}}}}}}}},
            "components": {"schemas": {
                "First": {},
                "Old": {"properties": {"p": {"type": "string"}}},
                "U": {"oneOf": [{"$ref": "#/components/schemas/Old/properties/p"}], "discriminator": {"propertyName": "t", "mapping": {"o": "#/components/schemas/Old"}}}
            }}
        });
        let all: Vec<String> = vec![
            "/paths/~1a/get/responses/200/content/a~1b/schema".into(),
            "/components/schemas/U/discriminator/mapping/o".into(),
            "/components/schemas/U/oneOf/0".into(),
        ];
        let allowed: Vec<&String> = all.iter().collect();
        rename_schema(&mut doc, "Old", "New", &allowed).unwrap();
        let names: Vec<&String> = doc["components"]["schemas"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(names, ["First", "New", "U"]);
        assert_eq!(
            doc["components"]["schemas"]["U"]["oneOf"][0]["$ref"],
            "#/components/schemas/New/properties/p"
        );
        assert_eq!(
            doc["components"]["schemas"]["U"]["discriminator"]["mapping"]["o"],
            "#/components/schemas/New"
        );
        assert_eq!(
            doc["paths"]["/a"]["get"]["responses"]["200"]["content"]["a/b"]["schema"]["$ref"],
            "#/components/schemas/New"
        );
        let err = rename_schema(&mut doc, "New", "First", &allowed).unwrap_err();
        assert!(err.contains("already exists"), "{err}");
    }
}
