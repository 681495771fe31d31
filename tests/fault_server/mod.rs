//! A misbehaving HTTP/1.1 server on loopback, written on a raw tokio
//! `TcpListener` so that it can do what a well-behaved server library never
//! would: close or reset a connection at any byte, stall, trickle, lie about
//! the body's length, send malformed HTTP, or stream a body far beyond any
//! sane size without ever holding it in memory.
//!
//! Each accepted connection plays one [`Script`] (the next one queued, then
//! the fallback forever), a list of [`Step`]s. The server counts the
//! connections it accepted and the requests it read, and records every
//! request as it arrived (request line, headers, body).
//!
//! The API key, the hash and the bodies it answers with come from
//! `tests/common/`, so a test binary that uses it declares `mod common;`
//! too.
//!
//! It runs on the test's own tokio runtime, so under a paused clock its
//! sleeps use the paused clock too. Every loop in it is bounded: reads are
//! capped, streams stop at their length or at the first failed write, and
//! all its tasks end when the [`FaultServer`] is dropped.

#![allow(dead_code)]

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinSet,
};

use crate::common::{error_body, success_body};

/// The largest request head the server reads before giving up on it.
const MAX_HEAD: usize = 64 * 1024;
/// The largest request body the server reads.
const MAX_BODY: usize = 1 << 20;
/// Filler for streamed bodies: one static buffer, written again and again.
static FILLER: [u8; 64 * 1024] = [b'x'; 64 * 1024];

/// One thing the server does on a connection.
#[derive(Clone, Debug)]
pub enum Step {
    /// Read one request (head, then a body of its `Content-Length`) and
    /// record it. The script ends here if the client goes away first.
    ReadRequest,
    /// Write these bytes. The script ends if the write fails.
    Write(Bytes),
    /// Write these bytes one at a time, pausing before each.
    Trickle(Bytes, Duration),
    /// Do nothing for this long.
    Sleep(Duration),
    /// Write `len` filler bytes as they are generated, in 64 KiB pieces,
    /// each as an HTTP chunk when `chunked`. Stops at the first failed write.
    Stream { len: u64, chunked: bool },
    /// Write these bytes this many times over. Stops at the first failed
    /// write.
    Repeat(Bytes, u64),
    /// Write header lines (`x-filler-N: xxx…`) until `len` bytes are out or
    /// a write fails: a response head that never ends.
    EndlessHeaders { len: u64 },
    /// Reset the connection: `SO_LINGER` 0, then close, so the peer gets an
    /// RST instead of a FIN. Ends the script.
    Reset,
    /// Close the connection normally (FIN). Ends the script; a script that
    /// runs out of steps closes the same way.
    Close,
}

/// What the server does with one connection.
pub type Script = Vec<Step>;

/// A request as the server read it off the wire.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    /// The request target exactly as sent (percent-encoding untouched).
    pub target: String,
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

#[derive(Default)]
struct State {
    scripts: VecDeque<Script>,
    fallback: Script,
    connections: usize,
    received: Vec<Received>,
}

pub struct FaultServer {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT/api/v1`, the base URL to give the client.
    pub base_url: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every
        // connection task with it.
        self.task.abort();
    }
}

impl FaultServer {
    /// Plays `scripts` on the first connections, in order, then `fallback`
    /// on every later one.
    pub async fn start(scripts: Vec<Script>, fallback: Script) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            scripts: scripts.into(),
            fallback,
            ..State::default()
        }));
        let shared = state.clone();
        let started = tokio::time::Instant::now();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { return };
                        let script = {
                            let mut state = shared.lock().unwrap();
                            state.connections += 1;
                            let fallback = state.fallback.clone();
                            state.scripts.pop_front().unwrap_or(fallback)
                        };
                        let state = shared.clone();
                        connections.spawn(play(stream, script, state, started));
                    }
                    // Reap finished connections so the set stays small.
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        FaultServer {
            addr,
            base_url: format!("http://{addr}/api/v1"),
            state,
            task,
        }
    }

    /// Plays `script` on every connection.
    pub async fn always(script: Script) -> FaultServer {
        Self::start(Vec::new(), script).await
    }

    /// Plays `script` on every connection from now on, instead of what was
    /// queued: one server (and one client) can then serve many cases.
    pub fn replay(&self, script: Script) {
        let mut state = self.state.lock().unwrap();
        state.scripts.clear();
        state.fallback = script;
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.state.lock().unwrap().connections
    }

    /// Requests read so far.
    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().received.len()
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }
}

/// A base URL on a port where nothing listens: bound, then closed again, so
/// that connecting is refused at once.
pub fn dead_base_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/api/v1")
}

/// A listener whose accept queue is full and never drained: one connection
/// sits in it, so the kernel drops every further SYN and a client's connect
/// hangs until its connect timeout. Keep the returned values alive.
pub fn full_backlog() -> (TcpListener, std::net::TcpStream, String) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let filler = std::net::TcpStream::connect(addr).unwrap();
    (listener, filler, format!("http://{addr}/api/v1"))
}

async fn play(
    mut stream: TcpStream,
    script: Script,
    state: Arc<Mutex<State>>,
    started: tokio::time::Instant,
) {
    for step in script {
        match step {
            Step::ReadRequest => match read_request(&mut stream, started).await {
                Some(request) => state.lock().unwrap().received.push(request),
                None => return,
            },
            Step::Write(bytes) => {
                if stream.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            Step::Trickle(bytes, pause) => {
                for byte in bytes.iter() {
                    tokio::time::sleep(pause).await;
                    if stream.write_all(&[*byte]).await.is_err() {
                        return;
                    }
                }
            }
            Step::Sleep(duration) => tokio::time::sleep(duration).await,
            Step::Stream { len, chunked } => {
                if stream_filler(&mut stream, len, chunked).await.is_err() {
                    return;
                }
            }
            Step::Repeat(bytes, times) => {
                for _ in 0..times {
                    if stream.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
            }
            Step::EndlessHeaders { len } => {
                let mut sent = 0u64;
                let mut n = 0u64;
                while sent < len {
                    let line = format!("x-filler-{n}: {}\r\n", "x".repeat(100));
                    if stream.write_all(line.as_bytes()).await.is_err() {
                        return;
                    }
                    sent += line.len() as u64;
                    n += 1;
                }
            }
            Step::Reset => {
                let _ = stream.set_zero_linger();
                drop(stream);
                return;
            }
            Step::Close => break,
        }
    }
    let _ = stream.shutdown().await;
}

async fn stream_filler(stream: &mut TcpStream, len: u64, chunked: bool) -> std::io::Result<()> {
    let mut left = len;
    while left > 0 {
        let n = left.min(FILLER.len() as u64) as usize;
        if chunked {
            stream.write_all(format!("{n:x}\r\n").as_bytes()).await?;
        }
        stream.write_all(&FILLER[..n]).await?;
        if chunked {
            stream.write_all(b"\r\n").await?;
        }
        left -= n as u64;
    }
    if chunked {
        stream.write_all(b"0\r\n\r\n").await?;
    }
    Ok(())
}

/// Reads one request; `None` if the client closed first or sent something
/// that is not an HTTP/1.1 request head within the size cap.
async fn read_request(stream: &mut TcpStream, started: tokio::time::Instant) -> Option<Received> {
    let mut buf = Vec::with_capacity(4096);
    let head_end = loop {
        if let Some(at) = find(&buf, b"\r\n\r\n") {
            break at;
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.splitn(3, ' ');
    let method = request_line.next()?.to_owned();
    let target = request_line.next()?.to_owned();
    let headers: Vec<(String, Vec<u8>)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().as_bytes().to_vec()))
        .collect();
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_BODY);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Some(Received {
        method,
        target,
        headers,
        body: body.into(),
        at: started.elapsed(),
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

// ---- building responses ------------------------------------------------------

/// A complete response with a `Content-Length` and `Connection: close`, so
/// that the client never reuses the connection and every attempt is a new
/// one the server can count.
pub fn response(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Bytes {
    let mut out = head(status, headers);
    // Replace the blank line `head` ends with: add the length first.
    out.truncate(out.len() - 2);
    out.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out.into()
}

/// A status line and headers (plus `Connection: close`) and the blank line,
/// with no body framing of its own.
pub fn head(status: u16, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status)).into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(b"connection: close\r\n\r\n");
    out
}

fn reason(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Whatever")
}

/// 200 with the updated key.
pub fn ok() -> Bytes {
    response(
        200,
        &[("content-type", "application/json")],
        success_body().as_bytes(),
    )
}

/// An error status with the API's error envelope.
pub fn api_error(status: u16, message: &str) -> Bytes {
    response(
        status,
        &[("content-type", "application/json")],
        error_body(status, message).as_bytes(),
    )
}

/// The usual script: read the request, answer with `bytes`, close.
pub fn answer(bytes: Bytes) -> Script {
    vec![Step::ReadRequest, Step::Write(bytes)]
}

/// Captures everything logged at TRACE, per thread: the `tracing` events of
/// this crate and its dependencies, and `log` records (reqwest's) turned
/// into events. Each thread writes to its own buffer, so a test on a
/// current-thread runtime sees exactly its own lines.
pub mod logs {
    use std::{cell::RefCell, io, sync::Once};

    thread_local! {
        static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }

    struct ThreadBuffer;

    impl io::Write for ThreadBuffer {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            BUFFER.with(|b| b.borrow_mut().extend_from_slice(bytes));
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Installs the capturing subscriber for the whole test binary, once.
    pub fn install() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
                .with_ansi(false)
                .with_writer(|| ThreadBuffer)
                .try_init()
                .expect("no other subscriber is installed in a test binary");
        });
    }

    /// What this thread logged since the last call.
    pub fn take() -> String {
        BUFFER.with(|b| String::from_utf8_lossy(&std::mem::take(&mut *b.borrow_mut())).into_owned())
    }
}
