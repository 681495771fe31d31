//! Transform: a `default` response beside a success answer becomes `4XX`
//! and `5XX`.
//!
//! progenitor (progenitor-impl method.rs) reads `default` as a success *and*
//! an error: it counts it among the success types and asserts that there is
//! at most one, so `200` with one body plus `default` with another panics.
//! `4XX` and `5XX` are error-only there (matched as `400..=499` and
//! `500..=599`), which is what `default` means beside a declared success.
//! progenitor sorts a range before the numbered codes it contains, which
//! would make those arms unreachable, so a class that already has numbered
//! codes gets no range: its other statuses reach progenitor's catch-all
//! (`UnexpectedResponse`), as any undeclared status does. Statuses outside
//! 4xx and 5xx that `default` also covered (1xx, 3xx, other 2xx) reach the
//! catch-all too. An operation whose only answer is `default` keeps it:
//! progenitor takes that as the success answer.

use serde_json::Value;

use crate::spec::select::Selected;
use crate::spec::{index_of, push_token};

pub const NAME: &str = "default-error-responses";
pub const WHY: &str = "progenitor counts a `default` response among the success types and panics on a second success type (method.rs asserts one); `4XX`/`5XX` are error-only there";

/// Rewrites the `default` responses of `operations`. Returns a one-line account.
pub fn split_defaults(doc: &mut Value, operations: &[Selected]) -> String {
    let mut done = Vec::new();
    for op in operations {
        let at = push_token(&op.pointer(), "responses");
        let Some(Value::Object(responses)) = doc.pointer_mut(&at) else {
            continue;
        };
        let Some(position) = index_of(responses, "default") else {
            continue;
        };
        if !responses.keys().any(|k| k.starts_with('2')) {
            continue;
        }
        let default = responses.shift_remove("default").unwrap_or_default();
        let (mut added, mut kept) = (Vec::new(), Vec::new());
        for class in ['4', '5'] {
            let numbered: Vec<String> = responses
                .keys()
                .filter(|k| k.starts_with(class))
                .cloned()
                .collect();
            if numbered.is_empty() {
                let range = format!("{class}XX");
                responses.shift_insert(position + added.len(), range.clone(), default.clone());
                added.push(range);
            } else {
                kept.push(format!("{class}xx other than {}", numbered.join(", ")));
            }
        }
        let mut line = format!(
            "{}: default -> {}",
            op.id,
            if added.is_empty() {
                "(none)".to_owned()
            } else {
                added.join(", ")
            }
        );
        if !kept.is_empty() {
            line.push_str(&format!(" ({} reach the catch-all)", kept.join("; ")));
        }
        done.push(line);
    }
    if done.is_empty() {
        "no `default` responses beside a success".to_owned()
    } else {
        done.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::select::find_operations;
    use serde_json::json;

    #[test]
    fn a_default_beside_a_success_becomes_the_ranges_without_numbered_codes() {
        let error = json!({"$ref": "#/components/responses/Error"});
        let cases = [
            (
                json!({"200": {}, "default": error}),
                "default -> 4XX, 5XX",
                vec!["200", "4XX", "5XX"],
            ),
            (
                json!({"200": {}, "404": {}, "default": {}, "429": {}}),
                "default -> 5XX (4xx other than 404, 429 reach the catch-all)",
                vec!["200", "404", "5XX", "429"],
            ),
            (
                json!({"200": {}, "400": {}, "500": {}, "default": {}}),
                "default -> (none) (4xx other than 400; 5xx other than 500 reach the catch-all)",
                vec!["200", "400", "500"],
            ),
        ];
        for (responses, line, keys) in cases {
            let mut doc = json!({"paths": {"/k": {"patch": {"operationId": "update", "responses": responses}}}});
            let ops = find_operations(&doc, &[("updateKey", "PATCH", "/k")]).unwrap();
            assert_eq!(split_defaults(&mut doc, &ops), format!("updateKey: {line}"));
            let responses = &doc["paths"]["/k"]["patch"]["responses"];
            assert_eq!(
                responses.as_object().unwrap().keys().collect::<Vec<_>>(),
                keys
            );
            if let Some(range) = responses.get("4XX") {
                assert_eq!((range, &responses["5XX"]), (&error, &error));
            }
        }
        // With no success declared, `default` is the success and stays.
        let mut doc = json!({"paths": {"/k": {"patch": {"responses": {"default": {}}}}}});
        let ops = find_operations(&doc, &[("updateKey", "PATCH", "/k")]).unwrap();
        assert_eq!(
            split_defaults(&mut doc, &ops),
            "no `default` responses beside a success"
        );
        assert_eq!(
            doc["paths"]["/k"]["patch"]["responses"],
            json!({"default": {}})
        );
    }
}
