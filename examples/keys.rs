//! The whole life of an OpenRouter API key from the command line: list,
//! get, create, update, delete, and the current key. Prints JSON.
//!
//! ```text
//! keys [--base-url URL] [--timeout SECS] [--no-retry] [--max-elapsed SECS] [-v] <COMMAND>
//!   list [--include-disabled] [--offset N] [--workspace-id ID] [--all]
//!   get HASH
//!   create --name NAME [--limit USD|none] [--limit-reset daily|weekly|monthly|none]
//!          [--include-byok-in-limit true|false] [--expires-at RFC3339]
//!          [--workspace-id ID] [--creator-user-id ID]
//!   update HASH [--name NAME] [--disable | --enable] [--limit USD|none]
//!          [--limit-reset daily|weekly|monthly|none] [--include-byok-in-limit true|false]
//!   delete HASH
//!   current
//! ```
//!
//! The API key comes only from `OPENROUTER_API_KEY`. With no key and no
//! `--base-url`, the commands run against the crate's in-process fake (one
//! seeded key). Exit status: 0 on success; 2 for a usage or validation
//! error (nothing was sent); 1 for an API, transport or decode error.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cli::{
    Failure, UpdateFields, client, endpoint, finish, init_logging, parse_limit, parse_reset, secs,
};
use openrouter_keys::{ExposeSecret, LimitReset, ListOptions, NewKey, Patch};
use serde_json::json;

#[derive(Parser, Debug)]
#[command(
    name = "keys",
    about = "Manage OpenRouter API keys and print the answers as JSON",
    after_help = "The API key is read from OPENROUTER_API_KEY. With neither it nor --base-url, \
                  the commands run against an in-process fake of the API."
)]
struct Args {
    /// API base URL, e.g. https://openrouter.ai/api/v1
    #[arg(long, global = true, value_name = "URL")]
    base_url: Option<String>,
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
    /// Create a key; prints {"key": "<secret>", "data": {...}}
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

async fn run(args: Args) -> Result<String, Failure> {
    // First, before the fake starts (and says so) or anything is sent.
    let timeout = secs("--timeout", args.timeout.as_deref()).map_err(Failure::Usage)?;
    let max_elapsed = secs("--max-elapsed", args.max_elapsed.as_deref()).map_err(Failure::Usage)?;
    let endpoint = endpoint(args.base_url.as_deref()).await?;
    let client = client(&endpoint, args.no_retry, timeout, max_elapsed)?;

    let json = match args.command {
        Command::List {
            include_disabled,
            offset,
            workspace_id,
            all,
        } => {
            let mut options = ListOptions::new().include_disabled(include_disabled);
            if let Some(offset) = offset {
                options = options.offset(offset);
            }
            if let Some(id) = workspace_id {
                options = options.workspace_id(id);
            }
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
        } => {
            let mut key = NewKey::new(name);
            if let Some(Patch::Set(usd)) = limit {
                key = key.limit(usd);
            }
            if let Some(Patch::Set(reset)) = limit_reset {
                key = key.limit_reset(reset);
            }
            if let Some(include) = include_byok_in_limit {
                key = key.include_byok_in_limit(include);
            }
            if let Some(at) = expires_at {
                key = key.expires_at(at);
            }
            if let Some(id) = workspace_id {
                key = key.workspace_id(id);
            }
            if let Some(id) = creator_user_id {
                key = key.creator_user_id(id);
            }
            let created = client.create_key(&key).await?;
            eprintln!("note: the key's secret is shown once, here; it cannot be read again");
            Ok(json!({ "key": created.key.expose_secret(), "data": created.data }))
        }
        Command::Update { hash, fields } => {
            serde_json::to_value(client.update_key(&hash, &fields.update()).await?)
        }
        Command::Delete { hash } => {
            client.delete_key(&hash).await?;
            Ok(json!({ "deleted": true }))
        }
        Command::Current => serde_json::to_value(client.current_key().await?),
    }
    .map_err(|e| Failure::Usage(e.to_string()))?;
    // The endpoint (and its fake) lives until here, so the server outlasts
    // the calls.
    drop(endpoint);
    serde_json::to_string_pretty(&json).map_err(|e| Failure::Usage(e.to_string()))
}
