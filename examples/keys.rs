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

use std::{io::IsTerminal, process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};
use openrouter_keys::{
    API_KEY_ENV, Client, Error, ExposeSecret, KeyUpdate, LimitReset, ListOptions, NewKey, Patch,
    RetryConfig, fake::FakeOpenRouter,
};
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
        /// New name
        #[arg(long)]
        name: Option<String>,
        /// Disable the key
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        /// Enable the key
        #[arg(long)]
        enable: bool,
        /// Spending limit in USD, or `none` to remove it
        #[arg(long, value_name = "USD|none", value_parser = parse_limit, allow_hyphen_values = true)]
        limit: Option<Patch<f64>>,
        /// How often the limit resets, or `none` to stop resetting
        #[arg(long, value_name = "daily|weekly|monthly|none", value_parser = parse_reset)]
        limit_reset: Option<Patch<LimitReset>>,
        /// Whether BYOK usage counts against the limit
        #[arg(long, value_name = "true|false")]
        include_byok_in_limit: Option<bool>,
    },
    /// Delete a key; prints {"deleted": true}
    Delete { hash: String },
    /// Show the key this client authenticates with
    Current,
}

fn parse_limit(text: &str) -> Result<Patch<f64>, String> {
    if text.eq_ignore_ascii_case("none") {
        return Ok(Patch::Clear);
    }
    match text.parse::<f64>() {
        Ok(usd) if usd.is_finite() && usd >= 0.0 => Ok(Patch::Set(usd)),
        _ => Err(format!(
            "`{text}` is not a finite, non-negative number of USD or `none`"
        )),
    }
}

fn parse_reset(text: &str) -> Result<Patch<LimitReset>, String> {
    if text.eq_ignore_ascii_case("none") {
        return Ok(Patch::Clear);
    }
    text.parse()
        .map(Patch::Set)
        .map_err(|e| format!("{e}, or none"))
}

fn parse_time(text: &str) -> Result<std::time::SystemTime, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(std::time::SystemTime::from)
        .map_err(|e| format!("`{text}` is not an RFC 3339 date-time: {e}"))
}

/// A positive number of seconds; zero would time out every attempt or
/// leave no budget, so it is refused like a negative number.
fn secs(flag: &str, text: Option<&str>) -> Result<Option<Duration>, String> {
    let Some(text) = text else { return Ok(None) };
    match text.parse::<f64>().map(Duration::try_from_secs_f64) {
        Ok(Ok(duration)) if !duration.is_zero() => Ok(Some(duration)),
        _ => Err(format!(
            "{flag} must be a positive number of seconds, not `{text}`"
        )),
    }
}

/// How a run ends.
enum Failure {
    /// Nothing was sent: exit 2.
    Usage(String),
    /// The call failed: exit 1.
    Call(Error),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidRequest(_) | Error::Config(_) => Failure::Usage(error.to_string()),
            error => Failure::Call(error),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(args.verbose);
    match run(args).await {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(Failure::Usage(message)) => {
            eprintln!("error: {}", one_line(&message));
            ExitCode::from(2)
        }
        Err(Failure::Call(error)) => {
            eprintln!("error: {}", one_line(&error.to_string()));
            ExitCode::from(1)
        }
    }
}

async fn run(args: Args) -> Result<String, Failure> {
    // First, before the fake starts (and says so) or anything is sent.
    let timeout = secs("--timeout", args.timeout.as_deref()).map_err(Failure::Usage)?;
    let max_elapsed = secs("--max-elapsed", args.max_elapsed.as_deref()).map_err(Failure::Usage)?;
    let key = std::env::var(API_KEY_ENV)
        .ok()
        .filter(|key| !key.is_empty());
    let (fake, base_url, key) = match (&args.base_url, key) {
        (Some(url), Some(key)) => (None, url.clone(), key),
        (Some(_), None) => {
            return Err(Failure::Usage(format!(
                "--base-url needs the API key in {API_KEY_ENV}"
            )));
        }
        (None, Some(key)) => (None, openrouter_keys::DEFAULT_BASE_URL.to_owned(), key),
        (None, None) => {
            let fake = FakeOpenRouter::start()
                .await
                .map_err(|e| Failure::Usage(format!("cannot start the fake server: {e}")))?;
            eprintln!(
                "note: {API_KEY_ENV} is not set and no --base-url was given; \
                 using the in-process fake at {}",
                fake.base_url()
            );
            let url = fake.base_url();
            (Some(fake), url, "sk-or-v1-fake-local-key".to_owned())
        }
    };

    let mut retry = if args.no_retry {
        RetryConfig::disabled()
    } else {
        RetryConfig::standard()
    };
    if let Some(budget) = max_elapsed {
        retry = retry.with_max_elapsed(budget);
    }
    let mut builder = Client::builder()
        .api_key(key)
        .base_url(base_url)
        .retry(retry);
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    let client = builder.build()?;

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
        Command::Update {
            hash,
            name,
            disable,
            enable,
            limit,
            limit_reset,
            include_byok_in_limit,
        } => {
            let mut update = KeyUpdate::new();
            if let Some(name) = name {
                update = update.name(name);
            }
            if disable || enable {
                update = update.disabled(disable);
            }
            if let Some(limit) = limit {
                update = update.set_limit(limit);
            }
            if let Some(reset) = limit_reset {
                update = update.set_limit_reset(reset);
            }
            if let Some(include) = include_byok_in_limit {
                update = update.include_byok_in_limit(include);
            }
            serde_json::to_value(client.update_key(&hash, &update).await?)
        }
        Command::Delete { hash } => {
            client.delete_key(&hash).await?;
            Ok(json!({ "deleted": true }))
        }
        Command::Current => serde_json::to_value(client.current_key().await?),
    }
    .map_err(|e| Failure::Usage(e.to_string()))?;
    // `fake` lives until here, so the server outlasts the calls.
    drop(fake);
    serde_json::to_string_pretty(&json).map_err(|e| Failure::Usage(e.to_string()))
}

fn init_logging(verbose: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(if verbose {
            "openrouter_keys=debug"
        } else {
            "warn"
        })
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// Keeps an error message on one line, whatever the server put in it.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
