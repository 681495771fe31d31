//! What the xtask writes must be something build.rs can turn into a client:
//! it parses with openapiv3 and generates with progenitor, using the same
//! settings as build.rs (including the request-type replacement). Both
//! upstream documents and a `default`-only error shape get there.

mod common;

use common::*;
use progenitor::Generator;
use serde_json::json;

/// The crate's build script itself, so that these tests generate with the
/// build's own settings rather than a copy of them.
#[allow(dead_code)]
mod build_script {
    include!("../../build.rs");
}

/// Parses and generates the way build.rs does; returns the generated code.
fn generate(text: &str) -> String {
    let spec: openapiv3::OpenAPI =
        serde_norway::from_str(text).expect("openapiv3 parses the output");
    let settings = build_script::settings().expect("build.rs has valid settings");
    let tokens = Generator::new(&settings)
        .generate_tokens(&spec)
        .expect("progenitor generates a client");
    let code = tokens.to_string();
    syn::parse2::<syn::File>(tokens).expect("the generated code parses as Rust");
    code
}

/// The contract with the handwritten layer.
fn assert_contract(code: &str) {
    for item in [
        "pub struct ErrorResponse",
        "pub struct ErrorData",
        "pub struct ApiKey",
        "pub struct UpdateKeyResponse",
        "crate :: request :: NewKey",
        "crate :: request :: KeyUpdate",
    ] {
        assert!(code.contains(item), "generated code lacks `{item}`");
    }
    for method in [
        "list_keys",
        "create_key",
        "get_key",
        "update_key",
        "delete_key",
        "get_current_key",
    ] {
        assert!(
            code.contains(&format!("pub async fn {method} <")),
            "no method {method}"
        );
    }
    for replaced in ["pub struct UpdateKeyRequest", "pub struct CreateKeyRequest"] {
        assert!(
            !code.contains(replaced),
            "the request types are replaced, not generated: {replaced}"
        );
    }
    assert!(
        !code.contains("UpdateKeysResponseData"),
        "the key type is one `ApiKey`"
    );
}

fn refreshed(name: &str, from: &str) -> String {
    let dir = Scratch::new(name);
    let run = refresh(
        &dir.path("openapi.yaml"),
        &["--from", from, "--retrieved", "2026-01-01"],
    );
    assert_eq!(run.code, Some(0), "{}", run.all());
    dir.read("openapi.yaml")
}

#[test]
fn checked_in_spec_generates_the_expected_types() {
    let code = generate(&std::fs::read_to_string(checked_in_spec()).unwrap());
    assert_contract(&code);
    // The 2026 response fields are there, nullable ones as options.
    for field in ["creator_user_id", "workspace_id", "expires_at"] {
        assert!(code.contains(&format!("pub {field} :")), "no field {field}");
    }
    assert!(
        code.contains("pub expires_at : :: std :: option :: Option <"),
        "expires_at is optional/nullable"
    );
    // Create answers the plaintext key beside the `ApiKey`.
    assert!(
        code.contains("pub struct CreateKeyResponse { pub data : ApiKey ,"),
        "create's answer is the key and `ApiKey`"
    );
}

#[test]
fn enums_containing_null_parse_as_nullable_enums() {
    let text = std::fs::read_to_string(checked_in_spec()).unwrap();
    let spec: openapiv3::OpenAPI = serde_norway::from_str(&text).unwrap();
    let schema = spec
        .components
        .as_ref()
        .and_then(|c| c.schemas.get("UpdateKeyRequest"))
        .and_then(|s| s.as_item());
    let openapiv3::SchemaKind::Type(openapiv3::Type::Object(object)) = &schema.unwrap().schema_kind
    else {
        panic!("UpdateKeyRequest is an object");
    };
    let reset = object.properties["limit_reset"].as_item().unwrap();
    assert!(reset.schema_data.nullable);
    let openapiv3::SchemaKind::Type(openapiv3::Type::String(string)) = &reset.schema_kind else {
        panic!("limit_reset is a string");
    };
    let expected = [
        Some("daily".to_owned()),
        Some("weekly".to_owned()),
        Some("monthly".to_owned()),
        None,
    ];
    assert_eq!(string.enumeration, expected);
}

#[test]
fn the_2025_document_converts_and_generates() {
    let text = refreshed("generate-2025", FIXTURE_2025);
    assert!(text.contains("#   3. openapi-3.1-to-3.0.3: OpenAPI 3.1.0 -> 3.0.3"));
    let code = generate(&text);
    assert_contract(&code);
    assert!(
        !code.contains("pub creator_user_id"),
        "2025 had no creator_user_id"
    );
}

#[test]
fn a_default_only_error_response_is_refused_and_nothing_is_written() {
    // PATCH /keys/{hash} answering 200 plus only a `default` error response,
    // which progenitor counts as a second success type. No upstream version
    // has done this, so no rewrite is kept for it: the refresh says why it
    // stops, and writes nothing.
    let mut upstream = fixture(FIXTURE_JSON);
    let patch = upstream
        .pointer_mut("/paths/~1keys~1{hash}/patch/responses")
        .unwrap();
    let ok = patch["200"].clone();
    let error = json!({"description": "Any error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BadRequestResponse"}}}});
    *patch = json!({"200": ok, "default": error});
    let dir = Scratch::new("default-only");
    let src = dir.write(
        "default-only-2026-08-22.json",
        serde_json::to_vec(&upstream).unwrap(),
    );
    let out = dir.path("openapi.yaml");
    let run = refresh(&out, &["--from", src.to_str().unwrap()]);
    assert_eq!(run.code, Some(1), "{}", run.all());
    assert!(
        run.stderr
            .contains("the fragment would not build: progenitor panicked"),
        "{}",
        run.all()
    );
    assert!(!out.exists());
}
