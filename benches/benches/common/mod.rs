//! Shared by the benches: the load generator's request loop and its
//! statistics (`load.rs`, which `examples/bench_update_key.rs` compiles
//! alone), the hand-written reqwest baseline, an in-process server that
//! answers like the API, and CPU-time readings. Each bench compiles this
//! file on its own, so not every item is used everywhere.

#![allow(dead_code)]

mod load;

pub use load::*;

use std::{convert::Infallible, time::Duration};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};

/// The key the benches send; the in-process server only checks its form.
pub const BENCH_KEY: &str = "sk-or-v1-bench-0000000000000000";

/// What both clients must send, byte for byte.
pub const REQUEST_BODY: &[u8] = br#"{"name":"bench","limit":75}"#;

/// What the API answers to a successful update (the 200 example of the
/// spec, on one line).
pub const RESPONSE_BODY: &str = concat!(
    r#"{"data":{"byok_usage":17.38,"byok_usage_daily":17.38,"byok_usage_monthly":17.38,"#,
    r#""byok_usage_weekly":17.38,"created_at":"2025-08-24T10:30:00Z","#,
    r#""creator_user_id":"user_2dHFtVWx2n56w6HkM0000000000","disabled":false,"#,
    r#""expires_at":null,"#,
    r#""hash":"f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943","#,
    r#""include_byok_in_limit":true,"label":"Updated API Key Name","limit":75,"#,
    r#""limit_remaining":49.5,"limit_reset":"daily","name":"Updated API Key Name","#,
    r#""updated_at":"2025-08-24T16:00:00Z","usage":25.5,"usage_daily":25.5,"#,
    r#""usage_monthly":25.5,"usage_weekly":25.5,"#,
    r#""workspace_id":"0df9e665-d932-5740-b2c7-b52af166bc11"}}"#
);

// ---- the hand-written baseline --------------------------------------------

/// The request body, as a hand-written client would declare it. The limit
/// is a JSON number so that `75` goes out as `75`, exactly like the crate.
#[derive(Serialize)]
pub struct BaselineUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<serde_json::Number>,
}

impl BaselineUpdate {
    pub fn bench() -> Self {
        BaselineUpdate {
            name: Some("bench".to_owned()),
            limit: Some(75.into()),
        }
    }
}

#[derive(Deserialize)]
pub struct BaselineEnvelope {
    pub data: BaselineKey,
}

/// The same fields, with the same types, as the crate's generated `ApiKey`.
#[derive(Deserialize, Debug)]
pub struct BaselineKey {
    pub byok_usage: f64,
    pub byok_usage_daily: f64,
    pub byok_usage_monthly: f64,
    pub byok_usage_weekly: f64,
    pub created_at: String,
    pub creator_user_id: Option<String>,
    pub disabled: bool,
    #[serde(default)]
    pub expires_at: Option<String>,
    pub hash: String,
    pub include_byok_in_limit: bool,
    pub label: String,
    pub limit: Option<f64>,
    pub limit_remaining: Option<f64>,
    pub limit_reset: Option<String>,
    pub name: String,
    pub updated_at: Option<String>,
    pub usage: f64,
    pub usage_daily: f64,
    pub usage_monthly: f64,
    pub usage_weekly: f64,
    pub workspace_id: String,
}

/// `PATCH {base}/keys/{hash}` with reqwest and serde and nothing else: the
/// same headers, timeouts and redirect policy as the crate's client, no
/// retries, no size cap.
pub struct Baseline {
    http: reqwest::Client,
    base: String,
    auth: reqwest::header::HeaderValue,
}

impl Baseline {
    pub fn new(base: &str, key: &str) -> Baseline {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("baseline/0")
            .build()
            .expect("a plain reqwest client builds");
        let mut auth = reqwest::header::HeaderValue::try_from(format!("Bearer {key}"))
            .expect("the key fits in a header");
        auth.set_sensitive(true);
        Baseline {
            http,
            base: base.trim_end_matches('/').to_owned(),
            auth,
        }
    }

    pub async fn update_key(
        &self,
        hash: &str,
        update: &BaselineUpdate,
    ) -> Result<BaselineKey, reqwest::Error> {
        let envelope: BaselineEnvelope = self
            .http
            .patch(format!("{}/keys/{hash}", self.base))
            .header(reqwest::header::AUTHORIZATION, self.auth.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .json(update)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(envelope.data)
    }
}

// ---- an in-process server -------------------------------------------------

/// A hyper server on its own thread and its own single-threaded runtime,
/// answering `PATCH /api/v1/keys/{HASH}` with [`RESPONSE_BODY`]. Anything
/// else (another method, path or body, no bearer key) gets a 400, so both
/// clients are held to the same request.
pub struct Server {
    pub base_url: String,
    /// The server thread's id, for reading its CPU time.
    pub tid: Option<u32>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// On a free loopback port.
    pub fn start() -> Server {
        Server::start_on("127.0.0.1:0")
    }

    /// On this address (a loopback one: see [`check_loopback`]).
    pub fn start_on(addr: &str) -> Server {
        let addr = addr.to_owned();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("bench-server".to_owned())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::bind(addr.as_str())
                        .await
                        .expect("the address is free");
                    let addr = listener.local_addr().expect("an address");
                    ready_tx
                        .send((format!("http://{addr}/api/v1"), current_tid()))
                        .expect("the starter waits");
                    let accept = async {
                        loop {
                            let Ok((stream, _)) = listener.accept().await else {
                                continue;
                            };
                            let _ = stream.set_nodelay(true);
                            tokio::spawn(async move {
                                let _ = http1::Builder::new()
                                    .serve_connection(TokioIo::new(stream), service_fn(answer))
                                    .await;
                            });
                        }
                    };
                    tokio::select! {
                        () = accept => {}
                        _ = stop_rx => {}
                    }
                });
            })
            .expect("a server thread");
        let (base_url, tid) = ready_rx.recv().expect("the server starts");
        Server {
            base_url,
            tid,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// CPU time the server thread has used so far, when it can be read.
    pub fn cpu(&self) -> Option<Duration> {
        thread_cpu(self.tid?)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path_ok = parts
        .uri
        .path()
        .strip_prefix("/api/v1/keys/")
        .is_some_and(|hash| hash == HASH);
    let auth_ok = parts
        .headers
        .get(hyper::header::AUTHORIZATION)
        .is_some_and(|v| v.len() > 7 && v.as_bytes().starts_with(b"Bearer "));
    let ok = parts.method == hyper::Method::PATCH && path_ok && auth_ok && body == REQUEST_BODY;
    let mut response = if ok {
        Response::new(Full::new(Bytes::from_static(RESPONSE_BODY.as_bytes())))
    } else {
        let mut r = Response::new(Full::new(Bytes::from_static(
            br#"{"error":{"code":400,"message":"not the bench request"}}"#,
        )));
        *r.status_mut() = hyper::StatusCode::BAD_REQUEST;
        r
    };
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

// ---- CPU time -------------------------------------------------------------

/// The calling thread's id (Linux), for [`thread_cpu`].
pub fn current_tid() -> Option<u32> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// Pins a thread of this process to one CPU with `taskset` (util-linux),
/// when there is one; returns whether it worked.
pub fn pin(tid: u32, cpu: usize) -> bool {
    std::process::Command::new("taskset")
        .args(["-p", "-c", &cpu.to_string(), &tid.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// CPU time (user and system) a thread of this process has used, from the
/// scheduler's own nanosecond count (Linux).
pub fn thread_cpu(tid: u32) -> Option<Duration> {
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
    let ns = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// CPU time (user and system) the whole process has used, in clock ticks
/// of 10 ms (Linux).
pub fn process_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}
