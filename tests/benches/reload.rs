//! Hot reload: how long a reload takes, and what it does to read latency.
//!
//! One run against one private redis-server, native store and the Rust guest:
//! - reload latency (whole, and the swap alone) to the Rust guest from its
//!   bytes, compiled each time (no artifact cache) and from the artifact cache;
//! - read latency (p50, p99, max) of cached GETs from several tasks, for a
//!   stretch without reloads and stretches with a reload every 100 ms:
//!   native to native (the swap alone), and alternating native and the Rust
//!   guest; each with cold new backends and with warm reloads.
//!
//! Run with `cargo bench -p nearcache-tests --bench reload`. Set
//! `BENCH_SECONDS` to change the length of each read stretch (default 5).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nearcache::wasm::{ArtifactCache, Limits, WasmEngine};
use nearcache::{BackendSource, Cache, CacheBuilder};
use nearcache_tests::guests;
use nearcache_tests::redis_server::RedisServer;

const KEYS: usize = 1_000;
const READERS: usize = 4;
const RELOADS: usize = 20;

fn key(n: usize) -> String {
    format!("reload-bench:{n:05}")
}

fn options() -> Vec<(String, String)> {
    vec![("max-entries".into(), "100000".into())]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn millis(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// Reloads to the Rust guest `RELOADS` times (back to native in between,
/// untimed) and prints the median and worst whole reload and swap.
async fn reload_latency(cache: &Cache, label: &str, wasm: &[u8]) {
    let (mut whole, mut swap) = (Vec::new(), Vec::new());
    for _ in 0..RELOADS {
        let source = BackendSource::WasmBytes { name: "rust_store".into(), bytes: wasm.to_vec() };
        let done = cache.reload_backend(source, options()).await.expect("reload");
        whole.push(done.took);
        swap.push(done.swap);
        cache.reload_backend(BackendSource::Native, options()).await.expect("reload to native");
    }
    whole.sort();
    swap.sort();
    println!(
        "reload to the Rust guest, {label:<22} whole: median {} max {}   swap: median {} max {}",
        millis(percentile(&whole, 0.5)),
        millis(*whole.last().unwrap()),
        millis(percentile(&swap, 0.5)),
        millis(*swap.last().unwrap()),
    );
}

/// Latencies of cached GETs from `READERS` tasks for `seconds`, while
/// `during` runs; sorted.
async fn read_latencies(cache: &Arc<Cache>, seconds: f64, during: impl Future<Output = ()>) -> Vec<Duration> {
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..READERS)
        .map(|r| {
            let (cache, stop) = (Arc::clone(cache), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(1 << 20);
                let mut n = r;
                while !stop.load(Ordering::Relaxed) {
                    n = (n * 31 + 7) % KEYS;
                    let started = Instant::now();
                    cache.get(key(n)).await.expect("no read fails");
                    latencies.push(started.elapsed());
                }
                latencies
            })
        })
        .collect();
    let deadline = tokio::time::sleep(Duration::from_secs_f64(seconds));
    tokio::select! {
        () = deadline => {}
        () = during => {}
    }
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for reader in readers {
        all.extend(reader.await.unwrap());
    }
    all.sort();
    all
}

fn report(label: &str, latencies: &[Duration]) -> Duration {
    let p99 = percentile(latencies, 0.99);
    println!(
        "reads {label:<28} {:>9} reads   p50 {:>7.1} us   p99 {:>7.1} us   max {:>8.1} us",
        latencies.len(),
        percentile(latencies, 0.5).as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        latencies.last().unwrap().as_secs_f64() * 1e6,
    );
    p99
}

fn main() {
    let seconds: f64 = nearcache_tests::bench_setting("BENCH_SECONDS", 5.0);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let server = RedisServer::start(&[]);
        let mut admin = server.client().get_multiplexed_async_connection().await.unwrap();
        for n in 0..KEYS {
            let _: () = redis::cmd("SET").arg(key(n)).arg(vec![b'x'; 100]).query_async(&mut admin).await.unwrap();
        }
        let wasm = std::fs::read(guests::RUST_STORE).expect("the Rust guest is built");
        let artifacts = tempfile::tempdir().unwrap();

        // Without an artifact cache every reload compiles the component.
        let compiling = CacheBuilder::new(server.url())
            .wasm_engine(WasmEngine::new(Limits::default()).unwrap())
            .build()
            .await
            .unwrap();
        reload_latency(&compiling, "compiled each time:", &wasm).await;
        drop(compiling);

        let engine = WasmEngine::new(Limits::default())
            .unwrap()
            .with_artifact_cache(ArtifactCache::open(artifacts.path()).unwrap());
        let cache = CacheBuilder::new(server.url()).wasm_engine(engine).build().await.unwrap();
        // The first load compiles and stores the artifact.
        cache
            .reload_backend(BackendSource::WasmBytes { name: "rust_store".into(), bytes: wasm.clone() }, options())
            .await
            .unwrap();
        cache.reload_backend(BackendSource::Native, options()).await.unwrap();
        reload_latency(&cache, "from artifact cache:", &wasm).await;

        drop(cache);

        // Read latency without reloads, then with a reload every 100 ms:
        // native to native (the swap alone), and native to the Rust guest
        // and back; each with a cold new backend and a warmed one.
        println!();
        let mut quiet_p99 = None;
        for warm in [0, KEYS] {
            let engine = WasmEngine::new(Limits::default())
                .unwrap()
                .with_artifact_cache(ArtifactCache::open(artifacts.path()).unwrap());
            let cache =
                Arc::new(CacheBuilder::new(server.url()).wasm_engine(engine).warm_reloads(warm).build().await.unwrap());
            for n in 0..KEYS {
                cache.get(key(n)).await.unwrap();
            }
            if quiet_p99.is_none() {
                let quiet = read_latencies(&cache, seconds, std::future::pending()).await;
                quiet_p99 = Some(report("without reloads:", &quiet));
            }
            let warmth = if warm > 0 { "warmed" } else { "cold" };
            for alternate in [false, true] {
                let sources = if alternate {
                    vec![
                        BackendSource::WasmBytes { name: "rust_store".into(), bytes: wasm.clone() },
                        BackendSource::Native,
                    ]
                } else {
                    vec![BackendSource::Native]
                };
                let reloading = {
                    let cache = Arc::clone(&cache);
                    async move {
                        for source in sources.iter().cycle() {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            cache.reload_backend(source.clone(), options()).await.expect("reload");
                        }
                    }
                };
                let during = read_latencies(&cache, seconds, reloading).await;
                let label =
                    if alternate { format!("native<->rust, {warmth}:") } else { format!("native->native, {warmth}:") };
                let p99 = report(&label, &during);
                println!(
                    "{:>34} p99 with reloads / without: {:.2}x",
                    "",
                    p99.as_secs_f64() / quiet_p99.unwrap().as_secs_f64()
                );
            }
            cache.reload_backend(BackendSource::Native, options()).await.unwrap();
        }
        println!("(load average {})", std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim());
    });
}
