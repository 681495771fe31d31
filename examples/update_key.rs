//! Updates one OpenRouter API key and prints it as JSON.
//!
//! ```text
//! update_key [HASH] [--name NAME] [--disable | --enable] [--limit <USD|none>]
//!            [--limit-reset <daily|weekly|monthly|none>] [--include-byok-in-limit <true|false>]
//!            [--base-url URL] [--timeout SECS] [--no-retry] [--max-elapsed SECS] [-v]
//! ```
//!
//! The API key comes only from `OPENROUTER_API_KEY`, never from a flag, so it
//! stays out of shell history and process listings. With no key and no
//! `--base-url`, the example runs against the crate's in-process fake, on the
//! fake's seeded key, applying the spec's example update.
//!
//! Exit status: 0 on success; 2 for a usage or validation error (nothing was
//! sent); 1 for an API, transport or decode error.

mod cli;

use std::{process::ExitCode, time::Duration};

use clap::Parser;
use cli::{Endpoint, Failure, endpoint, finish, init_logging, parse_limit, parse_reset, secs};
use openrouter_keys::{Client, KeyUpdate, LimitReset, Patch, RetryConfig, fake::EXAMPLE_KEY_HASH};

#[derive(Parser, Debug)]
#[command(
    name = "update_key",
    about = "Update an OpenRouter API key (PATCH /keys/{hash}) and print it as JSON",
    after_help = "The API key is read from OPENROUTER_API_KEY. With neither it nor --base-url, \
                  the example runs against an in-process fake of the API."
)]
struct Args {
    /// Hash of the key to update [default against the fake: its seeded key]
    hash: Option<String>,
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
    /// API base URL, e.g. https://openrouter.ai/api/v1
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// Timeout of each attempt, in seconds
    // Read by `secs` in `run`, not by clap, so that a bad value is one line.
    #[arg(long, value_name = "SECS", allow_hyphen_values = true)]
    timeout: Option<String>,
    /// Send once, without retries
    #[arg(long)]
    no_retry: bool,
    /// Time budget for the whole call, retries included, in seconds
    #[arg(long, value_name = "SECS", allow_hyphen_values = true)]
    max_elapsed: Option<String>,
    /// Log every attempt to stderr
    #[arg(short, long)]
    verbose: bool,
}

/// The spec's example request body.
fn example_update() -> KeyUpdate {
    KeyUpdate::new()
        .name("Updated API Key Name")
        .disabled(false)
        .limit(75.0)
        .limit_reset(LimitReset::Daily)
        .include_byok_in_limit(true)
}

impl Args {
    fn update(&self) -> KeyUpdate {
        let mut update = KeyUpdate::new();
        if let Some(name) = &self.name {
            update = update.name(name);
        }
        if self.disable || self.enable {
            update = update.disabled(self.disable);
        }
        if let Some(limit) = self.limit {
            update = update.set_limit(limit);
        }
        if let Some(reset) = self.limit_reset {
            update = update.set_limit_reset(reset);
        }
        if let Some(include) = self.include_byok_in_limit {
            update = update.include_byok_in_limit(include);
        }
        update
    }

    fn retry(&self, max_elapsed: Option<Duration>) -> RetryConfig {
        let mut retry = if self.no_retry {
            RetryConfig::disabled()
        } else {
            RetryConfig::standard()
        };
        if let Some(budget) = max_elapsed {
            retry = retry.with_max_elapsed(budget);
        }
        retry
    }
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
    let Endpoint {
        fake,
        base_url,
        key,
    } = endpoint(args.base_url.as_deref()).await?;

    let hash = match (&args.hash, &fake) {
        (Some(hash), _) => hash.clone(),
        (None, Some(_)) => EXAMPLE_KEY_HASH.to_owned(),
        (None, None) => return Err(Failure::Usage("give the HASH of the key to update".into())),
    };
    let mut update = args.update();
    if update.is_empty() && fake.is_some() {
        update = example_update();
    }

    let mut builder = Client::builder()
        .api_key(key)
        .base_url(base_url)
        .retry(args.retry(max_elapsed));
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    let client = builder.build()?;

    let key = client.update_key(&hash, &update).await?;
    // `fake` lives until here, so the server outlasts the call.
    drop(fake);
    serde_json::to_string_pretty(&key).map_err(|e| Failure::Usage(e.to_string()))
}
