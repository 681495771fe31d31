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
//! Everything is measured through the crate's public API. Building the
//! request is the generated code's own business and private to the crate,
//! so it is measured inside the whole call rather than apart: a copy of it
//! here would drift from what progenitor generates without anyone noticing.

mod common;

use std::{hint::black_box, time::Duration};

use allocation_counter::measure;
use common::{BENCH_KEY, Baseline, BaselineEnvelope, BaselineUpdate, HASH, RESPONSE_BODY, Server};
use criterion::Criterion;
use openrouter_keys::{ApiKey, Client, KeyUpdate, RetryConfig};

/// The shape of a 200 body, `{"data": <key>}`, around the crate's own
/// (generated) `ApiKey` decoder; the baseline decodes the same shape.
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

struct Rig {
    /// Serves both clients; stops when the rig is dropped.
    _server: Server,
    runtime: tokio::runtime::Runtime,
    ours: Client,
    ours_no_retry: Client,
    baseline: Baseline,
    update: KeyUpdate,
    baseline_update: BaselineUpdate,
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
        Rig {
            runtime,
            ours,
            ours_no_retry,
            baseline,
            update: KeyUpdate::new().name("bench").limit(75.0),
            baseline_update: BaselineUpdate::bench(),
            _server: server,
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
    let rows: Vec<Row> = vec![
        (
            "body: build + serialise",
            local(&|| drop(black_box(ours_body()))),
            Some(local(&|| drop(black_box(baseline_body())))),
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
    let mut group = c.benchmark_group("body/build+serialise");
    group.bench_function("openrouter-keys", |b| b.iter(ours_body));
    group.bench_function("baseline", |b| b.iter(baseline_body));
    group.finish();

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
