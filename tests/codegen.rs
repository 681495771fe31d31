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
fn every_operation_hands_its_answer_back_unread() {
    // build.rs replaces each method's decoding `match` (see its
    // `edit_operation`); the crate reads every answer in one place.
    assert_eq!(
        GENERATED
            .matches("Err(Error::UnexpectedResponse(response))")
            .count(),
        6
    );
    assert!(!GENERATED.contains("from_response"));
    // The error envelope is still generated from the spec, and named in
    // every method's signature.
    assert!(GENERATED.contains("pub struct ErrorResponse"));
    assert_eq!(GENERATED.matches("Error<types::ErrorResponse>").count(), 6);
}
