//! What the xtask writes must be something build.rs can turn into a client:
//! it parses with openapiv3 and generates with progenitor, using the same
//! settings as build.rs (including the request-type replacement).

mod common;

use common::*;
use progenitor::Generator;

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
    let mut generator = Generator::new(&settings);
    let tokens = generator
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
        "pub struct UpdateKeysResponse",
        "pub struct UpdateKeysResponseData",
        "crate :: request :: KeyUpdate",
    ] {
        assert!(code.contains(item), "generated code lacks `{item}`");
    }
    assert!(
        !code.contains("pub struct UpdateKeysRequest"),
        "the request type is replaced, not generated"
    );
}

#[test]
fn checked_in_spec_generates_the_expected_types() {
    let text = std::fs::read_to_string(checked_in_spec()).unwrap();
    let code = generate(&text);
    assert_contract(&code);
    // The 2026 response fields are there, nullable ones as options.
    for field in ["creator_user_id", "workspace_id", "expires_at"] {
        assert!(code.contains(&format!("pub {field} :")), "no field {field}");
    }
    assert!(
        code.contains("pub expires_at : :: std :: option :: Option <"),
        "expires_at is optional/nullable"
    );
}

#[test]
fn enums_containing_null_parse_as_nullable_enums() {
    let text = std::fs::read_to_string(checked_in_spec()).unwrap();
    let spec: openapiv3::OpenAPI = serde_norway::from_str(&text).unwrap();
    let schema = spec
        .components
        .as_ref()
        .and_then(|c| c.schemas.get("UpdateKeysRequest"))
        .and_then(|s| s.as_item())
        .expect("UpdateKeysRequest is a component");
    let openapiv3::SchemaKind::Type(openapiv3::Type::Object(object)) = &schema.schema_kind else {
        panic!("UpdateKeysRequest is an object");
    };
    let reset = object.properties["limit_reset"].as_item().unwrap();
    assert!(reset.schema_data.nullable);
    let openapiv3::SchemaKind::Type(openapiv3::Type::String(string)) = &reset.schema_kind else {
        panic!("limit_reset is a string");
    };
    assert_eq!(
        string.enumeration,
        [
            Some("daily".to_owned()),
            Some("weekly".to_owned()),
            Some("monthly".to_owned()),
            None
        ]
    );
}

#[test]
fn the_2025_document_converts_and_generates() {
    let dir = Scratch::new("generate-2025");
    let spec = dir.path("openapi.yaml");
    let run = refresh(
        &spec,
        &["--from", FIXTURE_2025, "--retrieved", "2025-11-08"],
    );
    assert_eq!(run.code, Some(0), "{}", run.all());
    let text = dir.read("openapi.yaml");
    assert!(text.contains("#   2. openapi-3.1-to-3.0.3: OpenAPI 3.1.0 -> 3.0.3"));
    let code = generate(&text);
    assert_contract(&code);
    assert!(
        !code.contains("pub creator_user_id"),
        "2025 had no creator_user_id"
    );
}
