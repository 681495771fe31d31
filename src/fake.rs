//! A fake of OpenRouter's key-management API, for testing code that updates
//! keys.
//!
//! [`FakeOpenRouter`] is a real HTTP server on `127.0.0.1` (an ephemeral
//! port) that answers `PATCH /api/v1/keys/{hash}` the way OpenRouter
//! documents it, keeps its keys in memory, records every request it receives
//! and can be told to fail. Point a client at [`FakeOpenRouter::base_url`] and
//! test against it without network access or a real account.
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
//! [`EXAMPLE_KEY_HASH`]); add, replace and remove keys with
//! [`FakeOpenRouter::insert_key`] and [`FakeOpenRouter::remove_key`].
//!
//! A request is first recorded, then meets the next queued [`Fault`] if there
//! is one. Otherwise it is checked in this order, and the first problem
//! decides the answer:
//!
//! | Status | When | `error.message` |
//! |---|---|---|
//! | 404 | the path is not `/api/v1/keys/{hash}` with one non-empty segment | `Resource not found` |
//! | 405 | the method is not `PATCH` (with `Allow: PATCH`) | `Method not allowed` |
//! | 401 | no `Authorization` header (with `WWW-Authenticate: Bearer`, as for every 401) | `Missing Authentication header` |
//! | 401 | a scheme other than `Bearer` (any case) | `Invalid Authentication header: expected 'Bearer <key>'` |
//! | 401 | an empty or blank token | `Invalid Authentication header: empty bearer token` |
//! | 401 | a token other than the one set with [`FakeOpenRouter::require_key`] | `Invalid management key` |
//! | 400 | `Content-Type` is not `application/json` | `Content-Type must be application/json` |
//! | 400 | the body is not JSON | `Request body is not valid JSON: ...` |
//! | 400 | the body is not a JSON object | `Request body must be a JSON object` |
//! | 400 | a field has the wrong type, `limit` is negative, `limit_reset` is not `daily`/`weekly`/`monthly`/`null` | `Invalid value for '<field>': expected ...` |
//! | 400 | none of `name`, `disabled`, `limit`, `limit_reset`, `include_byok_in_limit` is present | `Request body sets none of the updatable fields: ...` |
//! | 404 | no key has the percent-decoded `{hash}` | `API key not found` |
//! | 200 | otherwise: the update is applied | |
//!
//! Every error body is the API's envelope,
//! `{"error": {"code": <status>, "message": "<text>"}}`. Body fields are
//! checked in the order `name`, `disabled`, `limit`, `limit_reset`,
//! `include_byok_in_limit`, and a rejected body changes nothing.
//!
//! A successful `PATCH` applies the update as the API documents it: a field
//! that is absent is left unchanged, `null` clears it (`limit` and
//! `limit_reset` are the nullable ones) and a value sets it. It then answers
//! `200` with `{"data": <key>}` ([`FakeKey::to_json`]). Details the API
//! description leaves open, decided here:
//!
//! - **Unknown fields** in the body are ignored, as most JSON APIs do; a body
//!   with *only* unknown fields is a 400, since it updates nothing.
//! - **`limit_remaining`** is `limit - usage`, floored at 0 (a key that has
//!   overspent has nothing left, never a negative amount), and `null` without
//!   a limit. BYOK usage is not subtracted, as in the API's example.
//! - **`name` and `label`**: `name` is whatever the caller sets (any string,
//!   kept verbatim); `label` is the masked form of the secret, which the
//!   server assigns, so no update changes it. (The API description's example
//!   response shows the new name as the label too; the fake does not copy
//!   that.)
//! - **`updated_at`** is set to the current time on every successful update,
//!   even one that changes no value. It is RFC 3339 in UTC with seconds
//!   precision and a `Z` suffix, from the system clock or from
//!   [`FakeOpenRouter::set_clock`].
//! - **A negative zero** `limit` is stored as 0; a `limit` too large for a
//!   double is not valid JSON to the fake (400).
//! - Only `PATCH` exists on `/api/v1/keys/{hash}`: the fake does not implement
//!   OpenRouter's other key operations.
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
//! can measure the waits between a client's attempts. The server itself
//! uses no timers.
//!
//! # Lifetime
//!
//! The handle is cheap to clone, and clones share one server. The server
//! stops when the last clone is dropped, or at once with
//! [`FakeOpenRouter::shutdown`], which waits until it has stopped. Stopping
//! finishes requests in progress (cutting their delays short) and closes idle
//! connections; later requests are refused.

#![warn(missing_docs)]

mod fault;
mod key;
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
pub use key::{EXAMPLE_KEY_HASH, FakeKey, LimitReset};
pub use record::RecordedRequest;

use server::{Shared, Store};

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
    /// faults and no delay.
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

        let example = FakeKey::example();
        let store = Store {
            keys: [(example.hash.clone(), example)].into_iter().collect(),
            ..Store::default()
        };
        let shared = Arc::new(Shared::new(store, shutdown_rx.clone()));
        let app = axum::Router::new()
            .fallback(server::handle)
            .with_state(Arc::clone(&shared));
        let mut signal = shutdown_rx;
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            // Completes on `shutdown()` or when the sender is dropped.
            let _ = signal.wait_for(|stopping| *stopping).await;
        });
        tokio::spawn(async move {
            // Serving on a bound listener does not fail (accept errors are
            // retried inside), and a test fake has nobody to report to.
            let _ = serve.await;
            drop(stopped_tx);
        });

        Ok(FakeOpenRouter {
            shared,
            server: Arc::new(Server {
                addr,
                shutdown,
                stopped,
            }),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// The API's base URL on this fake, `http://127.0.0.1:PORT/api/v1`,
    /// without a trailing slash; the key operations are under `/keys/{hash}`.
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

    /// Stores `key` under its hash, returning the key it replaces.
    pub fn insert_key(&self, key: FakeKey) -> Option<FakeKey> {
        self.shared.lock().keys.insert(key.hash.clone(), key)
    }

    /// The key with this hash, as it is now.
    pub fn key(&self, hash: &str) -> Option<FakeKey> {
        self.shared.lock().keys.get(hash).cloned()
    }

    /// Removes the key with this hash; requests for it then get a 404.
    pub fn remove_key(&self, hash: &str) -> Option<FakeKey> {
        self.shared.lock().keys.remove(hash)
    }

    /// Accepts only this bearer token from now on; any other gets a 401
    /// `Invalid management key`. By default any non-empty token is accepted.
    pub fn require_key(&self, key: impl Into<String>) {
        self.shared.lock().required_key = Some(key.into().into());
    }

    /// Accepts any non-empty bearer token again (the default).
    pub fn accept_any_key(&self) {
        self.shared.lock().required_key = None;
    }

    /// Queues a fault for the next request that has none; faults are used in
    /// the order they were queued, one per request.
    pub fn push_fault(&self, fault: Fault) {
        self.shared.lock().faults.push_back(fault);
    }

    /// Queues `fault` for each of the next `n` requests (after any faults
    /// already queued).
    pub fn fail_next(&self, n: usize, fault: Fault) {
        let mut state = self.shared.lock();
        state.faults.extend(std::iter::repeat_n(fault, n));
    }

    /// How many queued faults have not been used yet.
    pub fn pending_faults(&self) -> usize {
        self.shared.lock().faults.len()
    }

    /// Drops every queued fault.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
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

    /// Stamps `updated_at` with `now` (truncated to whole seconds) instead of
    /// the system time; `None` goes back to the system time.
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
    /// their outcome (faults, errors and successes alike).
    pub fn hits(&self) -> usize {
        self.shared.lock().hits
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
            .field("requires_key", &state.required_key.is_some())
            .finish_non_exhaustive()
    }
}
