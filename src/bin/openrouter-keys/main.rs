//! `openrouter-keys`: OpenRouter's API keys from the command line. The
//! whole lifecycle (list, get, create, update, delete, the current key),
//! creating exactly once and rotating in stages with a secret store, and
//! printing JSON.
//!
//! ```text
//! openrouter-keys [--base-url URL | --fake] [--timeout SECS] [--no-retry] [--max-elapsed SECS] [-v] <COMMAND>
//!   list [--include-disabled] [--offset N] [--workspace-id ID] [--all]
//!   get HASH
//!   create --name NAME [--limit USD|none] [--limit-reset daily|weekly|monthly|none]
//!          [--include-byok-in-limit true|false] [--expires-at RFC3339]
//!          [--workspace-id ID] [--creator-user-id ID] [--store FILE]
//!   update HASH [--name NAME] [--disable | --enable] [--limit USD|none]
//!          [--limit-reset daily|weekly|monthly|none] [--include-byok-in-limit true|false]
//!   delete HASH
//!   current
//!   rotate HASH --store FILE [--grace SECS]
//!   plan FILE [--store FILE] [--prune]
//!   apply FILE --store FILE [--prune] [--concurrency N]
//! ```
//!
//! The API key comes only from `OPENROUTER_API_KEY`. `--fake` runs the
//! commands against an in-process fake of the API instead (one seeded
//! key). Exit status: 0 on success; 2 for a usage or validation error
//! (nothing was sent); 1 for an API, transport, decode or store error
//! (a job that uses a store resumes when run again).

mod common;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use common::{
    Endpoint, Failure, UpdateFields, client, endpoint, fake_endpoint, finish, init_logging,
    parse_limit, parse_reset, secs,
};
use openrouter_keys::{
    Action, ApplyOptions, DesiredKeys, ExposeSecret, FileStore, LimitReset, ListOptions, NewKey,
    Patch, Plan, SecretStore,
};
use serde_json::json;

#[derive(Parser, Debug)]
#[command(
    name = "openrouter-keys",
    version,
    about = "Manage OpenRouter API keys and print the answers as JSON",
    after_help = "The API key is read from OPENROUTER_API_KEY. Exit status: 0 on success, 2 for \
                  a usage error (nothing was sent), 1 for any other failure."
)]
struct Args {
    /// API base URL, e.g. https://openrouter.ai/api/v1
    #[arg(long, global = true, value_name = "URL")]
    base_url: Option<String>,
    /// Run against an in-process fake of the API; nothing goes to OpenRouter
    #[arg(long, global = true, conflicts_with = "base_url")]
    fake: bool,
    /// Timeout of each attempt, in seconds
    #[arg(long, global = true, value_name = "SECS", allow_hyphen_values = true)]
    timeout: Option<String>,
    /// Send once, without retries
    #[arg(long, global = true)]
    no_retry: bool,
    /// Time budget for each call, retries included, in seconds
    #[arg(long, global = true, value_name = "SECS", allow_hyphen_values = true)]
    max_elapsed: Option<String>,
    /// Log every attempt to stderr
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List keys (one page, or every page with --all)
    List {
        /// List disabled keys too
        #[arg(long)]
        include_disabled: bool,
        /// Skip this many keys
        #[arg(long, value_name = "N")]
        offset: Option<u64>,
        /// Only the keys of this workspace (a UUID)
        #[arg(long, value_name = "ID")]
        workspace_id: Option<String>,
        /// Walk every page
        #[arg(long)]
        all: bool,
    },
    /// Show one key
    Get { hash: String },
    /// Create a key; prints {"key": "<secret>", "data": {...}}, or with
    /// --store, creates it exactly once and prints only its data
    Create {
        /// Name of the new key
        #[arg(long)]
        name: String,
        /// Spending limit in USD, or `none` for no limit
        #[arg(long, value_name = "USD|none", value_parser = parse_limit, allow_hyphen_values = true)]
        limit: Option<Patch<f64>>,
        /// How often the limit resets, or `none`
        #[arg(long, value_name = "daily|weekly|monthly|none", value_parser = parse_reset)]
        limit_reset: Option<Patch<LimitReset>>,
        /// Whether BYOK usage counts against the limit
        #[arg(long, value_name = "true|false")]
        include_byok_in_limit: Option<bool>,
        /// When the key expires, as RFC 3339 (sent in UTC)
        #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
        expires_at: Option<std::time::SystemTime>,
        /// The workspace of the key (a UUID)
        #[arg(long, value_name = "ID")]
        workspace_id: Option<String>,
        /// For organisation keys: the member the key is for
        #[arg(long, value_name = "ID")]
        creator_user_id: Option<String>,
        /// Create exactly once, and write the secret only to this store
        #[arg(long, value_name = "FILE")]
        store: Option<std::path::PathBuf>,
    },
    /// Change a key
    Update {
        hash: String,
        #[command(flatten)]
        fields: UpdateFields,
    },
    /// Delete a key; prints {"deleted": true}
    Delete { hash: String },
    /// Show the key this client authenticates with
    Current,
    /// Replace a key by a new one with its settings, in stages that a
    /// re-run resumes; prints {"old": "<hash>", "new": "<hash>"}
    Rotate {
        hash: String,
        /// The store that keeps the new secret and the rotation's stages
        #[arg(long, value_name = "FILE")]
        store: std::path::PathBuf,
        /// Seconds between disabling the old key and deleting it; a
        /// resumed rotation waits the longer of this and what it began with
        #[arg(
            long,
            value_name = "SECS",
            default_value = "0",
            allow_hyphen_values = true
        )]
        grace: String,
    },
    /// Show what makes OpenRouter match a desired-state file, sending only
    /// GETs; prints {"changes": [...]}
    Plan {
        /// The desired-state file (TOML, a [[key]] table per key)
        file: std::path::PathBuf,
        /// A store whose pending work the plan takes into account
        #[arg(long, value_name = "FILE")]
        store: Option<std::path::PathBuf>,
        /// Also delete the keys the file does not name
        #[arg(long)]
        prune: bool,
    },
    /// Make OpenRouter match a desired-state file; prints {"changes": [...]}
    /// with each key's hash and whether it was done
    Apply {
        /// The desired-state file (TOML, a [[key]] table per key)
        file: std::path::PathBuf,
        /// The store that keeps created keys' secrets
        #[arg(long, value_name = "FILE")]
        store: std::path::PathBuf,
        /// Also delete the keys the file does not name
        #[arg(long)]
        prune: bool,
        /// The most changes under way at once
        #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
        concurrency: u16,
    },
}

/// One line for people: how many entries take (or, once applied, took)
/// each action, then one line for each that is not ok.
fn summary(verb: &str, plan: &Plan) -> String {
    let applied = verb == "apply";
    let words = [
        (Action::Create, "to create", "created"),
        (Action::Update, "to update", "updated"),
        (Action::Replace, "to replace", "replaced"),
        (Action::Delete, "to delete", "deleted"),
        (Action::Unchanged, "unchanged", "unchanged"),
    ];
    let mut counts: Vec<String> = words
        .iter()
        .map(|&(action, planned, done)| {
            format!(
                "{} {}",
                plan.count(action),
                if applied { done } else { planned }
            )
        })
        .collect();
    let failed = plan.changes.iter().filter(|c| !c.ok).count();
    counts.push(format!(
        "{failed} {}",
        if applied { "failed" } else { "not planned" }
    ));
    let mut text = format!("{verb}: {}", counts.join(", "));
    for change in plan.changes.iter().filter(|c| !c.ok) {
        text.push_str(&format!(
            "\n  not ok: {}: {}",
            change.name,
            change.error.as_deref().unwrap_or("failed")
        ));
    }
    text
}

/// The plan's JSON, with its summary on stderr; exit 1 when not every
/// entry was ok.
fn report(verb: &str, plan: &Plan, endpoint: Endpoint) -> Result<String, Failure> {
    eprintln!("{}", summary(verb, plan));
    let json = serde_json::to_string_pretty(plan).map_err(|e| Failure::Usage(e.to_string()))?;
    drop(endpoint);
    if plan.is_ok() {
        Ok(json)
    } else {
        Err(Failure::Partly(json))
    }
}

fn parse_time(text: &str) -> Result<std::time::SystemTime, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(std::time::SystemTime::from)
        .map_err(|e| format!("`{text}` is not an RFC 3339 date-time: {e}"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(args.verbose);
    finish(run(args).await)
}

/// A store to write secrets to; nothing is sent when it cannot be used.
fn open_store(path: &std::path::Path) -> Result<FileStore, Failure> {
    FileStore::open(path).map_err(|e| Failure::Usage(e.to_string()))
}

async fn run(args: Args) -> Result<String, Failure> {
    // First, before the fake starts (and says so) or anything is sent.
    let timeout = secs("--timeout", args.timeout.as_deref()).map_err(Failure::Usage)?;
    let max_elapsed = secs("--max-elapsed", args.max_elapsed.as_deref()).map_err(Failure::Usage)?;
    let grace = match &args.command {
        Command::Rotate { grace, .. } => match grace.parse::<f64>() {
            Ok(secs) => std::time::Duration::try_from_secs_f64(secs).map_err(|_| {
                Failure::Usage(format!("--grace: `{grace}` is not a number of seconds"))
            })?,
            Err(_) => {
                return Err(Failure::Usage(format!(
                    "--grace: `{grace}` is not a number of seconds"
                )));
            }
        },
        _ => std::time::Duration::ZERO,
    };
    let endpoint: Endpoint = if args.fake {
        fake_endpoint("--fake").await?
    } else {
        endpoint(args.base_url.as_deref(), false).await?
    };
    let client = client(&endpoint, args.no_retry, timeout, max_elapsed)?;

    let json = match args.command {
        Command::List {
            include_disabled,
            offset,
            workspace_id,
            all,
        } => {
            let mut options = ListOptions::new().include_disabled(include_disabled);
            options.offset = offset;
            options.workspace_id = workspace_id;
            let keys = if all {
                client.list_all_keys(&options).await?
            } else {
                client.list_keys(&options).await?
            };
            serde_json::to_value(keys)
        }
        Command::Get { hash } => serde_json::to_value(client.get_key(&hash).await?),
        Command::Create {
            name,
            limit,
            limit_reset,
            include_byok_in_limit,
            expires_at,
            workspace_id,
            creator_user_id,
            store,
        } => {
            let mut key = NewKey::new(name);
            key.limit = match limit {
                Some(Patch::Set(usd)) => Some(usd),
                _ => None,
            };
            key.limit_reset = match limit_reset {
                Some(Patch::Set(reset)) => Some(reset),
                _ => None,
            };
            key.include_byok_in_limit = include_byok_in_limit;
            key.expires_at = expires_at;
            key.workspace_id = workspace_id;
            key.creator_user_id = creator_user_id;
            match store {
                Some(path) => {
                    key.validate()?;
                    let store = open_store(&path)?;
                    let data = client.create_key_once(&key, &store).await?;
                    eprintln!("note: the key's secret is in {}", path.display());
                    serde_json::to_value(data)
                }
                None => {
                    let created = client.create_key(&key).await?;
                    eprintln!(
                        "note: the key's secret is shown once, here; it cannot be read again"
                    );
                    Ok(json!({ "key": created.key.expose_secret(), "data": created.data }))
                }
            }
        }
        Command::Update { hash, fields } => {
            serde_json::to_value(client.update_key(&hash, &fields.update()).await?)
        }
        Command::Delete { hash } => {
            client.delete_key(&hash).await?;
            Ok(json!({ "deleted": true }))
        }
        Command::Current => serde_json::to_value(client.current_key().await?),
        Command::Rotate { hash, store, .. } => {
            let store = open_store(&store)?;
            let rotated = client.rotate_key(&hash, &store, grace).await?;
            Ok(json!({ "old": rotated.old, "new": rotated.new }))
        }
        Command::Plan { file, store, prune } => {
            let desired = DesiredKeys::load(file)?;
            // Read only: a store that does not exist has nothing pending.
            let state = match store.filter(|path| path.exists()) {
                Some(path) => Some(
                    open_store(&path)?
                        .load()
                        .await
                        .map_err(|e| Failure::Usage(e.to_string()))?,
                ),
                None => None,
            };
            let plan = client.plan(&desired, prune, state.as_ref()).await?;
            return report("plan", &plan, endpoint);
        }
        Command::Apply {
            file,
            store,
            prune,
            concurrency,
        } => {
            let desired = DesiredKeys::load(file)?;
            let store = open_store(&store)?;
            let mut options = ApplyOptions::default();
            options.prune = prune;
            options.concurrency = usize::from(concurrency);
            let plan = client.apply(&desired, &store, &options).await?;
            return report("apply", &plan, endpoint);
        }
    }
    .map_err(|e| Failure::Usage(e.to_string()))?;
    // The endpoint (and its fake) lives until here, so the server outlasts
    // the calls.
    drop(endpoint);
    serde_json::to_string_pretty(&json).map_err(|e| Failure::Usage(e.to_string()))
}
