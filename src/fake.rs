//! A fake of OpenRouter's key-management API, for testing code that manages
//! keys.
//!
//! [`FakeOpenRouter`] is a real HTTP server on `127.0.0.1` (an ephemeral
//! port) that answers the API's key operations (list, create, get, update and
//! delete keys, and describe the calling key) the way OpenRouter documents
//! them, keeps its keys in memory, records every request it receives and can
//! be told to fail. Point a client at [`FakeOpenRouter::base_url`] and test
//! against it without network access or a real account.
//!
//! Enable it in your tests with the `fake` feature:
//!
//! ```toml
//! [dev-dependencies]
//! openrouter-keys = { version = "0.1", features = ["fake"] }
//! ```
//!
//! # Example
//!
//! ```
//! use openrouter_keys::{Client, KeyUpdate, fake::{EXAMPLE_KEY_HASH, FakeOpenRouter, Fault}};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let fake = FakeOpenRouter::start().await?;
//! let client = Client::builder().api_key("sk-or-v1-test").base_url(fake.base_url()).build()?;
//!
//! // The first attempt meets a scripted outage; the client retries.
//! fake.push_fault(Fault::status(503).retry_after("0"));
//! let key = client.update_key(EXAMPLE_KEY_HASH, &KeyUpdate::new().limit(50.0).clear_limit_reset()).await?;
//! assert_eq!(key.limit, Some(50.0));
//!
//! // The fake's store changed: 50 minus the 25.5 already used remains.
//! let stored = fake.key(EXAMPLE_KEY_HASH).expect("the example key");
//! assert_eq!(stored.limit_remaining(), Some(24.5));
//! assert_eq!(stored.limit_reset, None);
//!
//! // Both attempts were recorded exactly as sent.
//! assert_eq!(fake.hits(), 2);
//! let request = fake.last_request().expect("a request");
//! assert_eq!(request.method(), "PATCH");
//! assert_eq!(request.path(), format!("/api/v1/keys/{EXAMPLE_KEY_HASH}"));
//! assert_eq!(request.body(), br#"{"limit":50,"limit_reset":null}"#);
//! assert_eq!(request.header("authorization"), Some("Bearer sk-or-v1-test"));
//! // ...but printing it does not reveal the key.
//! assert!(!format!("{request:?}").contains("sk-or-v1-test"));
//! # Ok(())
//! # }
//! ```
//!
//! # What the fake answers
//!
//! Every new fake holds one key, [`FakeKey::example`] (hash
//! [`EXAMPLE_KEY_HASH`], in the [`DEFAULT_WORKSPACE_ID`] workspace); add,
//! replace and remove keys with [`FakeOpenRouter::insert_key`] and
//! [`FakeOpenRouter::remove_key`], or through the API. It serves these
//! operations ([`Operation`]), under the base URL `/api/v1`:
//!
//! | [`Operation`] | Method and path | Success |
//! |---|---|---|
//! | `List` (`listKeys`) | `GET /api/v1/keys` | `200` `{"data": [<key>, ...]}`, one page ([Listing](#listing)) |
//! | `Create` (`createKey`) | `POST /api/v1/keys` | `201` `{"data": <key>, "key": "<secret>"}` ([Creating](#creating)) |
//! | `Get` (`getKey`) | `GET /api/v1/keys/{hash}` | `200` `{"data": <key>}` |
//! | `Update` (`updateKey`) | `PATCH /api/v1/keys/{hash}` | `200` `{"data": <key>}`, updated ([Updating](#updating)) |
//! | `Delete` (`deleteKey`) | `DELETE /api/v1/keys/{hash}` | `200` `{"deleted": true}`; the key is gone |
//! | `CurrentKey` (`getCurrentKey`) | `GET /api/v1/key` | `200` `{"data": <the calling key>}` ([The calling key](#the-calling-key)) |
//!
//! `<key>` is [`FakeKey::to_json`] of the stored key.
//!
//! A request is first recorded. If a rate limit is set
//! ([`FakeOpenRouter::set_rate_limit`]) and finds no token left for it, it
//! is answered `429` at once and nothing else happens to it. Otherwise the
//! changes that [`FakeOpenRouter::on_request`] scheduled for it run, and then
//! it meets the oldest queued [`Fault`] that applies to it, if there is one:
//!
//! | Fault | The request | The client receives |
//! |---|---|---|
//! | [`Fault::status`] | is not carried out | the fault's response |
//! | [`Fault::disconnect`] | is not carried out | nothing: the connection is closed |
//! | [`Fault::hang`] | is not carried out | nothing, until it closes the connection |
//! | any, with [`Fault::after_processing`] | is carried out as below | as above |
//!
//! [`FakeOpenRouter::until_withheld`] waits until a disconnecting or hanging
//! fault has met its request. Without a fault, the request is checked in
//! this order, and the first problem decides the answer:
//!
//! | Status | When | `error.message` |
//! |---|---|---|
//! | 404 | the path is none of `/api/v1/keys`, `/api/v1/keys/{hash}` (one non-empty segment) and `/api/v1/key` | `Resource not found` |
//! | 405 | the path exists, but not with this method (with `Allow: GET, POST`, `Allow: GET, PATCH, DELETE` or `Allow: GET`) | `Method not allowed` |
//! | 401 | no `Authorization` header (with `WWW-Authenticate: Bearer`, as for every 401) | `Missing Authentication header` |
//! | 401 | a scheme other than `Bearer` (any case) | `Invalid Authentication header: expected 'Bearer <key>'` |
//! | 401 | an empty or blank token | `Invalid Authentication header: empty bearer token` |
//! | 403 | any operation but `CurrentKey`, called with the secret of a key created through the fake (not a management key) | `Only management keys can perform this operation` |
//! | 401 | a key is required ([`FakeOpenRouter::require_key`]) and the token is neither that key nor a created key's secret | `Invalid management key` (`Invalid API key` for `CurrentKey`) |
//! | 400 | `List`: a query parameter given twice | `Query parameter '<name>' is given more than once` |
//! | 400 | `List`: `include_disabled` is not `true` or `false`, `offset` is not a decimal integer from 0 to 2<sup>64</sup>−1, `workspace_id` is not a UUID | `Invalid value for query parameter '<name>': expected ...` |
//! | 400 | `Create`, `Update`: `Content-Type` is not `application/json` | `Content-Type must be application/json` |
//! | 400 | `Create`, `Update`: the body is not JSON | `Request body is not valid JSON: ...` |
//! | 400 | `Create`, `Update`: the body is not a JSON object | `Request body must be a JSON object` |
//! | 400 | `Create`: no `name` | `Missing required field 'name'` |
//! | 400 | `Create`, `Update`: a field has the wrong type or value (below) | `Invalid value for '<field>': expected ...` |
//! | 400 | `Update`: none of `name`, `disabled`, `limit`, `limit_reset`, `include_byok_in_limit` is present | `Request body sets none of the updatable fields: ...` |
//! | 404 | `Get`, `Update`, `Delete`: no key has the percent-decoded `{hash}` | `API key not found` |
//! | 2xx | otherwise: the operation is carried out | |
//!
//! Every error body is the API's envelope,
//! `{"error": {"code": <status>, "message": "<text>"}}`. Query parameters and
//! body fields are checked in the order the sections below list them; a
//! rejected request changes nothing. Unknown query parameters and unknown body
//! fields are ignored, as most JSON APIs do. `Get`, `Delete`, `List` and
//! `CurrentKey` ignore the body, and every operation but `List` ignores the
//! query.
//!
//! Timestamps are RFC 3339 in UTC with seconds precision and a `Z` suffix.
//! "Now" (a new key's `created_at`, an updated key's `updated_at`) is the
//! system clock or [`FakeOpenRouter::set_clock`], in whole seconds.
//!
//! ## Listing
//!
//! `GET /keys` answers one page of the stored keys, newest first as the API
//! lists them: by `created_at`, latest first, and keys with the same
//! `created_at` in the reverse of the order they entered the store (the last
//! inserted or created first; replacing a key keeps its place). A key
//! created between two pages therefore shifts the later pages by one, as it
//! does upstream. To script a listing, insert keys with chosen names
//! (several may share one), workspaces, `disabled` flags and `created_at`
//! times, and change them between pages with
//! [`FakeOpenRouter::on_request`]. Its query parameters:
//!
//! - **`include_disabled`**: `"true"` lists disabled keys too; `"false"` (the
//!   default) leaves them out. No other spelling is accepted.
//! - **`offset`**: how many of the matching keys to skip (default 0). An
//!   offset at or past the end gives an empty page, `{"data": []}`.
//! - **`workspace_id`**: lists the keys of that workspace (compared without
//!   regard to case); without it, the keys of [`DEFAULT_WORKSPACE_ID`], as
//!   the API documents.
//!
//! A page holds at most 100 keys, or what [`FakeOpenRouter::set_page_size`]
//! sets, so a client can page by adding the number of keys it received to
//! `offset` until a page comes back short or empty.
//! [`FakeOpenRouter::set_endless_pages`] makes every page full instead, so
//! that a client's bound on the number of pages can be tested: page `offset`
//! then holds made-up, enabled keys numbered `offset`, `offset + 1`, ... (hash:
//! the number in 64 hex digits; name: `Endless key <n>`) in the requested
//! workspace, whatever is stored. They are not stored, so asking for one by
//! hash is a 404. The query is still checked.
//!
//! ## Creating
//!
//! `POST /keys` creates a key from these body fields:
//!
//! | Field | Accepted | When absent |
//! |---|---|---|
//! | `name` (required) | a non-empty string | 400 |
//! | `limit` | a non-negative number, or `null` (no limit) | no limit |
//! | `limit_reset` | `"daily"`, `"weekly"`, `"monthly"`, or `null` (never) | never |
//! | `include_byok_in_limit` | a boolean | `false` |
//! | `expires_at` | an RFC 3339 date-time with a zero offset (`Z` or `+00:00`), or `null` (never); any other offset is a 400. It is kept in whole seconds; a time in the past is accepted | never |
//! | `creator_user_id` | a non-empty string, or `null` | `null` |
//! | `workspace_id` | a UUID (kept in lower case) | [`DEFAULT_WORKSPACE_ID`] |
//!
//! The new key gets a fresh hash (64 random hex digits, unique in the store)
//! and a fresh secret (`sk-or-v1-` and 64 random hex digits). It is enabled,
//! has spent nothing, was created now and never updated (`updated_at` is
//! `null`), and its `label` is the masked secret (`sk-or-v1-` with the first
//! three and the last four hex digits, such as `sk-or-v1-d35...855d`). The
//! answer, `201` `{"data": <key>, "key": "<secret>"}`, is the only place the
//! secret is shown: the fake keeps it only to recognise the key when it calls
//! `GET /key`, never returns it from a handle method, and prints it in no
//! `Debug` output. The secret is not a management key: with it any other
//! operation is a 403. The random numbers come from a fast generator that is
//! not cryptographic; they are unguessable enough for tests only.
//!
//! ## Updating
//!
//! A successful `PATCH` applies the update as the API documents it: a field
//! that is absent is left unchanged, `null` clears it (`limit` and
//! `limit_reset` are the nullable ones) and a value sets it. Body fields are
//! checked in the order `name` (a string), `disabled` (a boolean), `limit`,
//! `limit_reset`, `include_byok_in_limit` (accepted as for `POST`). Details
//! the API description leaves open, decided here:
//!
//! - A body with *only* unknown fields is a 400, since it updates nothing.
//! - **`limit_remaining`** is `limit - usage`, floored at 0 (a key that has
//!   overspent has nothing left, never a negative amount), and `null` without
//!   a limit. BYOK usage is not subtracted, as in the API's example.
//! - **`name` and `label`**: `name` is whatever the caller sets (any string,
//!   the empty one included, kept verbatim); `label` is the masked form of the
//!   secret, which the server assigns, so no update changes it. (The API
//!   description's example response shows the new name as the label too; the
//!   fake does not copy that.)
//! - **`updated_at`** is set to now on every successful update, even one that
//!   changes no value.
//! - **A negative zero** `limit` is stored as 0; a `limit` too large for a
//!   double is not valid JSON to the fake (400).
//! - A disabled key can be updated, which is how it is enabled again.
//!
//! ## The calling key
//!
//! `GET /key` answers for the key in the `Authorization` header, with any key
//! the fake accepts (a management key is not needed):
//!
//! - the secret of a key created through the fake: that key, as
//!   [`FakeKey::to_current_json`] describes it (`is_management_key: false`),
//!   for as long as the key is stored (whether disabled or expired makes no
//!   difference); once it is deleted, its secret is an unknown key;
//! - the key set with [`FakeOpenRouter::require_key`], or, when no key is
//!   required, any other token: a stand-in management key with `label`
//!   `"Management key"`, no limit, nothing spent, `is_management_key` and
//!   `is_provisioning_key` `true`, `is_free_tier` `false`, and `null`
//!   `creator_user_id` and `expires_at`;
//! - any other token, when a key is required: 401 `Invalid API key`.
//!
//! # Tests with a paused clock
//!
//! [`FakeOpenRouter::start`] spawns the server with [`tokio::spawn`] on the
//! runtime it is called from, and delays ([`Fault::delay`],
//! [`FakeOpenRouter::set_delay`]) sleep on the Tokio clock. In a
//! `#[tokio::test(start_paused = true)]` test the fake therefore runs on the
//! test's paused clock: a 30-second delay takes no real time, and
//! [`tokio::time::Instant`] shows 30 seconds passing. Each request's
//! [`RecordedRequest::received_at`] is read from the same clock, so a test
//! can measure the waits between a client's attempts, and the rate limit
//! ([`FakeOpenRouter::set_rate_limit`]) refills by the same clock, so a
//! test decides exactly how many tokens there are by advancing it. The
//! server itself uses no timers: what ends a [`Fault::hang`] under a paused
//! clock is the client's own timeout.
//!
//! # Lifetime
//!
//! The handle is cheap to clone, and clones share one server. The server
//! stops when the last clone is dropped, or at once with
//! [`FakeOpenRouter::shutdown`], which waits until it has stopped. Stopping
//! finishes requests in progress (cutting their delays short), closes the
//! connections whose answer a [`Fault::hang`] holds without answering, and
//! closes idle connections; later requests are refused.

#![warn(missing_docs)]

mod connection;
mod fault;
mod key;
mod list;
mod operation;
mod record;
mod server;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use fault::Fault;
pub use key::{DEFAULT_WORKSPACE_ID, EXAMPLE_KEY_HASH, FakeKey};
pub use operation::Operation;
pub use record::RecordedRequest;

use connection::{Connection, Listener};
use server::{Bucket, Change, Shared, Store};

/// Characters that stay as they are in a path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A running fake of OpenRouter's key API, and the handle to inspect and
/// script it. See the [module documentation](self) for what it answers.
///
/// Cloning is cheap; all clones control the same server, which stops when the
/// last one is dropped.
#[derive(Clone)]
pub struct FakeOpenRouter {
    shared: Arc<Shared>,
    server: Arc<Server>,
}

/// Owned only by handles, never by the server task, so that dropping the last
/// handle drops `shutdown` and so stops the server.
struct Server {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    /// Closes when the server task ends.
    stopped: watch::Receiver<()>,
}

impl FakeOpenRouter {
    /// Binds `127.0.0.1` on an ephemeral port and starts serving, seeded with
    /// [`FakeKey::example`], accepting any non-empty bearer token, with no
    /// faults, no delay and pages of 100 keys.
    ///
    /// # Errors
    ///
    /// If the port cannot be bound.
    ///
    /// # Panics
    ///
    /// If called outside a Tokio runtime (the server is a task spawned on the
    /// current runtime).
    pub async fn start() -> std::io::Result<FakeOpenRouter> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (stopped_tx, stopped) = watch::channel(());

        let server = Arc::new(Server {
            addr,
            shutdown,
            stopped,
        });
        let store = Store::new([FakeKey::example()]);
        let shared = Arc::new(Shared::new(
            store,
            shutdown_rx.clone(),
            Arc::downgrade(&server),
        ));
        let app = axum::Router::new()
            .fallback(server::handle)
            .with_state(Arc::clone(&shared))
            .into_make_service_with_connect_info::<Connection>();
        let mut signal = shutdown_rx;
        let serve = axum::serve(Listener(listener), app).with_graceful_shutdown(async move {
            // Completes on `shutdown()` or when the sender is dropped.
            let _ = signal.wait_for(|stopping| *stopping).await;
        });
        tokio::spawn(async move {
            // Serving on a bound listener does not fail (accept errors are
            // retried inside), and a test fake has nobody to report to.
            let _ = serve.await;
            drop(stopped_tx);
        });

        Ok(FakeOpenRouter { shared, server })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// The API's base URL on this fake, `http://127.0.0.1:PORT/api/v1`,
    /// without a trailing slash; the key operations are under it
    /// ([`Operation::path`]).
    pub fn base_url(&self) -> String {
        format!("http://{}/api/v1", self.server.addr)
    }

    /// The URL of one key, `{base_url}/keys/{hash}`, with `hash`
    /// percent-encoded as a path segment.
    pub fn key_url(&self, hash: &str) -> String {
        format!(
            "{}/keys/{}",
            self.base_url(),
            utf8_percent_encode(hash, SEGMENT)
        )
    }

    /// Stores `key` under its hash, returning the key it replaces. Keys are
    /// told apart by hash alone: any number may share a name.
    ///
    /// A new hash enters the store last, which puts it first in the listing
    /// among keys with the same `created_at` ([Listing](self#listing)); a
    /// replaced key keeps its place and, if it was created through the API,
    /// its secret.
    pub fn insert_key(&self, key: FakeKey) -> Option<FakeKey> {
        self.shared.lock().insert(key)
    }

    /// The key with this hash, as it is now.
    pub fn key(&self, hash: &str) -> Option<FakeKey> {
        self.shared.lock().get(hash).cloned()
    }

    /// Every stored key, as it is now, in the order the keys entered the
    /// store (not the listing order, which is newest first), disabled keys
    /// and every workspace included.
    pub fn keys(&self) -> Vec<FakeKey> {
        let state = self.shared.lock();
        state.keys.iter().map(|stored| stored.key.clone()).collect()
    }

    /// Removes the key with this hash (and forgets its secret); requests for
    /// it then get a 404.
    pub fn remove_key(&self, hash: &str) -> Option<FakeKey> {
        self.shared.lock().remove(hash)
    }

    /// Answers `GET /keys` with pages of at most `size` keys from now on (100
    /// by default).
    ///
    /// # Panics
    ///
    /// If `size` is 0: a page that can never hold a key would make every
    /// listing look finished.
    pub fn set_page_size(&self, size: usize) {
        assert!(size > 0, "a page size must be at least 1");
        self.shared.lock().page_size = size;
    }

    /// With `true`, answers every `GET /keys` with a full page of made-up keys,
    /// whatever the offset, so that listing never ends (see
    /// [Listing](self#listing)); with `false` (the default), lists the stored
    /// keys.
    pub fn set_endless_pages(&self, endless: bool) {
        self.shared.lock().endless_pages = endless;
    }

    /// Limits the rate of requests from now on to `per_second` a second,
    /// with a token bucket that holds a second's worth (`per_second`
    /// tokens, full when set) and refills continuously on the Tokio clock,
    /// so that a paused clock makes it deterministic. Each request takes a
    /// token; one that finds none is answered at once with `429`,
    /// `Retry-After: 1` and the error envelope (`Rate limit exceeded`), and
    /// nothing else happens to it: it is recorded and counted in
    /// [`hits`](Self::hits) and [`rate_limited`](Self::rate_limited), but
    /// meets no fault, runs no [change](Self::on_request) and is not carried
    /// out. `Some(0)` refuses every request; `None` (the default) lifts the
    /// limit.
    pub fn set_rate_limit(&self, per_second: Option<u32>) {
        self.shared.lock().rate_limit = per_second.map(Bucket::new);
    }

    /// How many requests the rate limit ([`set_rate_limit`](Self::set_rate_limit))
    /// has refused since the fake started; with [`hits`](Self::hits), the
    /// share of requests that met a `429` from it.
    pub fn rate_limited(&self) -> usize {
        self.shared.lock().rate_limited
    }

    /// Accepts only this bearer token as the management key from now on; any
    /// other gets a 401 `Invalid management key`, except the secret of a key
    /// created through the fake, which `GET /key` still answers for (and other
    /// operations refuse with a 403). By default any non-empty token is
    /// accepted as a management key.
    pub fn require_key(&self, key: impl Into<String>) {
        self.shared.lock().required_key = Some(key.into().into());
    }

    /// Accepts any non-empty bearer token as a management key again (the
    /// default).
    pub fn accept_any_key(&self) {
        self.shared.lock().required_key = None;
    }

    /// Queues a fault for the next request it applies to; faults are used in
    /// the order they were queued, one per request, each request taking the
    /// oldest fault that applies to it. A fault applies to every request (on
    /// any path, with any method) unless [`Fault::only_for`] names its
    /// operations.
    ///
    /// ```
    /// # use openrouter_keys::fake::{FakeOpenRouter, Fault, Operation};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let fake = FakeOpenRouter::start().await?;
    /// // The next two creations fail; listing, getting and updating do not.
    /// fake.fail_next(2, Fault::status(500).only_for(Operation::Create));
    /// // The next request of any kind meets a 429, before the 500s.
    /// fake.push_fault(Fault::status(429).retry_after("1"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn push_fault(&self, fault: Fault) {
        self.shared.lock().faults.push_back(fault);
    }

    /// Queues `fault` `n` times (after any faults already queued): for each of
    /// the next `n` requests it applies to (see
    /// [`push_fault`](Self::push_fault)).
    pub fn fail_next(&self, n: usize, fault: Fault) {
        let mut state = self.shared.lock();
        state.faults.extend(std::iter::repeat_n(fault, n));
    }

    /// How many queued faults have not been used yet, whatever their
    /// operations.
    pub fn pending_faults(&self) -> usize {
        self.shared.lock().faults.len()
    }

    /// Drops every queued fault.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Runs `change` when the `nth` request for `operation` from now on
    /// arrives (1: the next one; 0 counts as 1), before anything else happens
    /// to that request but its recording: before it meets a fault and before
    /// it is carried out. The change gets a handle on this fake to insert,
    /// replace or remove keys, queue a fault (which this very request can
    /// meet) or schedule another change. Use that handle rather than a
    /// captured clone, which would keep the server running until the change
    /// has run.
    ///
    /// This is how a test scripts what happens between two requests
    /// deterministically, such as a key that appears between two pages of a
    /// listing (the listing is newest first, so the later pages shift and a
    /// client paging by offset sees a key twice):
    ///
    /// ```
    /// # use openrouter_keys::fake::{EXAMPLE_KEY_HASH, FakeKey, FakeOpenRouter, Operation};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let fake = FakeOpenRouter::start().await?;
    /// // Before the second `GET /keys` is answered, a newer key appears.
    /// fake.on_request(Operation::List, 2, |fake| {
    ///     let created_at = std::time::SystemTime::now().into();
    ///     fake.insert_key(FakeKey { hash: "newer".to_owned(), created_at, ..FakeKey::example() });
    /// });
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// Requests that reach no operation, and requests the rate limit
    /// refuses, are not counted.
    pub fn on_request(
        &self,
        operation: Operation,
        nth: usize,
        change: impl FnOnce(&FakeOpenRouter) + Send + 'static,
    ) {
        let change = Change::new(operation, nth, change);
        self.shared.lock().changes.push(change);
    }

    /// Waits this long before sending every response (none by default), on
    /// the Tokio clock. A fault's own [`Fault::delay`] replaces it.
    ///
    /// The request is handled before the wait, so a client that gives up
    /// during it may still have updated the key; to delay a request that
    /// changes nothing, use a delayed [`Fault`].
    pub fn set_delay(&self, delay: Option<Duration>) {
        self.shared.lock().delay = delay;
    }

    /// Stamps a created key's `created_at` and an updated key's `updated_at`
    /// with `now` (truncated to whole seconds) instead of the system time;
    /// `None` goes back to the system time.
    pub fn set_clock(&self, now: Option<DateTime<Utc>>) {
        self.shared.lock().clock = now;
    }

    /// Every recorded request, oldest first (since the start or the last
    /// [`take_requests`](Self::take_requests)).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// The most recent request.
    pub fn last_request(&self) -> Option<RecordedRequest> {
        self.shared.lock().requests.last().cloned()
    }

    /// Returns the recorded requests and forgets them; [`hits`](Self::hits) is
    /// not reset.
    pub fn take_requests(&self) -> Vec<RecordedRequest> {
        std::mem::take(&mut self.shared.lock().requests)
    }

    /// How many requests the fake has received since it started, whatever
    /// their outcome (faults, refusals of the rate limit, errors and
    /// successes alike).
    pub fn hits(&self) -> usize {
        self.shared.lock().hits
    }

    /// How many answers [`Fault::disconnect`] and [`Fault::hang`] have kept
    /// from their clients since the fake started.
    pub fn withheld(&self) -> usize {
        *self.shared.withheld.borrow()
    }

    /// Waits until [`withheld`](Self::withheld) reaches `n`: until `n`
    /// requests have met a [`Fault::disconnect`] or a [`Fault::hang`]. By
    /// then each of them has been carried out if its fault came
    /// [after processing](Fault::after_processing) (a `POST /keys` has
    /// stored its key), and its client has received nothing: a hanging
    /// answer is being held, a disconnecting one is being closed (after its
    /// delay). Returns at once if `n` answers were withheld already.
    ///
    /// It waits as long as it takes; bound it with
    /// [`tokio::time::timeout`]:
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use openrouter_keys::{Client, NewKey, fake::{FakeOpenRouter, Fault, Operation}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let fake = FakeOpenRouter::start().await?;
    /// let client = Client::builder().api_key("sk-or-v1-test").base_url(fake.base_url()).build()?;
    /// fake.push_fault(Fault::hang().after_processing().only_for(Operation::Create));
    /// let creating = tokio::spawn(async move { client.create_key(&NewKey::new("once")).await });
    /// tokio::time::timeout(Duration::from_secs(10), fake.until_withheld(1)).await?;
    /// // The key exists, and its creator is still waiting for the answer.
    /// assert_eq!(fake.keys().len(), 2);
    /// assert!(!creating.is_finished());
    /// creating.abort();
    /// # Ok(())
    /// # }
    /// ```
    pub async fn until_withheld(&self, n: usize) {
        let mut withheld = self.shared.withheld.subscribe();
        // The sender lives in `self.shared`, so the wait cannot fail.
        let _ = withheld.wait_for(|&count| count >= n).await;
    }

    /// Stops the server for every clone of this handle and waits until it has
    /// stopped: requests in progress finish (delays are cut short), idle
    /// connections close, and new connections are refused. Calling it again
    /// returns at once.
    pub async fn shutdown(&self) {
        self.server.shutdown.send_replace(true);
        let mut stopped = self.server.stopped.clone();
        // Never sent to; fails once the server task has dropped the sender.
        while stopped.changed().await.is_ok() {}
    }
}

impl fmt::Debug for FakeOpenRouter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("FakeOpenRouter")
            .field("addr", &self.server.addr)
            .field("keys", &state.keys.len())
            .field("hits", &state.hits)
            .field("pending_faults", &state.faults.len())
            .field("pending_changes", &state.changes.len())
            .field("requires_key", &state.required_key.is_some())
            .field("page_size", &state.page_size)
            .field("endless_pages", &state.endless_pages)
            .field(
                "rate_limit",
                &state.rate_limit.as_ref().map(Bucket::per_second),
            )
            .field("rate_limited", &state.rate_limited)
            .finish_non_exhaustive()
    }
}
