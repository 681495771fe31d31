//! Micro-benchmarks of one call's parts, the crate's next to a hand-written
//! reqwest + serde baseline, with heap allocations counted per call.
//!
//! ```text
//! cargo bench --bench micro              # criterion timings, then the allocation table
//! cargo bench --bench micro -- --allocs  # the allocation table only (seconds)
//! ```
//!
//! Allocations are counted by `allocation_counter`'s global allocator,
//! which counts per thread. The client runs on this thread on a
//! single-threaded runtime and the server on a thread of its own, so every
//! allocation the client makes is counted and none of the server's are.
//!
//! The request-building step of the generated code is private to the
//! crate; `request/build` rebuilds it with the same reqwest calls (see
//! `generated_request`), so that the spare copy the retry loop keeps can be
//! timed and counted on a request of the same shape.

mod common;

use std::{hint::black_box, time::Duration};

use allocation_counter::measure;
use common::{BENCH_KEY, Baseline, BaselineEnvelope, BaselineUpdate, HASH, RESPONSE_BODY, Server};
use criterion::Criterion;
use openrouter_keys::{ApiKey, Client, KeyUpdate, RetryConfig};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderName, HeaderValue, USER_AGENT};

/// The envelope the generated code decodes 200 bodies into (its
/// `UpdateKeysResponse`, which the crate does not export).
#[derive(serde::Deserialize)]
#[allow(dead_code)] // decoded and dropped: the decoding is what is measured
struct Envelope {
    data: ApiKey,
}

fn ours_body() -> Vec<u8> {
    let update = KeyUpdate::new().name("bench").limit(75.0);
    update.validate().expect("valid");
    serde_json::to_vec(&update).expect("serialises")
}

fn baseline_body() -> Vec<u8> {
    serde_json::to_vec(&BaselineUpdate::bench()).expect("serialises")
}

/// The request as the generated `update_keys` builds it, with the headers
/// the exec hook's `prepare` then sets.
fn generated_request(
    http: &reqwest::Client,
    base: &str,
    update: &KeyUpdate,
    auth: &HeaderValue,
) -> reqwest::Request {
    // `to_string` included: the generated code makes that copy too.
    #[allow(clippy::unnecessary_to_owned)]
    let url = format!(
        "{base}/keys/{}",
        progenitor_client::encode_path(&HASH.to_string())
    );
    let mut header_map = HeaderMap::with_capacity(1);
    header_map.append(
        HeaderName::from_static("api-version"),
        HeaderValue::from_static("1.0.0"),
    );
    let mut request = http
        .patch(url)
        .header(ACCEPT, HeaderValue::from_static("application/json"))
        .json(update)
        .headers(header_map)
        .build()
        .expect("builds");
    let headers = request.headers_mut();
    headers.remove("api-version");
    headers.insert(
        USER_AGENT,
        HeaderValue::from_static("openrouter-keys/0.1.0"),
    );
    headers.insert(AUTHORIZATION, auth.clone());
    request
}

/// The request as the baseline builds it.
fn baseline_request(
    http: &reqwest::Client,
    base: &str,
    update: &BaselineUpdate,
    auth: &HeaderValue,
) -> reqwest::Request {
    http.patch(format!("{base}/keys/{HASH}"))
        .header(AUTHORIZATION, auth.clone())
        .header(ACCEPT, "application/json")
        .json(update)
        .build()
        .expect("builds")
}

struct Rig {
    server: Server,
    runtime: tokio::runtime::Runtime,
    ours: Client,
    ours_no_retry: Client,
    baseline: Baseline,
    update: KeyUpdate,
    baseline_update: BaselineUpdate,
    http: reqwest::Client,
    auth: HeaderValue,
}

impl Rig {
    fn new() -> Rig {
        let server = Server::start();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let ours = Client::builder()
            .api_key(BENCH_KEY)
            .base_url(&server.base_url)
            .build()
            .expect("builds");
        let ours_no_retry = ours.with_retry(RetryConfig::disabled());
        let baseline = Baseline::new(&server.base_url, BENCH_KEY);
        let mut auth = HeaderValue::try_from(format!("Bearer {BENCH_KEY}")).expect("a header");
        auth.set_sensitive(true);
        Rig {
            runtime,
            ours,
            ours_no_retry,
            baseline,
            update: KeyUpdate::new().name("bench").limit(75.0),
            baseline_update: BaselineUpdate::bench(),
            http: reqwest::Client::new(),
            auth,
            server,
        }
    }

    fn call_ours(&self, client: &Client) {
        let key = self
            .runtime
            .block_on(client.update_key(HASH, &self.update))
            .expect("the call succeeds");
        assert_eq!(key.hash, HASH);
    }

    fn call_baseline(&self) {
        let key = self
            .runtime
            .block_on(self.baseline.update_key(HASH, &self.baseline_update))
            .expect("the call succeeds");
        assert_eq!(key.hash, HASH);
    }
}

/// Allocations and bytes per call of `f`, averaged over `calls` calls after
/// as many unmeasured ones.
fn allocs_per_call(calls: u64, mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..calls {
        f();
    }
    let info = measure(|| {
        for _ in 0..calls {
            f();
        }
    });
    (
        info.count_total as f64 / calls as f64,
        info.bytes_total as f64 / calls as f64,
    )
}

/// A step, its allocations and bytes per call, and the baseline's.
type Row = (&'static str, (f64, f64), Option<(f64, f64)>);

fn allocation_table(rig: &Rig) {
    let local = |f: &dyn Fn()| allocs_per_call(10_000, f);
    let call = |f: &dyn Fn()| allocs_per_call(2_000, f);
    let base = rig.server.base_url.as_str();
    let generated = generated_request(&rig.http, base, &rig.update, &rig.auth);
    let rows: Vec<Row> = vec![
        (
            "body: build + serialise",
            local(&|| drop(black_box(ours_body()))),
            Some(local(&|| drop(black_box(baseline_body())))),
        ),
        (
            "request: build reqwest::Request",
            local(&|| {
                drop(black_box(generated_request(
                    &rig.http,
                    base,
                    &rig.update,
                    &rig.auth,
                )))
            }),
            Some(local(&|| {
                drop(black_box(baseline_request(
                    &rig.http,
                    base,
                    &rig.baseline_update,
                    &rig.auth,
                )))
            })),
        ),
        (
            "retry spare: Request::try_clone",
            local(&|| drop(black_box(generated.try_clone()))),
            None,
        ),
        (
            "response: decode 200 body",
            local(&|| {
                drop(black_box(
                    serde_json::from_slice::<Envelope>(RESPONSE_BODY.as_bytes()).expect("decodes"),
                ))
            }),
            Some(local(&|| {
                drop(black_box(
                    serde_json::from_slice::<BaselineEnvelope>(RESPONSE_BODY.as_bytes())
                        .expect("decodes"),
                ))
            })),
        ),
        (
            "call: first-try success, standard retries",
            call(&|| rig.call_ours(&rig.ours)),
            Some(call(&|| rig.call_baseline())),
        ),
        (
            "call: first-try success, retries disabled",
            call(&|| rig.call_ours(&rig.ours_no_retry)),
            Some(call(&|| rig.call_baseline())),
        ),
    ];
    println!();
    println!(
        "FUTURE SIZE of one call: openrouter-keys {} B, baseline {} B",
        std::mem::size_of_val(&rig.ours.update_key(HASH, &rig.update)),
        std::mem::size_of_val(&rig.baseline.update_key(HASH, &rig.baseline_update)),
    );
    println!("ALLOCATIONS per call (this thread only; the server's are not counted)");
    println!(
        "  {:<44} {:>16} {:>16}",
        "step", "openrouter-keys", "baseline"
    );
    for (step, ours, baseline) in rows {
        let fmt = |(count, bytes): (f64, f64)| format!("{count:.1} ({bytes:.0} B)");
        println!(
            "  {:<44} {:>16} {:>16}",
            step,
            fmt(ours),
            baseline.map_or_else(|| "-".to_owned(), fmt)
        );
    }
}

fn main() {
    let allocs_only = std::env::args().any(|a| a == "--allocs");
    let rig = Rig::new();
    if !allocs_only {
        let mut criterion = Criterion::default()
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3))
            .configure_from_args();
        benches(&mut criterion, &rig);
        criterion.final_summary();
    }
    allocation_table(&rig);
}

fn benches(c: &mut Criterion, rig: &Rig) {
    let base = rig.server.base_url.as_str();

    let mut group = c.benchmark_group("body/build+serialise");
    group.bench_function("openrouter-keys", |b| b.iter(ours_body));
    group.bench_function("baseline", |b| b.iter(baseline_body));
    group.finish();

    let mut group = c.benchmark_group("request/build");
    group.bench_function("openrouter-keys", |b| {
        b.iter(|| generated_request(&rig.http, base, &rig.update, &rig.auth))
    });
    group.bench_function("baseline", |b| {
        b.iter(|| baseline_request(&rig.http, base, &rig.baseline_update, &rig.auth))
    });
    group.finish();

    let generated = generated_request(&rig.http, base, &rig.update, &rig.auth);
    c.bench_function("retry-spare/try_clone", |b| {
        b.iter(|| generated.try_clone())
    });

    let mut group = c.benchmark_group("response/decode");
    group.bench_function("openrouter-keys", |b| {
        b.iter(|| serde_json::from_slice::<Envelope>(black_box(RESPONSE_BODY.as_bytes())))
    });
    group.bench_function("baseline", |b| {
        b.iter(|| serde_json::from_slice::<BaselineEnvelope>(black_box(RESPONSE_BODY.as_bytes())))
    });
    group.finish();

    let mut group = c.benchmark_group("call/first-try-success");
    group.sample_size(50);
    group.bench_function("openrouter-keys", |b| b.iter(|| rig.call_ours(&rig.ours)));
    group.bench_function("openrouter-keys-no-retry", |b| {
        b.iter(|| rig.call_ours(&rig.ours_no_retry))
    });
    group.bench_function("baseline", |b| b.iter(|| rig.call_baseline()));
    group.finish();
}
