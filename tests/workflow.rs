//! Creating exactly once and rotating in stages, through the library,
//! against the fake, with a store in a scratch folder: what ends up live,
//! what ends up in the store, and that nothing else is touched. (Killing a
//! real process mid-stage is `tests/crash.rs`.)

mod common;

use std::time::{Duration, SystemTime};

use common::{KEY, Scratch};
use openrouter_keys::{
    Change, Client, ErrorKind, FileStore, Intent, LimitReset, NewKey, RetryConfig, Rotation,
    RotationStage, SecretStore,
    fake::{DEFAULT_WORKSPACE_ID, FakeKey, FakeOpenRouter, Fault, Operation},
};

const OTHER_WORKSPACE: &str = "5e1f0c4a-8d2b-4b7e-9a3c-6f0e1d2c3b4a";

async fn fake() -> FakeOpenRouter {
    let fake = FakeOpenRouter::start().await.unwrap();
    fake.require_key(KEY);
    fake
}

fn client(fake: &FakeOpenRouter) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(fake.base_url())
        .timeout(Duration::from_secs(2))
        .retry(RetryConfig::standard().without_budget())
        .build()
        .unwrap()
}

/// A key that was there before the tool ran, named `name`.
fn existing(hash: &str, name: &str, workspace: &str) -> FakeKey {
    FakeKey {
        hash: hash.to_owned(),
        name: name.to_owned(),
        workspace_id: workspace.to_owned(),
        ..FakeKey::example()
    }
}

fn live_named(fake: &FakeOpenRouter, name: &str) -> Vec<FakeKey> {
    fake.keys().into_iter().filter(|k| k.name == name).collect()
}

fn hashes_named(fake: &FakeOpenRouter, name: &str) -> Vec<String> {
    live_named(fake, name).into_iter().map(|k| k.hash).collect()
}

fn posts(fake: &FakeOpenRouter) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.operation() == Some(Operation::Create))
        .count()
}

/// The store file, as JSON.
fn file(store: &FileStore) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(store.path()).unwrap()).unwrap()
}

#[tokio::test]
async fn a_create_stores_its_secret_and_leaves_no_intent() {
    let fake = fake().await;
    fake.insert_key(existing("aa01", "ci", DEFAULT_WORKSPACE_ID));
    let dir = Scratch::new("create");
    let store = FileStore::open(dir.path("store.json")).unwrap();

    let key = client(&fake)
        .create_key_once(&NewKey::new("ci").limit(5.0), &store)
        .await
        .unwrap();

    let live = live_named(&fake, "ci");
    assert_eq!(live.len(), 2, "the key made, and the one there before");
    assert!(live.iter().any(|k| k.hash == "aa01"));
    assert_eq!(posts(&fake), 1);
    let json = file(&store);
    assert_eq!(json["keys"][&key.hash]["name"], "ci");
    let secret = json["keys"][&key.hash]["secret"].as_str().unwrap();
    assert!(secret.starts_with("sk-or-v1-"), "the secret is stored");
    assert_eq!(json["intents"], serde_json::json!([]));
    assert_eq!(json["keys"].as_object().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_lost_answer_is_recovered_in_the_same_run() {
    for (what, fault) in [
        ("the connection dropped", Fault::disconnect()),
        ("the answer hung past the attempt timeout", Fault::hang()),
    ] {
        let fake = fake().await;
        fake.insert_key(existing("aa01", "ci", DEFAULT_WORKSPACE_ID));
        fake.push_fault(fault.after_processing().only_for(Operation::Create));
        let dir = Scratch::new("lost");
        let store = FileStore::open(dir.path("store.json")).unwrap();

        let key = client(&fake)
            .create_key_once(&NewKey::new("ci"), &store)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));

        assert_eq!(posts(&fake), 2, "{what}: one lost, one answered");
        let live = live_named(&fake, "ci");
        assert_eq!(live.len(), 2, "{what}: the orphan went, the old key stayed");
        assert!(live.iter().any(|k| k.hash == "aa01"), "{what}");
        assert!(live.iter().any(|k| k.hash == key.hash), "{what}");
        let json = file(&store);
        assert!(json["keys"][&key.hash]["secret"].is_string(), "{what}");
        assert_eq!(json["intents"], serde_json::json!([]), "{what}");
    }
}

/// A lost `POST` that the server carries out only after the orphans were
/// looked for (here: while it answers the next `POST`) is found by the
/// second look that follows the answered one.
#[tokio::test(start_paused = true)]
async fn a_lost_post_carried_out_late_is_found_after_the_answered_one() {
    let fake = fake().await;
    fake.push_fault(Fault::hang().only_for(Operation::Create));
    fake.on_request(Operation::Create, 2, |fake| {
        fake.insert_key(existing("late", "ci", DEFAULT_WORKSPACE_ID));
    });
    let dir = Scratch::new("late");
    let store = FileStore::open(dir.path("store.json")).unwrap();

    let key = client(&fake)
        .create_key_once(&NewKey::new("ci"), &store)
        .await
        .unwrap();

    assert_eq!(posts(&fake), 2);
    let live = hashes_named(&fake, "ci");
    assert_eq!(live, [key.hash], "the late key is deleted");
    assert_eq!(file(&store)["intents"], serde_json::json!([]));
}

/// When that second look fails, the key is made and stored all the same:
/// the create succeeds, and the intent stays for the next run to settle.
#[tokio::test(start_paused = true)]
async fn a_failed_second_look_still_returns_the_stored_key() {
    let fake = fake().await;
    fake.push_fault(Fault::hang().only_for(Operation::Create));
    fake.on_request(Operation::Create, 2, |fake| {
        fake.fail_next(4, Fault::status(503).only_for(Operation::List));
    });
    let dir = Scratch::new("second-look");
    let store = FileStore::open(dir.path("store.json")).unwrap();

    let key = client(&fake)
        .create_key_once(&NewKey::new("ci"), &store)
        .await
        .unwrap();

    let json = file(&store);
    assert!(json["keys"][&key.hash]["secret"].is_string());
    assert_eq!(json["intents"].as_array().unwrap().len(), 1);
    client(&fake).settle(&store).await.unwrap();
    assert_eq!(file(&store)["intents"], serde_json::json!([]));
    let live = hashes_named(&fake, "ci");
    assert_eq!(live, [key.hash], "the stored key is no orphan");
}

#[tokio::test]
async fn three_lost_answers_end_with_no_key_and_no_intent() {
    let fake = fake().await;
    fake.insert_key(existing("aa01", "ci", DEFAULT_WORKSPACE_ID));
    fake.fail_next(
        3,
        Fault::disconnect()
            .after_processing()
            .only_for(Operation::Create),
    );
    let dir = Scratch::new("three");
    let store = FileStore::open(dir.path("store.json")).unwrap();

    let error = client(&fake)
        .create_key_once(&NewKey::new("ci"), &store)
        .await
        .unwrap_err();

    assert_eq!(error.kind(), ErrorKind::Connection, "{error}");
    assert_eq!(posts(&fake), 3);
    let live = live_named(&fake, "ci");
    assert_eq!(live.len(), 1, "only the key that was there before");
    assert_eq!(live[0].hash, "aa01");
    let json = file(&store);
    assert_eq!(json["intents"], serde_json::json!([]));
    assert_eq!(json["keys"], serde_json::json!({}));
}

#[tokio::test]
async fn a_refused_create_is_sent_once_and_leaves_nothing() {
    let fake = fake().await;
    fake.push_fault(Fault::status(403).only_for(Operation::Create));
    let dir = Scratch::new("refused");
    let store = FileStore::open(dir.path("store.json")).unwrap();
    let error = client(&fake)
        .create_key_once(&NewKey::new("ci"), &store)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Forbidden);
    assert_eq!(posts(&fake), 1);
    assert!(live_named(&fake, "ci").is_empty());
    assert_eq!(file(&store)["intents"], serde_json::json!([]));
}

/// What a killed run leaves (an intent, and the key its `POST` made) is
/// settled by the next run of any job on the store: the orphan goes, and
/// nothing else, whatever its name.
#[tokio::test]
async fn a_pending_intent_is_settled_first_and_touches_nothing_else() {
    let fake = fake().await;
    fake.insert_key(existing("aa01", "ci", DEFAULT_WORKSPACE_ID));
    fake.insert_key(existing("aa02", "ci", OTHER_WORKSPACE));
    fake.insert_key(existing("aa03", "ci", DEFAULT_WORKSPACE_ID));
    fake.insert_key(existing("aa04", "other", DEFAULT_WORKSPACE_ID));
    // aa03 was made by the intent's POST, and its secret was lost.
    let dir = Scratch::new("settle");
    let store = FileStore::open(dir.path("store.json")).unwrap();
    store
        .apply(Change::PutIntent(intent("i1", "ci", None, &["aa01"])))
        .await
        .unwrap();

    client(&fake).settle(&store).await.unwrap();

    let mut live: Vec<_> = fake.keys().into_iter().map(|k| k.hash).collect();
    live.sort();
    assert!(!live.contains(&"aa03".to_owned()), "the orphan is deleted");
    for kept in ["aa01", "aa02", "aa04"] {
        assert!(live.contains(&kept.to_owned()), "{kept} is untouched");
    }
    assert!(store.load().await.unwrap().intents.is_empty());
}

fn intent(id: &str, name: &str, workspace: Option<&str>, existing: &[&str]) -> Intent {
    serde_json::from_value(serde_json::json!({
        "id": id,
        "name": name,
        "workspace_id": workspace,
        "existing": existing,
        "recorded_at": "2026-12-04T00:00:00Z",
    }))
    .unwrap()
}

#[tokio::test]
async fn a_rotation_copies_every_setting_and_deletes_the_old_key() {
    let fake = fake().await;
    let expires = chrono::DateTime::parse_from_rfc3339("2027-06-01T12:00:00Z")
        .unwrap()
        .to_utc();
    fake.insert_key(FakeKey {
        hash: "old1".to_owned(),
        name: "billing".to_owned(),
        workspace_id: OTHER_WORKSPACE.to_owned(),
        limit: Some(12.5),
        limit_reset: Some(LimitReset::Weekly),
        include_byok_in_limit: false,
        disabled: true,
        expires_at: Some(expires),
        ..FakeKey::example()
    });
    let dir = Scratch::new("rotate");
    let store = FileStore::open(dir.path("store.json")).unwrap();
    // The old key's secret, as an earlier create would have stored it.
    store
        .apply(Change::PutKey {
            hash: "old1".to_owned(),
            key: serde_json::from_value(serde_json::json!({"name": "billing"})).unwrap(),
            secret: "sk-or-v1-old".into(),
        })
        .await
        .unwrap();

    let rotated = client(&fake)
        .rotate_key("old1", &store, Duration::ZERO)
        .await
        .unwrap();

    assert_eq!(rotated.old, "old1");
    assert!(fake.key("old1").is_none(), "the old key is deleted");
    let new = fake.key(&rotated.new).expect("the replacement lives");
    assert_eq!(new.name, "billing");
    assert_eq!(new.workspace_id, OTHER_WORKSPACE);
    assert_eq!(new.limit, Some(12.5));
    assert_eq!(new.limit_reset, Some(LimitReset::Weekly));
    assert!(!new.include_byok_in_limit);
    assert!(new.disabled, "disabled is copied with a PATCH");
    assert_eq!(new.expires_at, Some(expires));
    let json = file(&store);
    assert!(json["keys"][&rotated.new]["secret"].is_string());
    assert!(
        json["keys"].get("old1").is_none(),
        "the old secret goes last"
    );
    assert_eq!(json["rotations"], serde_json::json!([]));
    assert_eq!(json["intents"], serde_json::json!([]));
}

/// A rotation resumed in its grace period waits only what is left of it,
/// counted from the recorded disable, of the longer of the grace period
/// recorded and the one asked for now.
#[tokio::test(start_paused = true)]
async fn a_resumed_grace_period_waits_only_what_is_left() {
    for (recorded, asked) in [(0, 100), (100, 0), (100, 30)] {
        let fake = fake().await;
        fake.insert_key(existing("old1", "billing", DEFAULT_WORKSPACE_ID));
        fake.insert_key(existing("new1", "billing", DEFAULT_WORKSPACE_ID));
        let dir = Scratch::new("grace");
        let store = FileStore::open(dir.path("store.json")).unwrap();
        let disabled_at =
            chrono::DateTime::<chrono::Utc>::from(SystemTime::now() - Duration::from_secs(40))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let rotation: Rotation = serde_json::from_value(serde_json::json!({
            "old": "old1", "stage": "grace", "intent": "i1", "key": { "name": "billing" },
            "disabled": false, "new": "new1", "disabled_at": disabled_at,
            "grace_secs": recorded,
        }))
        .unwrap();
        assert_eq!(rotation.stage, RotationStage::Grace);
        store.apply(Change::PutRotation(rotation)).await.unwrap();

        let started = tokio::time::Instant::now();
        let rotated = client(&fake)
            .rotate_key("old1", &store, Duration::from_secs(asked))
            .await
            .unwrap();
        let waited = started.elapsed();

        assert_eq!(
            (rotated.old.as_str(), rotated.new.as_str()),
            ("old1", "new1")
        );
        assert!(
            waited >= Duration::from_secs(58) && waited <= Duration::from_secs(61),
            "recorded {recorded}, asked {asked}: waited {waited:?} of the 60 s left"
        );
        assert!(fake.key("old1").is_none());
        assert!(fake.key("new1").is_some());
        // Nothing was created or disabled again.
        assert_eq!(posts(&fake), 0);
    }
}

/// A rotation whose create is refused has made nothing and changed
/// nothing: it is forgotten, and a second run begins it again.
#[tokio::test]
async fn a_rotation_whose_create_is_refused_is_forgotten() {
    let fake = fake().await;
    fake.insert_key(existing("old1", "billing", DEFAULT_WORKSPACE_ID));
    fake.push_fault(Fault::status(403).only_for(Operation::Create));
    let dir = Scratch::new("refused-rotation");
    let store = FileStore::open(dir.path("store.json")).unwrap();

    let error = client(&fake)
        .rotate_key("old1", &store, Duration::ZERO)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Forbidden);
    assert_eq!(file(&store)["rotations"], serde_json::json!([]));
    assert!(
        !fake.key("old1").unwrap().disabled,
        "the old key is as it was"
    );

    let rotated = client(&fake)
        .rotate_key("old1", &store, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(posts(&fake), 2);
    let live = hashes_named(&fake, "billing");
    assert_eq!(live, [rotated.new]);
}

#[tokio::test]
async fn the_store_file_is_private_and_a_readable_one_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = Scratch::new("mode");
    let path = dir.path("store.json");
    let store = FileStore::open(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(file(&store)["keys"], serde_json::json!({}));
    drop(store);

    for mode in [0o640, 0o644, 0o604, 0o601] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let before = std::fs::read(&path).unwrap();
        let error = FileStore::open(&path).unwrap_err().to_string();
        assert!(error.contains(&format!("mode {mode:04o}")), "{error}");
        assert!(error.contains("chmod 600"), "{error}");
        assert_eq!(std::fs::read(&path).unwrap(), before, "left as it was");
        let after = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(after, mode, "left as it was");
    }
}

#[tokio::test]
async fn the_store_keeps_what_other_tools_wrote_and_is_used_by_one_run_at_a_time() {
    use std::os::unix::fs::PermissionsExt;
    let dir = Scratch::new("foreign");
    let path = dir.path("store.json");
    std::fs::write(
        &path,
        r#"{"keys": {"h1": {"name": "a", "secret": "sk-or-v1-a", "owner": "ops"}}, "version": 7}"#,
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let store = FileStore::open(&path).unwrap();
    assert_eq!(
        FileStore::open(&path).unwrap_err().to_string(),
        format!(
            "the secret store failed: the store {} is in use by another run (it holds {}.lock)",
            path.display(),
            path.display()
        )
    );
    store
        .apply(Change::RemoveIntent { id: "none".into() })
        .await
        .unwrap();
    let json = file(&store);
    assert_eq!(json["version"], 7);
    assert_eq!(json["keys"]["h1"]["owner"], "ops");
    assert_eq!(json["keys"]["h1"]["secret"], "sk-or-v1-a");
    assert!(!format!("{store:?}").contains("sk-or-v1-a"));
    let state = store.load().await.unwrap();
    assert!(!format!("{state:?}").contains("sk-or-v1-a"));

    std::fs::write(&path, "not json").unwrap();
    drop(store);
    let error = FileStore::open(&path).unwrap_err().to_string();
    assert!(
        error.contains("is not a store of openrouter-keys"),
        "{error}"
    );
}
