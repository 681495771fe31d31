//! Secret hygiene: the API key appears in no `Debug` or `Display` output of
//! any public type, in no error the client can return (even when the server
//! echoes the key back in every place it can), and in no log line at TRACE,
//! reqwest's and hyper's included.

mod common;
mod fault_server;

use std::time::Duration;

use bytes::Bytes;
use common::{HASH, KEY};
use fault_server::{FaultServer, Script, Step, answer, dead_base_url, logs, ok, response};
use openrouter_keys::{
    Applied, Change, Client, ClientBuilder, Error, FileStore, KeyUpdate, LimitReset, ListOptions,
    NewKey, Patch, Resend, RetryConfig, SecretStore, StoreError, StoreState,
};

/// Pieces of the key that must not show either: a prefix cut at a message
/// limit would still give most of it away.
const KEY_PARTS: &[&str] = &[KEY, "SECRET", "0123456789abcdef"];

fn assert_clean(what: &str, text: &str) {
    for part in KEY_PARTS {
        assert!(
            !text.contains(part),
            "{what} shows the key ({part:?}): {text}"
        );
    }
}

/// Every text an error offers: Display, Debug (plain and pretty), its
/// source chain, and the accessors that return server text.
fn texts_of(error: &Error) -> Vec<(String, String)> {
    let mut texts = vec![
        ("Display".to_owned(), error.to_string()),
        ("Debug".to_owned(), format!("{error:?}")),
        ("pretty Debug".to_owned(), format!("{error:#?}")),
    ];
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        texts.push(("a source".to_owned(), format!("{cause} / {cause:?}")));
        source = cause.source();
    }
    if let Some(body) = error.api_error() {
        texts.push(("api_error()".to_owned(), format!("{body:?}")));
        texts.push(("api_error().message".to_owned(), body.message.clone()));
    }
    if let Some(raw) = error.raw_body() {
        texts.push((
            "raw_body()".to_owned(),
            String::from_utf8_lossy(raw).into_owned(),
        ));
    }
    texts
}

fn envelope(status: u16, message: &str) -> Vec<u8> {
    serde_json::json!({
        "error": {"code": status, "message": message, "metadata": {"echo": KEY}}
    })
    .to_string()
    .into_bytes()
}

/// Answers that put the key everywhere a server can: the error message,
/// metadata, the raw body, the reason phrase, headers, a redirect target,
/// the fields of a success body.
fn echoing_answers() -> Vec<(&'static str, Script)> {
    let in_reason = format!(
        "HTTP/1.1 418 {KEY}\r\nx-echo: {KEY}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{KEY}",
        KEY.len()
    );
    let mut wrong_field = common::success_json();
    wrong_field["data"]["usage"] = serde_json::Value::String(KEY.to_owned());
    let mut long_message = "m".repeat(490);
    long_message.push_str(KEY);
    vec![
        (
            "400 envelope",
            answer(response(
                400,
                &[],
                &envelope(400, &format!("bad key {KEY}")),
            )),
        ),
        (
            "401 envelope",
            answer(response(
                401,
                &[("www-authenticate", &format!("Bearer {KEY}"))],
                &envelope(401, &format!("Bearer {KEY} is invalid")),
            )),
        ),
        (
            "403 envelope",
            answer(response(
                403,
                &[],
                &envelope(403, &format!("{KEY} may not do this")),
            )),
        ),
        (
            "404 html",
            answer(response(404, &[], format!("<pre>{KEY}</pre>").as_bytes())),
        ),
        (
            "429 envelope",
            answer(response(
                429,
                &[("retry-after", "3600")],
                &envelope(429, KEY),
            )),
        ),
        (
            "500 raw",
            answer(response(500, &[], format!("panic: {KEY}").as_bytes())),
        ),
        ("418 reason phrase", answer(Bytes::from(in_reason))),
        (
            "307 location",
            answer(response(
                307,
                &[("location", &format!("http://127.0.0.2/?key={KEY}"))],
                b"",
            )),
        ),
        (
            "message cut at the key",
            answer(response(400, &[], &envelope(400, &long_message))),
        ),
        (
            "200 not json",
            answer(response(200, &[], format!("<p>{KEY}</p>").as_bytes())),
        ),
        (
            "200 wrong field",
            answer(response(200, &[], wrong_field.to_string().as_bytes())),
        ),
        (
            "200 over the cap",
            answer(response(
                200,
                &[],
                format!("{KEY}{}", "x".repeat(2 << 20)).as_bytes(),
            )),
        ),
        (
            "reset after echo",
            vec![
                Step::ReadRequest,
                Step::Write(Bytes::from(format!(
                    "HTTP/1.1 200 {KEY}\r\ncontent-length: 999\r\n\r\n{KEY}"
                ))),
                Step::Sleep(Duration::from_millis(10)),
                Step::Reset,
            ],
        ),
        (
            "stall after echo",
            vec![
                Step::ReadRequest,
                Step::Write(Bytes::from(format!(
                    "HTTP/1.1 200 OK\r\nx-echo: {KEY}\r\ncontent-length: 999\r\n\r\n{KEY}"
                ))),
                Step::Sleep(Duration::from_secs(60)),
            ],
        ),
        (
            "garbage echo",
            answer(Bytes::from(format!("{KEY}\r\n\r\n"))),
        ),
    ]
}

fn client_for(base_url: &str) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(base_url)
        .timeout(Duration::from_secs(1))
        .retry(RetryConfig::disabled())
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn no_error_shows_the_key_even_when_the_server_echoes_it() {
    logs::install();
    let _ = logs::take();
    let mut seen = std::collections::HashSet::new();
    let mut check = |label: &str, error: &Error| {
        seen.insert(error.kind());
        for (what, text) in texts_of(error) {
            assert_clean(&format!("{label}: {:?} {what}", error.kind()), &text);
        }
    };

    for (label, script) in echoing_answers() {
        let server = FaultServer::always(script).await;
        let error = client_for(&server.base_url)
            .update_key(HASH, &KeyUpdate::new().disabled(true))
            .await
            .unwrap_err();
        check(label, &error);
        // The server did get the key, so it really was in play.
        if let Some(request) = server.received().first() {
            assert_eq!(
                request.header("authorization").unwrap(),
                format!("Bearer {KEY}")
            );
        }
    }

    // A listing that never ends.
    let page = format!(r#"{{"data":[{}]}}"#, common::success_json()["data"]);
    let server =
        FaultServer::always(answer(response(200, &[("x-echo", KEY)], page.as_bytes()))).await;
    let error = client_for(&server.base_url)
        .list_all_keys(&ListOptions::new().max_pages(2))
        .await
        .unwrap_err();
    check("endless pages", &error);

    // No server at all.
    let error = client_for(&dead_base_url())
        .update_key(HASH, &KeyUpdate::new().disabled(true))
        .await
        .unwrap_err();
    check("dead port", &error);

    // Refused before sending.
    let client = client_for(&dead_base_url());
    for (hash, update) in [
        ("", KeyUpdate::new().disabled(true)),
        ("..", KeyUpdate::new().disabled(true)),
        ("a\\b", KeyUpdate::new().disabled(true)),
        (HASH, KeyUpdate::new()),
        (HASH, KeyUpdate::new().limit(-1.0)),
    ] {
        let error = client.update_key(hash, &update).await.unwrap_err();
        check("refused", &error);
    }

    // Configuration, with the key in every place a caller might put it.
    let configs: Vec<(&str, ClientBuilder)> = vec![
        ("no key", Client::builder()),
        (
            "key given as the base URL",
            Client::builder().api_key(KEY).base_url(KEY),
        ),
        (
            "key with a newline",
            Client::builder().api_key(format!("{KEY}\n")),
        ),
        (
            "key with a space",
            Client::builder().api_key(format!("sk or {KEY}")),
        ),
        (
            "key in the URL's credentials",
            Client::builder()
                .api_key(KEY)
                .base_url(format!("https://user:{KEY}@openrouter.ai/api/v1")),
        ),
        (
            "key in the URL's query",
            Client::builder()
                .api_key(KEY)
                .base_url(format!("https://openrouter.ai/api/v1?key={KEY}")),
        ),
        (
            "key in the URL's fragment",
            Client::builder()
                .api_key(KEY)
                .base_url(format!("https://openrouter.ai/api/v1#{KEY}")),
        ),
        (
            "key in a plain-http URL",
            Client::builder()
                .api_key(KEY)
                .base_url(format!("http://example.com/{KEY}")),
        ),
        (
            "key in an unparsable URL",
            Client::builder()
                .api_key(KEY)
                .base_url(format!("https://[{KEY}]/api/v1")),
        ),
        (
            "key in a bad scheme",
            Client::builder()
                .api_key(KEY)
                .base_url(format!("ftp://example.com/{KEY}")),
        ),
        (
            "key in a bad title",
            Client::builder().api_key(KEY).app_title(format!("{KEY}\n")),
        ),
        (
            "key in a bad user agent",
            Client::builder()
                .api_key(KEY)
                .user_agent(format!("{KEY}\r\n")),
        ),
        (
            "key in a bad app URL",
            Client::builder().api_key(KEY).app_url(format!("{KEY}\0")),
        ),
    ];
    for (label, builder) in configs {
        assert_clean(
            &format!("{label}: the builder's Debug"),
            &format!("{builder:?}"),
        );
        let error = builder.build().unwrap_err();
        check(label, &error);
    }

    // A store that quotes the key in its errors, and a store file that
    // holds the key where it does not belong.
    struct Quoting;
    impl SecretStore for Quoting {
        async fn load(&self) -> Result<StoreState, StoreError> {
            Err(format!("vault says no to {KEY}").into())
        }
        async fn apply(&self, _: Change) -> Result<(), StoreError> {
            Err(format!("vault says no to {KEY}").into())
        }
    }
    let error = client_for(&dead_base_url())
        .create_key_once(&NewKey::new("x"), &Quoting)
        .await
        .unwrap_err();
    check("a store's own error", &error);
    let dir = common::Scratch::new("hygiene-store");
    let path = dir.path("store.json");
    std::fs::write(&path, format!(r#"{{"keys": "{KEY}"}}"#)).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    check("a store file", &FileStore::open(&path).unwrap_err());

    let missing: Vec<_> = common::ALL_KINDS
        .iter()
        .filter(|k| !seen.contains(*k))
        .collect();
    assert!(missing.is_empty(), "variants not provoked: {missing:?}");

    let log = logs::take();
    assert!(
        log.contains("attempt finished"),
        "nothing was logged:\n{log}"
    );
    assert_clean("the TRACE log", &log);
}

#[test]
fn no_formatted_value_shows_the_key() {
    let builder = Client::builder()
        .api_key(KEY)
        .base_url("http://127.0.0.1:9/api/v1")
        .app_url("https://example.com")
        .app_title("Example")
        .user_agent("agent/1")
        .retry(RetryConfig::standard().with_resend(Resend::IfUnsent))
        .max_response_bytes(4096)
        .allow_insecure_http(true);
    assert_clean("ClientBuilder Debug", &format!("{builder:?} {builder:#?}"));
    assert!(format!("{builder:?}").contains("[redacted]"));

    let client = builder.build().unwrap();
    let variants = [
        client.clone(),
        client.with_retry(RetryConfig::disabled()),
        client.with_timeout(Duration::from_secs(1)),
        client.with_header("x-request-id".parse().unwrap(), "abc".parse().unwrap()),
        Client::new(KEY).unwrap(),
    ];
    for client in &variants {
        assert_clean("Client Debug", &format!("{client:?} {client:#?}"));
        assert_clean("Client base_url", client.base_url());
    }
    assert!(format!("{client:?}").contains("[redacted]"));

    assert_clean(
        "RetryConfig Debug",
        &format!(
            "{:?} {:#?}",
            RetryConfig::standard(),
            RetryConfig::disabled()
        ),
    );
    let update = KeyUpdate::new()
        .name("n")
        .disabled(true)
        .limit(5.0)
        .limit_reset(LimitReset::Daily)
        .include_byok_in_limit(true);
    assert_clean(
        "KeyUpdate Debug and JSON",
        &format!(
            "{update:?} {update:#?} {} {:?} {:?}",
            serde_json::to_string(&update).unwrap(),
            Patch::<f64>::Clear,
            LimitReset::Weekly
        ),
    );
    assert_clean("Applied Debug", &format!("{:?}", Applied::Maybe));
}

/// The whole of a busy call at TRACE, from every crate that logs: retries,
/// a reset, a success. reqwest logs through the `log` crate; the capture
/// turns those records into events too, and this checks that it does.
#[tokio::test(start_paused = true)]
async fn a_trace_log_of_retries_and_success_never_shows_the_key() {
    logs::install();
    let _ = logs::take();
    let server = FaultServer::start(
        vec![
            vec![Step::ReadRequest, Step::Reset],
            answer(response(
                503,
                &[("retry-after", "1")],
                format!("busy {KEY}").as_bytes(),
            )),
        ],
        answer(ok()),
    )
    .await;
    let client = Client::builder()
        .api_key(KEY)
        .base_url(&server.base_url)
        .app_title("hygiene")
        .build()
        .unwrap();
    let key = client
        .update_key(HASH, &KeyUpdate::new().name("renamed"))
        .await
        .unwrap();
    assert_eq!(key.hash, HASH);
    assert_eq!(server.requests(), 3);

    let log = logs::take();
    // The capture works: the client's own events and reqwest's records.
    assert!(log.contains("attempt failed; retrying"), "{log}");
    assert!(log.contains("attempt finished"), "{log}");
    assert!(log.contains("openrouter_keys"), "{log}");
    assert!(
        log.contains("reqwest"),
        "no reqwest record captured:\n{log}"
    );
    assert_clean("the TRACE log", &log);
}

/// The type the builder takes and keeps the key in wipes its memory when
/// dropped. (The client's own copy, the `Authorization` header bytes, is a
/// private type in `src/secret.rs` that zeroizes its buffer on drop; see
/// RELIABILITY.md for what it covers and what it cannot.)
#[test]
fn the_key_is_held_in_a_type_that_wipes_itself() {
    fn wiped_on_drop<T: zeroize::ZeroizeOnDrop + ?Sized>() {}
    wiped_on_drop::<openrouter_keys::SecretString>();
    // Both ways of handing the key over end in that type.
    let _: openrouter_keys::SecretString = KEY.into();
    let _: openrouter_keys::SecretString = String::from(KEY).into();
}

/// Every operation at TRACE, from every crate that logs: those that take a
/// hash, given a key's secret in its place, and all six as they should be
/// called. No line carries anything that starts with `sk-or-` (the test
/// key does, and so do the secrets the fake creates), and the refused
/// calls send nothing.
#[tokio::test(flavor = "current_thread")]
async fn no_operation_logs_a_secret_at_trace() {
    use openrouter_keys::{NewKey, fake::FakeOpenRouter};
    logs::install();
    let _ = logs::take();
    let fake = FakeOpenRouter::start().await.unwrap();
    fake.require_key(KEY);
    let client = common::client(&fake.base_url(), RetryConfig::standard());
    let secret = "sk-or-v1-abababababababababababababababababababababababababababababababab";
    for hash in [secret, &format!(" {secret}"), "x/sk-or-v1-ab"] {
        let refused = [
            client.get_key(hash).await.map(|_| ()),
            client.delete_key(hash).await,
            client
                .update_key(hash, &KeyUpdate::new().limit(5.0))
                .await
                .map(|_| ()),
        ];
        for error in refused {
            let error = error.unwrap_err();
            assert_eq!(error.kind(), openrouter_keys::ErrorKind::InvalidRequest);
            assert!(error.to_string().contains("not its hash"), "{error}");
            assert!(!error.to_string().contains("abab"), "{error}");
        }
    }
    assert_eq!(fake.hits(), 0, "a refused call sent something");

    let created = client.create_key(&NewKey::new("traced")).await.unwrap();
    let hash = created.data.hash.clone();
    client.list_all_keys(&ListOptions::new()).await.unwrap();
    client.get_key(&hash).await.unwrap();
    client
        .update_key(&hash, &KeyUpdate::new().disabled(true))
        .await
        .unwrap();
    client.current_key().await.unwrap();
    client.delete_key(&hash).await.unwrap();
    // The listing reads a page and then an empty one.
    assert_eq!(fake.hits(), 7);

    let log = logs::take();
    for id in [
        "createKey",
        "listKeys",
        "getKey",
        "updateKey",
        "getCurrentKey",
        "deleteKey",
    ] {
        assert!(log.contains(id), "no event of {id}:\n{log}");
    }
    assert!(!log.contains("sk-or-"), "a secret in the TRACE log:\n{log}");
}
