//! The crate's client against a hand-written reqwest + serde baseline, in
//! one process, against one in-process server, with one request loop.
//!
//! ```text
//! cargo bench --bench compare                # the full run, about a minute
//! cargo bench --bench compare -- --quick     # a smoke run
//! ```
//!
//! Options (after `--`): `--rounds R` (default 20), `--n-seq N` (2000 per
//! client per round), `--n-conc N` (5000), `--concurrency C` (32),
//! `--warmup W` (2000), `--max-secs S` (120, per scenario),
//! `--only openrouter-keys|reqwest-baseline` (one client alone, for
//! profiling), `--serve ADDR` (only run the server on this loopback address
//! for `--max-secs`, e.g. for the load generator), `--no-pin` (leave the
//! threads where the scheduler puts them).
//!
//! Layout on the machine: the server runs on its own thread with its own
//! single-threaded runtime; the client under test runs on the main thread
//! on another single-threaded runtime. With two CPUs or more, `taskset`
//! pins them to CPU 0 and 1. Each side's CPU time is read from the
//! scheduler's per-thread count (`/proc/self/task/<tid>/schedstat`), so the
//! client's CPU per request is the client's alone, with the server's beside
//! it.
//!
//! Each scenario (sequential, and `--concurrency` tasks) warms both clients
//! up, then runs `--rounds` rounds; a round runs a short batch of each
//! client back to back, alternating which goes first, so that both see the
//! same machine. The `RESULT` lines (the load generator's format) sum all
//! rounds; the ratios are medians of the per-round ratios, with their
//! range.

mod common;

use std::{
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant},
};

use common::{
    BENCH_KEY, Baseline, BaselineUpdate, HASH, Plan, Progress, Run, Server, current_tid, thread_cpu,
};
use openrouter_keys::{Client, KeyUpdate};

struct Opts {
    rounds: usize,
    n_seq: usize,
    n_conc: usize,
    concurrency: usize,
    warmup: usize,
    max_secs: u64,
    /// Run one client only (for profiling).
    only: Option<Which>,
    /// Only serve on this loopback address, for `--max-secs`.
    serve: Option<String>,
    /// Leave the threads where the scheduler puts them.
    no_pin: bool,
}

fn parse_opts() -> Result<Opts, String> {
    let mut opts = Opts {
        rounds: 20,
        n_seq: 2_000,
        n_conc: 5_000,
        concurrency: 32,
        warmup: 2_000,
        max_secs: 120,
        only: None,
        serve: None,
        no_pin: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> Result<u64, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} needs a whole number"))
        };
        match arg.as_str() {
            "--rounds" => opts.rounds = value("--rounds")?.max(1) as usize,
            "--n-seq" => opts.n_seq = value("--n-seq")?.max(1) as usize,
            "--n-conc" => opts.n_conc = value("--n-conc")?.max(1) as usize,
            "--concurrency" => opts.concurrency = value("--concurrency")?.max(1) as usize,
            "--warmup" => opts.warmup = value("--warmup")? as usize,
            "--max-secs" => opts.max_secs = value("--max-secs")?.max(1),
            "--quick" => {
                opts.rounds = 2;
                opts.n_seq = 1_000;
                opts.n_conc = 2_000;
                opts.warmup = 200;
            }
            "--only" => {
                opts.only = match args.next().as_deref() {
                    Some("openrouter-keys") => Some(Which::Ours),
                    Some("reqwest-baseline") => Some(Which::Baseline),
                    _ => return Err("--only needs openrouter-keys or reqwest-baseline".into()),
                }
            }
            "--no-pin" => opts.no_pin = true,
            "--serve" => opts.serve = Some(args.next().ok_or("--serve needs an address")?),
            // What `cargo bench` passes to every bench binary.
            "--bench" => {}
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(opts)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Which {
    Baseline,
    Ours,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Which::Baseline => "reqwest-baseline",
            Which::Ours => "openrouter-keys",
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Sample {
    rps: f64,
    p50_ns: u64,
    p99_ns: u64,
    /// Client CPU per request.
    cpu_ns: f64,
    /// Server CPU per request.
    server_cpu_ns: f64,
}

struct Clients {
    ours: Arc<(Client, KeyUpdate)>,
    baseline: Arc<(Baseline, BaselineUpdate)>,
}

async fn load(clients: &Clients, which: Which, plan: Plan) -> Run {
    let progress = Arc::new(Progress::default());
    match which {
        Which::Ours => {
            let shared = clients.ours.clone();
            common::run(plan, progress, move || {
                let shared = shared.clone();
                async move {
                    let (client, update) = &*shared;
                    let key = client
                        .update_key(HASH, update)
                        .await
                        .map_err(|e| e.to_string())?;
                    if key.hash != HASH {
                        return Err(format!("the answer is for key `{}`", key.hash));
                    }
                    Ok(())
                }
            })
            .await
        }
        Which::Baseline => {
            let shared = clients.baseline.clone();
            common::run(plan, progress, move || {
                let shared = shared.clone();
                async move {
                    let (client, update) = &*shared;
                    let key = client
                        .update_key(HASH, update)
                        .await
                        .map_err(|e| e.to_string())?;
                    if key.hash != HASH {
                        return Err(format!("the answer is for key `{}`", key.hash));
                    }
                    Ok(())
                }
            })
            .await
        }
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Runs the in-process server alone, for the load generator or another
/// client to be pointed at; it stops by itself after `lifetime`.
fn serve(addr: &str, lifetime: Duration) -> ExitCode {
    let base = format!("http://{addr}/api/v1");
    if let Err(message) = common::check_loopback(&base) {
        eprintln!("error: {message}");
        return ExitCode::from(2);
    }
    let server = Server::start_on(addr);
    println!(
        "serving {} for {} s (PATCH /keys/{HASH} with {{\"name\":\"bench\",\"limit\":75}})",
        server.base_url,
        lifetime.as_secs()
    );
    std::thread::sleep(lifetime);
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let opts = match parse_opts() {
        Ok(opts) => opts,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    if let Some(addr) = &opts.serve {
        return serve(addr, Duration::from_secs(opts.max_secs));
    }
    let server = Server::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let clients = Clients {
        ours: Arc::new((
            Client::builder()
                .api_key(BENCH_KEY)
                .base_url(&server.base_url)
                .build()
                .expect("the client builds"),
            KeyUpdate::new().name("bench").limit(75.0),
        )),
        baseline: Arc::new((
            Baseline::new(&server.base_url, BENCH_KEY),
            BaselineUpdate::bench(),
        )),
    };
    let client_tid = current_tid();
    let cpu = |tid: Option<u32>| tid.and_then(thread_cpu).unwrap_or_default();
    // One CPU each, when there are two: the scheduler moving either thread
    // around (or putting both on one CPU for a while) was the largest
    // source of run-to-run noise.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pinned = !opts.no_pin
        && cpus >= 2
        && client_tid
            .zip(server.tid)
            .is_some_and(|(client, server)| common::pin(client, 0) && common::pin(server, 1));

    println!(
        "compare: server {} on its own thread{}; client on the main thread; {} round(s)",
        server.base_url,
        if pinned {
            " (server on CPU 1, client on CPU 0)"
        } else {
            " (not pinned)"
        },
        opts.rounds
    );
    let mut failed = false;
    let mut verdicts = Vec::new();
    let scenarios = [
        ("sequential", 1, opts.n_seq),
        ("concurrent", opts.concurrency, opts.n_conc),
    ];
    for (scenario, concurrency, n) in scenarios {
        let deadline = Instant::now() + Duration::from_secs(opts.max_secs);
        let plan = |n| Plan {
            n,
            concurrency,
            warmup: 0,
            deadline,
        };
        let clients_run: Vec<Which> = [Which::Baseline, Which::Ours]
            .into_iter()
            .filter(|which| opts.only.is_none_or(|only| only == *which))
            .collect();
        // Each client warms up once (connections opened, caches filled);
        // then short batches alternate, so that both see the same machine.
        let mut totals: Vec<(Which, Run)> = Vec::new();
        for &which in &clients_run {
            let warm = runtime.block_on(load(&clients, which, plan(opts.warmup.max(concurrency))));
            let mut total = warm.clone();
            total.n = 0;
            total.ok = 0;
            total.secs = 0.0;
            total.latencies_ns.clear();
            total.warmup = warm.n;
            totals.push((which, total));
        }
        let mut samples: Vec<(usize, Which, Sample)> = Vec::new();
        for round in 0..opts.rounds {
            let order = if round % 2 == 0 {
                [Which::Baseline, Which::Ours]
            } else {
                [Which::Ours, Which::Baseline]
            };
            for which in order.into_iter().filter(|w| clients_run.contains(w)) {
                let (client_before, server_before) = (cpu(client_tid), server.cpu());
                let run = runtime.block_on(load(&clients, which, plan(n)));
                let client_used = cpu(client_tid).saturating_sub(client_before);
                let server_used = server
                    .cpu()
                    .zip(server_before)
                    .map(|(after, before)| after.saturating_sub(before))
                    .unwrap_or_default();
                let total = &mut totals
                    .iter_mut()
                    .find(|(w, _)| *w == which)
                    .expect("every client has a total")
                    .1;
                total.n += run.n;
                total.ok += run.ok;
                total.err += run.err;
                total.secs += run.secs;
                total.truncated |= run.truncated;
                total.latencies_ns.extend_from_slice(&run.latencies_ns);
                if total.first_error.is_none() {
                    total.first_error.clone_from(&run.first_error);
                }
                if run.failed() || run.ok == 0 {
                    continue;
                }
                samples.push((
                    round,
                    which,
                    Sample {
                        rps: run.rps(),
                        p50_ns: run.percentile_ns(50.0),
                        p99_ns: run.percentile_ns(99.0),
                        cpu_ns: client_used.as_nanos() as f64 / run.ok as f64,
                        server_cpu_ns: server_used.as_nanos() as f64 / run.ok as f64,
                    },
                ));
            }
        }
        for (which, total) in &mut totals {
            total.latencies_ns.sort_unstable();
            println!("{}", total.result_line(which.name()));
            if total.failed() {
                failed = true;
                eprintln!(
                    "error: {} {scenario}: {} failed; the first: {:?}",
                    which.name(),
                    total.err,
                    total.first_error
                );
            }
        }
        let med = |which: Which, f: fn(&Sample) -> f64| {
            let values: Vec<f64> = samples
                .iter()
                .filter(|(_, w, _)| *w == which)
                .map(|(_, _, s)| f(s))
                .collect();
            if values.is_empty() {
                f64::NAN
            } else {
                median(values)
            }
        };
        // Ours over the baseline within each round (the two ran back to
        // back), so that drift in the machine's speed between rounds cancels.
        let paired = |f: fn(&Sample) -> f64| -> (f64, f64, f64) {
            let ratios: Vec<f64> = (0..opts.rounds)
                .filter_map(|round| {
                    let get = |which: Which| {
                        samples
                            .iter()
                            .find(|(r, w, _)| *r == round && *w == which)
                            .map(|(_, _, s)| f(s))
                    };
                    Some(get(Which::Ours)? / get(Which::Baseline)?)
                })
                .collect();
            if ratios.is_empty() {
                return (f64::NAN, f64::NAN, f64::NAN);
            }
            let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (median(ratios), lo, hi)
        };
        println!();
        println!(
            "SUMMARY {scenario} (c={concurrency}, {} rounds of {n} requests per client; medians over rounds)",
            opts.rounds
        );
        println!(
            "  {:<18} {:>10} {:>10} {:>10} {:>14} {:>14}",
            "client", "rps", "p50_us", "p99_us", "cpu_us/req", "server_us/req"
        );
        for which in [Which::Baseline, Which::Ours] {
            println!(
                "  {:<18} {:>10.0} {:>10.1} {:>10.1} {:>14.2} {:>14.2}",
                which.name(),
                med(which, |s| s.rps),
                med(which, |s| s.p50_ns as f64) / 1e3,
                med(which, |s| s.p99_ns as f64) / 1e3,
                med(which, |s| s.cpu_ns) / 1e3,
                med(which, |s| s.server_cpu_ns) / 1e3,
            );
        }
        let rps = paired(|s| s.rps);
        let p50 = paired(|s| s.p50_ns as f64);
        let p99 = paired(|s| s.p99_ns as f64);
        let cpu_ratio = paired(|s| s.cpu_ns);
        let show = |(m, lo, hi): (f64, f64, f64)| format!("{m:.3} [{lo:.3}..{hi:.3}]");
        println!(
            "RATIO {scenario} (openrouter-keys / baseline, median of per-round ratios [min..max]): \
             rps={} p50={} p99={} cpu_per_req={}",
            show(rps),
            show(p50),
            show(p99),
            show(cpu_ratio)
        );
        println!();
        verdicts.push((
            format!("{scenario} throughput >= 0.97x"),
            rps.0,
            rps.0 >= 0.97,
        ));
        verdicts.push((format!("{scenario} p50 <= 1.05x"), p50.0, p50.0 <= 1.05));
        verdicts.push((
            format!("{scenario} client CPU/request <= 1.10x"),
            cpu_ratio.0,
            cpu_ratio.0 <= 1.10,
        ));
    }
    println!("TARGETS");
    for (what, value, met) in verdicts {
        println!(
            "  {:<42} {value:.3}  {}",
            what,
            if met { "met" } else { "NOT met" }
        );
    }
    drop(runtime);
    drop(server);
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
