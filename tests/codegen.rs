//! The code progenitor generates from `openapi.yaml`, pinned as a snapshot.
//!
//! A change to the spec or to progenitor shows up here as a reviewable diff.
//! Accept an intended change with
//! `EXPECTORATE=overwrite cargo test --test codegen`.

const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/codegen.rs"));

#[test]
fn generated_code_matches_the_snapshot() {
    expectorate::assert_contents("tests/snapshots/codegen.rs.txt", GENERATED);
}

#[test]
fn the_request_body_is_the_handwritten_type() {
    // With the replacement in force typify emits no body type of its own,
    // and the method takes ours. (The crate also fails to compile if the
    // method's signature changes; this names the cause.)
    assert!(!GENERATED.contains("pub struct UpdateKeyRequest"));
    assert!(GENERATED.contains("body: &'a crate::request::KeyUpdate"));
}

#[test]
fn every_documented_error_status_is_decoded_as_the_envelope() {
    for status in ["400u16", "401u16", "404u16", "429u16", "500u16"] {
        assert!(
            GENERATED.contains(status),
            "{status} is not handled by the generated method"
        );
    }
    assert!(GENERATED.contains("Error<types::ErrorResponse>"));
}
