//! The HTTP side: one handler that records, applies faults, routes and
//! answers.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{ALLOW, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode};
use bytes::Bytes;
use chrono::{DateTime, SubsecRound, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::time::Instant;

use super::connection::Connection;
use super::fault::Fault;
use super::key::{self, FakeKey, KeyPatch, NewKey};
use super::list::ListQuery;
use super::operation::{Operation, Route, route};
use super::record::RecordedRequest;
use super::{FakeOpenRouter, Server};

pub(crate) const JSON: &str = "application/json";

/// Bodies larger than this are not read (the request gets a 400).
const MAX_BODY: usize = 1 << 20;

/// The page size of `GET /keys` until a test sets another.
pub(crate) const DEFAULT_PAGE_SIZE: usize = 100;

/// Everything the server and the handles share.
pub(crate) struct Shared {
    state: Mutex<Store>,
    /// Becomes `true` (or closes) when the server is shutting down; cuts
    /// delays short.
    shutdown: watch::Receiver<bool>,
    /// How many answers faults have withheld (closed or held connections).
    pub(crate) withheld: watch::Sender<usize>,
    /// The handles' side, from which a change gets its handle; weak, so
    /// that the server does not keep itself running.
    server: Weak<Server>,
}

/// A change that [`FakeOpenRouter::on_request`] scheduled.
pub(crate) struct Change {
    operation: Operation,
    /// How many requests for `operation` are still to come, the one it runs
    /// on included; at least 1.
    remaining: usize,
    run: Box<dyn FnOnce(&FakeOpenRouter) + Send>,
}

impl Change {
    pub(crate) fn new(
        operation: Operation,
        nth: usize,
        run: impl FnOnce(&FakeOpenRouter) + Send + 'static,
    ) -> Change {
        Change {
            operation,
            remaining: nth.max(1),
            run: Box::new(run),
        }
    }
}

/// One stored key and, for a key created through the API, its secret.
pub(crate) struct Stored {
    pub(crate) key: FakeKey,
    secret: Option<SecretString>,
}

/// The fake's state. It has no `Debug`: it holds secrets.
pub(crate) struct Store {
    /// In the order the keys entered the store, which orders the listing of
    /// keys created in the same second.
    pub(crate) keys: Vec<Stored>,
    pub(crate) faults: VecDeque<Fault>,
    /// In the order they were scheduled.
    pub(crate) changes: Vec<Change>,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) hits: usize,
    pub(crate) required_key: Option<SecretString>,
    pub(crate) delay: Option<Duration>,
    pub(crate) clock: Option<DateTime<Utc>>,
    pub(crate) page_size: usize,
    pub(crate) endless_pages: bool,
    pub(crate) rate_limit: Option<Bucket>,
    /// How many requests the rate limit refused.
    pub(crate) rate_limited: usize,
}

/// A token bucket on the Tokio clock that refills `per_second` tokens a
/// second, continuously, and holds at most `per_second`.
pub(crate) struct Bucket {
    per_second: u32,
    /// In billionths of a token, so that refilling is exact.
    nanotokens: u128,
    refilled_at: Instant,
}

impl Bucket {
    const TOKEN: u128 = 1_000_000_000;

    /// A full bucket.
    pub(crate) fn new(per_second: u32) -> Bucket {
        Bucket {
            per_second,
            nanotokens: u128::from(per_second) * Bucket::TOKEN,
            refilled_at: Instant::now(),
        }
    }

    /// The tokens a second.
    pub(crate) fn per_second(&self) -> u32 {
        self.per_second
    }

    /// Takes a token, if there is one.
    fn take(&mut self) -> bool {
        let now = Instant::now();
        let rate = u128::from(self.per_second);
        // `rate` tokens a second are `rate` billionths a nanosecond.
        let refill = now.duration_since(self.refilled_at).as_nanos() * rate;
        self.nanotokens = self
            .nanotokens
            .saturating_add(refill)
            .min(rate * Bucket::TOKEN);
        self.refilled_at = now;
        let taken = self.nanotokens >= Bucket::TOKEN;
        if taken {
            self.nanotokens -= Bucket::TOKEN;
        }
        taken
    }
}

impl Store {
    /// A store holding `keys` (in this order), with the defaults for the rest.
    pub(crate) fn new(keys: impl IntoIterator<Item = FakeKey>) -> Store {
        Store {
            keys: keys
                .into_iter()
                .map(|key| Stored { key, secret: None })
                .collect(),
            faults: VecDeque::new(),
            changes: Vec::new(),
            requests: Vec::new(),
            hits: 0,
            required_key: None,
            delay: None,
            clock: None,
            page_size: DEFAULT_PAGE_SIZE,
            endless_pages: false,
            rate_limit: None,
            rate_limited: 0,
        }
    }

    fn position(&self, hash: &str) -> Option<usize> {
        self.keys.iter().position(|stored| stored.key.hash == hash)
    }

    pub(crate) fn get(&self, hash: &str) -> Option<&FakeKey> {
        self.position(hash).map(|i| &self.keys[i].key)
    }

    fn get_mut(&mut self, hash: &str) -> Option<&mut FakeKey> {
        self.position(hash).map(|i| &mut self.keys[i].key)
    }

    /// Stores `key`: in place of the key with its hash (keeping that key's
    /// secret and place), or else last.
    pub(crate) fn insert(&mut self, key: FakeKey) -> Option<FakeKey> {
        match self.position(&key.hash) {
            Some(i) => Some(std::mem::replace(&mut self.keys[i].key, key)),
            None => {
                self.keys.push(Stored { key, secret: None });
                None
            }
        }
    }

    /// Removes the key and forgets its secret.
    pub(crate) fn remove(&mut self, hash: &str) -> Option<FakeKey> {
        self.position(hash).map(|i| self.keys.remove(i).key)
    }

    /// The stored key whose secret is `token`.
    fn by_secret(&self, token: &str) -> Option<&FakeKey> {
        self.keys
            .iter()
            .find(|stored| {
                stored
                    .secret
                    .as_ref()
                    .is_some_and(|secret| secret.expose_secret() == token)
            })
            .map(|stored| &stored.key)
    }

    /// The oldest queued fault that applies to a request for `operation`.
    fn take_fault(&mut self, operation: Option<Operation>) -> Option<Fault> {
        let i = self
            .faults
            .iter()
            .position(|fault| fault.applies_to(operation))?;
        self.faults.remove(i)
    }

    /// Counts a request for `operation` down in every change for it, and
    /// takes out the changes whose request this is.
    fn due_changes(&mut self, operation: Option<Operation>) -> Vec<Change> {
        let Some(operation) = operation else {
            return Vec::new();
        };
        self.changes
            .extract_if(.., |change| {
                if change.operation == operation {
                    change.remaining -= 1;
                }
                change.remaining == 0
            })
            .collect()
    }

    /// The current time in whole seconds, from the test's clock if it set one.
    fn now(&self) -> DateTime<Utc> {
        self.clock
            .unwrap_or_else(|| DateTime::<Utc>::from(SystemTime::now()))
            .trunc_subsecs(0)
    }
}

impl Shared {
    pub(crate) fn new(
        state: Store,
        shutdown: watch::Receiver<bool>,
        server: Weak<Server>,
    ) -> Shared {
        Shared {
            state: Mutex::new(state),
            shutdown,
            withheld: watch::Sender::new(0),
            server,
        }
    }

    /// Waits `delay`, or until the server stops when there is none; a
    /// shutdown cuts either short.
    async fn hold(&self, delay: Option<Duration>) {
        let mut shutdown = self.shutdown.clone();
        let stopping = shutdown.wait_for(|stopping| *stopping);
        match delay {
            Some(delay) => tokio::select! {
                () = tokio::time::sleep(delay) => {}
                _ = stopping => {}
            },
            None => drop(stopping.await),
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

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    with_json(status, Bytes::from(body.to_string()))
}

fn with_json(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    response
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    let mut response = with_json(status, envelope(status, message));
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

fn bad_request(message: &str) -> Response<Body> {
    error(StatusCode::BAD_REQUEST, message)
}

fn key_not_found() -> Response<Body> {
    error(StatusCode::NOT_FOUND, "API key not found")
}

/// The rate limit's refusal.
fn too_many_requests() -> Response<Body> {
    let mut response = error(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded");
    let one_second = HeaderValue::from_static("1");
    response.headers_mut().insert(RETRY_AFTER, one_second);
    response
}

/// The single handler behind every path and method.
pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    request: Request,
) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY).await;
    let route = route(&parts.method, parts.uri.path());
    let changes = {
        let mut state = shared.lock();
        let recorded = body.as_ref().map_or_else(|_| Bytes::new(), Bytes::clone);
        let request = RecordedRequest::new(&parts, recorded, route.operation());
        state.requests.push(request);
        state.hits += 1;
        if state
            .rate_limit
            .as_mut()
            .is_some_and(|bucket| !bucket.take())
        {
            state.rate_limited += 1;
            return too_many_requests();
        }
        state.due_changes(route.operation())
    };
    // Without the lock, which the handle's methods take. The upgrade fails
    // only once every handle is gone, and with them whoever scheduled it.
    if !changes.is_empty()
        && let Some(server) = shared.server.upgrade()
    {
        let fake = FakeOpenRouter {
            shared: Arc::clone(&shared),
            server,
        };
        for change in changes {
            (change.run)(&fake);
        }
    }
    let (fault, delay) = {
        let mut state = shared.lock();
        let fault = state.take_fault(route.operation());
        let delay = fault.as_ref().and_then(|f| f.delay).or(state.delay);
        (fault, delay)
    };

    let processed = match &fault {
        Some(fault) if !fault.after_processing => None,
        _ => Some(match body {
            Ok(body) => process(&shared, &parts, route, &body),
            Err(_) => {
                bad_request("Request body could not be read (larger than 1 MiB or interrupted)")
            }
        }),
    };
    let response = match &fault {
        Some(fault) => fault.response(),
        None => processed,
    };
    if response.is_none() {
        shared.withheld.send_modify(|withheld| *withheld += 1);
    }

    if fault.as_ref().is_some_and(Fault::hangs) {
        // Ends early when the client goes away: the server drops this future.
        shared.hold(None).await;
    } else if delay.is_some() {
        shared.hold(delay).await;
    }
    response.unwrap_or_else(|| {
        connection.close();
        Response::default()
    })
}

/// Who is calling.
enum Caller {
    /// The required management key, or any key the fake accepts when none is
    /// required.
    Management,
    /// A key created through the API, calling with its secret: what `GET /key`
    /// says of it.
    Key(Value),
}

/// Routing, authentication and the operations.
fn process(shared: &Shared, parts: &Parts, route: Route<'_>, body: &[u8]) -> Response<Body> {
    let (operation, segment) = match route {
        Route::Found(operation, segment) => (operation, segment),
        Route::NotFound => return error(StatusCode::NOT_FOUND, "Resource not found"),
        Route::NotAllowed(allow) => {
            let mut response = error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static(allow));
            return response;
        }
    };

    let mut state = shared.lock();
    let caller = match authenticate(&parts.headers, &state, operation) {
        Ok(caller) => caller,
        Err((status, message)) => return error(status, message),
    };
    // A segment that does not decode to UTF-8 cannot name a key.
    let hash = percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok();
    let hash = hash.as_deref();

    match operation {
        Operation::List => list(&state, parts.uri.query()),
        Operation::Create => create(&mut state, &parts.headers, body),
        Operation::Get => match hash.and_then(|hash| state.get(hash)) {
            Some(key) => json_response(StatusCode::OK, &json!({ "data": key.to_json() })),
            None => key_not_found(),
        },
        Operation::Update => update(&mut state, &parts.headers, body, hash),
        Operation::Delete => match hash.and_then(|hash| state.remove(hash)) {
            Some(_) => json_response(StatusCode::OK, &json!({ "deleted": true })),
            None => key_not_found(),
        },
        Operation::CurrentKey => {
            let data = match caller {
                Caller::Management => key::management_current_json(),
                Caller::Key(data) => data,
            };
            json_response(StatusCode::OK, &json!({ "data": data }))
        }
    }
}

/// `GET /keys`.
fn list(state: &Store, query: Option<&str>) -> Response<Body> {
    let query = match ListQuery::parse(query) {
        Ok(query) => query,
        Err(message) => return bad_request(&message),
    };
    let data: Vec<Value> = if state.endless_pages {
        let now = state.now();
        (0..state.page_size)
            .map(|i| {
                let n = u128::from(query.offset) + i as u128;
                FakeKey::endless(n, &query.workspace_id, now).to_json()
            })
            .collect()
    } else {
        let mut keys: Vec<&FakeKey> = state
            .keys
            .iter()
            .rev()
            .map(|stored| &stored.key)
            .filter(|key| query.include_disabled || !key.disabled)
            .filter(|key| key.workspace_id.eq_ignore_ascii_case(&query.workspace_id))
            .collect();
        // Newest first; the sort is stable, so keys created in the same
        // second stay last-stored first.
        keys.sort_by_key(|key| std::cmp::Reverse(key.created_at));
        keys.into_iter()
            .skip(usize::try_from(query.offset).unwrap_or(usize::MAX))
            .take(state.page_size)
            .map(FakeKey::to_json)
            .collect()
    };
    json_response(StatusCode::OK, &json!({ "data": data }))
}

/// `POST /keys`.
fn create(state: &mut Store, headers: &HeaderMap, body: &[u8]) -> Response<Body> {
    let new = match json_body(headers, body).and_then(|body| NewKey::from_json(&body)) {
        Ok(new) => new,
        Err(message) => return bad_request(&message),
    };
    let hash = unused_hex(|hash| state.get(hash).is_some());
    let secret_hex = unused_hex(|hex| {
        let secret = format!("sk-or-v1-{hex}");
        state.by_secret(&secret).is_some()
            || state
                .required_key
                .as_ref()
                .is_some_and(|required| required.expose_secret() == secret)
    });
    let secret = format!("sk-or-v1-{secret_hex}");
    let key = new.build(hash, &secret_hex, state.now());
    let body = json!({ "data": key.to_json(), "key": secret });
    state.keys.push(Stored {
        key,
        secret: Some(secret.into()),
    });
    json_response(StatusCode::CREATED, &body)
}

/// Random hex from [`key::random_hex`], drawn again while `taken` says it is
/// in use.
fn unused_hex(taken: impl Fn(&str) -> bool) -> String {
    loop {
        let hex = key::random_hex();
        if !taken(&hex) {
            return hex;
        }
    }
}

/// `PATCH /keys/{hash}`.
fn update(
    state: &mut Store,
    headers: &HeaderMap,
    body: &[u8],
    hash: Option<&str>,
) -> Response<Body> {
    let patch = match json_body(headers, body).and_then(|body| KeyPatch::from_json(&body)) {
        Ok(patch) => patch,
        Err(message) => return bad_request(&message),
    };
    let now = state.now();
    let Some(key) = hash.and_then(|hash| state.get_mut(hash)) else {
        return key_not_found();
    };
    patch.apply(key, now);
    json_response(StatusCode::OK, &json!({ "data": key.to_json() }))
}

/// Who the `Authorization: Bearer <token>` header names, or the status and
/// message that refuse the call.
fn authenticate(
    headers: &HeaderMap,
    state: &Store,
    operation: Operation,
) -> Result<Caller, (StatusCode, &'static str)> {
    let unauthorized = |message| (StatusCode::UNAUTHORIZED, message);
    let value = headers
        .get(AUTHORIZATION)
        .ok_or(unauthorized("Missing Authentication header"))?;
    let value = value
        .to_str()
        .map_err(|_| unauthorized("Invalid Authentication header: expected 'Bearer <key>'"))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(unauthorized(
            "Invalid Authentication header: expected 'Bearer <key>'",
        ));
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(unauthorized(
            "Invalid Authentication header: empty bearer token",
        ));
    }
    if let Some(required) = &state.required_key
        && required.expose_secret() == token
    {
        return Ok(Caller::Management);
    }
    if let Some(key) = state.by_secret(token) {
        return if operation.needs_management_key() {
            Err((
                StatusCode::FORBIDDEN,
                "Only management keys can perform this operation",
            ))
        } else {
            Ok(Caller::Key(key.to_current_json()))
        };
    }
    match (&state.required_key, operation.needs_management_key()) {
        (None, _) => Ok(Caller::Management),
        (Some(_), true) => Err(unauthorized("Invalid management key")),
        (Some(_), false) => Err(unauthorized("Invalid API key")),
    }
}

/// The body of a `POST` or `PATCH`, which must be declared and be JSON.
fn json_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, String> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(JSON));
    if !is_json {
        return Err("Content-Type must be application/json".to_owned());
    }
    serde_json::from_slice(body).map_err(|e| format!("Request body is not valid JSON: {e}"))
}
