//! A scripted HTTP server on loopback for the client tests: it answers each
//! request with the next canned reply and records what it received.
//!
//! It runs on the test's own tokio runtime, so under
//! `#[tokio::test(start_paused = true)]` its delays use the paused clock.

#![allow(dead_code)]

use std::{
    collections::VecDeque,
    convert::Infallible,
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

pub const KEY: &str = "sk-or-v1-test-0123456789abcdef-SECRET";
pub const HASH: &str = "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943";

/// A body the API would send for a successful update
/// (`tests/fixtures/key_response.json`, shared with the fault server).
pub fn key_json() -> serde_json::Value {
    serde_json::from_str(include_str!("../fixtures/key_response.json")).unwrap()
}

#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub delay: Duration,
}

impl Reply {
    pub fn ok() -> Self {
        Self::json(200, key_json())
    }

    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self::raw(status, body.to_string()).header("content-type", "application/json")
    }

    pub fn error(status: u16, message: &str) -> Self {
        Self::json(
            status,
            serde_json::json!({"error": {"code": status, "message": message}}),
        )
    }

    pub fn raw(status: u16, body: impl Into<Bytes>) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Bytes,
    /// Time since the server started, on the tokio clock.
    pub at: Duration,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }
}

struct State {
    script: VecDeque<Reply>,
    /// Sent once the script runs out.
    fallback: Reply,
    received: Vec<Received>,
}

pub struct Server {
    pub base_url: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// Replies with `script` in order, then with `fallback` forever.
    pub async fn start(script: Vec<Reply>, fallback: Reply) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            script: script.into(),
            fallback,
            received: Vec::new(),
        }));
        let shared = state.clone();
        let started = tokio::time::Instant::now();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(answer(req, &state, started).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Server {
            base_url: format!("http://{addr}/api/v1"),
            state,
            task,
        }
    }

    pub async fn always(reply: Reply) -> Server {
        Self::start(Vec::new(), reply).await
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    pub fn hits(&self) -> usize {
        self.state.lock().unwrap().received.len()
    }
}

async fn answer(
    req: Request<Incoming>,
    state: &Mutex<State>,
    started: tokio::time::Instant,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let reply = {
        let mut state = state.lock().unwrap();
        state.received.push(Received {
            method: parts.method.to_string(),
            path: parts
                .uri
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            headers: parts
                .headers
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
                .collect(),
            body,
            at: started.elapsed(),
        });
        let fallback = state.fallback.clone();
        state.script.pop_front().unwrap_or(fallback)
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = Response::new(Full::new(reply.body));
    *response.status_mut() = hyper::StatusCode::from_u16(reply.status).unwrap();
    for (name, value) in reply.headers {
        response.headers_mut().append(
            hyper::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            hyper::header::HeaderValue::from_str(&value).unwrap(),
        );
    }
    response
}
