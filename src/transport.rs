//! The seam between the generated client and the network:
//! `ClientHooks::exec`, which sends one request with what every request
//! carries (the key, the attribution headers, the attempt's timeout). It
//! reads nothing of the answer: [`crate::call`] does.

use std::{sync::Arc, time::Duration};

use progenitor_client::{ClientHooks, OperationInfo};
use reqwest::{
    Request, Response,
    header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue},
};

use crate::generated;

/// What the generated `Client` carries for us: fixed per `Client` value
/// (a `with_header` or `with_timeout` clone gets its own).
#[derive(Clone)]
pub(crate) struct Inner {
    /// `Bearer <key>`, marked sensitive; its bytes are wiped when the last
    /// clone is dropped (see [`crate::secret`]).
    pub(crate) auth: HeaderValue,
    /// User agent, attribution and per-clone extra headers.
    pub(crate) headers: Arc<HeaderMap>,
    /// The largest response body that is read.
    pub(crate) max_response_bytes: usize,
    /// The timeout of one attempt, applied by reqwest, from connecting to
    /// the last byte of the body. reqwest can tell which phase it cut, so a
    /// success whose body is late is known to have been applied.
    pub(crate) attempt_timeout: Duration,
    /// The timeout the reqwest client applies by itself (the one
    /// `ClientBuilder` builds; a caller's client: unknown, so `None`). A
    /// request that needs just this one is sent without a timeout of its
    /// own: setting one costs reqwest a map and a box in the request's
    /// extensions.
    pub(crate) client_timeout: Option<Duration>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("auth", &"Bearer [redacted]")
            .field("headers", &self.headers)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("attempt_timeout", &self.attempt_timeout)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// The API key, for scrubbing it out of text the server sends back.
    pub(crate) fn key(&self) -> &[u8] {
        self.auth
            .as_bytes()
            .strip_prefix(b"Bearer ")
            .unwrap_or_default()
    }
}

impl ClientHooks<Inner> for generated::Client {
    async fn exec(&self, mut request: Request, _info: &OperationInfo) -> reqwest::Result<Response> {
        let inner = &self.inner;
        let headers = request.headers_mut();
        // (progenitor's `api-version` header is removed from the generated
        // code by build.rs.)
        for (name, value) in inner.headers.iter() {
            headers.insert(name.clone(), value.clone());
        }
        // Last, so that no extra header can replace it.
        headers.insert(AUTHORIZATION, inner.auth.clone());
        if inner.client_timeout != Some(inner.attempt_timeout) {
            *request.timeout_mut() = Some(inner.attempt_timeout);
        }
        self.client.execute(request).await
    }
}

/// A path parameter as a URL path segment: what progenitor's
/// `encode_path` makes of it, borrowed when nothing needs encoding (see
/// build.rs, which puts this in its place).
pub(crate) fn path_segment(value: &str) -> std::borrow::Cow<'_, str> {
    // RFC 3986's unreserved characters, which no encoding touches; written
    // without branches, so that a hash is checked many bytes at a time.
    fn unreserved(b: u8) -> bool {
        ((b | 0x20).wrapping_sub(b'a') < 26)
            | (b.wrapping_sub(b'0') < 10)
            | (b == b'-')
            | (b == b'.')
            | (b == b'_')
            | (b == b'~')
    }
    let plain = value
        .as_bytes()
        .chunks(16)
        .all(|chunk| chunk.iter().fold(true, |ok, &b| ok & unreserved(b)));
    if plain {
        std::borrow::Cow::Borrowed(value)
    } else {
        std::borrow::Cow::Owned(progenitor_client::encode_path(value))
    }
}

/// Header names used by the builder.
pub(crate) const HTTP_REFERER: HeaderName = HeaderName::from_static("http-referer");
pub(crate) const X_OPENROUTER_TITLE: HeaderName = HeaderName::from_static("x-openrouter-title");

#[cfg(test)]
mod tests {
    use super::path_segment;

    #[test]
    fn a_path_segment_is_what_progenitor_would_send() {
        for value in [
            "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943",
            "a-b.c_d~e",
            "a/b",
            "a b?c#d%e",
            "é",
            "..",
            "",
        ] {
            assert_eq!(
                path_segment(value),
                progenitor_client::encode_path(value),
                "{value}"
            );
        }
        // Every ASCII character, alone and after 16 plain bytes (the second
        // chunk).
        for c in (0u8..0x80).map(char::from) {
            for value in [c.to_string(), format!("0123456789abcdef{c}")] {
                assert_eq!(
                    path_segment(&value),
                    progenitor_client::encode_path(&value),
                    "{value:?}"
                );
            }
        }
        assert!(matches!(
            path_segment("f01d5260"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
