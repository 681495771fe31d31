//! The load generator's part of the shared code: where requests may go,
//! the request loop and its statistics. `examples/bench_update_key.rs`
//! compiles this file alone, so that the example needs no server; the
//! benches reach it through `common` (`mod.rs`), which re-exports it.

#![allow(dead_code)]

use std::{
    future::Future,
    net::ToSocketAddrs,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Instant,
};

/// The key every request updates: the example hash of the API's spec.
pub const HASH: &str = "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943";

// ---- where requests may go ------------------------------------------------

/// Accepts only a base URL whose host is loopback: an address in
/// 127.0.0.0/8 or `[::1]`, or `localhost` when every address it resolves
/// to is loopback.
pub fn check_loopback(base: &str) -> Result<(), String> {
    let url = url::Url::parse(base).map_err(|e| format!("`{base}` is not a URL: {e}"))?;
    let refuse = || {
        Err(format!(
            "refusing `{base}`: this load generator only sends to loopback \
             (127.0.0.0/8, [::1] or localhost)"
        ))
    };
    match url.host() {
        Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(()),
        Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(()),
        Some(url::Host::Domain(name)) if name.eq_ignore_ascii_case("localhost") => {
            let port = url.port_or_known_default().unwrap_or(80);
            let addrs: Vec<_> = (name, port)
                .to_socket_addrs()
                .map_err(|e| format!("cannot resolve `{name}`: {e}"))?
                .collect();
            if !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()) {
                Ok(())
            } else {
                refuse()
            }
        }
        _ => refuse(),
    }
}

// ---- the request loop -----------------------------------------------------

/// How many requests, how many at a time, and until when at the latest.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub n: usize,
    pub concurrency: usize,
    pub warmup: usize,
    /// Nothing is started after this, and nothing is waited for beyond it.
    pub deadline: Instant,
}

/// What one run measured.
#[derive(Clone, Debug)]
pub struct Run {
    pub n: usize,
    pub concurrency: usize,
    pub warmup: usize,
    /// Measured requests that succeeded.
    pub ok: usize,
    /// Failed requests, in warm-up and measurement alike: any failure makes
    /// the run invalid.
    pub err: usize,
    /// Wall time of the measured phase.
    pub secs: f64,
    /// Latency of every successful measured request, in nanoseconds, sorted.
    pub latencies_ns: Vec<u64>,
    /// The deadline cut the run short.
    pub truncated: bool,
    pub first_error: Option<String>,
}

impl Run {
    pub fn rps(&self) -> f64 {
        if self.secs > 0.0 {
            self.ok as f64 / self.secs
        } else {
            0.0
        }
    }

    /// Nearest-rank percentile of the latencies, in nanoseconds.
    pub fn percentile_ns(&self, p: f64) -> u64 {
        nearest_rank(&self.latencies_ns, p)
    }

    pub fn failed(&self) -> bool {
        self.err > 0 || self.truncated || self.ok != self.n
    }

    /// The one line the load generator prints.
    pub fn result_line(&self, client: &str) -> String {
        format!(
            "RESULT client={client} n={} c={} w={} ok={} err={} secs={:.3} rps={:.1} p50_us={} p99_us={} truncated={}",
            self.n,
            self.concurrency,
            self.warmup,
            self.ok,
            self.err,
            self.secs,
            self.rps(),
            self.percentile_ns(50.0) / 1000,
            self.percentile_ns(99.0) / 1000,
            u8::from(self.truncated),
        )
    }
}

/// The value at rank ⌈p/100 × n⌉ (1-based) of sorted `values`; 0 when empty.
pub fn nearest_rank(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Counters the loop keeps up to date, for a watchdog that must report
/// without waiting for the loop.
#[derive(Default)]
pub struct Progress {
    pub ok: AtomicUsize,
    pub err: AtomicUsize,
}

/// Runs `plan.warmup` requests, then `plan.n` measured ones, each phase
/// spread over `plan.concurrency` tasks that take the next request from a
/// shared counter. `call` makes one request and checks its answer.
pub async fn run<F, Fut>(plan: Plan, progress: Arc<Progress>, call: F) -> Run
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let warm = phase(plan.warmup, plan, None, call.clone()).await;
    progress.err.fetch_add(warm.err, Ordering::Relaxed);
    let measured = if warm.cut {
        Phase::default()
    } else {
        phase(plan.n, plan, Some(progress), call).await
    };
    let mut latencies_ns = measured.latencies_ns;
    latencies_ns.sort_unstable();
    Run {
        n: plan.n,
        concurrency: plan.concurrency,
        warmup: plan.warmup,
        ok: latencies_ns.len(),
        err: warm.err + measured.err,
        secs: measured.secs,
        latencies_ns,
        truncated: warm.cut || measured.cut,
        first_error: warm.first_error.or(measured.first_error),
    }
}

#[derive(Default)]
struct Phase {
    latencies_ns: Vec<u64>,
    err: usize,
    secs: f64,
    cut: bool,
    first_error: Option<String>,
}

async fn phase<F, Fut>(count: usize, plan: Plan, progress: Option<Arc<Progress>>, call: F) -> Phase
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    if count == 0 {
        return Phase::default();
    }
    let tasks = plan.concurrency.clamp(1, count);
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = tokio::time::Instant::from_std(plan.deadline);
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let next = next.clone();
            let call = call.clone();
            let progress = progress.clone();
            tokio::spawn(async move {
                let mut out = Phase {
                    latencies_ns: Vec::with_capacity(count / tasks + 1),
                    ..Phase::default()
                };
                while next.fetch_add(1, Ordering::Relaxed) < count {
                    let sent = Instant::now();
                    if sent >= plan.deadline {
                        out.cut = true;
                        break;
                    }
                    match tokio::time::timeout_at(deadline, call()).await {
                        Ok(Ok(())) => {
                            out.latencies_ns.push(sent.elapsed().as_nanos() as u64);
                            if let Some(p) = &progress {
                                p.ok.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Ok(Err(error)) => {
                            out.err += 1;
                            if let Some(p) = &progress {
                                p.err.fetch_add(1, Ordering::Relaxed);
                            }
                            out.first_error.get_or_insert(error);
                        }
                        Err(_elapsed) => {
                            out.cut = true;
                            break;
                        }
                    }
                }
                out
            })
        })
        .collect();
    let mut total = Phase::default();
    for handle in handles {
        match handle.await {
            Ok(part) => {
                total.latencies_ns.extend(part.latencies_ns);
                total.err += part.err;
                total.cut |= part.cut;
                if total.first_error.is_none() {
                    total.first_error = part.first_error;
                }
            }
            Err(join) => {
                total.err += 1;
                total
                    .first_error
                    .get_or_insert_with(|| format!("a task failed: {join}"));
            }
        }
    }
    total.secs = start.elapsed().as_secs_f64();
    total
}
