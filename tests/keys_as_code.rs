//! Keys as code against the fake: `plan` and `apply` over a complete
//! inventory, one test for each trap a naive sync falls into (hidden
//! disabled keys, a second workspace, keys that come and go between pages,
//! two keys under one name, writes on every run, pruning, the three states
//! of a limit), and the rate limit.

mod common;

use common::{KEY, Scratch, stderr};
use openrouter_keys::{
    Action, ApplyOptions, Change, Client, DesiredKeys, FileStore, LimitReset, ListOptions,
    RetryConfig, SecretStore,
    fake::{DEFAULT_WORKSPACE_ID, FakeKey, FakeOpenRouter, Fault, Operation},
};

const WORKSPACE: &str = "5e1f0c4a-8d2b-4b7e-9a3c-6f0e1d2c3b4a";
const ELSEWHERE: &str = "7a9b8c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d";

async fn fake() -> FakeOpenRouter {
    let fake = FakeOpenRouter::start().await.unwrap();
    fake.require_key(KEY);
    fake.remove_key(openrouter_keys::fake::EXAMPLE_KEY_HASH);
    fake
}

fn client(fake: &FakeOpenRouter) -> Client {
    client_with(fake, RetryConfig::standard())
}

fn client_with(fake: &FakeOpenRouter, retry: RetryConfig) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(fake.base_url())
        .retry(retry.without_budget())
        .build()
        .unwrap()
}

/// A key upstream, in the default workspace unless moved.
fn key(hash: &str, name: &str) -> FakeKey {
    FakeKey {
        hash: hash.to_owned(),
        name: name.to_owned(),
        workspace_id: DEFAULT_WORKSPACE_ID.to_owned(),
        disabled: false,
        limit: None,
        limit_reset: None,
        expires_at: None,
        ..FakeKey::example()
    }
}

fn desired(toml: &str) -> DesiredKeys {
    DesiredKeys::from_toml(toml, "keys.toml").unwrap()
}

/// Runs the binary against `fake`.
async fn cli<I: AsRef<std::ffi::OsStr>>(
    fake: &FakeOpenRouter,
    args: impl IntoIterator<Item = I>,
) -> std::process::Output {
    common::bin_command(Some(KEY))
        .args(["--base-url", &fake.base_url()])
        .args(args)
        .output()
        .await
        .unwrap()
}

/// The requests the fake saw that change something.
fn writes(fake: &FakeOpenRouter) -> Vec<String> {
    fake.requests()
        .iter()
        .filter(|r| r.method() != "GET")
        .map(|r| format!("{} {}", r.method(), r.path()))
        .collect()
}

#[tokio::test]
async fn a_disabled_key_is_matched_not_duplicated() {
    let fake = fake().await;
    fake.insert_key(FakeKey {
        disabled: true,
        ..key("h1", "ci")
    });
    let plan = client(&fake)
        .plan(
            &desired("[[key]]\nname = \"ci\"\ndisabled = true\n"),
            false,
            None,
        )
        .await
        .unwrap();
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(plan.changes[0].action, Some(Action::Unchanged));
    assert_eq!(plan.changes[0].hash.as_deref(), Some("h1"));
    // Listed with include_disabled=true.
    assert!(fake.requests().iter().all(|r| {
        r.query()
            .is_some_and(|q| q.contains("include_disabled=true"))
    }));
}

#[tokio::test]
async fn a_key_in_a_second_workspace_is_listed_and_matched() {
    let fake = fake().await;
    fake.insert_key(FakeKey {
        workspace_id: WORKSPACE.to_owned(),
        limit: Some(5.0),
        ..key("h1", "ws")
    });
    let file = format!("[[key]]\nname = \"ws\"\nworkspace_id = \"{WORKSPACE}\"\nlimit = 7\n");
    let plan = client(&fake)
        .plan(&desired(&file), false, None)
        .await
        .unwrap();
    let change = &plan.changes[0];
    assert_eq!(change.action, Some(Action::Update));
    assert_eq!(change.hash.as_deref(), Some("h1"));
    assert_eq!(
        serde_json::to_value(&change.fields).unwrap(),
        serde_json::json!({"limit": {"from": 5, "to": 7}})
    );
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.query().is_some_and(|q| q.contains(WORKSPACE))),
        "the named workspace is listed"
    );
}

/// The inventory's cost with no churn, at upstream's page of 100: one
/// request for no key, two below a page (a short first page could be the
/// server's page size), then `⌊(n − 10) / 90⌋ + 1`.
#[tokio::test]
async fn the_inventory_reads_each_workspace_in_overlapping_pages() {
    for (n, pages) in [
        (0, 1),
        (1, 2),
        (99, 2),
        (100, 2),
        (190, 3),
        (191, 3),
        (500, 6),
    ] {
        let fake = fake().await;
        for i in 0..n {
            fake.insert_key(key(&format!("k{i:03}"), &format!("n{i:03}")));
        }
        let keys = client(&fake).inventory(&[]).await.unwrap();
        assert_eq!(keys.len(), n);
        assert_eq!(fake.hits(), pages, "{n} keys");
    }
}

/// 30 keys, pages of 5. When the second page is asked for, some of the
/// newest keys are deleted (fewer than the overlap, more, and more than a
/// page) and a new one is created: plain offset paging skips keys, and the
/// inventory reads each key that lived throughout exactly once.
#[tokio::test]
async fn keys_created_and_deleted_between_pages_are_neither_missed_nor_repeated() {
    for deleted in [1, 4, 12] {
        let fake = fake().await;
        fake.set_page_size(5);
        let start = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        for i in 0..30 {
            fake.insert_key(FakeKey {
                created_at: start + chrono::Duration::minutes(i),
                ..key(&format!("k{i:02}"), &format!("n{i:02}"))
            });
        }
        // Newest first: k29 .. k25 is the first page.
        let churn = move |fake: &FakeOpenRouter| {
            for i in 0..deleted {
                fake.remove_key(&format!("k{:02}", 29 - i));
            }
            fake.insert_key(FakeKey {
                created_at: start + chrono::Duration::days(1),
                ..key("fresh", "fresh")
            });
        };
        let throughout: Vec<String> = (0..30 - deleted).map(|i| format!("k{i:02}")).collect();

        fake.on_request(Operation::List, 2, churn);
        let naive = client(&fake)
            .list_all_keys(&ListOptions::new().include_disabled(true))
            .await
            .unwrap();
        let missed = throughout
            .iter()
            .filter(|h| !naive.iter().any(|k| &&k.hash == h))
            .count();
        // One creation makes up for one deletion; more deletions skip keys.
        assert_eq!(missed > 0, deleted > 1, "plain paging missed {missed}");

        // The same churn, again, against the inventory.
        for i in 0..deleted {
            fake.insert_key(FakeKey {
                created_at: start + chrono::Duration::minutes(29 - i),
                ..key(&format!("k{:02}", 29 - i), "again")
            });
        }
        fake.remove_key("fresh");
        let lists = fake.requests().len();
        fake.on_request(Operation::List, lists + 2, churn);
        let keys = client(&fake).inventory(&[]).await.unwrap();
        let mut hashes: Vec<&str> = keys.iter().map(|k| k.hash.as_str()).collect();
        let all = hashes.len();
        hashes.sort();
        hashes.dedup();
        assert_eq!(hashes.len(), all, "{deleted} deleted: a key repeated");
        for hash in &throughout {
            assert!(
                hashes.contains(&hash.as_str()),
                "{deleted} deleted: {hash} was missed"
            );
        }
    }
}

#[tokio::test]
async fn two_upstream_keys_with_one_name_are_a_conflict_and_the_rest_goes_on() {
    let fake = fake().await;
    fake.insert_key(key("h1", "dup"));
    fake.insert_key(FakeKey {
        disabled: true,
        ..key("h2", "dup")
    });
    let file = desired("[[key]]\nname = \"dup\"\nlimit = 1\n\n[[key]]\nname = \"new\"\n");
    let dir = Scratch::new("conflict");
    let store = FileStore::open(dir.path("store.json")).unwrap();
    let applied = client(&fake)
        .apply(&file, &store, &ApplyOptions::default())
        .await
        .unwrap();
    assert!(!applied.is_ok());
    let conflict = &applied.changes[0];
    assert!(!conflict.ok);
    assert_eq!(conflict.action, None);
    let error = conflict.error.as_deref().unwrap();
    assert!(error.contains("h1") && error.contains("h2"), "{error}");
    assert!(applied.changes[1].ok);
    assert_eq!(applied.changes[1].action, Some(Action::Create));
    // Nothing was written for the conflict.
    assert_eq!(writes(&fake), ["POST /api/v1/keys"]);
    assert_eq!(fake.key("h1").unwrap().limit, None);
}

#[tokio::test]
async fn apply_creates_updates_replaces_and_deletes_then_a_second_apply_writes_nothing() {
    let fake = fake().await;
    fake.insert_key(FakeKey {
        limit: Some(5.0),
        limit_reset: Some(LimitReset::Daily),
        ..key("upd", "updated")
    });
    fake.insert_key(FakeKey {
        limit: Some(9.0),
        ..key("rep", "replaced")
    });
    fake.insert_key(key("gone", "not in the file"));
    fake.insert_key(FakeKey {
        workspace_id: ELSEWHERE.to_owned(),
        ..key("far", "in a workspace the file does not name")
    });
    let file = desired(
        r#"
[[key]]
name = "created"
limit = 3
limit_reset = "weekly"
disabled = true

[[key]]
name = "updated"
limit = "none"
limit_reset = "none"

[[key]]
name = "replaced"
expires_at = 2027-03-01T00:00:00Z
"#,
    );
    let dir = Scratch::new("apply");
    let store = FileStore::open(dir.path("store.json")).unwrap();
    let mut options = ApplyOptions::default();
    options.prune = true;
    let applied = client(&fake).apply(&file, &store, &options).await.unwrap();
    assert!(applied.is_ok(), "{applied:?}");
    let actions: Vec<_> = applied.changes.iter().map(|c| c.action.unwrap()).collect();
    assert_eq!(
        actions,
        [
            Action::Create,
            Action::Update,
            Action::Replace,
            Action::Delete
        ]
    );

    let created = fake
        .key(applied.changes[0].hash.as_deref().unwrap())
        .unwrap();
    assert_eq!(
        (created.limit, created.limit_reset, created.disabled),
        (Some(3.0), Some(LimitReset::Weekly), true)
    );
    // "none" clears: the PATCH sends null.
    let patch = fake
        .requests()
        .into_iter()
        .find(|r| r.method() == "PATCH" && r.path().ends_with("/upd"))
        .unwrap();
    assert_eq!(patch.body(), br#"{"limit":null,"limit_reset":null}"#);
    let replacement = fake
        .key(applied.changes[2].hash.as_deref().unwrap())
        .unwrap();
    assert!(fake.key("rep").is_none());
    assert_eq!(
        replacement.limit,
        Some(9.0),
        "unmanaged: kept from the old key"
    );
    assert_eq!(
        replacement.expires_at.map(|at| at.to_rfc3339()),
        Some("2027-03-01T00:00:00+00:00".to_owned())
    );
    assert!(fake.key("gone").is_none(), "pruned");
    assert!(
        fake.key("far").is_some(),
        "a workspace the file does not name"
    );
    let json = serde_json::to_value(&applied).unwrap();
    assert_eq!(json["changes"][3]["hash"], "gone", "the key deleted");
    for change in json["changes"].as_array().unwrap() {
        assert_eq!(change["ok"], true);
    }

    let before = fake.requests().len();
    let again = client(&fake).apply(&file, &store, &options).await.unwrap();
    assert!(
        again
            .changes
            .iter()
            .all(|c| c.action == Some(Action::Unchanged)),
        "{again:?}"
    );
    assert!(
        fake.requests()[before..]
            .iter()
            .all(|r| r.method() == "GET"),
        "the second apply only lists"
    );
}

/// A change that fails, or a rotation an earlier run left that fails
/// again, fails its own entry and stops nothing else; a refused
/// replacement leaves no rotation behind to block the next apply; a
/// created key whose disabling fails is still reported by its hash.
#[tokio::test]
async fn failures_stay_in_their_entries_and_block_no_later_apply() {
    let fake = fake().await;
    fake.insert_key(key("rep", "replaced"));
    fake.insert_key(key("del", "stuck"));
    fake.insert_key(key("new", "stuck"));
    fake.insert_key(key("upd", "updated"));
    let file = desired(
        r#"
[[key]]
name = "replaced"
expires_at = 2027-03-01T00:00:00Z

[[key]]
name = "updated"
limit = 4

[[key]]
name = "created"
disabled = true
"#,
    );
    let dir = Scratch::new("failures");
    let store = FileStore::open(dir.path("store.json")).unwrap();
    // A rotation of "del" that an earlier run left at its last stage.
    store
        .apply(Change::PutRotation(
            serde_json::from_value(serde_json::json!({
                "old": "del", "stage": "delete", "intent": "i1", "key": { "name": "stuck" },
                "disabled": false, "new": "new",
            }))
            .unwrap(),
        ))
        .await
        .unwrap();
    fake.push_fault(Fault::status(403).only_for(Operation::Delete));
    fake.push_fault(Fault::status(403).only_for(Operation::Create));
    // The second update is the created key's disabling.
    fake.on_request(Operation::Update, 2, |fake| {
        fake.push_fault(Fault::status(500).only_for(Operation::Update));
    });
    let mut options = ApplyOptions::default();
    options.concurrency = 1;
    let c = client_with(&fake, RetryConfig::standard().with_max_attempts(1));

    let applied = c.apply(&file, &store, &options).await.unwrap();
    let summary: Vec<_> = applied
        .changes
        .iter()
        .map(|c| (c.name.as_str(), c.action, c.hash.as_deref(), c.ok))
        .collect();
    let created = fake
        .keys()
        .into_iter()
        .find(|k| k.name == "created")
        .unwrap();
    assert_eq!(
        summary,
        [
            ("replaced", Some(Action::Replace), Some("rep"), false),
            ("updated", Some(Action::Update), Some("upd"), true),
            (
                "created",
                Some(Action::Create),
                Some(created.hash.as_str()),
                false
            ),
            ("stuck", Some(Action::Replace), Some("del"), false),
        ],
        "{applied:?}"
    );
    assert!(!created.disabled);
    assert!(
        applied.changes[3]
            .error
            .as_ref()
            .unwrap()
            .contains("rotation of del")
    );
    let state = store.load().await.unwrap();
    let left: Vec<_> = state.rotations.iter().map(|r| r.old.as_str()).collect();
    assert_eq!(left, ["del"], "the refused replacement is forgotten");

    // With the faults gone, the next apply finishes everything.
    let again = c.apply(&file, &store, &options).await.unwrap();
    assert!(again.is_ok(), "{again:?}");
    assert_eq!(again.count(Action::Replace), 1);
    assert_eq!(again.count(Action::Update), 1, "the disabling, again");
    assert!(fake.key("del").is_none());
    assert!(store.load().await.unwrap().rotations.is_empty());
}

/// A replacement killed after its `POST` left an orphan; the next apply's
/// first try to delete it fails. The orphan is still deleted (by the run
/// after), never adopted as a key that existed before.
#[tokio::test]
async fn an_orphan_of_a_resumed_replacement_is_deleted_even_after_a_failed_try() {
    let fake = fake().await;
    fake.insert_key(key("old", "svc"));
    fake.insert_key(key("orphan", "svc"));
    let dir = Scratch::new("resumed-orphan");
    let store = FileStore::open(dir.path("store.json")).unwrap();
    for change in [
        Change::PutRotation(
            serde_json::from_value(serde_json::json!({
                "old": "old", "stage": "create", "intent": "i1", "key": { "name": "svc" },
                "disabled": false,
            }))
            .unwrap(),
        ),
        Change::PutIntent(
            serde_json::from_value(serde_json::json!({
                "id": "i1", "name": "svc", "workspace_id": null, "existing": ["old"],
                "recorded_at": "2026-12-04T00:00:00Z",
            }))
            .unwrap(),
        ),
    ] {
        store.apply(change).await.unwrap();
    }
    fake.push_fault(Fault::status(500).only_for(Operation::Delete));
    let c = client_with(&fake, RetryConfig::standard().with_max_attempts(1));
    let file = desired("[[key]]\nname = \"svc\"\n");

    let first = c
        .apply(&file, &store, &ApplyOptions::default())
        .await
        .unwrap();
    assert!(!first.is_ok(), "{first:?}");
    assert!(fake.key("orphan").is_some());
    let second = c
        .apply(&file, &store, &ApplyOptions::default())
        .await
        .unwrap();
    assert!(second.is_ok(), "{second:?}");

    let live: Vec<_> = (fake.keys().into_iter())
        .filter(|k| k.name == "svc")
        .map(|k| k.hash)
        .collect();
    assert_eq!(live.len(), 1, "{live:?}");
    assert!(!live.contains(&"orphan".to_owned()) && !live.contains(&"old".to_owned()));
    let state = store.load().await.unwrap();
    assert!(state.keys.contains_key(&live[0]));
    assert!(state.intents.is_empty() && state.rotations.is_empty());
}

#[tokio::test]
async fn prune_with_a_file_that_names_no_key_is_refused_with_nothing_sent() {
    let fake = fake().await;
    fake.insert_key(key("h1", "kept"));
    let dir = Scratch::new("empty-prune");
    let store = FileStore::open(dir.path("store.json")).unwrap();
    let mut options = ApplyOptions::default();
    options.prune = true;
    let error = client(&fake)
        .apply(&desired("# cut short\n"), &store, &options)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), openrouter_keys::ErrorKind::InvalidRequest);
    assert!(error.to_string().contains("names no key"), "{error}");
    assert_eq!(fake.hits(), 0);
    assert!(fake.key("h1").is_some());
}

#[tokio::test]
async fn without_prune_keys_the_file_does_not_name_are_left_alone() {
    let fake = fake().await;
    fake.insert_key(key("h1", "kept"));
    let dir = Scratch::new("noprune");
    let store = FileStore::open(dir.path("store.json")).unwrap();
    let applied = client(&fake)
        .apply(
            &desired("[[key]]\nname = \"x\"\n"),
            &store,
            &ApplyOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(applied.changes.len(), 1);
    assert!(fake.key("h1").is_some());
}

/// At 20 requests a second, with room for 20 at once, 100 updates with 8
/// in flight: none fails, and few answers are 429s. On tokio's paused
/// clock, so it takes no real time; the real-time figures are in
/// PERFORMANCE.md (`examples/apply_rate_limit.rs`).
#[tokio::test(start_paused = true)]
async fn apply_keeps_to_the_rate_limit() {
    let fake = fake().await;
    let mut file = String::new();
    for i in 0..100 {
        fake.insert_key(key(&format!("h{i:03}"), &format!("k{i:03}")));
        file.push_str(&format!("[[key]]\nname = \"k{i:03}\"\nlimit = 10\n"));
    }
    fake.set_rate_limit(Some(20));
    let dir = Scratch::new("rate");
    let store = FileStore::open(dir.path("store.json")).unwrap();
    let started = tokio::time::Instant::now();
    let applied = client(&fake)
        .apply(&desired(&file), &store, &ApplyOptions::default())
        .await
        .unwrap();
    let took = started.elapsed().as_secs_f64();
    assert!(applied.is_ok());
    assert_eq!(applied.count(Action::Update), 100);
    let answers = fake.hits();
    let limited = fake.rate_limited();
    assert!(
        limited * 10 < answers,
        "{limited} of {answers} answers were 429s"
    );
    // What the answered requests take at 20 a second, less the second's
    // worth the bucket starts with.
    let ideal = (answers - limited - 20) as f64 / 20.0;
    assert!(took <= ideal * 1.3, "{took:.2} s against {ideal:.2} s");
}

/// A 429 pauses the other changes no longer than the retry policy's
/// `max_retry_after`, however long (or past the clock's end) the server's
/// `Retry-After` is, and that pause counts against each waiting call's time
/// budget.
#[tokio::test(start_paused = true)]
async fn a_servers_pause_is_capped_and_counts_against_the_time_budget() {
    for (max_elapsed, retry_after, took, updated) in [
        (30, "86400", 10, 1),
        (30, "18446744073709551615", 10, 1),
        (5, "86400", 5, 0),
    ] {
        let fake = fake().await;
        fake.insert_key(key("h1", "one"));
        fake.insert_key(key("h2", "two"));
        fake.push_fault(
            Fault::status(429)
                .retry_after(retry_after)
                .only_for(Operation::Update),
        );
        let client = client_with(
            &fake,
            RetryConfig::standard()
                .with_max_retry_after(std::time::Duration::from_secs(10))
                .with_max_elapsed(std::time::Duration::from_secs(max_elapsed)),
        );
        let file = "[[key]]\nname = \"one\"\nlimit = 1\n[[key]]\nname = \"two\"\nlimit = 2\n";
        let dir = Scratch::new("pause");
        let store = FileStore::open(dir.path("store.json")).unwrap();
        let mut options = ApplyOptions::default();
        options.concurrency = 1;
        let started = tokio::time::Instant::now();
        let applied = client
            .apply(&desired(file), &store, &options)
            .await
            .unwrap();
        assert_eq!(
            started.elapsed().as_secs(),
            took,
            "Retry-After {retry_after}"
        );
        // The 429's call asked for more than max_retry_after and gave up;
        // the other waited out the pause, or ran out of time with nothing
        // sent.
        assert_eq!(applied.count(Action::Update), updated, "{applied:?}");
        if updated == 0 {
            let error = applied.changes[1].error.as_deref().unwrap();
            assert!(error.contains("nothing was sent"), "{error}");
        }
        assert_eq!(
            fake.hits(),
            3 + updated,
            "two list pages, the 429, the update"
        );
    }
}

#[tokio::test]
async fn the_cli_applies_with_secrets_only_in_the_store() {
    let fake = fake().await;
    fake.insert_key(key("h1", "stale"));
    let dir = Scratch::new("cli-apply");
    let file = dir.path("keys.toml");
    std::fs::write(
        &file,
        "[[key]]\nname = \"ci\"\nlimit = 2\ndisabled = true\n",
    )
    .unwrap();
    let store = dir.path("store.json");
    let args = [
        "apply".as_ref(),
        file.as_os_str(),
        "--store".as_ref(),
        store.as_os_str(),
        "--prune".as_ref(),
        "--concurrency".as_ref(),
        "2".as_ref(),
    ];
    let output = cli(&fake, args).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json = common::stdout_json(&output);
    let hash = json["changes"][0]["hash"].as_str().unwrap().to_owned();
    assert_eq!(json["changes"][0]["action"], "create");
    assert_eq!(json["changes"][1]["action"], "delete");
    assert_eq!(json["changes"][1]["hash"], "h1");
    assert!(
        stderr(&output)
            .contains("apply: 1 created, 0 updated, 0 replaced, 1 deleted, 0 unchanged, 0 failed"),
        "{}",
        stderr(&output)
    );
    assert!(fake.key("h1").is_none());
    assert!(fake.key(&hash).unwrap().disabled);
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&store).unwrap()).unwrap();
    let secret = stored["keys"][&hash]["secret"].as_str().unwrap();
    assert!(secret.starts_with("sk-or-"));
    let printed = [output.stdout.as_slice(), output.stderr.as_slice()].concat();
    assert!(!String::from_utf8_lossy(&printed).contains(secret));

    let writes_before = writes(&fake).len();
    let output = cli(&fake, args).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains("0 created, 0 updated, 0 replaced, 0 deleted, 1 unchanged"));
    assert_eq!(writes(&fake).len(), writes_before, "nothing written again");
}

#[tokio::test]
async fn the_cli_plans_with_gets_only_and_refuses_a_bad_file() {
    let fake = fake().await;
    fake.insert_key(FakeKey {
        limit: Some(1.0),
        ..key("h1", "ci")
    });
    let dir = Scratch::new("cli");
    let file = dir.path("keys.toml");
    std::fs::write(&file, "[[key]]\nname = \"ci\"\nlimit = 2\n").unwrap();
    let output = cli(&fake, ["plan".as_ref(), file.as_os_str()]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        common::stdout_json(&output),
        serde_json::json!({"changes": [{
            "name": "ci", "action": "update", "hash": "h1",
            "fields": {"limit": {"from": 1, "to": 2}}, "ok": true
        }]})
    );
    assert!(stderr(&output).contains(
        "plan: 0 to create, 1 to update, 0 to replace, 0 to delete, 0 unchanged, 0 not planned"
    ));
    assert!(writes(&fake).is_empty());

    std::fs::write(&file, "[[key]]\nname = \"ci\"\nlimt = 2\n").unwrap();
    let hits = fake.hits();
    let store = dir.path("store.json");
    let output = cli(
        &fake,
        [
            "apply".as_ref(),
            file.as_os_str(),
            "--store".as_ref(),
            store.as_os_str(),
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("keys.toml:3"),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("limt"), "{}", stderr(&output));
    assert_eq!(fake.hits(), hits, "nothing was sent");

    // A conflict: exit 1, with the plan on stdout.
    fake.insert_key(key("h2", "ci"));
    std::fs::write(&file, "[[key]]\nname = \"ci\"\n").unwrap();
    let output = cli(&fake, ["plan".as_ref(), file.as_os_str()]).await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(common::stdout_json(&output)["changes"][0]["ok"], false);
}
