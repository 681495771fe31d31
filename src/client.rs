//! The public client: its per-call overrides, and one method per operation.

use std::{fmt, sync::Arc, time::Duration};

use reqwest::header::{HeaderName, HeaderValue};
use secrecy::SecretString;

use crate::{
    ApiKey, ClientBuilder, CreatedKey, CurrentKey, Error, KeyUpdate, ListOptions, NewKey,
    RetryConfig, budget::SharedBudget, call::Call, generated, operation::Operation, pace::Pacer,
    redact, request::check_uuid, transport::Inner,
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
    /// What every attempt of a paced client goes through; see
    /// [`crate::pace`].
    pub(crate) pacer: Option<Arc<Pacer>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field(
                "base_url",
                &redact::text(&self.raw.baseurl, self.raw.inner.key()),
            )
            .field("api_key", &"[redacted]")
            .field("retry", &self.retry)
            .field("attempt_timeout", &self.raw.inner.attempt_timeout)
            .field("headers", &self.raw.inner.headers)
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
            pacer: self.pacer.clone(),
        }
    }

    /// This client, with every attempt of every call paced to the server's
    /// rate limit as it learns it, at most `max_in_flight` at once (see
    /// [`crate::pace`]).
    pub(crate) fn paced(&self, max_in_flight: usize) -> Self {
        Client {
            pacer: Some(Arc::new(Pacer::new(max_in_flight))),
            ..self.clone()
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

    /// The retry driver, with this clone's settings.
    fn call(&self) -> Call<'_> {
        Call {
            raw: &self.raw,
            retry: &self.retry,
            budget: &self.budget,
            pacer: self.pacer.as_deref(),
        }
    }

    /// Updates the key with this hash (`PATCH /keys/{hash}`) and returns it
    /// as it is now.
    ///
    /// Nothing is sent when the hash is not a hash (see
    /// [`get_key`](Self::get_key)), or when the update sets no field or a
    /// limit that is negative or not finite: those are
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest).
    /// Failures are retried as the [`RetryConfig`] says; dropping the
    /// future cancels the call, waits included.
    pub async fn update_key(&self, hash: &str, update: &KeyUpdate) -> Result<ApiKey, Error> {
        validate_hash(hash)?;
        update.validate()?;
        let answer = self
            .call()
            .run(Operation::Update, Some(hash), || {
                self.raw.update_key(hash, update)
            })
            .await?;
        Ok(answer.data)
    }

    /// One page of the account's keys (`GET /keys`), as the options select
    /// them. An empty page means the listing has ended.
    pub async fn list_keys(&self, options: &ListOptions) -> Result<Vec<ApiKey>, Error> {
        let workspace = workspace_of(options)?;
        self.list_page(options, workspace.as_ref(), options.offset)
            .await
    }

    /// Every key the options select, page after page from the options'
    /// offset until a page comes back empty. A server whose pages never run
    /// out cannot keep it going: after
    /// [`max_pages`](ListOptions::max_pages) pages it ends with
    /// [`ErrorKind::PageLimit`](crate::ErrorKind::PageLimit). Each page is
    /// one call, with its own retries.
    pub async fn list_all_keys(&self, options: &ListOptions) -> Result<Vec<ApiKey>, Error> {
        let workspace = workspace_of(options)?;
        let pages = options.max_pages.max(1);
        let mut keys = Vec::new();
        let mut offset = options.offset.unwrap_or(0);
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
        Err(Error::page_limit(pages, keys.len()))
    }

    /// One `GET /keys` from `offset`, the options already checked.
    pub(crate) async fn list_page(
        &self,
        options: &ListOptions,
        workspace: Option<&uuid::Uuid>,
        offset: Option<u64>,
    ) -> Result<Vec<ApiKey>, Error> {
        // Declared upstream as a string that carries a boolean.
        let include_disabled = options.include_disabled.then_some("true");
        let answer = self
            .call()
            .run(Operation::List, None, || {
                self.raw.list_keys(include_disabled, offset, workspace)
            })
            .await?;
        Ok(answer.data)
    }

    /// The key with this hash (`GET /keys/{hash}`).
    ///
    /// Nothing is sent for a hash that cannot be one: empty, a
    /// path-changing dot segment, or with a backslash; nor for a key's
    /// secret (`sk-or-…`) given in its place, which would otherwise travel
    /// in the URL into proxies' and servers' logs (list the keys to learn
    /// their hashes). These are
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest), as
    /// in every method that takes a hash.
    pub async fn get_key(&self, hash: &str) -> Result<ApiKey, Error> {
        validate_hash(hash)?;
        let answer = self
            .call()
            .run(Operation::Get, Some(hash), || self.raw.get_key(hash))
            .await?;
        Ok(answer.data)
    }

    /// Deletes the key with this hash (`DELETE /keys/{hash}`).
    ///
    /// A delete whose answer was lost is retried like any other call. If the
    /// retry then finds no such key, the error is
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) with
    /// [`applied`](Error::applied) `Maybe`: the earlier attempt most likely
    /// deleted it. A `NotFound` with `applied() == No` means the key did not
    /// exist when asked.
    pub async fn delete_key(&self, hash: &str) -> Result<(), Error> {
        validate_hash(hash)?;
        self.call()
            .run(Operation::Delete, Some(hash), || self.raw.delete_key(hash))
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
            .call()
            .run(Operation::Create, None, || self.raw.create_key(key))
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
            .call()
            .run(Operation::CurrentKey, None, || self.raw.get_current_key())
            .await?;
        Ok(answer.data)
    }
}

/// The options' workspace id, checked to be a UUID.
fn workspace_of(options: &ListOptions) -> Result<Option<uuid::Uuid>, Error> {
    options
        .workspace_id
        .as_deref()
        .map(|id| check_uuid("workspace_id", id))
        .transpose()
}

/// A hash must name one path segment: it is percent-encoded, but `.` and
/// `..` would still be read as "this" and "the parent" directory, and the
/// encoding leaves `\` alone, which URL parsers read as `/` in an `http(s)`
/// URL (so `..\x` would climb out of `/keys/`). And it must not be a key's
/// secret, which goes into no URL.
pub(crate) fn validate_hash(hash: &str) -> Result<(), Error> {
    if hash.is_empty() {
        return Err(Error::invalid("the key hash is empty"));
    }
    if redact::holds_secret(hash) {
        return Err(Error::invalid(
            "this is a key's secret (`sk-or-…`), not its hash; `list` shows each key's hash",
        ));
    }
    if hash == "." || hash == ".." {
        return Err(Error::invalid(format!("`{hash}` is not a key hash")));
    }
    if hash.contains('\\') {
        return Err(Error::invalid(
            "a key hash cannot contain `\\`, which URLs read as `/`",
        ));
    }
    Ok(())
}
