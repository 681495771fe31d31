//! Each kind of bad input fails with a message that says what and where,
//! and leaves the target file exactly as it was.

mod common;

use std::net::TcpListener;

use common::*;

const SENTINEL: &str = "# previous openapi.yaml, must survive\nopenapi: 3.0.3\n";

/// Runs a refresh that must fail; returns stderr. Checks the exit status and
/// that the target file is untouched.
fn fails(dir: &Scratch, args: &[&str]) -> String {
    let spec = dir.write("openapi.yaml", SENTINEL);
    let run = refresh(&spec, args);
    assert_eq!(run.code, Some(1), "expected failure, got: {}", run.all());
    assert_eq!(
        dir.read("openapi.yaml"),
        SENTINEL,
        "the target file was modified"
    );
    assert!(run.stderr.contains("was left unchanged"), "{}", run.stderr);
    let leftovers: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
    run.stderr
}

/// The 2025 upstream document (the smaller one) as JSON, with `edit` applied.
fn real_doc(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut doc = fixture(FIXTURE_2025);
    edit(&mut doc);
    serde_json::to_vec(&doc).unwrap()
}

/// The JSON body schema of an operation's answer.
fn answer<'a>(doc: &'a mut serde_json::Value, pointer: &str) -> &'a mut serde_json::Value {
    doc.pointer_mut(&format!("{pointer}/content/application~1json/schema"))
        .unwrap()
}

#[test]
fn the_real_document_itself_is_fine() {
    let dir = Scratch::new("real-ok");
    let src = dir.write("up-2025-11-08.json", real_doc(|_| {}));
    let run = refresh(
        &dir.path("openapi.yaml"),
        &["--from", src.to_str().unwrap()],
    );
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(dir.read("openapi.yaml").contains("ErrorResponse"));
}

#[test]
fn missing_operation_names_method_and_path_and_what_is_there() {
    let dir = Scratch::new("missing-op");
    let src = dir.write(
        "up.json",
        real_doc(|d| {
            d["paths"]["/keys/{hash}"]
                .as_object_mut()
                .unwrap()
                .shift_remove("patch");
            d["paths"].as_object_mut().unwrap().shift_remove("/key");
        }),
    );
    let err = fails(&dir, &["--from", src.to_str().unwrap()]);
    let expected = format!(
        "error: {}: selected operation not found:\n  \
         PATCH /keys/{{hash}}: not in the document, which has GET (getKey), DELETE (deleteKeys) under /keys/{{hash}}\n  \
         GET /key: the document has no path /key\n",
        src.display()
    );
    assert!(err.starts_with(&expected), "{err}");
}

#[test]
fn differing_key_objects_are_not_merged() {
    let dir = Scratch::new("key-objects");
    let src = dir.write(
        "up.json",
        real_doc(|d| {
            answer(d, "/paths/~1keys~1{hash}/get/responses/200")["properties"]["data"]["properties"]
                ["usage"]["type"] = "string".into();
        }),
    );
    let err = fails(&dir, &["--from", src.to_str().unwrap()]);
    assert!(err.contains("cannot merge into one `ApiKey`"), "{err}");
    assert!(
        err.contains(
            "/paths/~1keys~1{hash}/get/responses/200/content/application~1json/schema/properties/data/properties/usage/type is \"string\""
        ),
        "{err}"
    );
}

#[test]
fn a_construct_progenitor_cannot_take_stops_the_refresh_before_anything_is_written() {
    // DELETE /keys/{hash} answering JSON without saying what: progenitor
    // panics on a JSON media type without a schema.
    let dir = Scratch::new("progenitor");
    let src = dir.write(
        "up.json",
        real_doc(|d| {
            d["paths"]["/keys/{hash}"]["delete"]["responses"]["200"]["content"]["application/json"] = serde_json::json!({});
        }),
    );
    let err = fails(
        &dir,
        &["--from", src.to_str().unwrap(), "--retrieved", "2026-01-01"],
    );
    assert!(
        err.contains("error: the fragment would not build: progenitor panicked: not yet implemented: media type encoding, no schema"),
        "{err}"
    );
    assert!(
        err.contains(
            "\n  at /paths/~1keys~1{hash}/delete/responses/200 (the fragment generates without it)"
        ),
        "{err}"
    );
    assert!(
        !err.contains("panicked at"),
        "the panic hook's own report is silenced: {err}"
    );
}

#[test]
fn unreachable_url() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/openapi.json");
    let dir = Scratch::new("unreachable");
    let err = fails(&dir, &["--from", &url]);
    assert!(err.contains(&format!("cannot download {url}")), "{err}");
}

#[test]
fn http_error_status() {
    let (url, server) = serve_once("404 Not Found", "Content-Length: 0\r\n", Vec::new());
    let dir = Scratch::new("status");
    let err = fails(&dir, &["--from", &url]);
    server.join().unwrap();
    assert!(
        err.contains(&format!(
            "cannot download {url}: the server answered HTTP 404"
        )),
        "{err}"
    );
}

#[test]
fn invalid_json() {
    let dir = Scratch::new("bad-json");
    let src = dir.write(
        "up.json",
        "{\n  \"openapi\": \"3.1.0\",\n  \"paths\": {,}\n}\n",
    );
    let err = fails(&dir, &["--from", src.to_str().unwrap()]);
    assert!(err.contains("is not valid JSON"), "{err}");
    assert!(err.contains("line 3 column"), "says where: {err}");
}

#[test]
fn invalid_yaml() {
    let dir = Scratch::new("bad-yaml");
    let src = dir.write(
        "up.yaml",
        "openapi: 3.1.0\npaths:\n  /a: [unclosed\ninfo: {}\n",
    );
    let err = fails(&dir, &["--from", src.to_str().unwrap()]);
    assert!(err.contains("is not valid YAML"), "{err}");
    assert!(err.contains("line"), "says where: {err}");
}

#[test]
fn not_an_openapi_document() {
    let dir = Scratch::new("not-openapi");
    let src = dir.write("up.yaml", "name: something else\nversion: 2\n");
    let err = fails(&dir, &["--from", src.to_str().unwrap()]);
    assert!(
        err.contains("not an OpenAPI document: no top-level `openapi` field"),
        "{err}"
    );
    let src = dir.write("swagger.json", "{\"swagger\": \"2.0\", \"paths\": {}}");
    let err = fails(&dir, &["--from", src.to_str().unwrap()]);
    assert!(err.contains("Swagger 2.0"), "{err}");
    let src = dir.write("list.json", "[1, 2]");
    let err = fails(&dir, &["--from", src.to_str().unwrap()]);
    assert!(err.contains("the top level is a list"), "{err}");
}

#[test]
fn dangling_reference() {
    let dir = Scratch::new("dangling");
    let src = dir.write(
        "up.json",
        real_doc(|d| {
            d["components"]["schemas"]["BadRequestResponse"]["properties"]["error"]["$ref"] =
                "#/components/schemas/Missing".into()
        }),
    );
    let err = fails(&dir, &["--from", src.to_str().unwrap()]);
    assert!(
        err.contains(
            "dangling $ref at /components/schemas/BadRequestResponse/properties/error: `#/components/schemas/Missing` does not exist"
        ),
        "{err}"
    );
}

#[test]
fn unconvertible_3_1_construct() {
    let dir = Scratch::new("unconvertible");
    let src = dir.write(
        "up.json",
        real_doc(|d| {
            let body = d.pointer_mut("/paths/~1keys~1{hash}/patch/requestBody").unwrap();
            answer(body, "")["properties"]["pair"] =
                serde_json::json!({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]});
        }),
    );
    let err = fails(&dir, &["--from", src.to_str().unwrap()]);
    assert!(
        err.contains(
            "/paths/~1keys~1{hash}/patch/requestBody/content/application~1json/schema/properties/pair: \
             keyword `prefixItems` has no OpenAPI 3.0.3 equivalent"
        ),
        "{err}"
    );

    // A value 3.0.3 cannot hold stops the generation that precedes writing.
    let src = dir.write(
        "bound.json",
        real_doc(|d| {
            answer(d, "/paths/~1key/get/responses/200")["properties"]["data"]["properties"]["limit"]
                ["exclusiveMinimum"] = 0.into();
        }),
    );
    let err = fails(
        &dir,
        &["--from", src.to_str().unwrap(), "--retrieved", "2026-01-01"],
    );
    for expected in [
        "error: the fragment would not build: not a valid OpenAPI 3.0 document: ",
        "invalid type: integer `0`, expected a boolean",
        "\n  at /paths/~1key/get/responses/200 (the fragment generates without it)",
    ] {
        assert!(err.contains(expected), "{expected} in {err}");
    }
}

#[test]
fn differing_error_envelopes() {
    let dir = Scratch::new("envelopes");
    let src = dir.write(
        "up.json",
        real_doc(|d| {
            d["components"]["schemas"]["NotFoundResponseErrorData"]["properties"]["code"]["type"] =
                "string".into()
        }),
    );
    let err = fails(&dir, &["--from", src.to_str().unwrap()]);
    assert!(err.contains("cannot merge into one `ErrorData`"), "{err}");
    assert!(
        err.contains(
            "/components/schemas/BadRequestResponseErrorData/properties/code/type is \"integer\", \
             but /components/schemas/NotFoundResponseErrorData/properties/code/type is \"string\""
        ),
        "{err}"
    );
}

#[test]
fn oversized_file() {
    let dir = Scratch::new("big-file");
    let src = dir.write("up.json", real_doc(|_| {}));
    let size = std::fs::metadata(&src).unwrap().len();
    let err = fails(
        &dir,
        &["--from", src.to_str().unwrap(), "--max-bytes", "4096"],
    );
    assert!(
        err.contains(&format!("is {size} bytes, over the limit of 4096 bytes")),
        "{err}"
    );
}

#[test]
fn oversized_download_is_refused_while_streaming() {
    // No Content-Length: the body ends when the server closes, so only the
    // streaming cap can stop it.
    let (url, server) = serve_once(
        "200 OK",
        "Content-Type: application/json\r\n",
        vec![b' '; 64 * 1024],
    );
    let dir = Scratch::new("big-stream");
    let err = fails(&dir, &["--from", &url, "--max-bytes", "4096"]);
    server.join().unwrap();
    assert!(
        err.contains(&format!("{url} is larger than the limit of 4096 bytes")),
        "{err}"
    );

    // With a Content-Length over the cap, nothing is read at all.
    let (url, server) = serve_once("200 OK", "Content-Length: 100000\r\n", Vec::new());
    let err = fails(&dir, &["--from", &url, "--max-bytes", "4096"]);
    server.join().unwrap();
    assert!(
        err.contains(&format!(
            "{url} is 100000 bytes, over the limit of 4096 bytes"
        )),
        "{err}"
    );
}

#[test]
fn missing_file() {
    let dir = Scratch::new("no-file");
    let missing = dir.path("nope.json");
    let err = fails(&dir, &["--from", missing.to_str().unwrap()]);
    assert!(
        err.contains(&format!("cannot read {}", missing.display())),
        "{err}"
    );
}
