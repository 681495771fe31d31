//! A load generator for `PATCH {BASE}/keys/{hash}` through this crate's
//! public API: the default retry policy, the key from `OPENROUTER_API_KEY`,
//! every answer decoded into `ApiKey` and its `hash` checked.
//!
//! ```text
//! OPENROUTER_API_KEY=sk-or-v1-bench cargo run --release --example bench_update_key -- \
//!     --url http://127.0.0.1:8080/api/v1 --n 20000 --concurrency 32 [--warmup 1000] [--max-secs 60]
//! ```
//!
//! It sends `--warmup` requests first, then `--n` measured ones, spread over
//! `--concurrency` tasks sharing one client, and prints exactly one line:
//!
//! ```text
//! RESULT client=openrouter-keys n=N c=C w=W ok=OK err=E secs=S rps=R p50_us=P p99_us=Q truncated=0|1
//! ```
//!
//! `secs` is the wall time of the measured phase, `rps` is `ok / secs`, and
//! `p50_us`/`p99_us` are nearest-rank percentiles of the measured requests'
//! latencies, in whole microseconds. `err` counts failures in both phases.
//!
//! - Every request updates the spec's example key,
//!   `f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943`,
//!   with `{"name":"bench","limit":75}`.
//! - Only loopback hosts are accepted (127.0.0.0/8, `[::1]`, or `localhost`
//!   resolving to loopback only); anything else exits 2 before sending.
//! - `OPENROUTER_API_KEY` must be set (exit 2 otherwise). Against a stub any
//!   well-formed value works, e.g. `sk-or-v1-bench`; there is no built-in
//!   dummy, so that what is sent is always what the caller chose.
//! - After `--max-secs` (default 60) it stops whatever happens: requests in
//!   flight are dropped and the line says `truncated=1`.
//!
//! Exit status: 0 when all `n` measured requests succeeded, 1 on any failed
//! request or truncation, 2 on bad arguments or configuration.

#[path = "../benches/benches/common/load.rs"]
mod common;

use std::{
    io::Write,
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use clap::Parser;
use openrouter_keys::{Client, KeyUpdate};

/// Load generator for openrouter-keys' `update_key` (loopback only).
#[derive(Parser, Debug)]
struct Args {
    /// Base URL of the API, e.g. http://127.0.0.1:8080/api/v1 (loopback only).
    #[arg(long)]
    url: String,
    /// Measured requests.
    #[arg(long)]
    n: usize,
    /// Concurrent tasks sharing one client.
    #[arg(long)]
    concurrency: usize,
    /// Warm-up requests before the measured ones.
    #[arg(long, default_value_t = 0)]
    warmup: usize,
    /// Stop after this many seconds whatever happens.
    #[arg(long, default_value_t = 60.0)]
    max_secs: f64,
}

const CLIENT: &str = "openrouter-keys";
/// How long past `--max-secs` the watchdog waits for the loop to notice
/// the deadline itself before it ends the process.
const GRACE: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    let args = Args::parse();
    let started = Instant::now();
    if args.n == 0 || args.concurrency == 0 {
        eprintln!("error: --n and --concurrency must be at least 1");
        return ExitCode::from(2);
    }
    let Some(budget) = Duration::try_from_secs_f64(args.max_secs)
        .ok()
        .filter(|d| !d.is_zero())
    else {
        eprintln!("error: --max-secs must be a positive number of seconds");
        return ExitCode::from(2);
    };
    if let Err(message) = common::check_loopback(&args.url) {
        eprintln!("error: {message}");
        return ExitCode::from(2);
    }
    let built = match Client::builder().api_key_from_env() {
        Ok(builder) => builder.base_url(&args.url).build(),
        Err(error) => Err(error),
    };
    let client = match built {
        Ok(client) => client,
        Err(error) => {
            eprintln!(
                "error: {error}\n(any well-formed key works against a stub, \
                 e.g. OPENROUTER_API_KEY=sk-or-v1-bench)"
            );
            return ExitCode::from(2);
        }
    };

    let deadline = started + budget;
    let plan = common::Plan {
        n: args.n,
        concurrency: args.concurrency,
        warmup: args.warmup,
        deadline,
    };
    let progress = Arc::new(common::Progress::default());
    let printed = Arc::new(AtomicBool::new(false));

    // The loop stops at the deadline on its own; should the runtime ever be
    // wedged, this thread still ends the process shortly after.
    {
        let progress = progress.clone();
        let printed = printed.clone();
        std::thread::spawn(move || {
            std::thread::sleep((deadline + GRACE).saturating_duration_since(Instant::now()));
            if !printed.swap(true, Ordering::SeqCst) {
                let ok = progress.ok.load(Ordering::Relaxed);
                let err = progress.err.load(Ordering::Relaxed);
                let secs = started.elapsed().as_secs_f64();
                println!(
                    "RESULT client={CLIENT} n={} c={} w={} ok={ok} err={err} secs={secs:.3} rps={:.1} p50_us=0 p99_us=0 truncated=1",
                    plan.n,
                    plan.concurrency,
                    plan.warmup,
                    ok as f64 / secs,
                );
                let _ = std::io::stdout().flush();
                eprintln!("error: still running {GRACE:?} after --max-secs; stopped");
                std::process::exit(1);
            }
        });
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::from(2);
        }
    };
    let shared = Arc::new((client, KeyUpdate::new().name("bench").limit(75.0)));
    let run = runtime.block_on(common::run(plan, progress, move || {
        let shared = shared.clone();
        async move {
            let (client, update) = &*shared;
            let key = client
                .update_key(common::HASH, update)
                .await
                .map_err(|e| e.to_string())?;
            if key.hash != common::HASH {
                return Err(format!("the answer is for key `{}`", key.hash));
            }
            Ok(())
        }
    }));
    runtime.shutdown_timeout(Duration::from_millis(500));

    if printed.swap(true, Ordering::SeqCst) {
        // The watchdog has reported and is ending the process.
        return ExitCode::from(1);
    }
    println!("{}", run.result_line(CLIENT));
    if let Some(error) = &run.first_error {
        eprintln!("error: {} request(s) failed; the first: {error}", run.err);
    }
    if run.truncated {
        eprintln!("error: stopped after --max-secs {}", args.max_secs);
    }
    if run.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
