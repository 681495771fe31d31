//! Killing the `openrouter-keys` binary with SIGKILL at each stage of a
//! create, of a rotation and of an apply, then running it again: the second run ends
//! the job as if nothing had happened. The fake lives in this process, so
//! it outlives each child, holds the answer a stage waits for (applied or
//! not), and tells when it does; a child's stage lines on stderr tell when
//! it waits. Every end state is read from the fake's keys and the store.

mod common;

use std::{path::Path, process::Stdio, time::Duration};

use common::{KEY, Scratch, stderr};
use openrouter_keys::{
    LimitReset,
    fake::{DEFAULT_WORKSPACE_ID, FakeKey, FakeOpenRouter, Fault, Operation},
};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

/// How long any one wait of these tests may take before it fails.
const BOUND: Duration = Duration::from_secs(60);

async fn fake() -> FakeOpenRouter {
    let fake = FakeOpenRouter::start().await.unwrap();
    fake.require_key(KEY);
    // Keys that were there before, which no run may touch: one under the
    // name the jobs use, one elsewhere.
    fake.insert_key(key("pre1", "svc", false));
    fake.insert_key(key("pre2", "unrelated", false));
    fake
}

fn key(hash: &str, name: &str, disabled: bool) -> FakeKey {
    FakeKey {
        hash: hash.to_owned(),
        name: name.to_owned(),
        disabled,
        workspace_id: DEFAULT_WORKSPACE_ID.to_owned(),
        ..FakeKey::example()
    }
}

fn command(fake: &FakeOpenRouter, store: &Path, args: &[&str]) -> Command {
    let mut command = common::bin_command(Some(KEY));
    command
        .args(["--base-url", &fake.base_url(), "--timeout", "5"])
        .args(args)
        .arg("--store")
        .arg(store);
    command
}

fn create(fake: &FakeOpenRouter, store: &Path) -> Command {
    command(fake, store, &["create", "--name", "svc", "--limit", "7"])
}

fn rotate(fake: &FakeOpenRouter, store: &Path, grace: &str) -> Command {
    command(fake, store, &["rotate", "old1", "--grace", grace])
}

/// Starts `command`, waits for `stage`, then kills it with SIGKILL.
async fn kill_at(mut command: Command, stage: impl AsyncFnOnce(&mut Child)) {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    tokio::time::timeout(BOUND, stage(&mut child))
        .await
        .expect("the child reached the stage");
    child.start_kill().expect("SIGKILL");
    let status = child.wait().await.unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "killed"
    );
}

/// Until the fake withholds its `n`th answer.
fn withheld(fake: &FakeOpenRouter, n: usize) -> impl AsyncFnOnce(&mut Child) + '_ {
    async move |_: &mut Child| fake.until_withheld(n).await
}

/// Until the child logs a line that contains `text`.
fn logged(text: &'static str) -> impl AsyncFnOnce(&mut Child) {
    async move |child: &mut Child| {
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains(text) {
                return;
            }
        }
        panic!("the child ended before it logged {text:?}");
    }
}

/// Runs `command` to the end, and says what it printed.
async fn finish(mut command: Command) -> serde_json::Value {
    let output = tokio::time::timeout(BOUND, command.output())
        .await
        .expect("the run ends")
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "stderr: {err}");
    let out = String::from_utf8_lossy(&output.stdout);
    for text in [&*out, &*err] {
        assert!(!text.contains(KEY), "the API key was printed:\n{text}");
        assert!(!holds_a_secret(text), "a secret was printed:\n{text}");
    }
    common::stdout_json(&output)
}

/// Whether `text` holds a key's whole secret: `sk-or-v1-` and 64 hex
/// digits. (A key's label is its masked form, `sk-or-v1-7dc...ae22`.)
fn holds_a_secret(text: &str) -> bool {
    text.match_indices("sk-or-v1-").any(|(at, prefix)| {
        text[at + prefix.len()..]
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .count()
            >= 32
    })
}

fn store_json(store: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(store).unwrap()).unwrap()
}

/// The keys named `name`, by hash.
fn named(fake: &FakeOpenRouter, name: &str) -> Vec<String> {
    let mut hashes: Vec<_> = fake
        .keys()
        .into_iter()
        .filter(|k| k.name == name)
        .map(|k| k.hash)
        .collect();
    hashes.sort();
    hashes
}

/// Exactly one new live key named `svc` beside the one that was there,
/// its secret in the store, nothing pending, nothing else touched.
fn one_created(fake: &FakeOpenRouter, store: &Path, printed: &serde_json::Value) -> String {
    let hash = printed["hash"]
        .as_str()
        .expect("the data is printed")
        .to_owned();
    let mut expected = vec!["pre1".to_owned(), hash.clone()];
    expected.sort();
    assert_eq!(named(fake, "svc"), expected);
    assert_eq!(named(fake, "unrelated"), ["pre2"]);
    let json = store_json(store);
    assert!(
        json["keys"][&hash]["secret"]
            .as_str()
            .unwrap()
            .starts_with("sk-or-")
    );
    assert_eq!(json["keys"].as_object().unwrap().len(), 1);
    assert_eq!(json["intents"], serde_json::json!([]));
    assert_eq!(json["rotations"], serde_json::json!([]));
    hash
}

#[tokio::test]
async fn a_create_killed_at_any_stage_ends_with_one_key_when_run_again() {
    let stages = [
        (
            "listing the keys with its name",
            Fault::hang().only_for(Operation::List),
        ),
        (
            "sending the POST",
            Fault::hang().only_for(Operation::Create),
        ),
        (
            "waiting for the answer of an applied POST",
            Fault::hang().after_processing().only_for(Operation::Create),
        ),
    ];
    for (stage, fault) in stages {
        let fake = fake().await;
        let dir = Scratch::new("crash-create");
        let store = dir.path("store.json");
        fake.push_fault(fault);
        kill_at(create(&fake, &store), withheld(&fake, 1)).await;
        let printed = finish(create(&fake, &store)).await;
        let hash = one_created(&fake, &store, &printed);
        assert_eq!(fake.key(&hash).unwrap().limit, Some(7.0), "{stage}");
    }
}

/// The stages of a rotation, each killed while it waits, then run again
/// to the end.
#[tokio::test]
async fn a_rotation_killed_at_any_stage_finishes_with_one_replacement() {
    /// Where the run is killed: while the fake holds an answer, or while
    /// the run logs that it waits.
    enum Kill {
        Held(Fault),
        Logged(&'static str),
    }
    let held = |operation| Kill::Held(Fault::hang().after_processing().only_for(operation));
    let cases = [
        (
            "create: the POST applied, its answer held",
            false,
            held(Operation::Create),
        ),
        (
            "create: the POST not yet applied",
            false,
            Kill::Held(Fault::hang().only_for(Operation::Create)),
        ),
        (
            "create: disabled copied to the replacement",
            true,
            held(Operation::Update),
        ),
        (
            "disable: the old key disabled",
            false,
            held(Operation::Update),
        ),
        (
            "grace: waiting",
            false,
            Kill::Logged("waiting out the grace period"),
        ),
        (
            "delete: the old key deleted",
            false,
            held(Operation::Delete),
        ),
    ];
    for (stage, disabled, kill) in cases {
        let fake = fake().await;
        fake.insert_key(FakeKey {
            limit: Some(3.0),
            limit_reset: Some(LimitReset::Daily),
            ..key("old1", "svc-rotated", disabled)
        });
        let dir = Scratch::new("crash-rotate");
        let store = dir.path("store.json");
        match kill {
            Kill::Held(fault) => {
                fake.push_fault(fault);
                kill_at(rotate(&fake, &store, "0"), withheld(&fake, 1)).await;
            }
            // The re-run below asks for none, and waits out what is left
            // of the 2 s recorded.
            Kill::Logged(text) => {
                kill_at(rotate(&fake, &store, "2"), logged(text)).await;
            }
        }
        let printed = finish(rotate(&fake, &store, "0")).await;

        assert_eq!(printed["old"], "old1", "{stage}");
        let new = printed["new"].as_str().unwrap();
        assert!(
            fake.key("old1").is_none(),
            "{stage}: the old key is deleted"
        );
        assert_eq!(
            named(&fake, "svc-rotated"),
            [new],
            "{stage}: one replacement"
        );
        let replacement = fake.key(new).unwrap();
        assert_eq!(replacement.disabled, disabled, "{stage}");
        assert_eq!(replacement.limit, Some(3.0), "{stage}");
        assert_eq!(replacement.limit_reset, Some(LimitReset::Daily), "{stage}");
        assert_eq!(named(&fake, "svc"), ["pre1"], "{stage}: untouched");
        assert_eq!(named(&fake, "unrelated"), ["pre2"], "{stage}: untouched");
        let json = store_json(&store);
        assert!(json["keys"][new]["secret"].is_string(), "{stage}");
        assert_eq!(json["keys"].as_object().unwrap().len(), 1, "{stage}");
        assert_eq!(json["intents"], serde_json::json!([]), "{stage}");
        assert_eq!(json["rotations"], serde_json::json!([]), "{stage}");
    }
}

/// Nothing the binary prints, at TRACE, holds a secret: not the API key,
/// not a created key's.
#[tokio::test]
async fn no_secret_is_printed_even_at_trace() {
    let fake = fake().await;
    fake.insert_key(key("old1", "svc-rotated", false));
    let dir = Scratch::new("crash-trace");
    let store = dir.path("store.json");
    for mut command in [create(&fake, &store), rotate(&fake, &store, "0")] {
        command.env("RUST_LOG", "trace");
        finish(command).await;
    }
    // The created key and the replacement: what the check looks for is
    // what they are.
    let json = store_json(&store);
    let keys = json["keys"].as_object().unwrap();
    assert_eq!(keys.len(), 2);
    for key in keys.values() {
        assert!(holds_a_secret(key["secret"].as_str().unwrap()));
    }
}

#[tokio::test]
async fn a_store_others_may_read_is_refused_and_nothing_is_sent() {
    use std::os::unix::fs::PermissionsExt;
    let fake = fake().await;
    let dir = Scratch::new("crash-mode");
    let store = dir.path("store.json");
    std::fs::write(&store, r#"{"keys": {}}"#).unwrap();
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = create(&fake, &store).output().await.unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("chmod 600"), "{}", stderr(&output));
    assert_eq!(fake.hits(), 0);
    assert_eq!(std::fs::read_to_string(&store).unwrap(), r#"{"keys": {}}"#);
}

/// `apply` killed while a create, a replacement or a delete waits for its
/// answer, then run again: it ends with the keys the file names, one
/// each, with their settings (a `plan` after it has nothing to do), and
/// nothing else touched.
#[tokio::test]
async fn an_apply_killed_at_any_stage_converges_when_run_again() {
    const KEPT: &str = "[[key]]\nname = \"svc\"\n\n[[key]]\nname = \"unrelated\"\n";
    const CREATE: &str = "[[key]]\nname = \"svc-new\"\nlimit = 4\ndisabled = true\n";
    const REPLACE: &str = "[[key]]\nname = \"svc-replaced\"\nexpires_at = 2027-03-01T00:00:00Z\n";
    let held = |operation| Fault::hang().after_processing().only_for(operation);
    let cases = [
        ("create: the POST applied", CREATE, held(Operation::Create)),
        (
            "create: the POST not yet applied",
            CREATE,
            Fault::hang().only_for(Operation::Create),
        ),
        (
            "create: the disabling PATCH applied",
            CREATE,
            held(Operation::Update),
        ),
        (
            "replace: the replacement's POST applied",
            REPLACE,
            held(Operation::Create),
        ),
        (
            "replace: the old key disabled",
            REPLACE,
            held(Operation::Update),
        ),
        (
            "replace: the old key deleted",
            REPLACE,
            held(Operation::Delete),
        ),
        ("prune: a key deleted", "", held(Operation::Delete)),
    ];
    for (stage, file, fault) in cases {
        let fake = fake().await;
        fake.insert_key(FakeKey {
            limit: Some(3.0),
            ..key("old1", "svc-replaced", false)
        });
        fake.insert_key(key("stale", "not in the file", false));
        let dir = Scratch::new("crash-apply");
        let store = dir.path("store.json");
        let desired = dir.path("keys.toml");
        std::fs::write(&desired, format!("{KEPT}\n{file}")).unwrap();
        let apply = || {
            let mut command = command(&fake, &store, &["apply", "--prune", "--concurrency", "1"]);
            command.arg(&desired);
            command
        };
        fake.push_fault(fault);
        kill_at(apply(), withheld(&fake, 1)).await;
        let printed = finish(apply()).await;

        for change in printed["changes"].as_array().unwrap() {
            assert_eq!(change["ok"], true, "{stage}: {change}");
        }
        let names: Vec<&str> = ["svc", "unrelated", "svc-new", "svc-replaced"]
            .into_iter()
            .filter(|name| file.contains(&format!("\"{name}\"")) || KEPT.contains(name))
            .collect();
        let mut upstream: Vec<String> = fake.keys().into_iter().map(|k| k.name).collect();
        upstream.sort();
        let mut expected: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        expected.sort();
        assert_eq!(upstream, expected, "{stage}: one key per name, no other");
        assert_eq!(named(&fake, "svc"), ["pre1"], "{stage}: untouched");
        assert_eq!(named(&fake, "unrelated"), ["pre2"], "{stage}: untouched");
        let json = store_json(&store);
        assert_eq!(json["intents"], serde_json::json!([]), "{stage}");
        assert_eq!(json["rotations"], serde_json::json!([]), "{stage}");
        for (hash, stored) in json["keys"].as_object().unwrap() {
            assert!(fake.key(hash).is_some(), "{stage}: {hash} is live");
            assert!(holds_a_secret(stored["secret"].as_str().unwrap()));
        }

        // The settings too: planned again, nothing is left to do.
        let mut plan = common::bin_command(Some(KEY));
        plan.args(["--base-url", &fake.base_url(), "plan", "--prune"])
            .arg(&desired);
        let output = plan.output().await.unwrap();
        assert_eq!(output.status.code(), Some(0), "{stage}");
        for change in common::stdout_json(&output)["changes"].as_array().unwrap() {
            assert_eq!(change["action"], "unchanged", "{stage}: {change}");
        }
    }
}
