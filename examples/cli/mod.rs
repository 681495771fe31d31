//! What the `update_key` and `keys` examples share: flag values, where to
//! send requests, exit codes and logging.

use std::{io::IsTerminal, process::ExitCode, time::Duration};

use openrouter_keys::{API_KEY_ENV, Error, LimitReset, Patch, fake::FakeOpenRouter};

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
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidRequest(_) | Error::Config(_) => Failure::Usage(error.to_string()),
            error => Failure::Call(error),
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

/// The key from `OPENROUTER_API_KEY` only, never from a flag, and the fake
/// when there is neither a key nor `--base-url`.
pub async fn endpoint(base_url: Option<&str>) -> Result<Endpoint, Failure> {
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
        (None, None) => {
            let fake = FakeOpenRouter::start()
                .await
                .map_err(|e| Failure::Usage(format!("cannot start the fake server: {e}")))?;
            eprintln!(
                "note: {API_KEY_ENV} is not set and no --base-url was given; \
                 using the in-process fake at {}",
                fake.base_url()
            );
            Ok(Endpoint {
                base_url: fake.base_url(),
                fake: Some(fake),
                key: "sk-or-v1-fake-local-key".to_owned(),
            })
        }
    }
}

pub fn init_logging(verbose: bool) {
    use tracing_subscriber::EnvFilter;
    // RUST_LOG wins; -v shows the client's per-attempt events; otherwise
    // only warnings.
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
