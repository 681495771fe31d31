//! The fault-scenario table: what the client does when the network or the
//! server misbehaves, one row per fault.
//!
//! Every row says in words what a user would expect. The runner makes the
//! row's call once and holds it to each promise below with a check of its
//! own (the name in brackets, see `CHECKS`), so a failing row names the
//! promises it broke:
//!
//! - [outcome] the exact outcome: success, or which `Error` variant with
//!   which `applied()` and status;
//! - [attempts] how many attempts the error reports, and [server-counts]
//!   how many connections and requests the fault server saw;
//! - [log-events] that the client logged one debug event per attempt;
//! - [timing] how long the call took, within an upper (and sometimes a
//!   lower) bound: on tokio's paused clock where the fault allows it, else
//!   in real time with bounds generous enough for a loaded 2-core machine;
//! - [no-panic] that nothing panicked;
//! - [heap] that the heap's peak during the row stayed under a bound that
//!   does not grow with what the server sends (a counting global
//!   allocator);
//! - [key-never-shown] that the API key is in no error text (`Display`,
//!   `Debug`) and in no log line (everything at TRACE, reqwest's `log`
//!   records included);
//! - [message] that the error says what the row says it says, and
//!   [applied-in-message] that `Display` says "may have been applied"
//!   exactly when `applied()` is `Maybe`, and "was applied" when it is
//!   `Yes`;
//! - [no-redirect] that no redirect was followed: a bystander server, the
//!   target of every redirect, must see no connection at all;
//! - [row-check] any further check the row adds.
//!
//! Rows run one after another on their own runtime. Run one row alone with
//! `FAULT_SCENARIO=<name> cargo test --test faults -- --nocapture`; add
//! `FAULT_LOG=1` to see everything it logged.

mod common;
mod fault_server;

use std::time::Duration;

use bytes::Bytes;
use common::{HASH, KEY, Kind, outcome, success_body};
use fault_server::{
    FaultServer, Script, Step, answer, api_error, dead_base_url, full_backlog, head, logs, ok,
    response,
};
use openrouter_keys::{
    ApiKey, Applied, Client, ClientBuilder, Error, KeyUpdate, Resend, RetryConfig,
};
use peak_alloc::PeakAlloc;

/// Counts live heap bytes and their peak, for the memory bounds.
#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;
/// The body size of the huge-body rows: far beyond any cap, never held.
const HUGE: u64 = 512 * MIB as u64;

#[derive(Clone, Copy, Debug)]
enum Expect {
    /// The call returns the updated key.
    Ok,
    /// The call fails with this variant, `applied()` and `status()`.
    Err(Kind, Applied, Option<u16>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Clock {
    /// tokio's paused clock: waits and timeouts take no real time.
    Paused,
    /// The real clock, for rows that move a lot of bytes.
    Real,
}

/// Where the client is pointed.
enum Serve {
    /// A port nothing listens on.
    DeadPort,
    /// A listener whose accept queue is full: connecting hangs.
    FullBacklog,
    /// A fault server playing these scripts on its first connections, then
    /// the fallback on every later one.
    Scripts(Vec<Script>, Script),
}

fn always(script: Script) -> Serve {
    Serve::Scripts(Vec::new(), script)
}

/// What a row may refer to when it builds its scripts.
struct Rig {
    /// A server that must never be contacted: the target of redirects.
    bystander: std::net::SocketAddr,
}

type ServeFn = Box<dyn Fn(&Rig) -> Serve>;
type ConfigureFn = Box<dyn Fn(ClientBuilder) -> ClientBuilder>;
type CheckFn = fn(&Result<ApiKey, Error>) -> Result<(), String>;

struct Row {
    name: &'static str,
    /// What a user would expect, in words.
    promise: &'static str,
    clock: Clock,
    serve: ServeFn,
    configure: ConfigureFn,
    expect: Expect,
    /// Attempts the client makes (`Error::attempts`, and debug events).
    attempts: u32,
    /// Connections the server accepts; `None`: one per attempt.
    connections: Option<usize>,
    /// Requests the server reads in full; `None`: one per attempt.
    requests: Option<usize>,
    /// The call ends within this long...
    within: Duration,
    /// ...and not before this long.
    not_before: Duration,
    /// Text the error's `Display` must contain.
    says: Vec<&'static str>,
    /// The bound on the heap's growth during the row.
    peak: usize,
    /// Point the client at the server with `https://`.
    https: bool,
    /// A further check on the result.
    check: Option<CheckFn>,
}

fn row(name: &'static str, promise: &'static str) -> Row {
    Row {
        name,
        promise,
        clock: Clock::Paused,
        serve: Box::new(|_| always(answer(ok()))),
        configure: Box::new(|b| b),
        expect: Expect::Ok,
        attempts: 1,
        connections: None,
        requests: None,
        within: Duration::from_millis(100),
        not_before: Duration::ZERO,
        says: Vec::new(),
        peak: 4 * MIB,
        https: false,
        check: None,
    }
}

impl Row {
    fn serve(mut self, serve: impl Fn(&Rig) -> Serve + 'static) -> Self {
        self.serve = Box::new(serve);
        self
    }
    fn configure(mut self, configure: impl Fn(ClientBuilder) -> ClientBuilder + 'static) -> Self {
        self.configure = Box::new(configure);
        self
    }
    fn fails(mut self, kind: Kind, applied: Applied, status: Option<u16>) -> Self {
        self.expect = Expect::Err(kind, applied, status);
        self
    }
    fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts;
        self
    }
    fn server_saw(mut self, connections: usize, requests: usize) -> Self {
        self.connections = Some(connections);
        self.requests = Some(requests);
        self
    }
    fn within(mut self, within: Duration) -> Self {
        self.within = within;
        self
    }
    fn not_before(mut self, not_before: Duration) -> Self {
        self.not_before = not_before;
        self
    }
    fn says(mut self, text: &'static str) -> Self {
        self.says.push(text);
        self
    }
    fn real_clock(mut self) -> Self {
        self.clock = Clock::Real;
        self
    }
    fn https(mut self) -> Self {
        self.https = true;
        self
    }
    fn peak(mut self, bytes: usize) -> Self {
        self.peak = bytes;
        self
    }
    fn check(mut self, check: CheckFn) -> Self {
        self.check = Some(check);
        self
    }
}

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn secs(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

/// The standard policy's three waits, each cut by at most a quarter:
/// 0.5 + 1 + 2 s at most, 0.375 + 0.75 + 1.5 s at least.
const THREE_WAITS_MAX: Duration = Duration::from_millis(3500);
const THREE_WAITS_MIN: Duration = Duration::from_millis(2625);
/// Slack on paused-clock upper bounds, for the odd millisecond of
/// auto-advance around real I/O.
const SLACK: Duration = Duration::from_millis(50);

fn write(bytes: impl Into<Bytes>) -> Step {
    Step::Write(bytes.into())
}

/// A success head announcing `len` body bytes.
fn head_200_with_length(len: usize) -> Vec<u8> {
    let mut out = head(200, &[("content-type", "application/json")]);
    out.truncate(out.len() - 2);
    out.extend_from_slice(format!("content-length: {len}\r\n\r\n").as_bytes());
    out
}

fn head_with(status: u16, extra: &str) -> Vec<u8> {
    let mut out = head(status, &[("content-type", "application/json")]);
    out.truncate(out.len() - 2);
    out.extend_from_slice(extra.as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

fn rows() -> Vec<Row> {
    vec![
        // ---- refused, closed, reset ----------------------------------------
        row(
            "connection_refused",
            "Nothing listens: nothing was sent, so nothing was applied. Connection \
             failures are retried; after 4 attempts and the standard waits the call \
             reports Connection.",
        )
        .serve(|_| Serve::DeadPort)
        .fails(Kind::Connection, Applied::No, None)
        .attempts(4)
        .server_saw(0, 0)
        .not_before(THREE_WAITS_MIN)
        .within(THREE_WAITS_MAX + SLACK),
        row(
            "connection_refused_not_retried",
            "With connection failures not retried, one refused connection ends the \
             call at once.",
        )
        .serve(|_| Serve::DeadPort)
        .configure(|b| b.retry(RetryConfig::standard().with_resend(Resend::Never)))
        .fails(Kind::Connection, Applied::No, None)
        .server_saw(0, 0),
        row(
            "connect_timeout",
            "The server's accept queue is full, so connecting hangs: each attempt \
             ends at the 1 s connect timeout; nothing was sent, so nothing was \
             applied; retried like any connection failure; Timeout after 4 \
             attempts.",
        )
        .serve(|_| Serve::FullBacklog)
        .configure(|b| b.connect_timeout(secs(1)))
        .fails(Kind::Timeout, Applied::No, None)
        .attempts(4)
        .server_saw(0, 0)
        .not_before(secs(4) + THREE_WAITS_MIN)
        .within(secs(4) + THREE_WAITS_MAX + SLACK),
        row(
            "connect_hangs_past_the_attempt_timeout",
            "Connecting hangs with a 1 s attempt timeout and the default 5 s connect \
             timeout: the client holds the connect timeout to nine tenths of the \
             attempt timeout, so it fires first and says which phase it cut: \
             Timeout, nothing was sent, retried as a connection failure.",
        )
        .serve(|_| Serve::FullBacklog)
        .configure(|b| b.timeout(secs(1)))
        .fails(Kind::Timeout, Applied::No, None)
        .attempts(4)
        .server_saw(0, 0)
        .not_before(ms(3600) + THREE_WAITS_MIN)
        .within(ms(3600) + THREE_WAITS_MAX + SLACK),
        row(
            "closed_on_accept",
            "The server accepts and closes at once, before reading: the client cannot \
             tell whether the request got through, so it says the update may have been \
             applied, and (the PATCH being absolute) retries.",
        )
        .serve(|_| always(vec![Step::Close]))
        .fails(Kind::Connection, Applied::Maybe, None)
        .attempts(4)
        .server_saw(4, 0)
        .not_before(THREE_WAITS_MIN)
        .within(THREE_WAITS_MAX + SLACK)
        .says("may have been applied"),
        row(
            "closed_after_request",
            "The server reads the PATCH and closes without answering: the outcome is \
             unknown, the error says it may have been applied, and it is retried.",
        )
        .serve(|_| always(vec![Step::ReadRequest, Step::Close]))
        .fails(Kind::Connection, Applied::Maybe, None)
        .attempts(4)
        .not_before(THREE_WAITS_MIN)
        .within(THREE_WAITS_MAX + SLACK)
        .says("may have been applied")
        .says("broke before the answer arrived"),
        row(
            "closed_after_request_unknown_outcome_not_retried",
            "The same, with with_resend(Resend::IfUnsent): one attempt, and the \
             error says the update may have been applied.",
        )
        .serve(|_| always(vec![Step::ReadRequest, Step::Close]))
        .configure(|b| b.retry(RetryConfig::standard().with_resend(Resend::IfUnsent)))
        .fails(Kind::Connection, Applied::Maybe, None)
        .says("may have been applied"),
        row(
            "reset_after_request",
            "The server reads the PATCH and resets the connection: outcome unknown, \
             may have been applied, retried.",
        )
        .serve(|_| always(vec![Step::ReadRequest, Step::Reset]))
        .fails(Kind::Connection, Applied::Maybe, None)
        .attempts(4)
        .not_before(THREE_WAITS_MIN)
        .within(THREE_WAITS_MAX + SLACK)
        .says("may have been applied")
        .says("broke before the answer arrived"),
        row(
            "reset_after_request_unknown_outcome_not_retried",
            "The same, with with_resend(Resend::IfUnsent): one attempt, may have \
             been applied.",
        )
        .serve(|_| always(vec![Step::ReadRequest, Step::Reset]))
        .configure(|b| b.retry(RetryConfig::standard().with_resend(Resend::IfUnsent)))
        .fails(Kind::Connection, Applied::Maybe, None)
        .says("may have been applied"),
        row(
            "reset_twice_then_success",
            "Two resets after the request, then a good answer: the call succeeds on \
             the third attempt, after two waits.",
        )
        .serve(|_| {
            Serve::Scripts(
                vec![
                    vec![Step::ReadRequest, Step::Reset],
                    vec![Step::ReadRequest, Step::Reset],
                ],
                answer(ok()),
            )
        })
        .attempts(3)
        .not_before(ms(375 + 750))
        .within(ms(500 + 1000) + SLACK),
        row(
            "reset_mid_headers",
            "The connection is reset halfway through the response head: no status \
             arrived, so the outcome is unknown; retried, then Connection, may have \
             been applied.",
        )
        .serve(|_| {
            always(vec![
                Step::ReadRequest,
                write("HTTP/1.1 200 OK\r\ncontent-ty"),
                Step::Sleep(ms(20)),
                Step::Reset,
            ])
        })
        .fails(Kind::Connection, Applied::Maybe, None)
        .attempts(4)
        .not_before(THREE_WAITS_MIN)
        .within(THREE_WAITS_MAX + ms(80) + SLACK)
        .says("may have been applied"),
        row(
            "reset_mid_body_of_a_success",
            "A 200 head arrives, then the connection is reset mid-body: the server \
             said success, so the update was applied; that is not retried, and the \
             error says it was applied.",
        )
        .serve(|_| {
            let mut bytes = head_200_with_length(2000);
            bytes.extend_from_slice(&success_body().as_bytes()[..100]);
            always(vec![Step::ReadRequest, write(bytes), Step::Sleep(ms(20)), Step::Reset])
        })
        .fails(Kind::Connection, Applied::Yes, None)
        .says("was applied")
        .within(ms(20) + SLACK),
        row(
            "reset_mid_body_of_a_503",
            "A 503 head arrives, then a reset mid-body: the server refused, nothing \
             was applied; 503 is retried, and after 4 attempts the call reports the \
             broken connection with applied No.",
        )
        .serve(|_| {
            let mut bytes = head_with(503, "content-length: 2000\r\n");
            bytes.extend_from_slice(b"{\"error\":{\"code\":503,");
            always(vec![Step::ReadRequest, write(bytes), Step::Sleep(ms(20)), Step::Reset])
        })
        .fails(Kind::Connection, Applied::No, None)
        .attempts(4)
        .not_before(THREE_WAITS_MIN)
        .within(THREE_WAITS_MAX + ms(80) + SLACK),
        // ---- stalls and trickles ---------------------------------------------
        row(
            "stall_before_headers",
            "The server reads the PATCH and never answers: each attempt times out \
             after the 1 s attempt timeout; retried; Timeout, may have been applied, \
             within 4 timeouts plus the waits.",
        )
        .serve(|_| always(vec![Step::ReadRequest, Step::Sleep(secs(600))]))
        .configure(|b| b.timeout(secs(1)))
        .fails(Kind::Timeout, Applied::Maybe, None)
        .attempts(4)
        .not_before(secs(4) + THREE_WAITS_MIN)
        .within(secs(4) + THREE_WAITS_MAX + SLACK)
        .says("may have been applied"),
        row(
            "stall_before_headers_unknown_outcome_not_retried",
            "The same, with with_resend(Resend::IfUnsent): one attempt, a Timeout \
             after 1 s that says the update may have been applied.",
        )
        .serve(|_| always(vec![Step::ReadRequest, Step::Sleep(secs(600))]))
        .configure(|b| {
            b.timeout(secs(1))
                .retry(RetryConfig::standard().with_resend(Resend::IfUnsent))
        })
        .fails(Kind::Timeout, Applied::Maybe, None)
        .not_before(secs(1))
        .within(secs(1) + SLACK)
        .says("may have been applied"),
        row(
            "stall_longer_than_the_budget",
            "A 20 s attempt timeout under a 5 s budget: the attempt is cut to the \
             budget, so the call ends by 5 s.",
        )
        .serve(|_| always(vec![Step::ReadRequest, Step::Sleep(secs(600))]))
        .configure(|b| {
            b.timeout(secs(20))
                .retry(RetryConfig::standard().with_max_elapsed(secs(5)))
        })
        .fails(Kind::Timeout, Applied::Maybe, None)
        .not_before(secs(5))
        .within(secs(5) + SLACK),
        row(
            "silent_server_never_reads",
            "The server accepts and never reads or answers: like a stall, timed out \
             and retried; the server read no request.",
        )
        .serve(|_| always(vec![Step::Sleep(secs(600))]))
        .configure(|b| b.timeout(secs(1)))
        .fails(Kind::Timeout, Applied::Maybe, None)
        .attempts(4)
        .server_saw(4, 0)
        .not_before(secs(4) + THREE_WAITS_MIN)
        .within(secs(4) + THREE_WAITS_MAX + SLACK),
        row(
            "trickled_answer_within_the_timeout",
            "The whole answer (about 700 bytes) arrives one byte every 4 ms, about 3 s: \
             slow but inside the 10 s attempt timeout, so the call succeeds at once.",
        )
        .serve(|_| always(vec![Step::ReadRequest, Step::Trickle(ok(), ms(4))]))
        .not_before(secs(2))
        .within(secs(8)),
        row(
            "trickled_body_beyond_the_timeout",
            "A 200 head, then the body at one byte per 100 ms with a 2 s attempt \
             timeout: the timeout covers the body, the server said success, so \
             Timeout with the update applied, not retried.",
        )
        .serve(|_| {
            let body = success_body();
            let head = head_200_with_length(body.len());
            always(vec![
                Step::ReadRequest,
                write(head),
                Step::Trickle(Bytes::from(body), ms(100)),
            ])
        })
        .configure(|b| b.timeout(secs(2)))
        .fails(Kind::Timeout, Applied::Yes, None)
        .not_before(secs(2))
        .within(secs(2) + SLACK)
        .says("was applied"),
        row(
            "trickled_head_beyond_the_timeout",
            "The response head trickles at one byte per 100 ms, longer than the 1 s \
             attempt timeout: no status, Timeout, may have been applied, retried.",
        )
        .serve(|_| always(vec![Step::ReadRequest, Step::Trickle(ok(), ms(100))]))
        .configure(|b| b.timeout(secs(1)))
        .fails(Kind::Timeout, Applied::Maybe, None)
        .attempts(4)
        .not_before(secs(4) + THREE_WAITS_MIN)
        .within(secs(4) + THREE_WAITS_MAX + SLACK),
        // ---- short, malformed, undecodable ----------------------------------
        row(
            "truncated_body_of_a_success",
            "A 200 announcing 5000 bytes sends 100 and closes: the server said \
             success, so applied Yes; the broken body is a Connection error, not \
             retried.",
        )
        .serve(|_| {
            let mut bytes = head_200_with_length(5000);
            bytes.extend_from_slice(&success_body().as_bytes()[..100]);
            always(vec![Step::ReadRequest, write(bytes), Step::Close])
        })
        .fails(Kind::Connection, Applied::Yes, None)
        .says("was applied"),
        row(
            "truncated_body_of_a_503",
            "A 503 announcing 5000 bytes sends 20 and closes: nothing applied; 503 \
             is retried; Connection with applied No after 4 attempts.",
        )
        .serve(|_| {
            let mut bytes = head_with(503, "content-length: 5000\r\n");
            bytes.extend_from_slice(b"{\"error\":{\"code\":503");
            always(vec![Step::ReadRequest, write(bytes), Step::Close])
        })
        .fails(Kind::Connection, Applied::No, None)
        .attempts(4)
        .not_before(THREE_WAITS_MIN)
        .within(THREE_WAITS_MAX + SLACK),
        row(
            "malformed_status_line",
            "The status line is garbage (`HTTP/1.1 2OO OK`): no status could be read, \
             so the outcome is unknown; retried; Connection, may have been applied.",
        )
        .serve(|_| always(answer(Bytes::from_static(b"HTTP/1.1 2OO OK\r\ncontent-length: 2\r\n\r\n{}"))))
        .fails(Kind::Connection, Applied::Maybe, None)
        .attempts(4)
        .not_before(THREE_WAITS_MIN)
        .within(THREE_WAITS_MAX + SLACK),
        row(
            "not_http_at_all",
            "Something that is not an HTTP server answers (an SSH banner): as a \
             malformed response, Connection, may have been applied.",
        )
        .serve(|_| always(answer(Bytes::from_static(b"SSH-2.0-OpenSSH_9.6\r\n"))))
        .fails(Kind::Connection, Applied::Maybe, None)
        .attempts(4)
        .not_before(THREE_WAITS_MIN)
        .within(THREE_WAITS_MAX + SLACK),
        row(
            "malformed_header_line",
            "A header line without a colon: the head cannot be parsed; Connection, \
             may have been applied.",
        )
        .serve(|_| {
            always(answer(Bytes::from_static(
                b"HTTP/1.1 200 OK\r\nthis is no header\r\ncontent-length: 2\r\n\r\n{}",
            )))
        })
        .fails(Kind::Connection, Applied::Maybe, None)
        .attempts(4)
        .not_before(THREE_WAITS_MIN)
        .within(THREE_WAITS_MAX + SLACK),
        row(
            "endless_response_head",
            "After the status line, header lines never stop (64 MiB of them): the \
             client gives up at its head-size limit without buffering the rest; no \
             status was read, so Connection, may have been applied; memory bounded.",
        )
        .serve(|_| {
            always(vec![
                Step::ReadRequest,
                write("HTTP/1.1 200 OK\r\n"),
                Step::EndlessHeaders { len: 64 * MIB as u64 },
            ])
        })
        .real_clock()
        .configure(|b| b.retry(RetryConfig::disabled()))
        .fails(Kind::Connection, Applied::Maybe, None)
        .within(secs(20)),
        row(
            "bad_chunk_size",
            "A 200 with chunked framing whose chunk size is not hex: the server said \
             success, so applied Yes; the body error is not retried.",
        )
        .serve(|_| {
            let mut bytes = head_with(200, "transfer-encoding: chunked\r\n");
            bytes.extend_from_slice(b"zzzz\r\n{}\r\n0\r\n\r\n");
            always(answer(bytes.into()))
        })
        .fails(Kind::Connection, Applied::Yes, None)
        .says("was applied"),
        row(
            "chunk_size_overflow",
            "A chunk size beyond 64 bits: refused without allocating; applied Yes \
             (the status was 200), not retried.",
        )
        .serve(|_| {
            let mut bytes = head_with(200, "transfer-encoding: chunked\r\n");
            bytes.extend_from_slice(b"fffffffffffffffffffffff\r\n{}\r\n0\r\n\r\n");
            always(answer(bytes.into()))
        })
        .fails(Kind::Connection, Applied::Yes, None),
        row(
            "html_proxy_page_with_200",
            "A proxy answers 200 with an HTML page: the update was applied (as far \
             as the client can tell), the body cannot be decoded; Decode keeps the \
             raw page; not retried.",
        )
        .serve(|_| {
            always(answer(response(
                200,
                &[("content-type", "text/html")],
                b"<html><body><h1>Welcome to the captive portal</h1></body></html>",
            )))
        })
        .fails(Kind::Decode, Applied::Yes, Some(200))
        .says("the request was applied (HTTP 200)")
        .check(|r| match r {
            Err(e) if e.raw_body().is_some_and(|b| b.starts_with(b"<html>")) => Ok(()),
            other => Err(format!("raw body not kept: {other:?}")),
        }),
        row(
            "json_of_the_wrong_shape_with_200",
            "A 200 whose JSON is not the documented shape: Decode, applied Yes, \
             not retried.",
        )
        .serve(|_| {
            always(answer(response(
                200,
                &[("content-type", "application/json")],
                br#"{"data":{"id":17,"ok":true}}"#,
            )))
        })
        .fails(Kind::Decode, Applied::Yes, Some(200)),
        row(
            "empty_200",
            "A 200 with an empty body: Decode, applied Yes.",
        )
        .serve(|_| always(answer(response(200, &[], b""))))
        .fails(Kind::Decode, Applied::Yes, Some(200)),
        row(
            "no_content_204",
            "A 204 No Content: not the documented answer, but a success status, so \
             the update was applied; the error says so.",
        )
        .serve(|_| always(answer(Bytes::from_static(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n"))))
        .fails(Kind::Status, Applied::Yes, Some(204))
        .says("was applied"),
        row(
            "extra_bytes_after_the_body",
            "A 200 whose Content-Length covers the JSON, followed by junk: the junk is \
             not part of the answer; success.",
        )
        .serve(|_| {
            let mut bytes = ok().to_vec();
            bytes.extend_from_slice(b"garbage garbage garbage");
            always(answer(bytes.into()))
        }),
        row(
            "interim_100_continue_then_success",
            "An interim 100 Continue before the real 200: skipped; success.",
        )
        .serve(|_| {
            let mut bytes = b"HTTP/1.1 100 Continue\r\n\r\n".to_vec();
            bytes.extend_from_slice(&ok());
            always(answer(bytes.into()))
        }),
        row(
            "switching_protocols_101",
            "A 101 Switching Protocols nobody asked for: an unexpected status, \
             nothing applied, not retried.",
        )
        .serve(|_| {
            always(answer(Bytes::from_static(
                b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n",
            )))
        })
        .fails(Kind::Status, Applied::No, Some(101)),
        row(
            "http_1_0_answer_until_close",
            "An HTTP/1.0 answer with no length, ending when the server closes: a \
             valid way to frame a body; success.",
        )
        .serve(|_| {
            let mut bytes = b"HTTP/1.0 200 OK\r\ncontent-type: application/json\r\n\r\n".to_vec();
            bytes.extend_from_slice(success_body().as_bytes());
            always(answer(bytes.into()))
        }),
        row(
            "status_outside_the_registry",
            "A status of 599, which no standard names: an unexpected status, not \
             retried, nothing applied.",
        )
        .serve(|_| always(answer(response(599, &[], b"network connect timeout"))))
        .fails(Kind::Status, Applied::No, Some(599)),
        row(
            "conflicting_content_lengths",
            "Two different Content-Length headers (a smuggling pattern): the answer \
             cannot be trusted, no status is taken from it; Connection, may have \
             been applied.",
        )
        .serve(|_| {
            let mut bytes = head_with(200, "content-length: 2\r\ncontent-length: 7\r\n");
            bytes.extend_from_slice(b"{}");
            always(answer(bytes.into()))
        })
        .configure(|b| b.retry(RetryConfig::disabled()))
        .fails(Kind::Connection, Applied::Maybe, None),
        row(
            "answered_before_the_request_was_read",
            "The server answers 400 the moment it accepts, before reading anything, \
             then closes: the client still reads that answer; BadRequest, one \
             attempt.",
        )
        .serve(|_| {
            always(vec![
                write(api_error(400, "rejected on sight")),
                Step::Sleep(ms(50)),
                Step::Close,
            ])
        })
        .fails(Kind::BadRequest, Applied::No, Some(400))
        .server_saw(1, 0)
        .within(ms(50) + SLACK)
        .says("rejected on sight"),
        row(
            "keep_alive_connection_reused",
            "A 503 that keeps the connection open, then success on the same \
             connection: the retry reuses it; two requests, one connection.",
        )
        .serve(|_| {
            let busy = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n";
            Serve::Scripts(
                vec![vec![
                    Step::ReadRequest,
                    write(&busy[..]),
                    Step::ReadRequest,
                    write(ok()),
                ]],
                answer(ok()),
            )
        })
        .attempts(2)
        .server_saw(1, 2)
        .not_before(ms(375))
        .within(ms(500) + SLACK),
        row(
            "stale_keep_alive_connection",
            "A 503 that keeps the connection open, then the server closes it while \
             the client waits to retry: the retry goes out on a new connection and \
             succeeds.",
        )
        .serve(|_| {
            let busy = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n";
            Serve::Scripts(
                vec![vec![
                    Step::ReadRequest,
                    write(&busy[..]),
                    Step::Sleep(ms(100)),
                    Step::Close,
                ]],
                answer(ok()),
            )
        })
        .attempts(2)
        .server_saw(2, 2)
        .not_before(ms(375))
        .within(ms(500) + SLACK),
        row(
            "endless_interim_responses",
            "The server sends `100 Continue` over and over and never a final \
             answer: the attempt timeout (1 s) still ends the attempt; no status; \
             Timeout, may have been applied; memory bounded.",
        )
        .serve(|_| {
            always(vec![
                Step::ReadRequest,
                Step::Repeat(Bytes::from_static(b"HTTP/1.1 100 Continue\r\n\r\n"), 50_000_000),
            ])
        })
        .real_clock()
        .configure(|b| b.timeout(secs(1)).retry(RetryConfig::disabled()))
        .fails(Kind::Timeout, Applied::Maybe, None)
        .not_before(secs(1))
        .within(secs(10)),
        row(
            "plain_http_behind_an_https_url",
            "The base URL says https but the server speaks plain HTTP: the TLS \
             handshake fails before anything is sent; Connection, not applied, \
             retried like any connection failure.",
        )
        .serve(|_| {
            always(vec![
                write(response(400, &[], b"this is plain http")),
                Step::Sleep(ms(20)),
                Step::Close,
            ])
        })
        .https()
        .fails(Kind::Connection, Applied::No, None)
        .attempts(4)
        .server_saw(4, 0)
        .not_before(THREE_WAITS_MIN)
        .within(THREE_WAITS_MAX + ms(80) + SLACK),
        // ---- settings at their limits --------------------------------------
        row(
            "no_timeout_and_no_budget",
            "An attempt timeout and a budget of Duration::MAX (\"no limit\"): \
             nothing overflows; success.",
        )
        .configure(|b| {
            b.timeout(Duration::MAX)
                .connect_timeout(Duration::MAX)
                .retry(RetryConfig::standard().with_max_elapsed(Duration::MAX))
        }),
        row(
            "retry_after_of_u64_max_seconds_without_a_cap",
            "max_retry_after set to Duration::MAX (\"always honour the server\") and, \
             after 1.1 s, a 429 asking for 2^64-1 seconds under a 60 s budget: the \
             wait does not fit the budget, so the call ends with RateLimited as soon \
             as the answer arrives; no overflow, no panic.",
        )
        .serve(|_| {
            always(vec![
                Step::ReadRequest,
                Step::Sleep(ms(1100)),
                write(response(429, &[("retry-after", "18446744073709551615")], b"")),
            ])
        })
        .not_before(ms(1100))
        .within(ms(1100) + SLACK)
        .configure(|b| {
            b.retry(
                RetryConfig::standard()
                    .with_max_retry_after(Duration::MAX)
                    .with_max_elapsed(secs(60)),
            )
        })
        .fails(Kind::RateLimited, Applied::No, Some(429)),
        row(
            "backoff_without_a_cap",
            "max_interval Duration::MAX and a multiplier of 1e20: the second wait \
             would be astronomically long; it does not fit the 60 s budget, so the \
             call ends after 2 attempts; no panic.",
        )
        .serve(|_| always(answer(api_error(503, "down"))))
        .configure(|b| {
            b.retry(
                RetryConfig::standard()
                    .with_max_interval(Duration::MAX)
                    .with_multiplier(1e20)
                    .with_max_elapsed(secs(60)),
            )
        })
        .fails(Kind::Status, Applied::No, Some(503))
        .attempts(2)
        .not_before(ms(375))
        .within(ms(500) + SLACK),
        // ---- huge bodies -----------------------------------------------------
        row(
            "huge_chunked_body_with_200",
            "A 200 streams a 512 MiB chunked body: the client stops at the 1 MiB cap, \
             reports ResponseTooLarge (the update was applied), and its heap never \
             grows past a few MiB.",
        )
        .serve(|_| {
            always(vec![
                Step::ReadRequest,
                write(head_with(200, "transfer-encoding: chunked\r\n")),
                Step::Stream { len: HUGE, chunked: true },
            ])
        })
        .real_clock()
        .fails(Kind::ResponseTooLarge, Applied::Yes, Some(200))
        .says("the request was applied")
        .within(secs(20))
        .peak(8 * MIB),
        row(
            "huge_declared_body_with_200",
            "A 200 declares a 512 MiB Content-Length and starts streaming: the client \
             refuses on the header alone, without reading; ResponseTooLarge.",
        )
        .serve(|_| {
            always(vec![
                Step::ReadRequest,
                write(head_with(200, &format!("content-length: {HUGE}\r\n"))),
                Step::Stream { len: HUGE, chunked: false },
            ])
        })
        .real_clock()
        .fails(Kind::ResponseTooLarge, Applied::Yes, Some(200))
        .within(secs(20))
        .peak(8 * MIB),
        row(
            "huge_close_delimited_body_with_503",
            "A 503 with no length streams 512 MiB until it closes: the cap stops it; \
             ResponseTooLarge with status 503, nothing applied, not retried.",
        )
        .serve(|_| {
            always(vec![
                Step::ReadRequest,
                write(head(503, &[])),
                Step::Stream { len: HUGE, chunked: false },
            ])
        })
        .real_clock()
        .fails(Kind::ResponseTooLarge, Applied::No, Some(503))
        .within(secs(20))
        .peak(8 * MIB),
        row(
            "huge_body_under_a_raised_cap",
            "With the cap raised to 8 MiB, a 512 MiB body: the heap grows with the \
             cap, not with the body.",
        )
        .serve(|_| {
            always(vec![
                Step::ReadRequest,
                write(head_with(200, "transfer-encoding: chunked\r\n")),
                Step::Stream { len: HUGE, chunked: true },
            ])
        })
        .configure(|b| b.max_response_bytes(8 * MIB))
        .real_clock()
        .fails(Kind::ResponseTooLarge, Applied::Yes, Some(200))
        .within(secs(30))
        .peak(8 * MIB + 16 * MIB),
        row(
            "body_just_over_a_small_cap",
            "A 5000-byte error body under a 4 KiB cap: ResponseTooLarge with the \
             status, not retried even though 503 is.",
        )
        .serve(|_| always(answer(response(503, &[], &[b'x'; 5000]))))
        .configure(|b| b.max_response_bytes(4 * KIB))
        .fails(Kind::ResponseTooLarge, Applied::No, Some(503)),
        // ---- server hints ----------------------------------------------------
        row(
            "retry_after_beyond_max_retry_after",
            "429 with Retry-After: 3600: far beyond the 30 s the client will wait, so \
             it gives up at once with RateLimited and the server's hint.",
        )
        .serve(|_| always(answer(response(429, &[("retry-after", "3600")], b"slow down"))))
        .fails(Kind::RateLimited, Applied::No, Some(429))
        .says("3600.0 s")
        .check(|r| match r {
            Err(e) if e.retry_after() == Some(secs(3600)) => Ok(()),
            other => Err(format!("retry_after not kept: {other:?}")),
        }),
        row(
            "retry_after_date_in_year_9999",
            "503 with Retry-After as an HTTP date in year 9999: read, far too long, \
             so the call ends at once.",
        )
        .serve(|_| {
            always(answer(response(
                503,
                &[("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT")],
                b"",
            )))
        })
        .fails(Kind::Status, Applied::No, Some(503)),
        row(
            "retry_after_overflowing_number",
            "429 with a Retry-After too large for any integer: unreadable, so it is \
             ignored and the standard backoff applies; RateLimited after 4 attempts.",
        )
        .serve(|_| {
            always(answer(response(
                429,
                &[("retry-after", "99999999999999999999999999")],
                b"",
            )))
        })
        .fails(Kind::RateLimited, Applied::No, Some(429))
        .attempts(4)
        .not_before(THREE_WAITS_MIN)
        .within(THREE_WAITS_MAX + SLACK),
        row(
            "retry_after_invalid_then_success",
            "429 with Retry-After: soon (not a number or a date), then success: the \
             hint is ignored, the first backoff (0.375-0.5 s) applies, success on \
             attempt 2.",
        )
        .serve(|_| {
            Serve::Scripts(
                vec![answer(response(429, &[("retry-after", "soon")], b""))],
                answer(ok()),
            )
        })
        .attempts(2)
        .not_before(ms(375))
        .within(ms(500) + SLACK),
        row(
            "retry_after_ms_garbage_then_success",
            "429 with retry-after-ms: NaN and Retry-After: -1: both unreadable, \
             backoff applies, success on attempt 2.",
        )
        .serve(|_| {
            Serve::Scripts(
                vec![answer(response(
                    429,
                    &[("retry-after-ms", "NaN"), ("retry-after", "-1")],
                    b"",
                ))],
                answer(ok()),
            )
        })
        .attempts(2)
        .not_before(ms(375))
        .within(ms(500) + SLACK),
        row(
            "retry_after_honoured_then_success",
            "429 with Retry-After: 2, then success: the client waits the 2 s asked \
             (longer than its backoff), then succeeds.",
        )
        .serve(|_| {
            Serve::Scripts(
                vec![answer(response(429, &[("retry-after", "2")], b""))],
                answer(ok()),
            )
        })
        .attempts(2)
        .not_before(secs(2))
        .within(secs(2) + SLACK),
        // ---- redirects ---------------------------------------------------------
        row(
            "redirect_to_another_port",
            "307 to another port on the same host: not followed (the key would go \
             there); Status 307, nothing applied, the other server sees nothing.",
        )
        .serve(|rig| {
            let location = format!("http://{}/api/v1/keys/{HASH}", rig.bystander);
            always(answer(response(307, &[("location", &location)], b"")))
        })
        .fails(Kind::Status, Applied::No, Some(307)),
        row(
            "redirect_to_another_host",
            "308 to another loopback host: not followed; Status 308.",
        )
        .serve(|rig| {
            let location = format!("http://127.0.0.2:{}/api/v1/keys/{HASH}", rig.bystander.port());
            always(answer(response(308, &[("location", &location)], b"")))
        })
        .fails(Kind::Status, Applied::No, Some(308)),
        row(
            "redirect_to_itself",
            "302 back to the same URL: not followed, so no loop; Status 302.",
        )
        .serve(|_| {
            let location = format!("/api/v1/keys/{HASH}");
            always(answer(response(302, &[("location", &location)], b"")))
        })
        .fails(Kind::Status, Applied::No, Some(302)),
        // ---- persistent failure -------------------------------------------
        row(
            "service_unavailable_forever",
            "503 on every attempt: retried with the standard waits; after 4 attempts \
             Status 503, retryable, nothing applied.",
        )
        .serve(|_| always(answer(api_error(503, "down for maintenance"))))
        .fails(Kind::Status, Applied::No, Some(503))
        .attempts(4)
        .not_before(THREE_WAITS_MIN)
        .within(THREE_WAITS_MAX + SLACK)
        .says("down for maintenance")
        .check(|r| match r {
            Err(e) if e.is_retryable() => Ok(()),
            other => Err(format!("not retryable: {other:?}")),
        }),
        row(
            "service_unavailable_forever_with_many_attempts",
            "503 forever with 1000 attempts allowed and a 10 s budget: the budget, \
             not the attempt count, ends the call, within 10 s.",
        )
        .serve(|_| always(answer(api_error(503, "down"))))
        .configure(|b| {
            b.retry(
                RetryConfig::standard()
                    .with_max_attempts(1000)
                    .with_max_elapsed(secs(10)),
            )
        })
        .fails(Kind::Status, Applied::No, Some(503))
        // 0.5 + 1 + 2 + 4 s of waits at most, and the next 8 s (6 s after
        // jitter) no longer fits.
        .attempts(5)
        .not_before(ms(375 + 750 + 1500 + 3000))
        .within(secs(10)),
        row(
            "internal_error_then_success",
            "A 500 with the API's envelope, then success: retried once, success.",
        )
        .serve(|_| Serve::Scripts(vec![answer(api_error(500, "oops"))], answer(ok())))
        .attempts(2)
        .not_before(ms(375))
        .within(ms(500) + SLACK),
    ]
}

// ---- running a row -----------------------------------------------------------

/// What one row did: everything the checks look at.
struct Observed {
    result: Result<ApiKey, Error>,
    /// How long the call took, on the row's clock.
    elapsed: Duration,
    /// Connections the fault server accepted.
    connections: usize,
    /// Requests the fault server read in full.
    requests: usize,
    /// Connections the bystander (the target of every redirect) accepted.
    bystander: usize,
    /// How far the heap grew above its level before the row, at its peak.
    peak: usize,
    /// Everything logged at TRACE while the row ran.
    log: String,
}

/// Runs the row's call once, on a runtime of its own. `Err` if the call
/// panicked (or was cancelled), which is a broken promise of its own.
fn run(row: &Row) -> Result<Observed, String> {
    logs::install();
    let _ = logs::take();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(row.clock == Clock::Paused)
        .build()
        .unwrap();
    HEAP.reset_peak_usage();
    let baseline = HEAP.current_usage();

    let (joined, elapsed, (connections, requests), bystander) = runtime.block_on(async {
        let bystander = FaultServer::always(answer(ok())).await;
        let rig = Rig {
            bystander: bystander.addr,
        };
        let mut backlog = None;
        let (server, base_url) = match (row.serve)(&rig) {
            Serve::DeadPort => (None, dead_base_url()),
            Serve::FullBacklog => {
                let (listener, filler, url) = full_backlog();
                backlog = Some((listener, filler));
                (None, url)
            }
            Serve::Scripts(scripts, fallback) => {
                let server = FaultServer::start(scripts, fallback).await;
                let url = server.base_url.clone();
                (Some(server), url)
            }
        };
        let base_url = if row.https {
            base_url.replacen("http://", "https://", 1)
        } else {
            base_url
        };
        let client = (row.configure)(Client::builder().api_key(KEY).base_url(base_url))
            .build()
            .unwrap();
        let start = tokio::time::Instant::now();
        let joined = tokio::spawn(async move {
            client
                .update_key(HASH, &KeyUpdate::new().disabled(true))
                .await
        })
        .await;
        let elapsed = start.elapsed();
        let saw = server
            .as_ref()
            .map_or((0, 0), |s| (s.connections(), s.requests()));
        drop(backlog);
        (joined, elapsed, saw, bystander.connections())
    });
    drop(runtime);
    let peak = HEAP.peak_usage().saturating_sub(baseline);
    let log = logs::take();
    if std::env::var_os("FAULT_LOG").is_some() {
        println!("---- log of {}\n{log}----", row.name);
    }

    let result = joined.map_err(|error| format!("the call panicked or was cancelled: {error}"))?;
    Ok(Observed {
        result,
        elapsed,
        connections,
        requests,
        bystander,
        peak,
        log,
    })
}

// ---- the checks: one function per promise ------------------------------------

/// A check of one promise: `Err` says how the row broke it.
type Check = fn(&Row, &Observed) -> Result<(), String>;

/// Every promise each row is held to, by name. A failing row lists the
/// names of the promises it broke.
const CHECKS: &[(&str, Check)] = &[
    ("outcome", ends_as_expected),
    ("attempts", reports_its_attempts),
    ("server-counts", server_saw_the_attempts),
    ("log-events", logs_one_event_per_attempt),
    ("no-redirect", contacts_no_bystander),
    ("timing", ends_within_its_time_bounds),
    ("heap", heap_stays_bounded),
    ("message", message_says_what_the_row_says),
    ("applied-in-message", message_agrees_with_applied),
    ("key-never-shown", key_is_never_shown),
    ("row-check", passes_the_rows_own_check),
];

/// The call ends as the row says: success with the updated key, or the
/// expected variant with the expected `applied()` and `status()`.
fn ends_as_expected(row: &Row, seen: &Observed) -> Result<(), String> {
    match (&seen.result, row.expect) {
        (Ok(key), Expect::Ok) if key.hash == HASH => Ok(()),
        (Ok(key), Expect::Ok) => Err(format!("decoded the wrong key: {}", key.hash)),
        (Ok(_), Expect::Err(kind, ..)) => Err(format!("expected {kind:?}, but the call succeeded")),
        (Err(error), Expect::Ok) => Err(format!("expected success, got {error:?}")),
        (Err(error), Expect::Err(want_kind, want_applied, want_status)) => {
            let mut wrong = Vec::new();
            if error.kind() != want_kind {
                wrong.push(format!("expected {want_kind:?}, got {error:?}"));
            }
            if error.applied() != want_applied {
                wrong.push(format!(
                    "expected applied {want_applied:?}, got {:?}: {error}",
                    error.applied()
                ));
            }
            let status = error.status().map(|s| s.as_u16());
            if status != want_status {
                wrong.push(format!("expected status {want_status:?}, got {status:?}"));
            }
            if wrong.is_empty() {
                Ok(())
            } else {
                Err(wrong.join("; "))
            }
        }
    }
}

/// An error reports the attempts the client made.
fn reports_its_attempts(row: &Row, seen: &Observed) -> Result<(), String> {
    match &seen.result {
        Err(error) if error.attempts() != row.attempts => Err(format!(
            "expected {} attempts, the error says {}",
            row.attempts,
            error.attempts()
        )),
        _ => Ok(()),
    }
}

/// The server saw the connections and requests the attempts imply: by
/// default one of each per attempt.
fn server_saw_the_attempts(row: &Row, seen: &Observed) -> Result<(), String> {
    let want_connections = row.connections.unwrap_or(row.attempts as usize);
    let want_requests = row.requests.unwrap_or(row.attempts as usize);
    if (seen.connections, seen.requests) == (want_connections, want_requests) {
        Ok(())
    } else {
        Err(format!(
            "expected the server to see {want_connections} connections and \
             {want_requests} requests, it saw {} and {}",
            seen.connections, seen.requests
        ))
    }
}

/// The client logs one debug event per attempt.
fn logs_one_event_per_attempt(row: &Row, seen: &Observed) -> Result<(), String> {
    let logged = seen
        .log
        .lines()
        .filter(|line| {
            line.contains("attempt finished") || line.contains("attempt failed; retrying")
        })
        .count();
    if logged == row.attempts as usize {
        Ok(())
    } else {
        Err(format!(
            "expected {} attempt events in the log, found {logged}",
            row.attempts
        ))
    }
}

/// No redirect is followed: the bystander, the target of every redirect,
/// sees no connection.
fn contacts_no_bystander(_: &Row, seen: &Observed) -> Result<(), String> {
    match seen.bystander {
        0 => Ok(()),
        n => Err(format!("the bystander server was contacted {n} times")),
    }
}

/// The call ends within the row's upper bound, and not before its lower
/// one (the waits asked for were honoured).
fn ends_within_its_time_bounds(row: &Row, seen: &Observed) -> Result<(), String> {
    if seen.elapsed > row.within {
        Err(format!(
            "took {:?}, more than {:?}",
            seen.elapsed, row.within
        ))
    } else if seen.elapsed < row.not_before {
        Err(format!(
            "took {:?}, less than {:?}",
            seen.elapsed, row.not_before
        ))
    } else {
        Ok(())
    }
}

/// The heap's peak stays under the row's bound, whatever the server sent.
fn heap_stays_bounded(row: &Row, seen: &Observed) -> Result<(), String> {
    if seen.peak > row.peak {
        Err(format!(
            "the heap grew by {} KiB at its peak, more than {} KiB",
            seen.peak / KIB,
            row.peak / KIB
        ))
    } else {
        Ok(())
    }
}

/// The error's `Display` contains every text the row names.
fn message_says_what_the_row_says(row: &Row, seen: &Observed) -> Result<(), String> {
    let Err(error) = &seen.result else {
        return Ok(());
    };
    let display = error.to_string();
    let missing: Vec<_> = row.says.iter().filter(|t| !display.contains(*t)).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("the error does not say {missing:?}: {display}"))
    }
}

/// The message says "may have been applied" exactly when `applied()` is
/// `Maybe`, and "was applied" when it is `Yes`.
fn message_agrees_with_applied(_: &Row, seen: &Observed) -> Result<(), String> {
    let Err(error) = &seen.result else {
        return Ok(());
    };
    let display = error.to_string();
    let maybe = display.contains("may have been applied");
    if maybe != (error.applied() == Applied::Maybe) {
        return Err(format!(
            "applied() is {:?}, but the message {} say it may have been applied: {display}",
            error.applied(),
            if maybe { "does" } else { "does not" }
        ));
    }
    if error.applied() == Applied::Yes && !display.contains("was applied") {
        return Err(format!(
            "applied() is Yes, but the message does not say so: {display}"
        ));
    }
    Ok(())
}

/// The key is in neither the error's `Display` nor its `Debug`, nor in any
/// line logged at TRACE.
fn key_is_never_shown(_: &Row, seen: &Observed) -> Result<(), String> {
    let shows = |text: &str| text.contains(KEY) || text.contains("SECRET");
    if let Err(error) = &seen.result {
        for (what, text) in [
            ("Display", error.to_string()),
            ("Debug", format!("{error:?}")),
        ] {
            if shows(&text) {
                return Err(format!("the key is in the error's {what}: {text}"));
            }
        }
    }
    if shows(&seen.log) {
        let line = seen
            .log
            .lines()
            .find(|line| shows(line))
            .unwrap_or_default();
        return Err(format!("the key is in the log: {line}"));
    }
    Ok(())
}

/// The row's own further check, if it has one.
fn passes_the_rows_own_check(row: &Row, seen: &Observed) -> Result<(), String> {
    row.check.map_or(Ok(()), |check| check(&seen.result))
}

/// The promises `seen` breaks, by name, with what went wrong.
fn broken(row: &Row, seen: &Observed) -> Vec<(&'static str, String)> {
    CHECKS
        .iter()
        .filter_map(|(name, check)| check(row, seen).err().map(|why| (*name, why)))
        .collect()
}

#[test]
fn scenario_table() {
    let only = std::env::var("FAULT_SCENARIO").ok();
    let rows = rows();
    // Broken promise -> the rows that broke it.
    let mut failed: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    let mut ran = 0;
    let started = std::time::Instant::now();
    for row in rows
        .iter()
        .filter(|r| only.as_deref().is_none_or(|o| r.name == o))
    {
        ran += 1;
        let real = std::time::Instant::now();
        let broken = match run(row) {
            Ok(seen) => {
                let broken = broken(row, &seen);
                if broken.is_empty() {
                    println!(
                        "ok    {:<52} {:<22} attempts {} in {:>8.3} s ({} clock, {:.2} s real), heap peak +{} KiB",
                        row.name,
                        seen.result
                            .as_ref()
                            .map_or_else(outcome, |_| "Ok".to_owned()),
                        row.attempts,
                        seen.elapsed.as_secs_f64(),
                        if row.clock == Clock::Paused {
                            "paused"
                        } else {
                            "real"
                        },
                        real.elapsed().as_secs_f64(),
                        seen.peak / KIB,
                    );
                }
                broken
            }
            Err(panicked) => vec![("no-panic", panicked)],
        };
        if !broken.is_empty() {
            println!("FAIL  {}\n      promise: {}", row.name, row.promise);
            for (check, why) in &broken {
                println!("      - [{check}] {why}");
                failed.entry(check).or_default().push(row.name);
            }
        }
    }
    println!(
        "{ran} scenarios in {:.2} s real time",
        started.elapsed().as_secs_f64()
    );
    assert!(ran > 0, "no scenario is named {only:?}");
    assert!(
        failed.is_empty(),
        "broken promises (check: scenarios): {failed:?}"
    );
}

#[test]
fn the_table_is_well_formed() {
    let rows = rows();
    assert!(rows.len() >= 20, "only {} scenarios", rows.len());
    let mut names: Vec<_> = rows.iter().map(|r| r.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), rows.len(), "scenario names must be unique");
    for row in &rows {
        assert!(!row.promise.is_empty(), "{} has no promise", row.name);
        assert!(row.not_before <= row.within, "{}", row.name);
    }
}
