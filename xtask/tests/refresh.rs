//! `cargo xtask refresh-spec` end to end: the checked-in `openapi.yaml` is
//! exactly what the recorded upstream document produces, `--check` is about
//! content wherever the source is, names are stable whatever upstream calls
//! the operations, the date line behaves, and the drift summary and next
//! steps say what changed between two real upstream versions.

mod common;

use common::operation::Operation;
use common::*;
use serde_json::Value;

fn checked_in() -> String {
    std::fs::read_to_string(checked_in_spec()).expect("openapi.yaml is checked in")
}

const JSON_SHA256: &str = "3268e3ca22369e45bc42bdf81e4cbeb077c5a9af1153c2a37eeb06f9811ece27";
const YAML_SHA256: &str = "469fa24635e2e05617cfb064ded5f561a177859d054705f4c744644fd68068eb";

#[test]
fn checked_in_spec_is_reproduced_byte_for_byte_from_the_json_fixture() {
    let spec = checked_in();
    assert!(
        spec.contains(&format!("# source:         {FIXTURE_JSON}\n")),
        "openapi.yaml was generated from another source; point FIXTURE_JSON at it"
    );
    let dir = Scratch::new("reproduce");
    let out = dir.path("openapi.yaml");
    let run = refresh(&out, &["--from", FIXTURE_JSON]);
    assert_eq!(run.code, Some(0), "{}", run.all());
    let produced = dir.read("openapi.yaml");
    assert!(
        produced == spec,
        "openapi.yaml is not what the xtask produces; run `cargo xtask refresh-spec --from {FIXTURE_JSON}`\n{}",
        similar::TextDiff::from_lines(&spec, &produced).unified_diff()
    );
    assert!(run.stdout.contains("wrote "), "{}", run.stdout);
    assert!(
        run.stdout.contains("(retrieved 2026-08-22)"),
        "the date comes from the file name: {}",
        run.stdout
    );
    // Running again over the result changes nothing (and keeps the file).
    let again = refresh(&out, &["--from", FIXTURE_JSON]);
    assert_eq!(again.code, Some(0), "{}", again.all());
    assert!(
        again.stdout.contains("is unchanged; nothing to do"),
        "{}",
        again.stdout
    );
    assert!(
        again.stdout.contains(&format!(
            "No changes to operations, parameters, request or response schemas ({}).",
            // Document order: paths sorted upstream, methods in the spec's order.
            [
                "getCurrentKey",
                "listKeys",
                "createKey",
                "getKey",
                "deleteKey",
                "updateKey"
            ]
            .join(", ")
        )),
        "every operation is compared: {}",
        again.stdout
    );
    assert_eq!(dir.read("openapi.yaml"), spec);
}

#[test]
fn header_records_provenance_without_machine_paths() {
    let spec = checked_in();
    let header: Vec<&str> = spec.lines().take_while(|l| l.starts_with('#')).collect();
    for line in [
        format!("# sha256:         {JSON_SHA256}"),
        "# info.version:   1.0.0 (upstream document is OpenAPI 3.1.0)".to_owned(),
        "# retrieved:      2026-08-22".to_owned(),
        format!(
            "# operations:     {}",
            Operation::ALL
                .map(|op| format!("{} ({op})", op.id()))
                .join(", ")
        ),
        "#   2. stable-operation-ids: list -> listKeys, createKeys -> createKey, updateKeys -> updateKey, \
         deleteKeys -> deleteKey (getKey, getCurrentKey kept)"
            .to_owned(),
        "#   3. openapi-3.1-to-3.0.3: OpenAPI 3.1.0 -> 3.0.3, 110 edits".to_owned(),
        "#   5. unify-key-objects: createKey 201 data, getKey 200 data, listKeys 200 data[], updateKey 200 data -> ApiKey"
            .to_owned(),
        "#   6. hoist-request-bodies: createKey -> CreateKeyRequest; updateKey -> UpdateKeyRequest".to_owned(),
    ] {
        assert!(header.contains(&line.as_str()), "missing header line {line:?}");
    }
    assert!(
        header.iter().any(|l| l
            .starts_with("#   4. unify-error-envelopes: BadRequestResponse, ForbiddenResponse,")),
        "ForbiddenResponse is unified too"
    );
    assert_eq!(
        spec.matches("#      why: ").count(),
        7,
        "each transform says why"
    );
    let root = workspace_root();
    for line in &header {
        assert!(
            !line.contains(root.to_str().unwrap()) && !line.contains("/tmp/"),
            "{line}"
        );
    }
    assert!(body(&spec).starts_with("openapi: 3.0.3\n"));
    // What the header says is the source's hash is the fixture's hash.
    let bytes = std::fs::read(root.join(FIXTURE_JSON)).unwrap();
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(digest, JSON_SHA256);
}

#[test]
fn output_holds_the_six_operations_under_stable_names_and_one_key_type() {
    let spec = checked_in();
    let doc: Value = serde_norway::from_str(&spec).unwrap();
    let top: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(
        top,
        [
            "openapi",
            "info",
            "servers",
            "security",
            "tags",
            "paths",
            "components"
        ]
    );
    let mut expected: Vec<(String, String)> = Operation::ALL
        .iter()
        .map(|op| (op.to_string(), op.id().to_owned()))
        .collect();
    expected.sort();
    assert_eq!(operation_ids(&spec), expected);
    assert_eq!(
        doc["paths"]["/keys/{hash}"]["patch"]["x-upstream-operation-id"],
        "updateKeys"
    );
    assert!(
        doc["paths"]["/keys/{hash}"]["get"]
            .get("x-upstream-operation-id")
            .is_none()
    );
    let schemas: Vec<&String> = doc["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        schemas,
        [
            "ErrorResponse",
            "ErrorData",
            "ApiKey",
            "CreateKeyRequest",
            "UpdateKeyRequest"
        ]
    );
    let schemes: Vec<&String> = doc["components"]["securitySchemes"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        schemes,
        ["apiKey"],
        "the global requirement's scheme, and not the unused `bearer`"
    );

    // Every error answer of every operation is the one envelope, 403 included.
    let mut errors = 0;
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            for (code, response) in op["responses"].as_object().unwrap() {
                let schema = &response["content"]["application/json"]["schema"];
                if code.starts_with('4') || code.starts_with('5') {
                    assert_eq!(
                        schema["$ref"], "#/components/schemas/ErrorResponse",
                        "{code}"
                    );
                    errors += 1;
                }
            }
        }
    }
    assert_eq!(errors, 24);
    let create = &doc["paths"]["/keys"]["post"];
    assert_eq!(
        create["responses"]["403"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorResponse"
    );
    // The key objects are one `ApiKey`; create's 201 carries the plaintext key beside it.
    let key = |op: &Value, code: &str| {
        op["responses"][code]["content"]["application/json"]["schema"]["properties"].clone()
    };
    let api_key = serde_json::json!({"$ref": "#/components/schemas/ApiKey"});
    assert_eq!(
        key(&doc["paths"]["/keys"]["get"], "200")["data"]["items"],
        api_key
    );
    assert_eq!(key(create, "201")["data"], api_key);
    assert_eq!(key(create, "201")["key"]["type"], "string");
    assert_eq!(
        key(&doc["paths"]["/keys/{hash}"]["get"], "200")["data"],
        api_key
    );
    assert_eq!(
        key(&doc["paths"]["/keys/{hash}"]["patch"], "200")["data"],
        api_key
    );
    assert_ne!(
        key(&doc["paths"]["/key"]["get"], "200")["data"],
        api_key,
        "GET /key describes the calling key otherwise"
    );
    let body =
        |op: &Value| op["requestBody"]["content"]["application/json"]["schema"]["$ref"].clone();
    assert_eq!(body(create), "#/components/schemas/CreateKeyRequest");
    assert_eq!(
        body(&doc["paths"]["/keys/{hash}"]["patch"]),
        "#/components/schemas/UpdateKeyRequest"
    );
    let data = &doc["components"]["schemas"]["ApiKey"]["properties"];
    assert_eq!(
        (&data["expires_at"]["type"], &data["expires_at"]["nullable"]),
        (&Value::from("string"), &Value::from(true))
    );
    // Date-like example strings stay strings when read back.
    assert_eq!(data["created_at"]["example"], "2025-08-24T10:30:00Z");
    // No 3.1 type lists anywhere.
    assert!(!spec.contains("- 'null'") && !spec.contains("- \"null\""));
}

#[test]
fn check_passes_from_any_copy_of_the_pinned_document_and_writes_nothing() {
    let before = checked_in();
    let run = xtask(&["refresh-spec", "--from", FIXTURE_JSON, "--check"]);
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(run.stdout.contains("is up to date"), "{}", run.stdout);

    // A copy at a temporary path, and the same bytes served over HTTP.
    let dir = Scratch::new("check-copy");
    let copy = dir.write(
        "pinned.json",
        std::fs::read(workspace_root().join(FIXTURE_JSON)).unwrap(),
    );
    let run = xtask(&["refresh-spec", "--from", copy.to_str().unwrap(), "--check"]);
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(
        run.stdout
            .contains("is up to date: pinned.json produces it"),
        "{}",
        run.stdout
    );
    let bytes = std::fs::read(&copy).unwrap();
    let (url, server) = serve_once(
        "200 OK",
        &format!("Content-Length: {}\r\n", bytes.len()),
        bytes,
    );
    let run = xtask(&["refresh-spec", "--from", &url, "--check"]);
    server.join().unwrap();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert_eq!(checked_in(), before);

    // Refreshing from the copy changes nothing either: same content, so the
    // header keeps naming the pinned file.
    let spec = dir.write("openapi.yaml", &before);
    let run = refresh(&spec, &["--from", copy.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert_eq!(dir.read("openapi.yaml"), before);
}

#[test]
fn another_rendering_of_the_document_fails_the_check_naming_both_hashes() {
    let run = xtask(&["refresh-spec", "--from", FIXTURE_YAML, "--check"]);
    assert_eq!(run.code, Some(1), "{}", run.all());
    for text in [
        format!("its sha256 is {YAML_SHA256}, the header records {JSON_SHA256}"),
        "The fragment is otherwise what it produces".to_owned(),
        "(YAML instead of JSON, other formatting)".to_owned(),
    ] {
        assert!(run.stderr.contains(&text), "{text} in {}", run.stderr);
    }
    // Refreshing from it gives the same body; only the source lines differ.
    let dir = Scratch::new("yaml");
    let run = refresh(&dir.path("openapi.yaml"), &["--from", FIXTURE_YAML]);
    assert_eq!(run.code, Some(0), "{}", run.all());
    let produced = dir.read("openapi.yaml");
    assert_eq!(body(&produced), body(&checked_in()));
    let spec = checked_in();
    let differing: Vec<(&str, &str)> = spec
        .lines()
        .zip(produced.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(
        differing,
        [
            (
                &*format!("# source:         {FIXTURE_JSON}"),
                &*format!("# source:         {FIXTURE_YAML}")
            ),
            (
                &*format!("# sha256:         {JSON_SHA256}"),
                &*format!("# sha256:         {YAML_SHA256}")
            ),
        ]
    );
}

#[test]
fn check_fails_with_a_diff_and_advice_that_names_no_temporary_path() {
    let dir = Scratch::new("check");
    let modified = checked_in().replacen(
        "        code:\n          type: integer\n",
        "        code:\n          type: string\n",
        1,
    );
    assert_ne!(modified, checked_in(), "the edit applies");
    let spec = dir.write("openapi.yaml", &modified);
    let run = refresh(&spec, &["--from", FIXTURE_JSON, "--check"]);
    assert_eq!(run.code, Some(1), "{}", run.all());
    assert!(run.stderr.contains("is out of date"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "run `cargo xtask refresh-spec --from {FIXTURE_JSON}`"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout
            .contains("\n-          type: string\n+          type: integer\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("code: type changed: string -> integer"),
        "the drift explains it: {}",
        run.stdout
    );
    assert_eq!(dir.read("openapi.yaml"), modified, "--check writes nothing");

    // From a copy outside the workspace the advice is to pin it first.
    let copy = dir.write(
        "copy.json",
        std::fs::read(workspace_root().join(FIXTURE_JSON)).unwrap(),
    );
    let run = refresh(&spec, &["--from", copy.to_str().unwrap(), "--check"]);
    assert_eq!(run.code, Some(1), "{}", run.all());
    assert!(
        run.stderr
            .contains("save it under xtask/tests/fixtures/upstream/"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains(&format!("--from {}", copy.display())),
        "{}",
        run.stderr
    );

    // Only the source and retrieved lines are ignored.
    let moved = checked_in()
        .replace(
            "# retrieved:      2026-08-22\n",
            "# retrieved:      2030-01-31\n",
        )
        .replace(
            &format!("# source:         {FIXTURE_JSON}"),
            "# source:         https://example.invalid/x.json",
        );
    let run = refresh(
        &dir.write("openapi.yaml", &moved),
        &["--from", FIXTURE_JSON, "--check"],
    );
    assert_eq!(run.code, Some(0), "{}", run.all());
    let rehashed = checked_in().replace(JSON_SHA256, YAML_SHA256);
    let run = refresh(
        &dir.write("openapi.yaml", &rehashed),
        &["--from", FIXTURE_JSON, "--check"],
    );
    assert_eq!(run.code, Some(1), "the sha256 line counts: {}", run.all());

    let run = refresh(
        &dir.path("absent.yaml"),
        &["--from", FIXTURE_JSON, "--check"],
    );
    assert_eq!(run.code, Some(1), "{}", run.all());
    assert!(
        run.stderr.contains("absent.yaml does not exist"),
        "{}",
        run.stderr
    );
    assert!(!dir.path("absent.yaml").exists());
}

#[test]
fn the_retrieved_date_is_the_documents_never_today_for_an_old_file() {
    let dir = Scratch::new("date");
    let spec = dir.path("openapi.yaml");
    let run = refresh(
        &spec,
        &["--from", FIXTURE_2025, "--retrieved", "2001-02-03"],
    );
    assert_eq!(run.code, Some(0), "{}", run.all());
    let first = dir.read("openapi.yaml");
    assert!(first.contains("# retrieved:      2001-02-03\n"));
    // The same document keeps its date.
    let run = refresh(&spec, &["--from", FIXTURE_2025]);
    assert!(run.stdout.contains("is unchanged"), "{}", run.stdout);
    assert_eq!(dir.read("openapi.yaml"), first);
    // Another document takes the date in its file name.
    let run = refresh(&spec, &["--from", FIXTURE_JSON]);
    assert!(
        dir.read("openapi.yaml")
            .contains("# retrieved:      2026-08-22\n"),
        "{}",
        run.all()
    );
    // A file with no date in its name needs --retrieved.
    let undated = dir.write(
        "saved.json",
        std::fs::read(workspace_root().join(FIXTURE_JSON)).unwrap(),
    );
    let fresh = dir.path("fresh.yaml");
    let run = refresh(&fresh, &["--from", undated.to_str().unwrap()]);
    assert_eq!(run.code, Some(1), "{}", run.all());
    assert!(
        run.stderr
            .contains("cannot tell when saved.json was retrieved from upstream"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("pass --retrieved YYYY-MM-DD"),
        "{}",
        run.stderr
    );
    assert!(!fresh.exists());
    // A download is retrieved today.
    let bytes = std::fs::read(&undated).unwrap();
    let (url, server) = serve_once(
        "200 OK",
        &format!("Content-Length: {}\r\n", bytes.len()),
        bytes,
    );
    let run = refresh(&fresh, &["--from", &url]);
    server.join().unwrap();
    assert_eq!(run.code, Some(0), "{}", run.all());
    let today = dir.read("fresh.yaml");
    let line = today
        .lines()
        .find(|l| l.starts_with("# retrieved:"))
        .unwrap();
    assert_ne!(line, "# retrieved:      2026-08-22");
    assert!(today.contains(&format!("# source:         {url}\n")));
    assert_eq!(body(&today), body(&checked_in()));

    let bad = refresh(
        &spec,
        &["--from", FIXTURE_JSON, "--retrieved", "22-08-2026"],
    );
    assert_eq!(bad.code, Some(1));
    assert!(
        bad.stderr
            .contains("--retrieved: `22-08-2026` is not a date of the form YYYY-MM-DD"),
        "{}",
        bad.stderr
    );
}

#[test]
fn drift_and_next_steps_from_2025_to_2026() {
    let dir = Scratch::new("drift");
    let spec = dir.path("openapi.yaml");
    let run = refresh(&spec, &["--from", FIXTURE_2025]);
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(run.stdout.contains("No previous"), "{}", run.stdout);
    let first = "  2. The generated code cannot be compared with the previous one (there is no previous openapi.yaml).\n";
    assert!(run.stdout.contains(first), "{}", run.stdout);

    let run = refresh(&spec, &["--from", FIXTURE_JSON]);
    assert_eq!(run.code, Some(0), "{}", run.all());
    let out = &run.stdout;
    for line in [
        "  updateKey response 200:\n",
        "  ! data.creator_user_id: added as required (string, nullable) -- a response without it no longer decodes\n",
        "  ! data.workspace_id: added as required (string) -- a response without it no longer decodes\n",
        "    data.expires_at: added as optional (string(date-time), nullable)\n",
        "    data.limit: type changed: number -> number(double)\n",
        "  updateKey request body:\n",
        "    limit_reset: enum values added: null\n",
        "  updateKey responses 400, 401, 404, 429, 500:\n",
        "    openrouter_metadata: added as optional (object, nullable)\n",
        "  createKey response 403:\n    response added\n",
        "  listKeys response 200:\n",
        "  getCurrentKey response 200:\n",
        "85 changes, 12 of which can break callers or response decoding.\n",
        "Next steps:\n  1. Accept the new generated code: `EXPECTORATE=overwrite cargo test --test codegen`",
        "  3. Breaking for crate users (release it as a breaking version):\n     - the public type `ApiKey` (src/lib.rs, generated `ApiKey`) changed; its fields are public\n",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
    assert!(
        out.contains("changed method list_keys, type ApiKey"),
        "{out}"
    );
    // And it ends where the checked-in file is.
    assert_eq!(dir.read("openapi.yaml"), checked_in());
}

#[test]
fn old_upstream_names_refresh_to_the_same_operation_ids() {
    let dir = Scratch::new("old-names");
    let mut old = fixture(FIXTURE_JSON);
    for (path, method, id) in [
        ("/keys", "get", "listApiKeys"),
        ("/keys", "post", "create"),
        ("/keys/{hash}", "get", "getApiKey"),
        ("/keys/{hash}", "patch", "update"),
        ("/keys/{hash}", "delete", "delete"),
    ] {
        old["paths"][path][method]["operationId"] = Value::from(id);
    }
    let src = dir.write(
        "openrouter-openapi-2025-01-01.json",
        serde_json::to_vec(&old).unwrap(),
    );
    let spec = dir.write("openapi.yaml", checked_in());
    let run = refresh(&spec, &["--from", src.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{}", run.all());
    let produced = dir.read("openapi.yaml");
    assert_eq!(operation_ids(&produced), operation_ids(&checked_in()));
    assert!(produced.contains("listApiKeys -> listKeys, create -> createKey, getApiKey -> getKey, update -> updateKey, delete -> deleteKey"));
    // Nothing but the upstream names differs in the body.
    let renamed = |text: &str| {
        body(text)
            .lines()
            .filter(|l| !l.contains("x-upstream-operation-id"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(renamed(&produced), renamed(&checked_in()));
    assert!(produced.contains("      x-upstream-operation-id: update\n"));
    for line in [
        "  updateKey:\n    upstream operationId changed: updateKeys -> update (the fragment keeps updateKey)\n",
        "  getKey:\n    upstream operationId changed: getKey -> getApiKey (the fragment keeps getKey)\n",
        "unchanged: getCurrentKey\n",
        "5 changes, 0 of which can break callers or response decoding.\n",
        "  2. Generated code, documentation aside: added none; removed none; changed none.\n",
        "  3. Not breaking for crate users: no type the crate re-exports changed.\n",
    ] {
        assert!(
            run.stdout.contains(line),
            "missing {line:?} in\n{}",
            run.stdout
        );
    }
}

#[test]
fn key_order_and_nullability_style_of_the_input_do_not_change_the_meaning() {
    let dir = Scratch::new("variants");
    let upstream = fixture(FIXTURE_JSON);

    // Every mapping in reverse order: same content, keys follow the input.
    let reversed = dir.write(
        "reversed-2026-08-22.json",
        serde_json::to_vec(&reverse_keys(&upstream)).unwrap(),
    );
    let spec = dir.write("openapi.yaml", checked_in());
    let run = refresh(&spec, &["--from", reversed.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(
        run.stdout.contains("No changes to operations"),
        "{}",
        run.stdout
    );
    let produced: Value = serde_norway::from_str(&dir.read("openapi.yaml")).unwrap();
    let expected: Value = serde_norway::from_str(&checked_in()).unwrap();
    assert_eq!(produced, expected);
    // Deterministic: the same input gives the same bytes.
    let first = dir.read("openapi.yaml");
    let again = dir.path("again.yaml");
    refresh(&again, &["--from", reversed.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(again).unwrap(), first);

    // Mixed nullability: some fields in the 3.0 style under the 3.1 header.
    let mut mixed = upstream.clone();
    let data = mixed
        .pointer_mut("/paths/~1keys~1{hash}/patch/responses/200/content/application~1json/schema/properties/data/properties")
        .unwrap();
    for field in ["limit", "limit_remaining", "updated_at"] {
        let map = data[field].as_object_mut().unwrap();
        let ty = map["type"][0].clone();
        map.insert("type".into(), ty);
        map.insert("nullable".into(), Value::Bool(true));
    }
    let mixed_path = dir.write(
        "mixed-2026-08-22.json",
        serde_json::to_vec_pretty(&mixed).unwrap(),
    );
    let out = dir.path("mixed.yaml");
    let run = refresh(&out, &["--from", mixed_path.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert_eq!(
        body(&std::fs::read_to_string(out).unwrap()),
        body(&checked_in())
    );
}

#[test]
fn help_describes_the_command() {
    let run = xtask(&["refresh-spec", "--help"]);
    assert_eq!(run.code, Some(0));
    for text in [
        "--from <PATH|URL>",
        "--check",
        "--retrieved <YYYY-MM-DD>",
        "--spec <PATH>",
        "https://openrouter.ai/openapi.json",
        "updateKey (PATCH /keys/{hash})",
        "content, so a copy of the document anywhere",
    ] {
        assert!(run.stdout.contains(text), "{text} in {}", run.stdout);
    }
    let run = xtask(&[]);
    assert!(run.stdout.contains("refresh-spec"));
    let run = xtask(&["refresh-spec", "--frm", "x"]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("unexpected argument `--frm`"),
        "{}",
        run.stderr
    );
    let run = xtask(&["nonsense"]);
    assert_eq!(run.code, Some(2));
}
