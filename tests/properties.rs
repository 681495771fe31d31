//! Property tests: bad input from callers and from servers.
//!
//! - Every combination of `KeyUpdate` field states serialises to exactly
//!   the JSON it should (the expectation is built here, field by field,
//!   without the crate's serialiser) and deserialises back to itself.
//! - A limit that is not finite never serialises as `null`, which would
//!   clear the limit instead of refusing the update.
//! - Any hash, of any unicode and reserved characters, is sent as exactly
//!   one path segment under `/api/v1/keys/` that percent-decodes back to the
//!   hash, or is refused before sending.
//! - Any bytes from the server, under any status from 100 to 599, end in
//!   success or an `Error`, never a panic, with an `applied()` and a
//!   `status()` consistent with what was sent, and a message free of the key
//!   and of control characters.
//!
//! Statuses 1xx other than 101 are interim responses in HTTP/1.1: the
//! server sends one and then a final 200 with the arbitrary body, which is
//! what such a response would look like on the wire. 101 is sent as is: an
//! upgrade nobody asked for, which must end as `Error::Status`.

mod common;
mod fault_server;

use common::{HASH, KEY, success_body};
use fault_server::{FaultServer, Step, answer, ok};
use openrouter_keys::{
    ApiKey, Applied, Client, Error, ErrorKind, KeyUpdate, LimitReset, Patch, RetryConfig,
};
use proptest::prelude::*;
use serde_json::Value;

const CASES: u32 = 192;

fn config() -> ProptestConfig {
    ProptestConfig {
        // PROPTEST_CASES raises the count for a longer hunt.
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(CASES),
        // Shrinking a network case is slow and rarely needed to read it.
        max_shrink_iters: 256,
        // Integration tests have no lib.rs beside them to keep a
        // regressions file for; a failure prints its seed instead.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---- the request body ------------------------------------------------------

fn any_reset() -> impl Strategy<Value = LimitReset> {
    prop_oneof![
        Just(LimitReset::Daily),
        Just(LimitReset::Weekly),
        Just(LimitReset::Monthly)
    ]
}

fn patch_of<T: std::fmt::Debug + Clone>(
    value: impl Strategy<Value = T>,
) -> impl Strategy<Value = Patch<T>> {
    prop_oneof![
        Just(Patch::Unchanged),
        Just(Patch::Clear),
        value.prop_map(Patch::Set),
    ]
}

/// Finite limits, weighted toward the edges: whole dollars, cents, zero of
/// both signs, the edge of exact integers, and anything else `f64` holds.
fn finite_limit() -> impl Strategy<Value = f64> {
    prop_oneof![
        (0u32..100_000).prop_map(f64::from),
        (0u64..10_000_000).prop_map(|cents| cents as f64 / 100.0),
        Just(0.0),
        Just(-0.0),
        Just(9_007_199_254_740_992.0),
        Just(9_007_199_254_740_994.0),
        Just(f64::MAX),
        Just(f64::MIN_POSITIVE),
        Just(-1.0),
        prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
    ]
}

#[derive(Clone, Debug)]
struct Fields {
    name: Option<String>,
    disabled: Option<bool>,
    limit: Patch<f64>,
    limit_reset: Patch<LimitReset>,
    include_byok_in_limit: Option<bool>,
}

fn any_fields() -> impl Strategy<Value = Fields> {
    (
        proptest::option::of(any::<String>()),
        proptest::option::of(any::<bool>()),
        patch_of(finite_limit()),
        patch_of(any_reset()),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(
            |(name, disabled, limit, limit_reset, include_byok_in_limit)| Fields {
                name,
                disabled,
                limit,
                limit_reset,
                include_byok_in_limit,
            },
        )
}

/// Builds the update through the public builder methods.
fn build(fields: &Fields) -> KeyUpdate {
    let mut update = KeyUpdate::new();
    if let Some(name) = &fields.name {
        update = update.name(name.clone());
    }
    if let Some(disabled) = fields.disabled {
        update = update.disabled(disabled);
    }
    update = update
        .set_limit(fields.limit)
        .set_limit_reset(fields.limit_reset);
    if let Some(include) = fields.include_byok_in_limit {
        update = update.include_byok_in_limit(include);
    }
    update
}

/// The JSON the API should receive, in the documented field order: absent
/// for unchanged, `null` for cleared, the value for set; a limit that is a
/// whole number of dollars (exactly representable) as an integer.
fn expected_json(fields: &Fields) -> String {
    fn string(s: &str) -> String {
        Value::String(s.to_owned()).to_string()
    }
    let mut parts = Vec::new();
    if let Some(name) = &fields.name {
        parts.push(format!("\"name\":{}", string(name)));
    }
    if let Some(disabled) = fields.disabled {
        parts.push(format!("\"disabled\":{disabled}"));
    }
    match fields.limit {
        Patch::Unchanged => {}
        Patch::Clear => parts.push("\"limit\":null".to_owned()),
        Patch::Set(v) => {
            let exact_integer = v == v.trunc() && v.abs() <= 9_007_199_254_740_992.0;
            let number = if exact_integer {
                // Through i64, so that -0.0 is written as 0.
                (v as i64).to_string()
            } else {
                Value::from(v).to_string()
            };
            parts.push(format!("\"limit\":{number}"));
        }
    }
    match fields.limit_reset {
        Patch::Unchanged => {}
        Patch::Clear => parts.push("\"limit_reset\":null".to_owned()),
        Patch::Set(reset) => {
            let word = match reset {
                LimitReset::Daily => "daily",
                LimitReset::Weekly => "weekly",
                LimitReset::Monthly => "monthly",
                _ => unreachable!("the strategy makes only these"),
            };
            parts.push(format!("\"limit_reset\":\"{word}\""));
        }
    }
    if let Some(include) = fields.include_byok_in_limit {
        parts.push(format!("\"include_byok_in_limit\":{include}"));
    }
    format!("{{{}}}", parts.join(","))
}

/// Whether a limit read back from JSON is the one written. The JSON text is
/// exact (shortest round-trip digits), but serde_json, without its
/// `float_roundtrip` feature (a choice its user makes for the whole
/// program), may read a number with many significant digits or a large
/// exponent a few units in the last place off (seen: two, at 1.97e-177).
/// Amounts in whole cents, which is what limits are, must read back
/// exactly.
fn reads_back(written: f64, read: f64) -> bool {
    let cents = written * 100.0;
    let money = cents == cents.trunc() && cents.abs() < 9_007_199_254_740_992.0;
    if money {
        read == written
    } else {
        read == written || (read - written).abs() <= written.abs() * 4.0 * f64::EPSILON
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_combination_of_field_states_serialises_exactly(fields in any_fields()) {
        let update = build(&fields);
        let json = serde_json::to_string(&update).unwrap();
        prop_assert_eq!(&json, &expected_json(&fields));

        // The getters report what was set.
        prop_assert_eq!(update.name.as_deref(), fields.name.as_deref());
        prop_assert_eq!(update.disabled, fields.disabled);
        prop_assert_eq!(update.limit_reset, fields.limit_reset);

        // It reads back as itself (-0.0 reads back as 0.0, which is equal).
        let back: KeyUpdate = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back.name.as_deref(), update.name.as_deref());
        prop_assert_eq!(back.disabled, update.disabled);
        prop_assert_eq!(back.limit_reset, update.limit_reset);
        prop_assert_eq!(back.include_byok_in_limit, update.include_byok_in_limit);
        match (back.limit, update.limit) {
            (Patch::Set(read), Patch::Set(written)) => prop_assert!(
                reads_back(written, read),
                "limit {written:e} read back as {read:e} from {json}"
            ),
            (read, written) => prop_assert_eq!(read, written),
        }

        // Validation: something must be set, and a limit must not be negative.
        let empty = fields.name.is_none()
            && fields.disabled.is_none()
            && fields.limit == Patch::Unchanged
            && fields.limit_reset == Patch::Unchanged
            && fields.include_byok_in_limit.is_none();
        prop_assert_eq!(update.is_empty(), empty);
        let negative = matches!(fields.limit, Patch::Set(v) if v < 0.0);
        prop_assert_eq!(update.validate().is_ok(), !empty && !negative);
    }

    #[test]
    fn a_limit_that_is_not_finite_never_serialises_as_null(
        fields in any_fields(),
        bad in prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY)],
    ) {
        let update = build(&fields).limit(bad);
        // `null` would clear the limit: the opposite of what was asked.
        let serialised = serde_json::to_string(&update);
        prop_assert!(serialised.is_err(), "{bad} serialised as {:?}", serialised);
        prop_assert!(update.validate().is_err());
    }
}

#[test]
fn unknown_and_mistyped_fields_are_refused_on_read() {
    for text in [
        r#"{"nmae":"typo"}"#,
        r#"{"limit":"75"}"#,
        r#"{"limit_reset":"hourly"}"#,
        r#"{"disabled":"yes"}"#,
    ] {
        assert!(
            serde_json::from_str::<KeyUpdate>(text).is_err(),
            "{text} was accepted"
        );
    }
    // Absent, null and a value are the three states.
    let update: KeyUpdate =
        serde_json::from_str(r#"{"limit":null,"limit_reset":"weekly"}"#).unwrap();
    assert_eq!(update.limit, Patch::Clear);
    assert_eq!(update.limit_reset, Patch::Set(LimitReset::Weekly));
    assert_eq!(
        serde_json::from_str::<KeyUpdate>("{}").unwrap(),
        KeyUpdate::new()
    );
}

// ---- the hash in the path --------------------------------------------------

/// Characters that mean something in a URL, or to a parser of one.
const RESERVED: &[char] = &[
    '/', '\\', '?', '#', '%', '.', ' ', ';', ':', '@', '&', '=', '+', '$', ',', '[', ']', '!',
    '\'', '(', ')', '*', '~', '^', '|', '`', '{', '}', '"', '<', '>', '\t', '\n', '\r', '\0',
    '\u{7f}', '\u{a0}', '\u{2028}', '\u{ff0e}', '\u{ff0f}', 'é', '中', '😀', 'a', 'F', '0',
];

fn any_hash() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(prop::sample::select(RESERVED), 0..12)
            .prop_map(|chars| chars.into_iter().collect()),
        // Dot segments, plain and encoded, alone or with a separator.
        prop::sample::select(vec![
            ".",
            "..",
            "...",
            "%2e",
            "%2E%2e",
            ".%2e",
            "./",
            "../",
            "..\\",
            "\\..",
            "a/..",
            "%2f",
            "%5c",
            "%252e",
            "\u{ff0e}\u{ff0e}",
        ])
        .prop_map(str::to_owned),
    ]
}

fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The hashes the client refuses before sending anything.
fn refused(hash: &str) -> bool {
    hash.is_empty() || hash == "." || hash == ".." || hash.contains('\\')
}

struct Rig {
    runtime: tokio::runtime::Runtime,
    server: FaultServer,
    client: Client,
}

fn rig() -> Rig {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(FaultServer::always(answer(ok())));
    let client = common::client(&server.base_url, RetryConfig::disabled());
    Rig {
        runtime,
        server,
        client,
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_hash_is_always_one_path_segment(hash in any_hash()) {
        thread_local! {
            static RIG: Rig = rig();
        }
        RIG.with(|rig| {
            let before = rig.server.requests();
            let result = rig.runtime.block_on(
                rig.client.update_key(&hash, &KeyUpdate::new().disabled(true)),
            );
            let received = rig.server.received();
            if refused(&hash) {
                prop_assert!(
                    result.as_ref().is_err_and(|e| e.kind() == ErrorKind::InvalidRequest),
                    "{hash:?} was not refused: {result:?}"
                );
                prop_assert_eq!(received.len(), before, "{:?} was sent", hash);
                return Ok(());
            }
            prop_assert!(result.is_ok(), "{hash:?}: {result:?}");
            prop_assert_eq!(received.len(), before + 1);
            let target = &received.last().unwrap().target;
            let segment = target.strip_prefix("/api/v1/keys/");
            prop_assert!(segment.is_some(), "{hash:?} went to {target}");
            let segment = segment.unwrap();
            prop_assert!(
                !segment.contains(['/', '?', '#', '\\']),
                "{hash:?} is more than one segment: {target}"
            );
            let decoded = percent_decode(segment);
            prop_assert_eq!(
                decoded.as_deref(),
                Some(hash.as_bytes()),
                "{:?} went to {}", hash, target
            );
            Ok(())
        })?;
    }
}

// ---- what the server sends back ----------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Framing {
    ContentLength,
    Chunked,
    /// No length: the body ends when the connection closes.
    UntilClose,
    /// No HTTP at all: the bytes are the whole response.
    Raw,
}

fn any_framing() -> impl Strategy<Value = Framing> {
    prop_oneof![
        3 => Just(Framing::ContentLength),
        2 => Just(Framing::Chunked),
        2 => Just(Framing::UntilClose),
        1 => Just(Framing::Raw),
    ]
}

/// Bodies: arbitrary bytes, or near-misses of what the API sends.
fn any_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..1024),
        1 => Just(success_body().into_bytes()),
        1 => (0usize..600).prop_map(|cut| success_body().into_bytes()[..cut].to_vec()),
        1 => prop_oneof![any::<String>(), "[a-z \\x00-\\x1f\\x7f\\u{80}-\\u{9f}]{0,64}"].prop_map(|message| {
            common::error_body(500, &message).into_bytes()
        }),
        1 => Just(common::error_body(1, KEY).into_bytes()),
    ]
}

/// The bytes of one response, and the status the client should end up with
/// (`None` when the bytes are not HTTP).
fn response_bytes(status: u16, framing: Framing, body: &[u8]) -> (Vec<u8>, Option<u16>) {
    let mut out = Vec::new();
    let mut status = status;
    if (100..200).contains(&status) && status != 101 {
        out.extend_from_slice(format!("HTTP/1.1 {status} Interim\r\n\r\n").as_bytes());
        status = 200;
    }
    let head =
        |extra: &str| format!("HTTP/1.1 {status} Whatever\r\nconnection: close\r\n{extra}\r\n");
    match framing {
        Framing::ContentLength => {
            out.extend_from_slice(head(&format!("content-length: {}\r\n", body.len())).as_bytes());
            out.extend_from_slice(body);
        }
        Framing::Chunked => {
            out.extend_from_slice(head("transfer-encoding: chunked\r\n").as_bytes());
            for chunk in body.chunks(100) {
                out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
        }
        Framing::UntilClose => {
            out.extend_from_slice(head("").as_bytes());
            out.extend_from_slice(body);
        }
        Framing::Raw => return (body.to_vec(), None),
    }
    (out, Some(status))
}

/// A server and a client for many cases: building a client (its TLS
/// roots) costs far more than a case.
struct Answers {
    runtime: tokio::runtime::Runtime,
    server: FaultServer,
    client: Client,
}

/// Standard retries on the paused clock, so that retried statuses cost no
/// real time; without the shared retry budget, which one client serving
/// every case would otherwise spend after some thirty retried answers. Keep the answers small there: while a large body is in
/// flight on a loaded machine the runtime may find nothing ready for a
/// moment, and the paused clock then jumps to the attempt timeout.
fn answers() -> Answers {
    rig_with(true, RetryConfig::standard().without_budget())
}

/// No retries on the real clock, for answers of any size.
fn answers_in_real_time() -> Answers {
    rig_with(false, RetryConfig::disabled())
}

fn rig_with(paused: bool, retry: RetryConfig) -> Answers {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(paused)
        .build()
        .unwrap();
    let server = runtime.block_on(FaultServer::always(answer(ok())));
    let client = common::client(&server.base_url, retry);
    Answers {
        runtime,
        server,
        client,
    }
}

/// Plays `bytes` as the answer to one call through the rig's client.
/// `Err` if the call panicked.
fn call_with(rig: &Answers, bytes: Vec<u8>) -> Result<Result<ApiKey, Error>, String> {
    rig.server
        .replay(vec![Step::ReadRequest, Step::Write(bytes.into())]);
    let client = rig.client.clone();
    let joined = rig.runtime.block_on(async {
        tokio::spawn(async move {
            client
                .update_key(HASH, &KeyUpdate::new().disabled(true))
                .await
        })
        .await
    });
    joined.map_err(|e| format!("the call panicked: {e}"))
}

/// The longest message an error may have, whatever the server sent.
const MAX_MESSAGE: usize = 2048;

/// Runs one response through the client and checks what came out.
fn check_response(rig: &Answers, status: u16, framing: Framing, body: &[u8]) -> Result<(), String> {
    let (bytes, final_status) = response_bytes(status, framing, body);
    let error = match call_with(rig, bytes)? {
        Ok(key) => {
            return if final_status == Some(200) {
                Ok(())
            } else {
                Err(format!(
                    "success ({}) from status {final_status:?}",
                    key.hash
                ))
            };
        }
        Err(error) => error,
    };
    check_error(&error, final_status)
}

/// What must hold of any error a server's answer leads to.
fn check_error(error: &Error, final_status: Option<u16>) -> Result<(), String> {
    let display = error.to_string();
    let debug = format!("{error:?}");
    if display.contains(KEY)
        || debug.contains(KEY)
        || display.contains("SECRET")
        || debug.contains("SECRET")
    {
        return Err(format!("the key leaked: {display} / {debug}"));
    }
    if display.chars().count() > MAX_MESSAGE {
        return Err(format!(
            "a message of {} characters: {}…",
            display.chars().count(),
            display.chars().take(200).collect::<String>()
        ));
    }
    if let Some(c) = display.chars().find(|c| c.is_control()) {
        return Err(format!(
            "control character {c:?} in the message: {display:?}"
        ));
    }
    if !(1..=4).contains(&error.attempts()) {
        return Err(format!("{} attempts: {display}", error.attempts()));
    }
    if matches!(error.kind(), ErrorKind::InvalidRequest | ErrorKind::Config) {
        return Err(format!("a server's answer became {error:?}"));
    }
    if let Some(got) = error.status()
        && Some(got.as_u16()) != final_status
    {
        return Err(format!(
            "status {got} reported for {final_status:?}: {display}"
        ));
    }
    let success = final_status.is_some_and(|s| (200..300).contains(&s));
    match error.applied() {
        Applied::Yes if !success => {
            return Err(format!(
                "applied Yes after status {final_status:?}: {display}"
            ));
        }
        Applied::Maybe if error.status().is_some() => {
            return Err(format!("applied Maybe with a status: {display}"));
        }
        Applied::Maybe if !display.contains("may have been applied") => {
            return Err(format!(
                "applied Maybe, but the message does not say so: {display}"
            ));
        }
        _ => {}
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_answer_ends_in_success_or_an_error(
        status in prop_oneof![
            100u16..=599,
            prop::sample::select(vec![200u16, 204, 400, 401, 404, 418, 429, 500, 502, 503]),
        ],
        framing in any_framing(),
        body in any_body(),
    ) {
        thread_local! {
            static ANSWERS: Answers = answers();
        }
        let outcome = ANSWERS.with(|rig| check_response(rig, status, framing, &body));
        prop_assert!(outcome.is_ok(), "status {} {:?}: {}", status, framing, outcome.unwrap_err());
    }
}

/// Every status from 100 to 599 once, with a body from a seeded generator,
/// so that no status is left to chance.
#[test]
fn every_status_with_seeded_random_bodies() {
    let rig = answers();
    let mut rng = fastrand::Rng::with_seed(0x5eed_f417);
    let framings = [
        Framing::ContentLength,
        Framing::Chunked,
        Framing::UntilClose,
        Framing::Raw,
    ];
    let mut failures = Vec::new();
    for status in 100u16..=599 {
        let len = rng.usize(0..512);
        let body: Vec<u8> = match rng.u8(0..4) {
            0 => success_body().into_bytes(),
            1 => common::error_body(status, "no").into_bytes(),
            _ => std::iter::repeat_with(|| rng.u8(..)).take(len).collect(),
        };
        let framing = framings[usize::from(status) % framings.len()];
        if let Err(message) = check_response(&rig, status, framing, &body) {
            failures.push(format!("status {status} {framing:?}: {message}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The API's error message is shown in `Display`, but a server must not be
/// able to steer the terminal that prints it (escape sequences, fake
/// lines) or flood it: control characters go, and the text is cut.
#[test]
fn a_server_message_is_shown_without_control_characters_and_cut() {
    let rig = answers_in_real_time();
    let hostile = "\u{1b}[2J\u{1b}]0;owned\u{7}gone\r\nfake: line\u{0}";
    let long = "y".repeat(900 * 1024);
    for status in [400u16, 401, 404, 418, 429, 500, 503] {
        for message in [hostile, long.as_str()] {
            let body = common::error_body(status, message);
            let (bytes, _) = response_bytes(status, Framing::ContentLength, body.as_bytes());
            let error = call_with(&rig, bytes).unwrap().unwrap_err();
            check_error(&error, Some(status)).unwrap();
            // The message itself is kept whole for the caller.
            assert_eq!(error.api_error().map(|e| e.message.as_str()), Some(message));
        }
    }
    // A success answer whose field holds a hostile or huge string: the
    // decoding error quotes it, escaped and cut.
    for text in [hostile, long.as_str()] {
        let mut body = common::success_json();
        body["data"]["usage"] = Value::String(text.to_owned());
        let (bytes, _) = response_bytes(200, Framing::ContentLength, body.to_string().as_bytes());
        let error = call_with(&rig, bytes).unwrap().unwrap_err();
        assert!(error.kind() == ErrorKind::Decode, "{error:?}");
        check_error(&error, Some(200)).unwrap();
    }
}

proptest! {
    #![proptest_config(config())]

    /// Header values a server controls (the wait hints above all) may hold
    /// any bytes: they are read or ignored, never trusted into a panic or a
    /// wait beyond the budget.
    #[test]
    fn any_header_value_is_read_or_ignored(
        status in prop::sample::select(vec![200u16, 307, 408, 429, 500, 503]),
        name in prop::sample::select(vec!["retry-after", "retry-after-ms", "content-type", "location", "content-length"]),
        value in prop_oneof![
            prop::collection::vec(any::<u8>().prop_filter("no line breaks", |b| *b != b'\r' && *b != b'\n'), 0..40),
            "[0-9]{1,30}".prop_map(String::into_bytes),
            "-?[0-9]{1,5}(\\.[0-9]{0,5})?(e[0-9]{1,3})?".prop_map(String::into_bytes),
        ],
    ) {
        thread_local! {
            static ANSWERS: Answers = answers();
        }
        let body = if status == 200 { success_body() } else { String::new() };
        let mut bytes = format!("HTTP/1.1 {status} Whatever\r\nconnection: close\r\n{name}: ").into_bytes();
        bytes.extend_from_slice(&value);
        bytes.extend_from_slice(b"\r\n");
        if name != "content-length" {
            bytes.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
        }
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(body.as_bytes());
        let outcome = ANSWERS.with(|rig| {
            let start = rig.runtime.block_on(async { tokio::time::Instant::now() });
            let result = call_with(rig, bytes)?;
            let elapsed = rig.runtime.block_on(async { start.elapsed() });
            if elapsed > std::time::Duration::from_secs(30) {
                return Err(format!("took {elapsed:?}, beyond the 30 s budget"));
            }
            match result {
                Ok(_) if status == 200 => Ok(()),
                Ok(_) => Err(format!("success from status {status}")),
                Err(error) => check_error(&error, Some(status)),
            }
        });
        prop_assert!(outcome.is_ok(), "{} {}: {:?}: {}", status, name, String::from_utf8_lossy(&value), outcome.unwrap_err());
    }
}
