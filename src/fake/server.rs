//! The HTTP side: one handler that records, applies faults, routes and
//! answers.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{ALLOW, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use bytes::Bytes;
use chrono::{DateTime, SubsecRound, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tokio::sync::watch;

use super::fault::Fault;
use super::key::{FakeKey, KeyPatch};
use super::record::RecordedRequest;

pub(crate) const JSON: &str = "application/json";

/// The path prefix of the key operations; the hash follows it.
const KEYS_PREFIX: &str = "/api/v1/keys/";

/// Bodies larger than this are not read (the request gets a 400).
const MAX_BODY: usize = 1 << 20;

/// Everything the server and the handles share.
pub(crate) struct Shared {
    state: Mutex<Store>,
    /// Becomes `true` (or closes) when the server is shutting down; cuts
    /// delays short.
    shutdown: watch::Receiver<bool>,
}

#[derive(Default)]
pub(crate) struct Store {
    pub(crate) keys: HashMap<String, FakeKey>,
    pub(crate) faults: VecDeque<Fault>,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) hits: usize,
    pub(crate) required_key: Option<SecretString>,
    pub(crate) delay: Option<Duration>,
    pub(crate) clock: Option<DateTime<Utc>>,
}

impl Shared {
    pub(crate) fn new(state: Store, shutdown: watch::Receiver<bool>) -> Shared {
        Shared {
            state: Mutex::new(state),
            shutdown,
        }
    }

    /// The state; never held across an `.await`.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave the state half-updated
        // in a way that matters to a test fake; keep serving.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The `{"error": {"code", "message"}}` body.
pub(crate) fn envelope(status: StatusCode, message: &str) -> Bytes {
    let body = json!({ "error": { "code": status.as_u16(), "message": message } });
    Bytes::from(body.to_string())
}

fn json_response(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    response
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    json_response(status, envelope(status, message))
}

/// The single handler behind every path and method.
pub(crate) async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY).await;
    let (fault, delay) = {
        let mut state = shared.lock();
        let recorded = body.as_ref().map_or_else(|_| Bytes::new(), Bytes::clone);
        state.requests.push(RecordedRequest::new(&parts, recorded));
        state.hits += 1;
        let fault = state.faults.pop_front();
        let delay = fault.as_ref().and_then(|f| f.delay).or(state.delay);
        (fault, delay)
    };

    let response = match fault {
        Some(fault) if !fault.after_processing => fault.response(),
        fault => {
            let response = match body {
                Ok(body) => process(&shared, &parts, &body),
                Err(_) => error(
                    StatusCode::BAD_REQUEST,
                    "Request body could not be read (larger than 1 MiB or interrupted)",
                ),
            };
            fault.map_or(response, |fault| fault.response())
        }
    };

    if let Some(delay) = delay {
        let mut shutdown = shared.shutdown.clone();
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = shutdown.wait_for(|stopping| *stopping) => {}
        }
    }
    response
}

/// Routing and the `updateKeys` operation.
fn process(shared: &Shared, parts: &Parts, body: &[u8]) -> Response<Body> {
    let Some(segment) = parts.uri.path().strip_prefix(KEYS_PREFIX) else {
        return error(StatusCode::NOT_FOUND, "Resource not found");
    };
    if segment.is_empty() || segment.contains('/') {
        return error(StatusCode::NOT_FOUND, "Resource not found");
    }
    if parts.method != Method::PATCH {
        let mut response = error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("PATCH"));
        return response;
    }

    let mut state = shared.lock();
    if let Err(message) = authenticate(&parts.headers, state.required_key.as_ref()) {
        let mut response = error(StatusCode::UNAUTHORIZED, message);
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }

    let patch = match parse_body(&parts.headers, body) {
        Ok(patch) => patch,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };

    let now = state
        .clock
        .unwrap_or_else(|| DateTime::<Utc>::from(SystemTime::now()))
        .trunc_subsecs(0);
    // A segment that does not decode to UTF-8 cannot name a key.
    let hash = percent_encoding::percent_decode_str(segment).decode_utf8();
    let Some(key) = hash.ok().and_then(|hash| state.keys.get_mut(hash.as_ref())) else {
        return error(StatusCode::NOT_FOUND, "API key not found");
    };
    patch.apply(key, now);
    let body = json!({ "data": key.to_json() });
    json_response(StatusCode::OK, Bytes::from(body.to_string()))
}

/// `Ok` for `Authorization: Bearer <token>` with a non-empty token (equal to
/// the required key, if one is set); otherwise the 401 message.
fn authenticate(headers: &HeaderMap, required: Option<&SecretString>) -> Result<(), &'static str> {
    let value = headers
        .get(AUTHORIZATION)
        .ok_or("Missing Authentication header")?;
    let value = value
        .to_str()
        .map_err(|_| "Invalid Authentication header: expected 'Bearer <key>'")?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err("Invalid Authentication header: expected 'Bearer <key>'");
    }
    let token = token.trim();
    if token.is_empty() {
        return Err("Invalid Authentication header: empty bearer token");
    }
    match required {
        Some(key) if key.expose_secret() != token => Err("Invalid management key"),
        _ => Ok(()),
    }
}

fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<KeyPatch, String> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(JSON));
    if !is_json {
        return Err("Content-Type must be application/json".to_owned());
    }
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("Request body is not valid JSON: {e}"))?;
    KeyPatch::from_json(&value)
}
