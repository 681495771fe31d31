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

#[path = "../src/bin/openrouter-keys/common.rs"]
mod cli;

use std::process::ExitCode;

use clap::Parser;
use cli::{Failure, UpdateFields, client, endpoint, finish, init_logging, secs};
use openrouter_keys::{KeyUpdate, LimitReset, fake::EXAMPLE_KEY_HASH};

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
    #[command(flatten)]
    fields: UpdateFields,
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
    let endpoint = endpoint(args.base_url.as_deref(), true).await?;
    let hash = match (&args.hash, &endpoint.fake) {
        (Some(hash), _) => hash.clone(),
        (None, Some(_)) => EXAMPLE_KEY_HASH.to_owned(),
        (None, None) => return Err(Failure::Usage("give the HASH of the key to update".into())),
    };
    let mut update = args.fields.update();
    if update.is_empty() && endpoint.fake.is_some() {
        update = example_update();
    }

    let client = client(&endpoint, args.no_retry, timeout, max_elapsed)?;
    let key = client.update_key(&hash, &update).await?;
    // The endpoint (and its fake) lives until here, so the server outlasts
    // the call.
    drop(endpoint);
    serde_json::to_string_pretty(&key).map_err(|e| Failure::Usage(e.to_string()))
}
