//! Building a [`Client`]: its settings, their defaults, and the checks
//! that run before any request can be sent.

use std::{borrow::Cow, fmt, sync::Arc, time::Duration};

use reqwest::header::{HeaderMap, HeaderValue, USER_AGENT};
use secrecy::{ExposeSecret, SecretString};

use crate::{
    API_KEY_ENV, Client, DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RESPONSE_BYTES, Error, RetryConfig, generated, redact,
    transport::{HTTP_REFERER, Inner, X_OPENROUTER_TITLE},
};

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
        let key = self
            .api_key
            .as_ref()
            .map_or(&b""[..], |key| key.expose_secret().as_bytes());
        let redact = |text| redact::text(text, key);
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("base_url", &redact(&self.base_url))
            .field("attempt_timeout", &self.attempt_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field("user_agent", &redact(&self.user_agent))
            .field("app_url", &self.app_url.as_deref().map(redact))
            .field("app_title", &self.app_title.as_deref().map(redact))
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
            Err(std::env::VarError::NotPresent) => Err(Error::config(format!(
                "the environment variable {API_KEY_ENV} is not set"
            ))),
            Err(std::env::VarError::NotUnicode(_)) => Err(Error::config(format!(
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
            Error::config(format!(
                "no API key; set one with api_key() or {API_KEY_ENV}"
            ))
        })?;
        let auth = crate::secret::bearer(key.expose_secret())?;
        // The messages below quote the setting; the key may have been put
        // there by mistake (`base_url(key)`).
        let hide =
            |message: String| Error::config(redact::text(&message, key.expose_secret().as_bytes()));
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
            return Err(Error::config(
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
                    // the configured host; a 3xx becomes `ErrorKind::Status`.
                    .redirect(reqwest::redirect::Policy::none())
                    // The usual attempt timeout, applied by reqwest itself.
                    .timeout(self.attempt_timeout);
                // reqwest asks its proxy settings (the environment's, and
                // the system's where that feature is on) on every request,
                // even when none is set: about 1,400 instructions each time.
                // This client only ever talks to one host, so ask once.
                let builder = if proxied(&base_url) {
                    builder
                } else {
                    builder.no_proxy()
                };
                // reqwest has rustls but may have no crypto provider: hand it
                // a configuration over ring.
                #[cfg(feature = "rustls-ring")]
                let builder = builder.tls_backend_preconfigured(ring_tls()?);
                let http = builder
                    .build()
                    .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))?;
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
            pacer: None,
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
        .map_err(|e| Error::config(format!("cannot set up TLS: {e}")))
}

/// Whether reqwest's own proxy settings send requests to `base_url`
/// through a proxy: the same matcher, read from the same place.
fn proxied(base_url: &str) -> bool {
    base_url.parse::<http::Uri>().map_or(true, |uri| {
        hyper_util::client::proxy::matcher::Matcher::from_system()
            .intercept(&uri)
            .is_some()
    })
}

fn header_value(what: &str, value: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(value)
        .map_err(|_| format!("the {what} `{value}` cannot be sent in an HTTP header"))
}

/// Accepts `https://` anywhere and `http://` on loopback (or anywhere, when
/// allowed); returns the URL without a trailing slash. `built_here`: the
/// HTTP client is the one this crate builds, not the caller's.
fn check_base_url(
    url: &str,
    allow_insecure_http: bool,
    built_here: bool,
) -> Result<String, String> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| format!("the base URL `{url}` is not a valid URL: {e}"))?;
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!(
            "the base URL `{url}` must not have a query or fragment"
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("the base URL must not carry credentials".to_owned());
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
                return Err(format!(
                    "the base URL `{url}` needs TLS, but this build of openrouter-keys has \
                     none; enable its `rustls`, `rustls-ring` or `native-tls` feature, or pass a \
                     reqwest::Client with TLS to http_client()"
                ));
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
                return Err(format!(
                    "refusing plain http:// for `{url}`: the API key would travel unencrypted; \
                     use https://, a loopback host, or allow_insecure_http(true)"
                ));
            }
        }
        other => {
            return Err(format!(
                "the base URL `{url}` has scheme `{other}`; expected https"
            ));
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
