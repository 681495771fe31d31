//! `apply` at a server's rate limit, measured: the in-process fake limits
//! requests to `--rate` a second (a token bucket holding one second's
//! worth; past it, 429 with `Retry-After: 1`), and `apply` updates
//! `--updates` keys with `--concurrency` in flight.
//!
//! ```text
//! cargo run --release --example apply_rate_limit -- [--updates 500] [--rate 50] [--concurrency 8]
//! ```
//!
//! It prints one line:
//!
//! ```text
//! RESULT updates=500 rate=50 requests=R limited=L share=S secs=T ideal_secs=I ratio=X failed=F
//! ```
//!
//! `requests` counts every answer the fake gave (list pages, writes, and
//! 429s), `limited` the 429s among them, `share` = limited / requests,
//! `ideal_secs` the time the requests that were not refused take at
//! `--rate` a second, and `ratio` = secs / ideal_secs. Exit status 0 when
//! nothing failed, the ratio is at most 1.3 and fewer than 10 % of the
//! answers were 429s; 1 otherwise.

use std::{process::ExitCode, time::Instant};

use clap::Parser;
use openrouter_keys::{
    ApplyOptions, Client, DesiredKeys, FileStore,
    fake::{EXAMPLE_KEY_HASH, FakeKey, FakeOpenRouter},
};

#[derive(Parser, Debug)]
struct Args {
    /// Keys to update.
    #[arg(long, default_value_t = 500)]
    updates: usize,
    /// The fake's limit, in requests a second.
    #[arg(long, default_value_t = 50)]
    rate: u32,
    /// `apply`'s concurrency.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let fake = FakeOpenRouter::start().await.expect("the fake starts");
    fake.remove_key(EXAMPLE_KEY_HASH);
    let mut file = String::new();
    for i in 0..args.updates {
        fake.insert_key(FakeKey {
            hash: format!("{i:064x}"),
            name: format!("customer-{i:05}"),
            limit: Some(5.0),
            ..FakeKey::example()
        });
        file.push_str(&format!(
            "[[key]]\nname = \"customer-{i:05}\"\nlimit = 10\n\n"
        ));
    }
    let desired = DesiredKeys::from_toml(&file, "generated").expect("the file parses");
    let dir = std::env::temp_dir().join(format!("apply-rate-limit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    let store = FileStore::open(dir.join("store.json")).expect("the store opens");
    let client = Client::builder()
        .api_key("sk-or-v1-bench")
        .base_url(fake.base_url())
        .build()
        .expect("the client builds");
    fake.set_rate_limit(Some(args.rate));

    let mut options = ApplyOptions::default();
    options.concurrency = args.concurrency;
    let started = Instant::now();
    let applied = client.apply(&desired, &store, &options).await;
    let secs = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);

    let failed = match &applied {
        Ok(plan) => plan.changes.iter().filter(|c| !c.ok).count(),
        Err(error) => {
            eprintln!("error: {error}");
            args.updates
        }
    };
    let requests = fake.hits();
    let limited = fake.rate_limited();
    let share = limited as f64 / requests as f64;
    let ideal = (requests - limited) as f64 / f64::from(args.rate);
    let ratio = secs / ideal;
    println!(
        "RESULT updates={} rate={} requests={requests} limited={limited} share={share:.3} \
         secs={secs:.2} ideal_secs={ideal:.2} ratio={ratio:.3} failed={failed}",
        args.updates, args.rate
    );
    if failed == 0 && ratio <= 1.3 && share < 0.10 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
