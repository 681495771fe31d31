//! What the `openrouter-keys` binary and the `update_key` example share:
//! flag values, where to send requests, exit codes and logging.

// The example compiles this module on its own and uses part of it.
#![allow(dead_code)]

use std::{io::IsTerminal, process::ExitCode, time::Duration};

use openrouter_keys::{
    API_KEY_ENV, Client, Error, ErrorKind, KeyUpdate, LimitReset, Patch, RetryConfig,
    fake::FakeOpenRouter,
};

/// The fields of an update, as flags.
#[derive(clap::Args, Debug)]
pub struct UpdateFields {
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
}

impl UpdateFields {
    /// The update the flags describe; empty when none was given.
    pub fn update(&self) -> KeyUpdate {
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
}

/// The client for `endpoint`, with the timeout and retry flags.
pub fn client(
    endpoint: &Endpoint,
    no_retry: bool,
    timeout: Option<Duration>,
    max_elapsed: Option<Duration>,
) -> Result<Client, Failure> {
    let mut retry = if no_retry {
        RetryConfig::disabled()
    } else {
        RetryConfig::standard()
    };
    if let Some(budget) = max_elapsed {
        retry = retry.with_max_elapsed(budget);
    }
    let mut builder = Client::builder()
        .api_key(endpoint.key.as_str())
        .base_url(endpoint.base_url.as_str())
        .retry(retry);
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    Ok(builder.build()?)
}

pub fn parse_limit(text: &str) -> Result<Patch<f64>, String> {
    if text.eq_ignore_ascii_case("none") {
        return Ok(Patch::Clear);
    }
    let usd: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of USD or `none`"))?;
    if !usd.is_finite() || usd < 0.0 {
        return Err(format!(
            "the limit must be a finite, non-negative number of USD, not `{text}`"
        ));
    }
    Ok(Patch::Set(usd))
}

pub fn parse_reset(text: &str) -> Result<Patch<LimitReset>, String> {
    if text.eq_ignore_ascii_case("none") {
        return Ok(Patch::Clear);
    }
    text.parse()
        .map(Patch::Set)
        .map_err(|_| format!("`{text}` is not one of daily, weekly, monthly or none"))
}

/// The value of `flag` (`--timeout`, `--max-elapsed`), if given: a
/// positive number of seconds. Zero would time out every attempt or leave
/// no budget at all, so it is refused like a negative number.
pub fn secs(flag: &str, text: Option<&str>) -> Result<Option<Duration>, String> {
    let Some(text) = text else {
        return Ok(None);
    };
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{flag}: `{text}` is not a number of seconds"))?;
    match Duration::try_from_secs_f64(secs) {
        Ok(duration) if !duration.is_zero() => Ok(Some(duration)),
        _ => Err(format!(
            "{flag} must be a positive number of seconds, not `{text}`"
        )),
    }
}

/// How a run ends.
pub enum Failure {
    /// Nothing was sent: exit 2.
    Usage(String),
    /// The call failed: exit 1.
    Call(Error),
    /// Some of the work could not be done; this JSON says what was: it
    /// goes to stdout, and the exit is 1.
    Partly(String),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        match error.kind() {
            ErrorKind::InvalidRequest | ErrorKind::Config => Failure::Usage(error.to_string()),
            _ => Failure::Call(error),
        }
    }
}

/// Prints the JSON or the one-line error, and says how to exit.
pub fn finish(result: Result<String, Failure>) -> ExitCode {
    match result {
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
        Err(Failure::Partly(json)) => {
            println!("{json}");
            ExitCode::from(1)
        }
    }
}

/// Where the requests go, and with which key.
pub struct Endpoint {
    /// The in-process fake, when there is neither a key nor a URL; it
    /// serves as long as this lives.
    pub fake: Option<FakeOpenRouter>,
    pub base_url: String,
    pub key: String,
}

/// The key from `OPENROUTER_API_KEY` only, never from a flag. With neither
/// a key nor `--base-url`, the in-process fake when `fake_when_unset`, and
/// a usage error otherwise.
pub async fn endpoint(base_url: Option<&str>, fake_when_unset: bool) -> Result<Endpoint, Failure> {
    let key = std::env::var(API_KEY_ENV)
        .ok()
        .filter(|key| !key.is_empty());
    match (base_url, key) {
        (Some(url), Some(key)) => Ok(Endpoint {
            fake: None,
            base_url: url.to_owned(),
            key,
        }),
        (Some(_), None) => Err(Failure::Usage(format!(
            "--base-url needs the API key in {API_KEY_ENV}"
        ))),
        (None, Some(key)) => Ok(Endpoint {
            fake: None,
            base_url: openrouter_keys::DEFAULT_BASE_URL.to_owned(),
            key,
        }),
        (None, None) if fake_when_unset => {
            fake_endpoint(&format!(
                "{API_KEY_ENV} is not set and no --base-url was given"
            ))
            .await
        }
        (None, None) => Err(Failure::Usage(format!(
            "{API_KEY_ENV} is not set; set it to a management key, or pass --fake to try the \
             commands against an in-process fake of the API"
        ))),
    }
}

/// The in-process fake, with one seeded key; it says so on stderr, and
/// `why`.
pub async fn fake_endpoint(why: &str) -> Result<Endpoint, Failure> {
    let fake = FakeOpenRouter::start()
        .await
        .map_err(|e| Failure::Usage(format!("cannot start the fake server: {e}")))?;
    eprintln!(
        "note: {why}; using the in-process fake at {} (nothing goes to OpenRouter)",
        fake.base_url()
    );
    Ok(Endpoint {
        base_url: fake.base_url(),
        fake: Some(fake),
        key: "sk-or-v1-fake-local-key".to_owned(),
    })
}

pub fn init_logging(verbose: bool) {
    use tracing::Level;
    use tracing_subscriber::{filter::Targets, layer::SubscriberExt, util::SubscriberInitExt};
    // RUST_LOG (`target=level` directives, comma-separated) wins; -v shows
    // the client's per-attempt events; otherwise warnings, and the stages
    // of the jobs that create and rotate keys.
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|directives| {
            directives
                .parse::<Targets>()
                .map_err(|e| eprintln!("note: RUST_LOG ignored ({e}); it takes target=level"))
                .ok()
        })
        .unwrap_or_else(|| {
            let default = Targets::new()
                .with_default(Level::WARN)
                .with_target("openrouter_keys::workflow", Level::INFO);
            if verbose {
                default.with_target("openrouter_keys", Level::DEBUG)
            } else {
                default
            }
        });
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    tracing_subscriber::registry()
        .with(stderr)
        .with(filter)
        .init();
}

/// Keeps an error message on one line, whatever the server put in it.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
