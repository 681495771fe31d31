//! Transform: unify the error envelopes.
//!
//! Upstream gives every error status its own envelope schema
//! (`BadRequestResponse`, `ForbiddenResponse`, ...), each with its own
//! `...ErrorData`, all with the same structure. progenitor requires a single
//! error type per operation, and the handwritten layer wants one error type
//! anyway, so the envelopes become `ErrorResponse` and their `error` objects
//! `ErrorData`. If upstream ever makes them differ, this fails and says where.

use serde_json::Value;

use super::unify::unify;
use crate::spec::push_token;
use crate::spec::select::Selected;
use crate::spec::walk::{Node, content_schemas, deref};

pub const NAME: &str = "unify-error-envelopes";
pub const WHY: &str = "progenitor accepts only one error body type per operation, and upstream declares one structurally identical envelope per status";

/// Component name of the unified envelope (the handwritten layer uses it).
pub const ENVELOPE: &str = "ErrorResponse";
/// Component name of the envelope's `error` object.
pub const DATA: &str = "ErrorData";

/// Points every error response body of `operations` at `ErrorResponse`,
/// whose `error` is `ErrorData`. Returns a one-line account.
pub fn unify_error_envelopes(doc: &mut Value, operations: &[Selected]) -> Result<String, String> {
    // (label, pointer of the body schema) for every error response.
    let mut bodies: Vec<(String, String)> = Vec::new();
    for op in operations {
        let at = push_token(&op.pointer(), "responses");
        let Some(Value::Object(responses)) = doc.pointer(&at) else {
            continue;
        };
        let errors = responses.iter().filter(|(c, _)| c.starts_with(['4', '5']));
        for (code, response) in errors {
            let (pointer, response) = deref(doc, &push_token(&at, code), response)?;
            for site in content_schemas(response, Node::Response, &pointer) {
                bodies.push((format!("{} {code}", op.id), site));
            }
        }
    }
    if bodies.is_empty() {
        return Ok("no error responses".to_owned());
    }
    // The `error` object of each distinct envelope, merged first so that the
    // envelopes then agree on it.
    let mut data: Vec<(String, String)> = Vec::new();
    for (label, site) in &bodies {
        let (envelope, _) = deref(doc, site, doc.pointer(site).unwrap_or(&Value::Null))?;
        let error = push_token(&push_token(&envelope, "properties"), "error");
        if !data.iter().any(|(_, p)| *p == error) {
            data.push((format!("{label} error"), error));
        }
    }
    let data = unify(
        doc,
        DATA,
        &format!("The `error` object of `{ENVELOPE}`."),
        &data,
    )?;
    let envelopes = unify(doc, ENVELOPE, "The body of every error response.", &bodies)?;
    Ok(format!(
        "{} -> {ENVELOPE}; {} -> {DATA}",
        envelopes.join(", "),
        data.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::select::{find_operations, prune};
    use serde_json::json;

    /// Envelopes for 400 and 404 (inline responses) and 500 (a response
    /// component), each with its own `error` object.
    fn doc() -> Value {
        let envelope = |data: &str, example: i64| {
            json!({"description": data, "example": {"error": {"code": example}}, "type": "object",
            "properties": {"error": {"$ref": format!("#/components/schemas/{data}")}, "user_id": {"type": "string"}}, "required": ["error"]})
        };
        let data = json!({"type": "object", "properties": {"code": {"type": "integer"}, "message": {"type": "string"}}});
        let body = |name: &str| json!({"description": "e", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}}});
        json!({
            "paths": {"/k": {"patch": {"responses": {
                "200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}},
                "400": body("BadRequestResponse"), "404": body("NotFoundResponse"), "500": {"$ref": "#/components/responses/Internal"}
            }}}},
            "components": {
                "responses": {"Internal": body("InternalServerResponse")},
                "schemas": {
                    "BadRequestResponse": envelope("BadRequestResponseErrorData", 400), "BadRequestResponseErrorData": data,
                    "NotFoundResponse": envelope("NotFoundResponseErrorData", 404), "NotFoundResponseErrorData": data,
                    "InternalServerResponse": envelope("InternalServerResponseErrorData", 500), "InternalServerResponseErrorData": data
                }
            }
        })
    }

    fn unify(d: &mut Value) -> Result<String, String> {
        let ops = find_operations(&doc(), &[("updateKey", "PATCH", "/k")]).unwrap();
        unify_error_envelopes(d, &ops)
    }

    #[test]
    fn identical_envelopes_become_one() {
        let mut d = doc();
        assert_eq!(
            unify(&mut d).unwrap(),
            "BadRequestResponse, InternalServerResponse, NotFoundResponse -> ErrorResponse; \
             BadRequestResponseErrorData, InternalServerResponseErrorData, NotFoundResponseErrorData -> ErrorData"
        );
        let envelope = json!({"$ref": "#/components/schemas/ErrorResponse"});
        let responses = &d["paths"]["/k"]["patch"]["responses"];
        assert_eq!(
            responses["400"]["content"]["application/json"]["schema"],
            envelope
        );
        assert_eq!(
            responses["404"]["content"]["application/json"]["schema"],
            envelope
        );
        assert_eq!(
            d["components"]["responses"]["Internal"]["content"]["application/json"]["schema"],
            envelope
        );
        assert_eq!(
            responses["200"]["content"]["application/json"]["schema"],
            json!({"type": "object"})
        );
        let schemas = &d["components"]["schemas"];
        assert_eq!(
            schemas["ErrorResponse"]["properties"]["error"],
            json!({"$ref": "#/components/schemas/ErrorData"})
        );
        assert!(
            schemas["ErrorResponse"].get("example").is_none(),
            "the examples differ by status"
        );
        prune(&mut d).unwrap();
        let left: Vec<&String> = d["components"]["schemas"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(left, ["ErrorResponse", "ErrorData"]);
    }

    #[test]
    fn differing_or_incomplete_envelopes_are_refused() {
        let mut d = doc();
        d["components"]["schemas"]["NotFoundResponseErrorData"]["properties"]["code"]["type"] =
            json!("string");
        let err = unify(&mut d).unwrap_err();
        assert!(err.contains("cannot merge into one `ErrorData`"), "{err}");
        assert!(
            err.contains("BadRequestResponseErrorData vs NotFoundResponseErrorData:\n    \
                /components/schemas/BadRequestResponseErrorData/properties/code/type is \"integer\", \
                but /components/schemas/NotFoundResponseErrorData/properties/code/type is \"string\""),
            "{err}"
        );
        let mut d = doc();
        d["components"]["schemas"]["NotFoundResponse"]["properties"] =
            json!({"message": {"type": "string"}});
        assert_eq!(
            unify(&mut d).unwrap_err(),
            "/components/schemas/NotFoundResponse/properties/error does not exist (updateKey 404 error)"
        );
    }
}
