//! The desired-state file (`DesiredKeys`): what it reads into, field by
//! field, and the exact message of every way it can be wrong, each naming
//! the file, the line and the field. No input panics, and no error quotes
//! a key's secret.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openrouter_keys::{DesiredKey, DesiredKeys, ErrorKind, LimitReset, Patch};
use proptest::prelude::*;

/// 2027-01-01T00:00:00Z.
fn new_year_2027() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_798_761_600)
}

fn parse(text: &str) -> DesiredKeys {
    DesiredKeys::from_toml(text, "keys.toml").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// The one key of a file that has one.
fn one(text: &str) -> DesiredKey {
    let mut keys = parse(text).keys;
    assert_eq!(keys.len(), 1, "{text}");
    keys.remove(0)
}

/// The message of the error the file is, without the kind's prefix.
fn error(text: &str) -> String {
    let error = DesiredKeys::from_toml(text, "keys.toml").expect_err(text);
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    let shown = error.to_string();
    shown
        .strip_prefix("invalid request, nothing was sent: ")
        .unwrap_or_else(|| panic!("{shown}"))
        .to_owned()
}

/// The error of a one-key file named "ci" with this line added.
fn field_error(line: &str) -> String {
    error(&format!("[[key]]\nname = \"ci\"\n{line}\n"))
}

const FULL: &str = r#"# The keys of the team.

[[key]]
name = "ci"
limit = 75
limit_reset = "monthly"
include_byok_in_limit = true
disabled = false
expires_at = 2027-01-01T00:00:00Z
workspace_id = "2B9E1C4E-4F3A-4D1E-9A57-0C6B8F1D2E3A"

[[key]]
name = "customer 42"

[[key]]
name = "nightly"
limit = "none"
limit_reset = "none"
disabled = true
expires_at = "2027-01-01T00:00:00+00:00"
workspace_id = "0f8fad5b-d9cb-469f-a165-70867728950e"

[[key]]
name = "staging"
workspace_id = "2b9e1c4e-4f3a-4d1e-9a57-0c6b8f1d2e3a"
"#;

#[test]
fn a_full_file_reads_into_exactly_its_keys() {
    let desired = parse(FULL);
    let keys = &desired.keys;
    assert_eq!(keys.len(), 4);

    let ci = &keys[0];
    assert_eq!(ci.name, "ci");
    assert_eq!(ci.limit, Patch::Set(75.0));
    assert_eq!(ci.limit_reset, Patch::Set(LimitReset::Monthly));
    assert_eq!(ci.include_byok_in_limit, Some(true));
    assert_eq!(ci.disabled, Some(false));
    assert_eq!(ci.expires_at, Some(new_year_2027()));
    assert_eq!(
        ci.workspace_id.as_deref(),
        Some("2b9e1c4e-4f3a-4d1e-9a57-0c6b8f1d2e3a")
    );
    assert_eq!(ci.line, 3);

    let bare = &keys[1];
    assert_eq!(bare.name, "customer 42");
    assert_eq!(bare.limit, Patch::Unchanged);
    assert_eq!(bare.limit_reset, Patch::Unchanged);
    assert_eq!(bare.include_byok_in_limit, None);
    assert_eq!(bare.disabled, None);
    assert_eq!(bare.expires_at, None);
    assert_eq!(bare.workspace_id, None);
    assert_eq!(bare.line, 12);

    let nightly = &keys[2];
    assert_eq!(nightly.name, "nightly");
    assert_eq!(nightly.limit, Patch::Clear);
    assert_eq!(nightly.limit_reset, Patch::Clear);
    assert_eq!(nightly.include_byok_in_limit, None);
    assert_eq!(nightly.disabled, Some(true));
    assert_eq!(nightly.expires_at, Some(new_year_2027()));
    assert_eq!(
        nightly.workspace_id.as_deref(),
        Some("0f8fad5b-d9cb-469f-a165-70867728950e")
    );
    assert_eq!(nightly.line, 15);

    assert_eq!(keys[3].name, "staging");
    assert_eq!(keys[3].line, 23);

    // The first key's workspace, written in upper case, is the same as the
    // last one's.
    assert_eq!(
        desired.workspaces(),
        [
            "2b9e1c4e-4f3a-4d1e-9a57-0c6b8f1d2e3a",
            "0f8fad5b-d9cb-469f-a165-70867728950e"
        ]
    );
    assert_eq!(desired.clone(), desired);
}

#[test]
fn a_file_without_keys_holds_none() {
    for text in ["", "\n\n", "# nothing yet\n", "key = []\n", "\u{feff}"] {
        assert_eq!(parse(text).keys, [], "{text:?}");
        assert_eq!(parse(text).workspaces(), Vec::<String>::new());
    }
}

#[test]
fn a_limit_is_a_number_of_usd_or_none() {
    for (written, limit) in [
        ("5", Patch::Set(5.0)),
        ("2.5", Patch::Set(2.5)),
        ("0", Patch::Set(0.0)),
        ("0.0", Patch::Set(0.0)),
        ("1_000", Patch::Set(1000.0)),
        ("1e3", Patch::Set(1000.0)),
        ("0x10", Patch::Set(16.0)),
        ("\"none\"", Patch::Clear),
    ] {
        let key = one(&format!("[[key]]\nname = \"ci\"\nlimit = {written}\n"));
        assert_eq!(key.limit, limit, "{written}");
    }
}

#[test]
fn a_limit_reset_is_each_period_or_none() {
    for (written, reset) in [
        ("daily", Patch::Set(LimitReset::Daily)),
        ("weekly", Patch::Set(LimitReset::Weekly)),
        ("monthly", Patch::Set(LimitReset::Monthly)),
        ("none", Patch::Clear),
    ] {
        let key = one(&format!(
            "[[key]]\nname = \"ci\"\nlimit_reset = \"{written}\"\n"
        ));
        assert_eq!(key.limit_reset, reset, "{written}");
    }
}

#[test]
fn booleans_are_read_as_written() {
    for (byok, disabled) in [(true, false), (false, true)] {
        let key = one(&format!(
            "[[key]]\nname = \"ci\"\ninclude_byok_in_limit = {byok}\ndisabled = {disabled}\n"
        ));
        assert_eq!(key.include_byok_in_limit, Some(byok));
        assert_eq!(key.disabled, Some(disabled));
    }
}

#[test]
fn an_expiry_is_a_utc_datetime_or_an_rfc_3339_string() {
    for written in [
        "2027-01-01T00:00:00Z",
        "2027-01-01T00:00:00+00:00",
        "2027-01-01 00:00:00Z",
        "2027-01-01T00:00:00.000Z",
        "\"2027-01-01T00:00:00Z\"",
        "\"2027-01-01T00:00:00+00:00\"",
        "\"2027-01-01T00:00:00z\"",
    ] {
        let key = one(&format!("[[key]]\nname = \"ci\"\nexpires_at = {written}\n"));
        assert_eq!(key.expires_at, Some(new_year_2027()), "{written}");
    }
    let key = one("[[key]]\nname = \"ci\"\nexpires_at = 1970-01-01T00:00:01Z\n");
    assert_eq!(key.expires_at, Some(UNIX_EPOCH + Duration::from_secs(1)));
}

#[test]
fn a_workspace_is_a_uuid_kept_in_upstreams_form() {
    for written in [
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        "0F8FAD5B-D9CB-469F-A165-70867728950E",
        "0f8fad5bd9cb469fa16570867728950e",
        "{0f8fad5b-d9cb-469f-a165-70867728950e}",
        "urn:uuid:0F8FAD5B-D9CB-469F-A165-70867728950E",
    ] {
        let key = one(&format!(
            "[[key]]\nname = \"ci\"\nworkspace_id = \"{written}\"\n"
        ));
        assert_eq!(
            key.workspace_id.as_deref(),
            Some("0f8fad5b-d9cb-469f-a165-70867728950e")
        );
    }
}

#[test]
fn keys_may_be_written_as_inline_tables_too() {
    let desired = parse("key = [\n  { name = \"a\" },\n  { name = \"b\", disabled = true },\n]\n");
    let names: Vec<_> = desired.keys.iter().map(|key| key.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(desired.keys[1].line, 3);
    assert_eq!(desired.keys[1].disabled, Some(true));
}

#[test]
fn an_unknown_field_names_itself_and_every_known_one() {
    assert_eq!(
        error("[[key]]\nname = \"ci\"\n\nlimt = 5\n"),
        "keys.toml:4: unknown field `limt` in [[key]]; expected one of name, limit, \
         limit_reset, include_byok_in_limit, disabled, expires_at, workspace_id"
    );
    // The first in the file, whatever its name.
    assert_eq!(
        error("[[key]]\nzzz = 1\nname = \"ci\"\naaa = 2\n"),
        "keys.toml:2: unknown field `zzz` in [[key]]; expected one of name, limit, \
         limit_reset, include_byok_in_limit, disabled, expires_at, workspace_id"
    );
    // A sub-table is a field too.
    assert_eq!(
        error("[[key]]\nname = \"ci\"\n[key.extra]\nx = 1\n"),
        "keys.toml:3: unknown field `extra` in [[key]]; expected one of name, limit, \
         limit_reset, include_byok_in_limit, disabled, expires_at, workspace_id"
    );
}

#[test]
fn an_unknown_top_level_field_is_refused() {
    assert_eq!(
        error("version = 1\n\n[[key]]\nname = \"ci\"\n"),
        "keys.toml:1: unknown field `version` at the top level; expected only [[key]] tables"
    );
    assert_eq!(
        error("[[key]]\nname = \"ci\"\n\n[[keys]]\nname = \"b\"\n"),
        "keys.toml:4: unknown field `keys` at the top level; expected only [[key]] tables"
    );
}

#[test]
fn keys_must_be_an_array_of_tables() {
    assert_eq!(
        error("\n[key]\nname = \"ci\"\n"),
        "keys.toml:2: key: expected [[key]] tables, found a single [key] table; \
         write each key's header as [[key]]"
    );
    assert_eq!(
        error("key = 5\n"),
        "keys.toml:1: key: expected [[key]] tables, found an integer"
    );
    assert_eq!(
        error("key = [\n  { name = \"a\" },\n  \"b\",\n]\n"),
        "keys.toml:3: key: expected [[key]] tables, found the string \"b\""
    );
}

#[test]
fn a_duplicate_name_names_both_lines() {
    assert_eq!(
        error(
            "[[key]]\nname = \"ci\"\n\n[[key]]\nname = \"other\"\n\n[[key]]\ndisabled = true\nname = \"ci\"\n"
        ),
        "keys.toml:9: key \"ci\": the name is already used at line 2"
    );
    // Names differ by case, or by a space, and are two names.
    let desired =
        parse("[[key]]\nname = \"ci\"\n[[key]]\nname = \"CI\"\n[[key]]\nname = \"ci \"\n");
    assert_eq!(desired.keys.len(), 3);
}

#[test]
fn a_key_needs_a_name_that_is_not_empty() {
    assert_eq!(
        error("[[key]]\nname = \"a\"\n\n[[key]]\nlimit = 5\n"),
        "keys.toml:4: [[key]]: name: missing; every key needs a name"
    );
    assert_eq!(
        error("[[key]]\nname = \"\"\n"),
        "keys.toml:2: [[key]]: name: expected a non-empty string, found an empty string"
    );
    assert_eq!(
        error("[[key]]\nname = \"  \"\n"),
        "keys.toml:2: [[key]]: name: expected a non-empty string, found a blank string"
    );
    assert_eq!(
        error("[[key]]\nname = 42\n"),
        "keys.toml:2: [[key]]: name: expected a non-empty string, found an integer"
    );
}

#[test]
fn a_value_of_the_wrong_type_says_what_was_expected_and_found() {
    for (line, message) in [
        (
            "limit = true",
            "limit: expected a number of USD or \"none\", found a boolean",
        ),
        (
            "limit = \"5\"",
            "limit: expected a number of USD or \"none\", found the string \"5\"",
        ),
        (
            "limit_reset = 1",
            "limit_reset: expected \"daily\", \"weekly\", \"monthly\", or \"none\", found an integer",
        ),
        (
            "include_byok_in_limit = \"yes\"",
            "include_byok_in_limit: expected true or false, found the string \"yes\"",
        ),
        (
            "disabled = 0",
            "disabled: expected true or false, found an integer",
        ),
        (
            "disabled = [true]",
            "disabled: expected true or false, found an array",
        ),
        (
            "expires_at = 1798761600",
            "expires_at: expected a date and time in UTC (ending in Z or +00:00), found an integer",
        ),
        (
            "workspace_id = 7",
            "workspace_id: expected a UUID, found an integer",
        ),
        (
            "limit = { usd = 5 }",
            "limit: expected a number of USD or \"none\", found a table",
        ),
    ] {
        assert_eq!(
            field_error(line),
            format!("keys.toml:3: key \"ci\": {message}"),
            "{line}"
        );
    }
    // A field written as a table of its own is found on its header's line.
    assert_eq!(
        error("[[key]]\nname = \"ci\"\n\n[key.disabled]\nx = 1\n"),
        "keys.toml:4: key \"ci\": disabled: expected true or false, found a table"
    );
}

#[test]
fn a_limit_must_be_finite_and_not_negative() {
    for (line, message) in [
        ("limit = -5", "limit: must not be negative, found -5"),
        ("limit = -0.01", "limit: must not be negative, found -0.01"),
        (
            "limit = inf",
            "limit: expected a finite number of USD, found inf",
        ),
        (
            "limit = -inf",
            "limit: expected a finite number of USD, found -inf",
        ),
        (
            "limit = nan",
            "limit: expected a finite number of USD, found nan",
        ),
        (
            "limit = 1e400",
            "limit: expected a finite number of USD, found 1e400",
        ),
    ] {
        assert_eq!(
            field_error(line),
            format!("keys.toml:3: key \"ci\": {message}"),
            "{line}"
        );
    }
}

#[test]
fn a_bad_limit_reset_lists_the_accepted_values() {
    assert_eq!(
        field_error("limit_reset = \"yearly\""),
        "keys.toml:3: key \"ci\": limit_reset: expected \"daily\", \"weekly\", \"monthly\", \
         or \"none\", found the string \"yearly\""
    );
    assert_eq!(
        field_error("limit_reset = \"Daily\""),
        "keys.toml:3: key \"ci\": limit_reset: expected \"daily\", \"weekly\", \"monthly\", \
         or \"none\", found the string \"Daily\""
    );
}

#[test]
fn an_expiry_must_be_in_utc_and_whole_seconds() {
    const UTC: &str = "expected a date and time in UTC (ending in Z or +00:00)";
    for (line, message) in [
        (
            "expires_at = 2027-01-01T02:00:00+02:00",
            format!("{UTC}, found the offset +02:00"),
        ),
        (
            "expires_at = \"2026-12-31T19:00:00-05:00\"",
            format!("{UTC}, found the offset -05:00"),
        ),
        (
            "expires_at = 2027-01-01T00:00:00",
            format!("{UTC}, found a local date-time, without an offset"),
        ),
        (
            "expires_at = \"2027-01-01T00:00:00\"",
            format!("{UTC}, found a local date-time, without an offset"),
        ),
        (
            "expires_at = 2027-01-01",
            format!("{UTC}, found a date without a time"),
        ),
        (
            "expires_at = 12:00:00",
            format!("{UTC}, found a time without a date"),
        ),
        (
            "expires_at = \"tomorrow\"",
            format!("{UTC}, found the string \"tomorrow\""),
        ),
        (
            "expires_at = \"2027-02-30T00:00:00Z\"",
            format!("{UTC}, found the string \"2027-02-30T00:00:00Z\""),
        ),
        (
            "expires_at = 2027-01-01T00:00:00.5Z",
            "expected whole seconds, as the API keeps them, found a fraction of a second"
                .to_owned(),
        ),
        (
            "expires_at = 1969-12-31T23:59:59Z",
            "expected a time from 1970 on, found 1969-12-31T23:59:59Z".to_owned(),
        ),
        (
            "expires_at = 2027-01-01T00:00:60Z",
            "2027-01-01T00:00:60Z is not a time a clock shows (a leap second?)".to_owned(),
        ),
    ] {
        assert_eq!(
            field_error(line),
            format!("keys.toml:3: key \"ci\": expires_at: {message}"),
            "{line}"
        );
    }
}

#[test]
fn a_workspace_must_be_a_uuid() {
    assert_eq!(
        field_error("workspace_id = \"default\""),
        "keys.toml:3: key \"ci\": workspace_id: expected a UUID, found the string \"default\""
    );
    assert_eq!(
        field_error("workspace_id = \"0f8fad5b-d9cb-469f-a165-70867728950\""),
        "keys.toml:3: key \"ci\": workspace_id: expected a UUID, found the string \
         \"0f8fad5b-d9cb-469f-a165-70867728950\""
    );
}

#[test]
fn a_toml_syntax_error_names_its_line() {
    assert_eq!(
        error("[[key]]\nname = \"ci\"\nlimit = \n"),
        "keys.toml:3: not valid TOML: string values must be quoted, expected literal string"
    );
    assert_eq!(
        error("[[key]]\nname = \"ci\"\n\n[[key]\nname = \"b\"\n"),
        "keys.toml:4: not valid TOML: unclosed array table, expected `]`"
    );
    assert_eq!(
        error("[[key]]\nname = \"ci\"\nname = \"b\"\n"),
        "keys.toml:3: not valid TOML: duplicate key"
    );
    assert_eq!(
        error("[[key]]\nname = \"ci\n"),
        "keys.toml:2: not valid TOML: invalid basic string, expected `\"`"
    );
}

#[test]
fn the_first_error_in_the_file_is_the_one_reported() {
    assert_eq!(
        error("[[key]]\nname = \"a\"\nlimit = -1\n\n[[key]]\nname = \"b\"\nlimit = true\n"),
        "keys.toml:3: key \"a\": limit: must not be negative, found -1"
    );
}

#[test]
fn the_origin_names_the_file_in_every_message() {
    let error = DesiredKeys::from_toml("[[key]]\nlimit = 5\n", "teams/ml/keys.toml").unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid request, nothing was sent: teams/ml/keys.toml:1: [[key]]: name: missing; \
         every key needs a name"
    );
}

/// A file of this test's own, removed when dropped.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> Self {
        let path = std::env::temp_dir().join(format!("desired-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn load_reads_the_file_and_names_it_in_errors() {
    let file = TempFile::new("good.toml", FULL);
    assert_eq!(DesiredKeys::load(&file.0).unwrap(), parse(FULL));

    let file = TempFile::new("bad.toml", "[[key]]\nname = \"ci\"\nlimit = true\n");
    assert_eq!(
        DesiredKeys::load(&file.0).unwrap_err().to_string(),
        format!(
            "invalid request, nothing was sent: {}:3: key \"ci\": limit: expected a number of \
             USD or \"none\", found a boolean",
            file.0.display()
        )
    );
}

#[test]
fn an_unreadable_file_names_the_path_and_the_reason() {
    let missing = std::env::temp_dir().join(format!("desired-{}-missing.toml", std::process::id()));
    let reason = std::fs::read_to_string(&missing).unwrap_err();
    let error = DesiredKeys::load(&missing).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    assert_eq!(
        error.to_string(),
        format!(
            "invalid request, nothing was sent: cannot read {}: {reason}",
            missing.display()
        )
    );

    let dir = std::env::temp_dir();
    let reason = std::fs::read_to_string(&dir).unwrap_err();
    assert_eq!(
        DesiredKeys::load(&dir).unwrap_err().to_string(),
        format!(
            "invalid request, nothing was sent: cannot read {}: {reason}",
            dir.display()
        )
    );

    let file = TempFile::new("latin1.toml", "");
    std::fs::write(&file.0, b"[[key]]\nname = \"caf\xe9\"\n").unwrap();
    let reason = std::fs::read_to_string(&file.0).unwrap_err();
    assert_eq!(
        DesiredKeys::load(&file.0).unwrap_err().to_string(),
        format!(
            "invalid request, nothing was sent: cannot read {}: {reason}",
            file.0.display()
        )
    );
}

const SECRET: &str = "sk-or-v1-abcdef0123456789";

#[test]
fn no_error_quotes_a_secret() {
    let files = [
        format!("[[key]]\nname = \"ci\"\ndisabled = \"{SECRET}\"\n"),
        format!("[[key]]\nname = \"ci\"\nlimit = \"{SECRET}\"\n"),
        format!("[[key]]\nname = \"ci\"\nlimit_reset = \"{SECRET}\"\n"),
        format!("[[key]]\nname = \"ci\"\nexpires_at = \"{SECRET}\"\n"),
        format!("[[key]]\nname = \"ci\"\nworkspace_id = \"{SECRET}\"\n"),
        format!("[[key]]\nname = \"{SECRET}\"\ndisabled = 1\n"),
        format!("[[key]]\nname = \"{SECRET}\"\n[[key]]\nname = \"{SECRET}\"\n"),
        format!("[[key]]\nname = \"ci\"\n\"{SECRET}\" = 1\n"),
        format!("\"{SECRET}\" = 1\n"),
        format!("key = [\"{SECRET}\"]\n"),
        format!("[[key]]\nname = \"ci\"\n{SECRET} = \n"),
    ];
    for text in &files {
        let error = DesiredKeys::from_toml(text, "keys.toml").unwrap_err();
        for shown in [error.to_string(), format!("{error:?}")] {
            assert!(!shown.contains("sk-or-"), "{shown}");
            assert!(!shown.contains("abcdef"), "{shown}");
        }
    }
    assert_eq!(
        error(&files[0]),
        "keys.toml:3: key \"ci\": disabled: expected true or false, found the string \"[redacted]\""
    );
    assert_eq!(
        error(&files[5]),
        "keys.toml:3: key \"[redacted]\": disabled: expected true or false, found an integer"
    );
}

#[test]
fn control_characters_and_long_values_are_not_quoted_as_they_are() {
    let long = "x".repeat(500);
    let message = field_error(&format!("disabled = \"{long}\\u001b[31m\""));
    assert_eq!(
        message,
        format!(
            "keys.toml:3: key \"ci\": disabled: expected true or false, found the string \"{}…\"",
            "x".repeat(60)
        )
    );
    let message = field_error("disabled = \"a\\u001b[31mb\\nc\"");
    assert_eq!(
        message,
        "keys.toml:3: key \"ci\": disabled: expected true or false, found the string \"a[31mb c\""
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("x = {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    assert!(error(&deep).starts_with("keys.toml:1: "));
    let deep = format!("x = {}1{}\n", "{a = ".repeat(100_000), "}".repeat(100_000));
    assert!(error(&deep).starts_with("keys.toml:1: "));
}

/// Pieces of desired-state files, right and wrong, to put together.
const PIECES: &[&str] = &[
    "[[key]]\n",
    "[key]\n",
    "[[key\n",
    "[key.limit]\n",
    "name = \"ci\"\n",
    "name = \"b\"\n",
    "name = 1\n",
    "name = \"",
    "limit = 5\n",
    "limit = -1e999\n",
    "limit = nan\n",
    "limit = \"none\"\n",
    "limit_reset = \"weekly\"\n",
    "limit_reset = \"hourly\"\n",
    "disabled = true\n",
    "expires_at = 2027-01-01T00:00:00Z\n",
    "expires_at = 2027-01-01T00:00:00.999999999-23:59\n",
    "expires_at = \"9999-12-31T23:59:60Z\"\n",
    "expires_at = 0000-01-01\n",
    "workspace_id = \"0F8FAD5B-D9CB-469F-A165-70867728950E\"\n",
    "workspace_id = \"{0f8fad5b-d9cb-469f-a165-70867728950e}\"\n",
    "key = [{ name = \"x\" }]\n",
    "key = 1\n",
    "other = 1\n",
    "\"sk-or-v1-secret\" = \"sk-or-v1-secret\"\n",
    "# comment\n",
    "\n",
    "\r\n",
    "\u{feff}",
    "é = \"\u{1b}\"\n",
    "=",
    "]",
    "\"",
    "'''",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any mix of pieces ends in keys or an error naming the file and a
    /// line within it, never a panic, and never quotes a secret.
    #[test]
    fn any_file_reads_or_fails_cleanly(pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..24)) {
        let text = pieces.concat();
        match DesiredKeys::from_toml(&text, "keys.toml") {
            Ok(desired) => {
                let lines = text.lines().count().max(1);
                for key in &desired.keys {
                    prop_assert!(!key.name.trim().is_empty());
                    prop_assert!(key.line >= 1 && key.line <= lines);
                }
            }
            Err(error) => {
                let shown = error.to_string();
                let rest = shown.strip_prefix("invalid request, nothing was sent: keys.toml:").unwrap();
                let line: usize = rest.split(':').next().unwrap().parse().unwrap();
                prop_assert!(line >= 1 && line <= text.split('\n').count(), "{}", shown);
                prop_assert!(!shown.contains("sk-or-"), "{}", shown);
                prop_assert!(!shown.chars().any(char::is_control), "{}", shown);
            }
        }
    }

    /// Any text at all, too.
    #[test]
    fn any_text_reads_or_fails_without_a_panic(text in any::<String>()) {
        let _ = DesiredKeys::from_toml(&text, "keys.toml");
    }
}
