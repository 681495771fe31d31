//! The seam between the generated client and the network:
//! `ClientHooks::exec`, which sends one request.
//!
//! It adds what every request carries (the key, the attribution headers)
//! and bounds what is read of the answer.
//! Retries, timeouts and the time budget are not here: they live in
//! [`crate::call`], around the generated method, which is the simpler and
//! the faster place (see there).
//!
//! # Answers the generated code must not decode
//!
//! Progenitor decodes a documented status's body and, when that fails,
//! reports the raw body without its status (`InvalidResponsePayload`), so a
//! broken 200 could not be told from a 500 with an HTML page. And it drops a
//! response's extensions, so nothing can ride along on the response. So for
//! an error status, `exec` reads the (capped) body itself and hands the
//! generated code a body whose read fails with an [`Unread`] that carries
//! the status, the wait hint and the bytes. Every error status thus reaches
//! [`crate::call`] the same way, on the error itself, documented or not. A
//! body over the cap travels the same way. A success answer whose length is
//! declared and within the cap (every real OpenRouter answer) is passed on
//! untouched, so the usual call pays for none of this.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, SystemTime},
};

use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Limited};
use progenitor_client::{ClientHooks, OperationInfo};
use reqwest::{
    Request, Response, ResponseBuilderExt, StatusCode,
    header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue},
};

use crate::generated;

/// What the generated `Client` carries for us: fixed per `Client` value
/// (a `with_header` clone gets its own).
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

        let response = self.client.execute(request).await?;
        let cap = inner.max_response_bytes;
        if response.status().is_success()
            && response
                .content_length()
                .is_some_and(|len| len <= cap as u64)
        {
            return Ok(response);
        }
        // Boxed: the usual call never gets here, and should not carry this
        // future's size in its own.
        Ok(Box::pin(bound(response, cap)).await)
    }
}

/// Bounds an answer that is not a success of declared, acceptable length
/// (see the module docs).
async fn bound(response: Response, cap: usize) -> Response {
    let status = response.status();
    let declared = response.content_length();
    let url = response.url().clone();
    let mut response = http::Response::<reqwest::Body>::from(response);
    if declared.is_some_and(|len| len > cap as u64) {
        return rebuild(response, url, Unread::new(status, Kind::TooLarge { cap }));
    }
    if status.is_success() {
        // Length unknown (chunked, or until the connection closes): read
        // it as it comes, and stop at the cap.
        let body = std::mem::take(response.body_mut());
        let body = Limited::new(body, cap).map_err(move |error| {
            if error.is::<http_body_util::LengthLimitError>() {
                Box::new(Unread::new(status, Kind::TooLarge { cap })) as BoxError
            } else {
                error
            }
        });
        *response.body_mut() = reqwest::Body::wrap(body);
        return reqwest::Response::from(with_url(response, url));
    }
    let hint = crate::retry::retry_after(response.headers(), SystemTime::now());
    let body = std::mem::take(response.body_mut());
    let kind = match Limited::new(body, cap).collect().await {
        Ok(collected) => Kind::ErrorBody(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Kind::TooLarge { cap },
        Err(error) => Kind::Broken(error),
    };
    let mut unread = Unread::new(status, kind);
    unread.retry_after = hint;
    rebuild(response, url, unread)
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn rebuild(
    mut response: http::Response<reqwest::Body>,
    url: reqwest::Url,
    unread: Unread,
) -> Response {
    *response.body_mut() = reqwest::Body::wrap(Failing(Some(unread)));
    reqwest::Response::from(with_url(response, url))
}

/// Puts the URL back where reqwest looks for it, so that the response and
/// its errors still name it.
fn with_url(
    response: http::Response<reqwest::Body>,
    url: reqwest::Url,
) -> http::Response<reqwest::Body> {
    let (parts, body) = response.into_parts();
    let mut builder = http::Response::builder()
        .status(parts.status)
        .version(parts.version);
    if let Some(extensions) = builder.extensions_mut() {
        *extensions = parts.extensions;
    }
    if let Some(headers) = builder.headers_mut() {
        *headers = parts.headers;
    }
    // Cannot fail: the parts came from a valid response.
    builder
        .url(url)
        .body(body)
        .unwrap_or_else(|_| http::Response::new(reqwest::Body::from(Bytes::new())))
}

/// An answer that `exec` kept from the generated code's decoding, carried
/// as the error of reading its body.
#[derive(Debug)]
pub(crate) struct Unread {
    pub(crate) status: StatusCode,
    /// The server's wait hint, for error statuses.
    pub(crate) retry_after: Option<Duration>,
    pub(crate) kind: Kind,
}

#[derive(Debug)]
pub(crate) enum Kind {
    /// An error status, with its whole body.
    ErrorBody(Bytes),
    /// The body was longer than the cap and was not read.
    TooLarge { cap: usize },
    /// The body of an error status broke off.
    Broken(BoxError),
}

impl Unread {
    fn new(status: StatusCode, kind: Kind) -> Self {
        Unread {
            status,
            retry_after: None,
            kind,
        }
    }
}

impl std::fmt::Display for Unread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.status.as_u16();
        match &self.kind {
            Kind::ErrorBody(_) => write!(f, "an HTTP {status} answer"),
            Kind::TooLarge { cap } => {
                write!(
                    f,
                    "the HTTP {status} answer is longer than the {cap}-byte cap"
                )
            }
            Kind::Broken(_) => write!(f, "the body of the HTTP {status} answer broke off"),
        }
    }
}

impl std::error::Error for Unread {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            Kind::Broken(error) => Some(&**error),
            _ => None,
        }
    }
}

/// A body whose first read fails with the [`Unread`] it holds.
struct Failing(Option<Unread>);

impl Body for Failing {
    type Data = Bytes;
    type Error = Unread;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Unread>>> {
        Poll::Ready(self.0.take().map(Err))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }
}

/// Header names used by the builder.
pub(crate) const HTTP_REFERER: HeaderName = HeaderName::from_static("http-referer");
pub(crate) const X_OPENROUTER_TITLE: HeaderName = HeaderName::from_static("x-openrouter-title");
