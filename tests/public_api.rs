//! What a crate that depends on this one can do with its public types, as
//! such a crate (an integration test links the library like any user).

mod common;
mod fault_server;

use std::error::Error as _;

use common::{HASH, KEY, success_json};
use openrouter_keys::{ApiKey, Client, ErrorKind, LimitReset, RetryConfig};

#[test]
fn limit_reset_all_is_a_slice_of_every_value() {
    let all: &[LimitReset] = LimitReset::ALL;
    let names: Vec<_> = all.iter().map(|reset| reset.as_str()).collect();
    assert_eq!(names, ["daily", "weekly", "monthly"]);
    for reset in all {
        assert_eq!(reset.as_str().parse::<LimitReset>().unwrap(), *reset);
    }
    let error = "yearly".parse::<LimitReset>().unwrap_err();
    assert_eq!(
        error.to_string(),
        "`yearly` is not a limit reset; expected daily, weekly or monthly"
    );
}

#[test]
fn api_keys_compare_with_eq() {
    let a: ApiKey = serde_json::from_value(success_json()["data"].clone()).unwrap();
    let mut other = success_json()["data"].clone();
    other["name"] = "another".into();
    let b: ApiKey = serde_json::from_value(other).unwrap();
    assert_eq!(a, a.clone());
    assert_ne!(a, b);
}

#[tokio::test]
async fn the_transport_error_is_the_source() {
    let error = common::client(&fault_server::dead_base_url(), RetryConfig::disabled())
        .get_key(HASH)
        .await
        .unwrap_err();
    assert!(error.kind() == ErrorKind::Connection, "{error:?}");
    let source = error.source().expect("a source");
    let reqwest = source
        .downcast_ref::<reqwest::Error>()
        .expect("the source is reqwest's error");
    assert!(reqwest.is_connect());
}

#[test]
fn a_callers_own_reqwest_client_takes_an_https_url() {
    let client = Client::builder()
        .api_key(KEY)
        .base_url("https://openrouter.example/api/v1")
        .http_client(reqwest::Client::new())
        .build()
        .expect("a caller's client brings its own TLS");
    assert_eq!(client.base_url(), "https://openrouter.example/api/v1");
}
