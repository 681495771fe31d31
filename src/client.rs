//! The public client: construction, per-call overrides, and `update_key`.

use std::{borrow::Cow, fmt, sync::Arc, time::Duration};

use bytes::Bytes;
use reqwest::{
    StatusCode,
    header::{HeaderMap, HeaderName, HeaderValue, USER_AGENT},
};
use secrecy::{ExposeSecret, SecretString};

use crate::{
    ApiKey, CurrentKey, Error, KeyUpdate, ListOptions, NewKey, RetryConfig,
    budget::SharedBudget,
    call::Operation,
    generated,
    request::check_uuid,
    transport::{HTTP_REFERER, Inner, X_OPENROUTER_TITLE},
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
/// Cheap to clone (two `Arc`s and a few words) and `Send + Sync`; every
/// clone shares one connection pool and one
/// [`RetryBudget`](crate::RetryBudget). The `with_*` methods return such a
/// clone with one setting changed, for a single call or a part of a
/// program:
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
    /// The generated client, with the key and the headers of this clone.
    pub(crate) raw: Arc<generated::Client>,
    pub(crate) retry: RetryConfig,
    /// The retry budget's tokens, shared by every clone.
    pub(crate) budget: Arc<SharedBudget>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.scrub(&self.raw.baseurl))
            .field("api_key", &"[redacted]")
            .field("retry", &self.retry)
            .field("attempt_timeout", &self.raw.inner.attempt_timeout)
            .field("headers", &self.raw.inner.headers)
            .finish_non_exhaustive()
    }
}

/// An operation whose repetition changes nothing more than its first
/// success did, answered with 200.
const fn idempotent(id: &'static str) -> Operation {
    Operation {
        id,
        success: StatusCode::OK,
        idempotent: true,
        secret_in_answer: false,
    }
}

const LIST_KEYS: Operation = idempotent("listKeys");
const GET_KEY: Operation = idempotent("getKey");
const GET_CURRENT_KEY: Operation = idempotent("getCurrentKey");
/// `PATCH /keys/{hash}` sets absolute values, so repeating it is harmless.
const UPDATE_KEY: Operation = idempotent("updateKey");
/// A repeated `DELETE` can only find the key gone (a 404; see
/// [`Error::NotFound`]).
const DELETE_KEY: Operation = idempotent("deleteKey");
/// A repeated `POST /keys` may create a second key, and its answer holds
/// the new key's secret.
const CREATE_KEY: Operation = Operation {
    id: "createKey",
    success: StatusCode::CREATED,
    idempotent: false,
    secret_in_answer: true,
};

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
        Client {
            retry,
            ..self.clone()
        }
    }

    /// This client, with another per-attempt timeout.
    /// A zero timeout is taken as one nanosecond: every attempt then times
    /// out, as asked.
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        self.with_inner(|inner| inner.attempt_timeout = timeout.max(Duration::from_nanos(1)))
    }

    /// This client, sending one more header on every request (replacing
    /// one of the same name). It cannot replace `Authorization`.
    pub fn with_header(&self, name: HeaderName, value: HeaderValue) -> Self {
        self.with_inner(|inner| {
            Arc::make_mut(&mut inner.headers).insert(name, value);
        })
    }

    /// A clone whose requests go out with other per-clone settings.
    fn with_inner(&self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = self.raw.inner.clone();
        change(&mut inner);
        let raw =
            generated::Client::new_with_client(&self.raw.baseurl, self.raw.client.clone(), inner);
        Client {
            raw: Arc::new(raw),
            retry: self.retry,
            budget: Arc::clone(&self.budget),
        }
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.raw.baseurl
    }

    /// The retry policy in force.
    pub fn retry_config(&self) -> RetryConfig {
        self.retry
    }

    /// The per-attempt timeout in force.
    pub fn timeout(&self) -> Duration {
        self.raw.inner.attempt_timeout
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
        validate_hash(hash)?;
        update.validate()?;
        let answer = self
            .call(UPDATE_KEY, Some(hash), || self.raw.update_key(hash, update))
            .await?;
        Ok(answer.data)
    }

    /// One page of the account's keys (`GET /keys`), as the options select
    /// them. An empty page means the listing has ended.
    pub async fn list_keys(&self, options: &ListOptions) -> Result<Vec<ApiKey>, Error> {
        let workspace = workspace_of(options)?;
        self.list_page(options, workspace.as_ref(), options.get_offset())
            .await
    }

    /// Every key the options select, page after page from the options'
    /// offset until a page comes back empty. A server whose pages never run
    /// out cannot keep it going: after
    /// [`max_pages`](ListOptions::max_pages) pages it ends with
    /// [`Error::PageLimit`]. Each page is one call, with its own retries.
    pub async fn list_all_keys(&self, options: &ListOptions) -> Result<Vec<ApiKey>, Error> {
        let workspace = workspace_of(options)?;
        let pages = options.page_bound();
        let mut keys = Vec::new();
        let mut offset = options.get_offset().unwrap_or(0);
        for _ in 0..pages {
            let page = self
                .list_page(options, workspace.as_ref(), Some(offset))
                .await?;
            if page.is_empty() {
                return Ok(keys);
            }
            offset = offset.saturating_add(page.len() as u64);
            keys.extend(page);
        }
        Err(Error::PageLimit {
            pages,
            keys: keys.len(),
        })
    }

    /// One `GET /keys` from `offset`, the options already checked.
    async fn list_page(
        &self,
        options: &ListOptions,
        workspace: Option<&uuid::Uuid>,
        offset: Option<u64>,
    ) -> Result<Vec<ApiKey>, Error> {
        // Declared upstream as a string that carries a boolean.
        let include_disabled = options.get_include_disabled().then_some("true");
        let answer = self
            .call(LIST_KEYS, None, || {
                self.raw.list_keys(include_disabled, offset, workspace)
            })
            .await?;
        Ok(answer.data)
    }

    /// The key with this hash (`GET /keys/{hash}`).
    pub async fn get_key(&self, hash: &str) -> Result<ApiKey, Error> {
        validate_hash(hash)?;
        let answer = self
            .call(GET_KEY, Some(hash), || self.raw.get_key(hash))
            .await?;
        Ok(answer.data)
    }

    /// Deletes the key with this hash (`DELETE /keys/{hash}`).
    ///
    /// A delete whose answer was lost is retried like any other call. If the
    /// retry then finds no such key, the error is [`Error::NotFound`] with
    /// [`applied`](Error::applied) `Maybe`: the earlier attempt most likely
    /// deleted it. A `NotFound` with `applied() == No` means the key did not
    /// exist when asked.
    pub async fn delete_key(&self, hash: &str) -> Result<(), Error> {
        validate_hash(hash)?;
        self.call(DELETE_KEY, Some(hash), || self.raw.delete_key(hash))
            .await?;
        Ok(())
    }

    /// Creates a key (`POST /keys`) and returns it with its secret, which
    /// the API shows only this once.
    ///
    /// Creating is not idempotent, so once the request may have reached the
    /// server it is never sent again: a lost answer ends the call with an
    /// error whose [`applied`](Error::applied) is `Maybe`. To find out
    /// whether the key exists, list the keys
    /// ([`list_all_keys`](Self::list_all_keys)) and look for its name; its
    /// secret cannot be recovered, so if it was created, delete it and
    /// create another. Failures where nothing was sent, and 429 and 503
    /// answers, are retried as usual (see [`RetryConfig`]).
    pub async fn create_key(&self, key: &NewKey) -> Result<CreatedKey, Error> {
        key.validate()?;
        let answer = self
            .call(CREATE_KEY, None, || self.raw.create_key(key))
            .await?;
        Ok(CreatedKey {
            // The decoded string is sized to the secret, so the box takes
            // its buffer over without a copy left behind unwiped.
            key: SecretString::from(answer.key),
            data: answer.data,
        })
    }

    /// The key this client authenticates with (`GET /key`); any key may
    /// ask, not only a management key.
    pub async fn current_key(&self) -> Result<CurrentKey, Error> {
        let answer = self
            .call(GET_CURRENT_KEY, None, || self.raw.get_current_key())
            .await?;
        Ok(answer.data)
    }

    /// `host:port` of the base URL, for messages.
    pub(crate) fn host(&self) -> String {
        reqwest::Url::parse(&self.raw.baseurl)
            .ok()
            .and_then(|url| {
                let host = url.host_str()?.to_owned();
                Some(match url.port_or_known_default() {
                    Some(port) => format!("{host}:{port}"),
                    None => host,
                })
            })
            .unwrap_or_else(|| "the server".to_owned())
    }

    /// Replaces the API key in server-supplied text, should a server ever
    /// echo it back.
    pub(crate) fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
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

    pub(crate) fn scrub_map(
        &self,
        map: serde_json::Map<String, serde_json::Value>,
    ) -> serde_json::Map<String, serde_json::Value> {
        map.into_iter()
            .map(|(k, v)| (self.scrub(&k).into_owned(), self.scrub_json(v)))
            .collect()
    }

    pub(crate) fn scrub_bytes(&self, raw: Bytes) -> Bytes {
        let key = self.raw.inner.key();
        if key.is_empty() {
            return raw;
        }
        let finder = memchr::memmem::Finder::new(key);
        let mut found = finder.find_iter(&raw).peekable();
        if found.peek().is_none() {
            return raw;
        }
        let mut out = Vec::with_capacity(raw.len());
        let mut from = 0;
        for at in found {
            out.extend_from_slice(&raw[from..at]);
            out.extend_from_slice(b"[redacted]");
            from = at + key.len();
        }
        out.extend_from_slice(&raw[from..]);
        Bytes::from(out)
    }
}

/// A created key: the key as the API describes it, and its secret.
///
/// The secret is the plaintext API key that the new key's holder sends. The
/// API shows it only in the answer to the create request. It is kept in a
/// [`SecretString`]: redacted from `Debug`, reachable only through
/// [`ExposeSecret::expose_secret`], and wiped from memory when dropped.
///
/// ```
/// # fn show(created: openrouter_keys::CreatedKey) {
/// use openrouter_keys::ExposeSecret;
///
/// let secret: &str = created.key.expose_secret();
/// # let _ = secret;
/// # }
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct CreatedKey {
    /// The key as the API describes it (its hash, name, limit, ...).
    pub data: ApiKey,
    /// The key's secret.
    pub key: SecretString,
}

impl fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A server could echo the secret into any field of the data.
        let data = format!("{:?}", self.data);
        f.debug_struct("CreatedKey")
            .field(
                "data",
                &format_args!("{}", redact(&data, Some(self.key.expose_secret()))),
            )
            .field("key", &"[redacted]")
            .finish()
    }
}

/// The options' workspace id, checked to be a UUID.
fn workspace_of(options: &ListOptions) -> Result<Option<uuid::Uuid>, Error> {
    options
        .get_workspace_id()
        .map(|id| check_uuid("workspace_id", id))
        .transpose()
}

/// A hash must name one path segment: it is percent-encoded, but `.` and
/// `..` would still be read as "this" and "the parent" directory, and the
/// encoding leaves `\` alone, which URL parsers read as `/` in an `http(s)`
/// URL (so `..\x` would climb out of `/keys/`).
fn validate_hash(hash: &str) -> Result<(), Error> {
    let refuse = |message: String| Err(Error::InvalidRequest(message));
    if hash.is_empty() {
        return refuse("the key hash is empty".to_owned());
    }
    if hash == "." || hash == ".." {
        return refuse(format!("`{hash}` is not a key hash"));
    }
    if hash.contains('\\') {
        return refuse("a key hash cannot contain `\\`, which URLs read as `/`".to_owned());
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

    /// The timeout of one attempt, from connecting to the last byte of the
    /// answer; default [`DEFAULT_ATTEMPT_TIMEOUT`]. It is also cut to what
    /// is left of the retry budget. Zero is refused by
    /// [`build`](Self::build).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// The timeout for opening a connection; default
    /// [`DEFAULT_CONNECT_TIMEOUT`], and never more than nine tenths of the
    /// attempt timeout, so that it fires first: a connection that could not
    /// be opened is then reported as such, with
    /// [`applied`](crate::Error::applied) `No`, not as a timed-out attempt
    /// that may have been applied. Ignored with a caller-supplied
    /// [`http_client`](Self::http_client), which has its own.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The retry policy; default [`RetryConfig::standard`], which includes
    /// the standard [`RetryBudget`](crate::RetryBudget). Each `build()`
    /// starts a new, full retry budget, which the client's clones share.
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
        let base_url = check_base_url(
            &self.base_url,
            self.allow_insecure_http,
            self.http_client.is_none(),
        )
        .map_err(hide)?;

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

        if self.attempt_timeout.is_zero() {
            return Err(Error::Config(
                "the attempt timeout is zero, so no request could ever be answered".to_owned(),
            ));
        }
        let (http, client_timeout) = match self.http_client {
            Some(client) => (client, None),
            None => {
                let builder = reqwest::Client::builder()
                    // Shorter than an attempt, so that a connection that cannot
                    // be opened is reported as such (nothing was sent) rather
                    // than as an attempt timeout of unknown outcome.
                    .connect_timeout(self.connect_timeout.min(self.attempt_timeout.mul_f64(0.9)))
                    // Redirects are not followed, so the key only ever goes to
                    // the configured host; a 3xx becomes `Error::Status`.
                    .redirect(reqwest::redirect::Policy::none())
                    // The usual attempt timeout, applied by reqwest itself.
                    .timeout(self.attempt_timeout);
                // reqwest has rustls but may have no crypto provider: hand it
                // a configuration over ring.
                #[cfg(feature = "rustls-ring")]
                let builder = builder.tls_backend_preconfigured(ring_tls()?);
                let http = builder
                    .build()
                    .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
                (http, Some(self.attempt_timeout))
            }
        };
        let inner = Inner {
            auth,
            headers: Arc::new(headers),
            max_response_bytes: self.max_response_bytes,
            attempt_timeout: self.attempt_timeout,
            client_timeout,
        };
        let raw = generated::Client::new_with_client(&base_url, http, inner);
        Ok(Client {
            raw: Arc::new(raw),
            retry: self.retry,
            budget: Arc::default(),
        })
    }
}

/// rustls over ring, verifying certificates with the platform's verifier,
/// as reqwest's own rustls configuration does.
#[cfg(feature = "rustls-ring")]
fn ring_tls() -> Result<rustls::ClientConfig, Error> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|config| config.with_platform_verifier())
        .map(|config| config.with_no_client_auth())
        .map_err(|e| Error::Config(format!("cannot set up TLS: {e}")))
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
/// allowed); returns the URL without a trailing slash. `built_here`: the
/// HTTP client is the one this crate builds, not the caller's.
fn check_base_url(url: &str, allow_insecure_http: bool, built_here: bool) -> Result<String, Error> {
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
            // Only a client built here can lack TLS: one the caller passes
            // brings its own (and reqwest's TLS features are shared by the
            // whole build, whoever turns them on).
            let tls = cfg!(any(
                feature = "rustls",
                feature = "rustls-ring",
                feature = "native-tls"
            ));
            if built_here && !tls {
                return Err(Error::Config(format!(
                    "the base URL `{url}` needs TLS, but this build of openrouter-keys has \
                     none; enable its `rustls`, `rustls-ring` or `native-tls` feature, or pass a \
                     reqwest::Client with TLS to http_client()"
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

#[cfg(test)]
mod tests {
    use super::check_base_url;

    #[test]
    fn https_needs_tls_only_in_a_client_built_here() {
        let url = "https://openrouter.ai/api/v1";
        // A caller's reqwest::Client brings its own TLS.
        assert_eq!(check_base_url(url, false, false).unwrap(), url);
        let tls = cfg!(any(
            feature = "rustls",
            feature = "rustls-ring",
            feature = "native-tls"
        ));
        let built_here = check_base_url(url, false, true);
        assert_eq!(built_here.is_ok(), tls, "{built_here:?}");
    }
}
