//! The public client: construction, per-call overrides, and `update_key`.

use std::{borrow::Cow, cell::RefCell, fmt, sync::Arc, time::Duration};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use secrecy::{ExposeSecret, SecretString};
use tracing::Instrument;

use crate::{
    ApiKey, Applied, Error, KeyUpdate, RetryConfig,
    error::{ApiFailure, DecodeFailure, TransportFailure},
    generated,
    transport::{CALL, Call, CallOptions, HTTP_REFERER, Inner, Report, X_OPENROUTER_TITLE},
};

/// OpenRouter's API, as published in its OpenAPI document.
pub const DEFAULT_BASE_URL: &str = "https://openrouter.ai/api/v1";
/// The environment variable [`Client::from_env`] reads.
pub const API_KEY_ENV: &str = "OPENROUTER_API_KEY";
/// Default timeout of one attempt, from sending to the last byte of the
/// answer: a key update is a small request that OpenRouter answers in well
/// under a second, so ten seconds means something is wrong.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default timeout for opening a connection (TCP and TLS).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default cap on a response body: an updated key is about 1 KiB, so 1 MiB
/// leaves room for any legitimate answer while keeping a broken or hostile
/// server from making the client allocate without bound.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1 << 20;

/// A client for OpenRouter's key-management API.
///
/// Cheap to clone (an `Arc` and a few words) and `Send + Sync`; every clone
/// shares one connection pool. The `with_*` methods return such a clone with
/// one setting changed, for a single call or a part of a program:
///
/// ```no_run
/// # async fn demo() -> Result<(), openrouter_keys::Error> {
/// use std::time::Duration;
/// use openrouter_keys::{Client, KeyUpdate, RetryConfig};
///
/// let client = Client::from_env()?;
/// let key = client
///     .with_retry(RetryConfig::disabled())
///     .with_timeout(Duration::from_secs(3))
///     .update_key("f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943", &KeyUpdate::new().disabled(true))
///     .await?;
/// assert!(key.disabled);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    raw: Arc<generated::Client>,
    options: CallOptions,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.scrub(&self.raw.baseurl))
            .field("api_key", &"[redacted]")
            .field("retry", &self.options.retry)
            .field("attempt_timeout", &self.options.attempt_timeout)
            .field("extra_headers", &self.options.headers)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with every default, authenticating with `api_key` (a
    /// management key).
    pub fn new(api_key: impl Into<SecretString>) -> Result<Self, Error> {
        Self::builder().api_key(api_key).build()
    }

    /// A client with every default, with the key from the environment
    /// variable `OPENROUTER_API_KEY`.
    pub fn from_env() -> Result<Self, Error> {
        Self::builder().api_key_from_env()?.build()
    }

    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// This client, with another retry policy.
    pub fn with_retry(&self, retry: RetryConfig) -> Self {
        let mut client = self.clone();
        client.options.retry = retry;
        client
    }

    /// This client, with another per-attempt timeout.
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        let mut client = self.clone();
        client.options.attempt_timeout = timeout;
        client
    }

    /// This client, sending one more header on every request. It cannot
    /// replace `Authorization`.
    pub fn with_header(&self, name: HeaderName, value: HeaderValue) -> Self {
        let mut client = self.clone();
        let mut headers = client
            .options
            .headers
            .as_deref()
            .cloned()
            .unwrap_or_default();
        headers.insert(name, value);
        client.options.headers = Some(Arc::new(headers));
        client
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.raw.baseurl
    }

    /// The retry policy in force.
    pub fn retry_config(&self) -> RetryConfig {
        self.options.retry
    }

    /// The per-attempt timeout in force.
    pub fn timeout(&self) -> Duration {
        self.options.attempt_timeout
    }

    /// Updates the key with this hash (`PATCH /keys/{hash}`) and returns it
    /// as it is now.
    ///
    /// Nothing is sent when the hash is empty, a path-changing dot
    /// segment or has a backslash, or when the update sets no field or a
    /// limit that is negative or not finite: those are
    /// [`Error::InvalidRequest`].
    /// Failures are retried as the [`RetryConfig`] says; dropping the
    /// future cancels the call, waits included.
    pub async fn update_key(&self, hash: &str, update: &KeyUpdate) -> Result<ApiKey, Error> {
        validate_hash(hash).map_err(Error::InvalidRequest)?;
        update.validate().map_err(Error::InvalidRequest)?;

        let span = tracing::debug_span!("openrouter_keys", operation_id = "updateKeys", hash);
        let call = Call {
            options: self.options.clone(),
            report: RefCell::new(Report::default()),
        };
        CALL.scope(call, async {
            let result = self.raw.update_key(hash, update).await;
            CALL.with(|call| self.outcome(result, &call.report.borrow()))
        })
        .instrument(span)
        .await
    }

    /// Turns the generated method's result into ours, with what the
    /// transport saw.
    fn outcome(
        &self,
        result: Result<
            progenitor_client::ResponseValue<generated::types::UpdateKeyResponse>,
            progenitor_client::Error<generated::types::ErrorResponse>,
        >,
        report: &Report,
    ) -> Result<ApiKey, Error> {
        use progenitor_client::Error as Raw;

        let attempts = report.attempts;
        if report.too_large {
            let status = report.status.unwrap_or_default();
            return Err(Error::ResponseTooLarge {
                status,
                limit: self.raw.inner.max_response_bytes,
                attempts,
            });
        }
        let failure = |body: Option<generated::types::ErrorData>, raw: Bytes| {
            let status = report.status.unwrap_or_default();
            let body = body.map(|mut body| {
                body.message = self.scrub(&body.message).into_owned();
                body.metadata = body.metadata.map(|metadata| self.scrub_map(metadata));
                Box::new(body)
            });
            Error::from_status(ApiFailure {
                status,
                body,
                raw: self.scrub_bytes(raw),
                retry_after: report.retry_after,
                attempts,
            })
        };
        match result {
            Ok(value) => Ok(value.into_inner().data),
            Err(Raw::ErrorResponse(value)) => {
                Err(failure(Some(value.into_inner().error), report.body.clone()))
            }
            Err(Raw::InvalidResponsePayload(raw, error)) => match report.status {
                Some(status) if status.is_success() => Err(Error::Decode(DecodeFailure {
                    status,
                    raw: self.scrub_bytes(raw),
                    // serde_json quotes the offending string, which may
                    // be the key echoed back.
                    reason: crate::error::excerpt(&self.scrub(&error.to_string()), 500),
                    attempts,
                })),
                _ => Err(failure(None, raw)),
            },
            Err(Raw::UnexpectedResponse(_)) => {
                let body = serde_json::from_slice::<generated::types::ErrorResponse>(&report.body)
                    .ok()
                    .map(|envelope| envelope.error);
                Err(failure(body, report.body.clone()))
            }
            Err(
                Raw::CommunicationError(source)
                | Raw::ResponseBodyError(source)
                | Raw::InvalidUpgrade(source),
            ) if attempts > 0 => {
                let failure = TransportFailure {
                    source,
                    applied: report.applied.unwrap_or(Applied::Maybe),
                    attempts,
                };
                Err(if failure.source.is_timeout() {
                    Error::Timeout(failure)
                } else {
                    Error::Connection(failure)
                })
            }
            Err(
                Raw::CommunicationError(source)
                | Raw::ResponseBodyError(source)
                | Raw::InvalidUpgrade(source),
            ) => Err(Error::InvalidRequest(format!(
                "the request could not be built: {source}"
            ))),
            Err(Raw::InvalidRequest(message) | Raw::Custom(message)) => {
                Err(Error::InvalidRequest(message))
            }
        }
    }

    /// Replaces the API key in server-supplied text, should a server ever
    /// echo it back.
    fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        // The key was checked to be ASCII when the client was built.
        redact(text, std::str::from_utf8(self.raw.inner.key()).ok())
    }

    /// Scrubs every string of a JSON value the server sent, keys included.
    /// The nesting is as deep as serde_json allows (128), so recursion is
    /// bounded.
    fn scrub_json(&self, value: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(s) => Value::String(self.scrub(&s).into_owned()),
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|v| self.scrub_json(v)).collect())
            }
            Value::Object(map) => Value::Object(self.scrub_map(map)),
            other => other,
        }
    }

    fn scrub_map(
        &self,
        map: serde_json::Map<String, serde_json::Value>,
    ) -> serde_json::Map<String, serde_json::Value> {
        map.into_iter()
            .map(|(k, v)| (self.scrub(&k).into_owned(), self.scrub_json(v)))
            .collect()
    }

    fn scrub_bytes(&self, raw: Bytes) -> Bytes {
        let key = self.raw.inner.key();
        let find = |text: &[u8]| match key.len() {
            0 => None,
            len => text.windows(len).position(|w| w == key),
        };
        let Some(mut at) = find(&raw) else {
            return raw;
        };
        let mut out = Vec::with_capacity(raw.len());
        let mut rest = &raw[..];
        loop {
            out.extend_from_slice(&rest[..at]);
            out.extend_from_slice(b"[redacted]");
            rest = &rest[at + key.len()..];
            match find(rest) {
                Some(next) => at = next,
                None => break,
            }
        }
        out.extend_from_slice(rest);
        Bytes::from(out)
    }
}

/// A hash must name one path segment: it is percent-encoded, but `.` and
/// `..` would still be read as "this" and "the parent" directory, and the
/// encoding leaves `\` alone, which URL parsers read as `/` in an `http(s)`
/// URL (so `..\x` would climb out of `/keys/`).
fn validate_hash(hash: &str) -> Result<(), String> {
    if hash.is_empty() {
        return Err("the key hash is empty".to_owned());
    }
    if hash == "." || hash == ".." {
        return Err(format!("`{hash}` is not a key hash"));
    }
    if hash.contains('\\') {
        return Err("a key hash cannot contain `\\`, which URLs read as `/`".to_owned());
    }
    Ok(())
}

/// Configures a [`Client`]. Every setting has a default; only the API key
/// is required.
///
/// ```
/// use std::time::Duration;
/// use openrouter_keys::{Client, RetryConfig};
///
/// let client = Client::builder()
///     .api_key("sk-or-v1-example")
///     .timeout(Duration::from_secs(5))
///     .retry(RetryConfig::standard().with_max_attempts(2))
///     .app_url("https://example.com")
///     .app_title("Example")
///     .build()?;
/// assert_eq!(client.base_url(), "https://openrouter.ai/api/v1");
/// # Ok::<(), openrouter_keys::Error>(())
/// ```
#[must_use]
pub struct ClientBuilder {
    api_key: Option<SecretString>,
    base_url: String,
    attempt_timeout: Duration,
    connect_timeout: Duration,
    retry: RetryConfig,
    user_agent: Cow<'static, str>,
    app_url: Option<String>,
    app_title: Option<String>,
    http_client: Option<reqwest::Client>,
    allow_insecure_http: bool,
    max_response_bytes: usize,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            retry: RetryConfig::standard(),
            user_agent: Cow::Borrowed(concat!("openrouter-keys/", env!("CARGO_PKG_VERSION"))),
            app_url: None,
            app_title: None,
            http_client: None,
            allow_insecure_http: false,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self.api_key.as_ref().map(ExposeSecret::expose_secret);
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("base_url", &redact(&self.base_url, key))
            .field("attempt_timeout", &self.attempt_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field("user_agent", &redact(&self.user_agent, key))
            .field("app_url", &self.app_url.as_deref().map(|v| redact(v, key)))
            .field(
                "app_title",
                &self.app_title.as_deref().map(|v| redact(v, key)),
            )
            .field(
                "http_client",
                &self.http_client.as_ref().map(|_| "caller-supplied"),
            )
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

impl ClientBuilder {
    /// The management key to authenticate with. It is kept in memory that
    /// is wiped when the client is dropped, and never printed.
    pub fn api_key(mut self, api_key: impl Into<SecretString>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// Reads the key from `OPENROUTER_API_KEY`.
    pub fn api_key_from_env(self) -> Result<Self, Error> {
        match std::env::var(API_KEY_ENV) {
            Ok(key) => Ok(self.api_key(key)),
            Err(std::env::VarError::NotPresent) => Err(Error::Config(format!(
                "the environment variable {API_KEY_ENV} is not set"
            ))),
            Err(std::env::VarError::NotUnicode(_)) => Err(Error::Config(format!(
                "the environment variable {API_KEY_ENV} is not valid UTF-8"
            ))),
        }
    }

    /// Where the API lives; default [`DEFAULT_BASE_URL`]. Plain `http://`
    /// is refused unless the host is loopback or
    /// [`allow_insecure_http`](Self::allow_insecure_http) is set.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Allows `http://` base URLs on any host. The key then travels in
    /// clear text; meant for test rigs, not for OpenRouter itself.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// The timeout of one attempt, from sending to the last byte of the
    /// answer; default [`DEFAULT_ATTEMPT_TIMEOUT`]. It is also cut to what
    /// is left of the retry budget.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// The timeout for opening a connection; default
    /// [`DEFAULT_CONNECT_TIMEOUT`]. Ignored with a caller-supplied
    /// [`http_client`](Self::http_client), which has its own.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The retry policy; default [`RetryConfig::standard`].
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// The `User-Agent`; default `openrouter-keys/<version>`.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Cow::Owned(user_agent.into());
        self
    }

    /// Your application's URL, sent as `HTTP-Referer` for OpenRouter's
    /// attribution.
    pub fn app_url(mut self, url: impl Into<String>) -> Self {
        self.app_url = Some(url.into());
        self
    }

    /// Your application's name, sent as `X-OpenRouter-Title` for
    /// OpenRouter's attribution.
    pub fn app_title(mut self, title: impl Into<String>) -> Self {
        self.app_title = Some(title.into());
        self
    }

    /// The cap on a response body; default [`DEFAULT_MAX_RESPONSE_BYTES`].
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Sends requests through this `reqwest::Client` (its pool, proxy and
    /// TLS settings) instead of one built here. Its redirect policy applies:
    /// reqwest's default follows up to ten redirects and drops
    /// `Authorization` when one leads to another host; the client built
    /// here follows none.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Builds the client. Fails on a missing or malformed key, a malformed
    /// or insecure base URL, or a header value that HTTP cannot carry.
    pub fn build(self) -> Result<Client, Error> {
        let key = self.api_key.ok_or_else(|| {
            Error::Config(format!(
                "no API key; set one with api_key() or {API_KEY_ENV}"
            ))
        })?;
        let auth = crate::secret::bearer(key.expose_secret())?;
        // The messages below quote the setting; the key may have been put
        // there by mistake (`base_url(key)`).
        let hide = |error: Error| match error {
            Error::Config(message) => {
                Error::Config(redact(&message, Some(key.expose_secret())).into_owned())
            }
            other => other,
        };
        let base_url = check_base_url(&self.base_url, self.allow_insecure_http).map_err(hide)?;

        let mut headers = HeaderMap::new();
        headers.insert(
            USER_AGENT,
            header_value("user agent", &self.user_agent).map_err(hide)?,
        );
        if let Some(url) = &self.app_url {
            headers.insert(HTTP_REFERER, header_value("app URL", url).map_err(hide)?);
        }
        if let Some(title) = &self.app_title {
            headers.insert(
                X_OPENROUTER_TITLE,
                header_value("app title", title).map_err(hide)?,
            );
        }

        let (http, client_timeout) = match self.http_client {
            Some(client) => (client, None),
            None => (
                reqwest::Client::builder()
                    .connect_timeout(self.connect_timeout)
                    // The usual attempt timeout, applied by reqwest itself;
                    // the transport sets one per request only when an
                    // attempt needs another (see `Inner::client_timeout`).
                    .timeout(self.attempt_timeout)
                    // Redirects are not followed, so the key only ever goes to
                    // the configured host; a 3xx becomes `Error::Status`.
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?,
                Some(self.attempt_timeout),
            ),
        };
        let options = CallOptions {
            retry: self.retry,
            attempt_timeout: self.attempt_timeout,
            headers: None,
        };
        let inner = Inner {
            auth,
            headers: Arc::new(headers),
            defaults: options.clone(),
            max_response_bytes: self.max_response_bytes,
            client_timeout,
        };
        let raw = generated::Client::new_with_client(&base_url, http, inner);
        Ok(Client {
            raw: Arc::new(raw),
            options,
        })
    }
}

/// `text` with the key replaced, for showing text that may hold it.
fn redact<'a>(text: &'a str, key: Option<&str>) -> Cow<'a, str> {
    match key {
        Some(key) if !key.is_empty() && text.contains(key) => {
            Cow::Owned(text.replace(key, "[redacted]"))
        }
        _ => Cow::Borrowed(text),
    }
}

fn header_value(what: &str, value: &str) -> Result<HeaderValue, Error> {
    HeaderValue::from_str(value).map_err(|_| {
        Error::Config(format!(
            "the {what} `{value}` cannot be sent in an HTTP header"
        ))
    })
}

/// Accepts `https://` anywhere and `http://` on loopback (or anywhere, when
/// allowed); returns the URL without a trailing slash.
fn check_base_url(url: &str, allow_insecure_http: bool) -> Result<String, Error> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| Error::Config(format!("the base URL `{url}` is not a valid URL: {e}")))?;
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(Error::Config(format!(
            "the base URL `{url}` must not have a query or fragment"
        )));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::Config(
            "the base URL must not carry credentials".to_owned(),
        ));
    }
    match parsed.scheme() {
        "https" => {
            if !cfg!(any(feature = "rustls", feature = "native-tls")) {
                return Err(Error::Config(format!(
                    "the base URL `{url}` needs TLS, but this build has none; \
                     enable the `rustls` or `native-tls` feature of openrouter-keys"
                )));
            }
        }
        "http" => {
            let loopback = match parsed.host() {
                Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if !loopback && !allow_insecure_http {
                return Err(Error::Config(format!(
                    "refusing plain http:// for `{url}`: the API key would travel unencrypted; \
                     use https://, a loopback host, or allow_insecure_http(true)"
                )));
            }
        }
        other => {
            return Err(Error::Config(format!(
                "the base URL `{url}` has scheme `{other}`; expected https"
            )));
        }
    }
    Ok(url.trim_end_matches('/').to_owned())
}
