//! `cargo xtask refresh-spec` end to end: the checked-in `openapi.yaml` is
//! exactly what the recorded upstream document produces, `--check` notices
//! any difference, the date line behaves, and the drift summary reports what
//! changed between two real upstream versions.

mod common;

use common::*;
use serde_json::Value;

fn checked_in() -> String {
    std::fs::read_to_string(checked_in_spec()).expect("openapi.yaml is checked in")
}

#[test]
fn checked_in_spec_is_reproduced_byte_for_byte_from_the_json_fixture() {
    let spec = checked_in();
    assert!(
        spec.contains(&format!("# source:         {FIXTURE_JSON}\n")),
        "openapi.yaml was generated from another source; point FIXTURE_JSON at it"
    );
    let dir = Scratch::new("reproduce");
    let out = dir.path("openapi.yaml");
    let run = refresh(&out, &["--from", FIXTURE_JSON, "--retrieved", FIXTURE_DATE]);
    assert_eq!(run.code, Some(0), "{}", run.all());
    let produced = dir.read("openapi.yaml");
    assert!(
        produced == spec,
        "openapi.yaml is not what the xtask produces; run `cargo xtask refresh-spec --from {FIXTURE_JSON} --retrieved {FIXTURE_DATE}`\n{}",
        similar::TextDiff::from_lines(&spec, &produced).unified_diff()
    );
    // Running again over the result changes nothing (and keeps the file).
    let again = refresh(&out, &["--from", FIXTURE_JSON]);
    assert_eq!(again.code, Some(0), "{}", again.all());
    assert!(again.stdout.contains("is unchanged"), "{}", again.stdout);
    assert!(
        again.stdout.contains("No changes to operations"),
        "{}",
        again.stdout
    );
    assert_eq!(dir.read("openapi.yaml"), spec);
}

#[test]
fn the_yaml_copy_produces_the_same_document() {
    let spec = checked_in();
    let dir = Scratch::new("yaml");
    let run = refresh(
        &dir.path("openapi.yaml"),
        &["--from", FIXTURE_YAML, "--retrieved", FIXTURE_DATE],
    );
    assert_eq!(run.code, Some(0), "{}", run.all());
    let produced = dir.read("openapi.yaml");
    assert_eq!(body(&produced), body(&spec));
    // The header differs in exactly the two lines that describe the source.
    let differing: Vec<(&str, &str)> = spec
        .lines()
        .zip(produced.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(
        differing,
        [
            (
                "# source:         xtask/tests/fixtures/upstream/openrouter-openapi-2026-08-22.json",
                "# source:         xtask/tests/fixtures/upstream/openrouter-openapi-2026-08-22.yaml"
            ),
            (
                "# sha256:         3268e3ca22369e45bc42bdf81e4cbeb077c5a9af1153c2a37eeb06f9811ece27",
                "# sha256:         469fa24635e2e05617cfb064ded5f561a177859d054705f4c744644fd68068eb"
            ),
        ]
    );
}

#[test]
fn header_records_provenance() {
    let spec = checked_in();
    for line in [
        "# sha256:         3268e3ca22369e45bc42bdf81e4cbeb077c5a9af1153c2a37eeb06f9811ece27\n",
        "# info.version:   1.0.0 (upstream document is OpenAPI 3.1.0)\n",
        "# retrieved:      2026-08-22\n",
        "# operations:     updateKeys (PATCH /keys/{hash})\n",
        "#   2. openapi-3.1-to-3.0.3: OpenAPI 3.1.0 -> 3.0.3",
        "#   4. hoist-request-bodies: updateKeys -> UpdateKeysRequest\n",
    ] {
        assert!(spec.contains(line), "missing header line {line:?}");
    }
    assert_eq!(
        spec.matches("#      why: ").count(),
        5,
        "each transform says why"
    );
    assert!(body(&spec).starts_with("openapi: 3.0.3\n"));
    // What the header says is the source's hash is the fixture's hash.
    let bytes = std::fs::read(workspace_root().join(FIXTURE_JSON)).unwrap();
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(spec.contains(&format!("# sha256:         {digest}\n")));
}

#[test]
fn output_round_trips_and_holds_only_what_the_operation_needs() {
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
    assert_eq!(doc["paths"].as_object().unwrap().len(), 1);
    let item = doc["paths"]["/keys/{hash}"].as_object().unwrap();
    assert_eq!(item.keys().collect::<Vec<_>>(), ["patch"]);
    let schemas: Vec<&String> = doc["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(schemas, ["ErrorResponse", "ErrorData", "UpdateKeysRequest"]);
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
    let op = &item["patch"];
    for code in ["400", "401", "404", "429", "500"] {
        assert_eq!(
            op["responses"][code]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorResponse"
        );
    }
    assert_eq!(
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/UpdateKeysRequest"
    );
    assert_eq!(
        doc["components"]["schemas"]["ErrorResponse"]["properties"]["error"]["$ref"],
        "#/components/schemas/ErrorData"
    );
    // The success body stays inline, so typify names it UpdateKeysResponse.
    let ok = &op["responses"]["200"]["content"]["application/json"]["schema"];
    assert!(ok.get("$ref").is_none());
    let data = &ok["properties"]["data"]["properties"];
    assert_eq!(data["expires_at"]["type"], "string");
    assert_eq!(data["expires_at"]["nullable"], true);
    // Date-like example strings stay strings when read back.
    assert_eq!(data["created_at"]["example"], "2025-08-24T10:30:00Z");
    // No 3.1 type lists anywhere.
    assert!(!spec.contains("- 'null'") && !spec.contains("- \"null\""));
}

#[test]
fn check_passes_on_the_checked_in_file_and_writes_nothing() {
    let before = checked_in();
    let run = xtask(&["refresh-spec", "--from", FIXTURE_JSON, "--check"]);
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(run.stdout.contains("is up to date"), "{}", run.stdout);
    assert_eq!(checked_in(), before);
}

#[test]
fn check_fails_with_a_diff_on_a_modified_copy() {
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
    assert!(run.stderr.contains("out of date"), "{}", run.stderr);
    assert!(run.stdout.contains("@@ "), "a unified diff: {}", run.stdout);
    assert!(
        run.stdout
            .contains("\n-          type: string\n+          type: integer\n"),
        "{}",
        run.stdout
    );
    // The drift summary explains the difference too.
    assert!(
        run.stdout.contains("code: type changed: string -> integer"),
        "{}",
        run.stdout
    );
    assert_eq!(dir.read("openapi.yaml"), modified, "--check writes nothing");

    // A missing file is out of date as well.
    let run = refresh(
        &dir.path("absent.yaml"),
        &["--from", FIXTURE_JSON, "--check"],
    );
    assert_eq!(run.code, Some(1), "{}", run.all());
    assert!(run.stderr.contains("out of date"), "{}", run.stderr);
    assert!(!dir.path("absent.yaml").exists());
}

#[test]
fn check_ignores_the_retrieved_line_and_only_that_line() {
    let dir = Scratch::new("check-date");
    let redated = checked_in().replace(
        "# retrieved:      2026-08-22\n",
        "# retrieved:      2030-01-31\n",
    );
    let spec = dir.write("openapi.yaml", &redated);
    let run = refresh(&spec, &["--from", FIXTURE_JSON, "--check"]);
    assert_eq!(run.code, Some(0), "{}", run.all());

    let resourced = checked_in().replace("# source:         xtask/", "# source:         ./xtask/");
    let spec = dir.write("openapi.yaml", &resourced);
    let run = refresh(&spec, &["--from", FIXTURE_JSON, "--check"]);
    assert_eq!(run.code, Some(1), "other header lines count: {}", run.all());
}

#[test]
fn the_previous_date_is_kept_until_something_else_changes() {
    let dir = Scratch::new("date");
    let spec = dir.path("openapi.yaml");
    let run = refresh(
        &spec,
        &["--from", FIXTURE_2025, "--retrieved", "2001-02-03"],
    );
    assert_eq!(run.code, Some(0), "{}", run.all());
    let first = dir.read("openapi.yaml");
    assert!(first.contains("# retrieved:      2001-02-03\n"));

    let run = refresh(&spec, &["--from", FIXTURE_2025]);
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(run.stdout.contains("is unchanged"), "{}", run.stdout);
    assert_eq!(dir.read("openapi.yaml"), first);

    // A newer upstream document: the date moves to the day of the refresh.
    let run = refresh(&spec, &["--from", FIXTURE_JSON]);
    assert_eq!(run.code, Some(0), "{}", run.all());
    let second = dir.read("openapi.yaml");
    let line = second
        .lines()
        .find(|l| l.starts_with("# retrieved:"))
        .unwrap();
    assert_ne!(line, "# retrieved:      2001-02-03");
    let date = line.trim_start_matches("# retrieved:").trim();
    assert!(
        date.len() == 10 && date.as_bytes()[4] == b'-' && date.as_bytes()[7] == b'-',
        "{line}"
    );
    assert!(
        date.as_bytes()[..4].iter().all(u8::is_ascii_digit),
        "{line}"
    );

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
fn drift_from_2025_to_2026_names_new_fields_and_requiredness() {
    let dir = Scratch::new("drift");
    let spec = dir.path("openapi.yaml");
    let run = refresh(
        &spec,
        &["--from", FIXTURE_2025, "--retrieved", "2025-11-08"],
    );
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(run.stdout.contains("No previous"), "{}", run.stdout);

    let run = refresh(
        &spec,
        &["--from", FIXTURE_JSON, "--retrieved", FIXTURE_DATE],
    );
    assert_eq!(run.code, Some(0), "{}", run.all());
    let out = &run.stdout;
    for line in [
        "  updateKeys response 200:\n",
        "  ! data.creator_user_id: added as required (string, nullable) -- a response without it no longer decodes\n",
        "  ! data.workspace_id: added as required (string) -- a response without it no longer decodes\n",
        "    data.expires_at: added as optional (string(date-time), nullable)\n",
        "    data.limit: type changed: number -> number(double)\n",
        "  updateKeys request body:\n",
        "    limit_reset: enum values added: null\n",
        "  updateKeys responses 400, 401, 404, 429, 500:\n",
        "    openrouter_metadata: added as optional (object, nullable)\n",
        "16 changes, 2 of which can break callers or response decoding.\n",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
    // And it ends where the checked-in file is.
    assert_eq!(dir.read("openapi.yaml"), checked_in());

    // Back to 2025: the same fields go away, which breaks readers.
    let run = refresh(
        &spec,
        &["--from", FIXTURE_2025, "--retrieved", "2025-11-08"],
    );
    assert!(
        run.stdout.contains("  ! data.expires_at: removed as optional (string(date-time), nullable) -- callers that read it break\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn key_order_and_nullability_style_of_the_input_do_not_change_the_meaning() {
    let dir = Scratch::new("variants");
    let upstream: Value = serde_json::from_str(&read(FIXTURE_JSON)).unwrap();

    // Every mapping in reverse order: same content, keys follow the input.
    let reversed = dir.write(
        "reversed.json",
        serde_json::to_vec(&reverse_keys(&upstream)).unwrap(),
    );
    let spec = dir.write("openapi.yaml", checked_in());
    let run = refresh(
        &spec,
        &[
            "--from",
            reversed.to_str().unwrap(),
            "--retrieved",
            FIXTURE_DATE,
        ],
    );
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
    refresh(
        &again,
        &[
            "--from",
            reversed.to_str().unwrap(),
            "--retrieved",
            FIXTURE_DATE,
        ],
    );
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
    let body_limit = mixed
        .pointer_mut("/paths/~1keys~1{hash}/patch/requestBody/content/application~1json/schema/properties/limit")
        .unwrap()
        .as_object_mut()
        .unwrap();
    body_limit.insert("type".into(), Value::String("number".into()));
    body_limit.insert("nullable".into(), Value::Bool(true));
    let mixed_path = dir.write("mixed.json", serde_json::to_vec_pretty(&mixed).unwrap());
    let out = dir.path("mixed.yaml");
    let run = refresh(
        &out,
        &[
            "--from",
            mixed_path.to_str().unwrap(),
            "--retrieved",
            FIXTURE_DATE,
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert_eq!(
        body(&std::fs::read_to_string(out).unwrap()),
        body(&checked_in())
    );
}

#[test]
fn download_over_http_gives_the_same_document() {
    let dir = Scratch::new("download");
    let bytes = std::fs::read(workspace_root().join(FIXTURE_JSON)).unwrap();
    let (url, server) = serve_once(
        &format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            bytes.len()
        ),
        bytes,
    );
    let spec = dir.path("openapi.yaml");
    let run = refresh(&spec, &["--from", &url, "--retrieved", FIXTURE_DATE]);
    server.join().unwrap();
    assert_eq!(run.code, Some(0), "{}", run.all());
    let produced = dir.read("openapi.yaml");
    assert!(produced.contains(&format!("# source:         {url}\n")));
    let expected = checked_in().replace(
        &format!("# source:         {FIXTURE_JSON}\n"),
        &format!("# source:         {url}\n"),
    );
    assert_eq!(produced, expected);
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
        "updateKeys",
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
