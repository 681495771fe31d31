#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod budget;
mod builder;
mod call;
mod client;
mod desired;
mod error;
mod inventory;
// The fake serves every operation; the client calls each by name.
#[cfg_attr(not(feature = "fake"), allow(dead_code))]
mod operation;
mod pace;
mod plan;
mod redact;
mod request;
mod retry;
mod secret;
mod store;
mod transport;
mod workflow;

#[cfg(feature = "fake")]
pub mod fake;

/// The code progenitor generates from `openapi.yaml` at build time (see
/// `build.rs`). Private: the crate re-exports what callers need by name.
#[allow(
    dead_code,
    unused_imports,
    unused_mut,
    missing_docs,
    clippy::all,
    clippy::pedantic
)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/codegen.rs"));
}

pub use budget::RetryBudget;
pub use builder::ClientBuilder;
pub use client::{
    API_KEY_ENV, Client, DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RESPONSE_BYTES,
};
pub use desired::{DesiredKey, DesiredKeys};
pub use error::{ApiErrorBody, Applied, Error, ErrorKind};
pub use plan::{Action, ApplyOptions, FieldChange, KeyChange, Plan};
pub use request::{KeyUpdate, LimitReset, ListOptions, NewKey, ParseLimitResetError, Patch};
pub use retry::{Resend, RetryConfig};
pub use secret::CreatedKey;
pub use store::{
    Change, FileStore, Intent, Rotation, RotationStage, SecretStore, StoreError, StoreState,
    StoredKey,
};
pub use workflow::{MAX_POSTS, Rotated};

/// An API key as the API describes it, returned by
/// [`Client::update_key`]. Generated from the `ApiKey` schema in
/// `openapi.yaml` (the key object of the list, get, create and update
/// answers); fields the spec marks nullable are `Option`s.
pub use generated::types::ApiKey;

/// The secret type [`Client::new`] and [`ClientBuilder::api_key`] accept
/// (a `String` or `&str` converts into it), and that holds a
/// [`CreatedKey`]'s secret.
pub use secrecy::{ExposeSecret, SecretString};

/// The key a client authenticates with, as [`Client::current_key`] returns
/// it: its limits, usage, and whether it is a management key.
pub use generated::types::GetCurrentKeyResponseData as CurrentKey;

/// The rate limit of a [`CurrentKey`] (its `rate_limit` field), as the API
/// describes it.
pub use generated::types::GetCurrentKeyResponseDataRateLimit as RateLimit;
