//! The invalidation delay of nearcache (native store) and of the redis
//! crate's own `cache-aio` cache, in one run against one private
//! redis-server: another client writes a key the cache holds, and the
//! cache's reader, polling the key, times from the write's reply:
//!
//! - until the cache stopped serving the old value: when the first read
//!   that returned the new value began (the invalidation had been applied
//!   by then; the read before it, a microsecond earlier, still saw the old
//!   value or began before the write's reply);
//! - until that read returned, which adds the round trip that fetches the
//!   new value.
//!
//! Both on a current-thread runtime, where the reader, the connections'
//! drivers and the push handlers take turns on one thread, and on a
//! multi-thread runtime with the reader in a spawned task, where an
//! application's reads run. The systems' samples alternate, in an order
//! that rotates, each system on keys no other system reads, so that every
//! write sends one push, to one system.
//!
//! Run with `cargo bench -p nearcache-tests --bench delay`; set
//! `DELAY_SAMPLES` to change the samples per system and runtime (default
//! 2,000; p99 is the twentieth worst).

use std::time::Instant;

use nearcache::CacheBuilder;
use nearcache_tests::polling::{Pace, STALE_AFTER};
use nearcache_tests::redis_server::RedisServer;
use nearcache_tests::throughput::{CachedGet, Reader, RedisGet, percentile};
use redis::aio::MultiplexedConnection;
use redis::caching::CacheConfig;
use redis::{AsyncCommands, AsyncConnectionConfig};

const VALUE_SIZE: usize = 100;
/// Keys each system's samples take in turn.
const KEYS_PER_SYSTEM: usize = 500;
/// The systems, in the order of their samples' rotation.
const SYSTEMS: [&str; 2] = ["nearcache", "cache-aio"];

/// One sample, in microseconds after the write's reply.
struct Sample {
    /// When the first read that returned the new value began, or when the
    /// sample gave up.
    stopped_old: f64,
    /// When that read returned.
    read_new: f64,
    /// Whether the first read after the write's reply still returned the
    /// old value.
    first_read_old: bool,
    /// Whether the reads still returned the old value after
    /// [`STALE_AFTER`].
    stale: bool,
}

/// Writes `new` to `key` through `writer`, and reads the key through
/// `reader` at the [`Pace`] until it returns `new`.
async fn sample<R: Reader>(reader: &R, writer: &mut MultiplexedConnection, key: &str, new: &[u8]) -> Sample {
    assert_ne!(reader.read(key).await, new, "{key} already holds the value the sample writes");
    let _: () = writer.set(key, new).await.unwrap();
    let written = Instant::now();
    let micros = |at: Instant| at.duration_since(written).as_secs_f64() * 1e6;
    let mut first_read_old = None;
    let mut pace = Pace::new(written);
    loop {
        let read_at = Instant::now();
        let value = reader.read(key).await;
        let returned_at = Instant::now();
        let old = value != new;
        let first_read_old = *first_read_old.get_or_insert(old);
        let stale = old && returned_at.duration_since(written) > STALE_AFTER;
        if !old || stale {
            return Sample { stopped_old: micros(read_at), read_new: micros(returned_at), first_read_old, stale };
        }
        pace.wait(read_at).await;
    }
}

/// One system's samples.
#[derive(Default)]
struct Samples {
    stopped_old: Vec<f64>,
    read_new: Vec<f64>,
    first_read_old: usize,
    stale: usize,
}

impl Samples {
    fn record(&mut self, sample: Sample) {
        self.stopped_old.push(sample.stopped_old);
        self.read_new.push(sample.read_new);
        self.first_read_old += usize::from(sample.first_read_old);
        self.stale += usize::from(sample.stale);
    }

    /// The p50, p90 and p99 of `samples`, in us.
    fn percentiles(samples: &mut [f64]) -> [f64; 3] {
        samples.sort_by(f64::total_cmp);
        [50, 90, 99].map(|p| percentile(samples, p))
    }
}

/// `count` samples per system, the systems' connections opened on the
/// runtime this runs on, the keys named with `prefix`.
async fn run(url: String, prefix: &'static str, count: usize) -> [Samples; 2] {
    let server = redis::Client::open(url.as_str()).unwrap();
    let mut writer = server.get_multiplexed_async_connection().await.unwrap();
    let nearcache = CachedGet(CacheBuilder::new(&url).build().await.unwrap());
    let resp3 = redis::Client::open(format!("{url}/?protocol=resp3")).unwrap();
    let cache_aio = RedisGet(
        resp3
            .get_multiplexed_async_connection_with_config(
                &AsyncConnectionConfig::new().set_cache_config(CacheConfig::new()),
            )
            .await
            .unwrap(),
    );
    let key = |system: usize, n: usize| format!("delay:{prefix}:{system}:{n:06}");
    let value = vec![b'v'; VALUE_SIZE];
    for system in 0..SYSTEMS.len() {
        for n in 0..KEYS_PER_SYSTEM {
            let _: () = writer.set(key(system, n), &value).await.unwrap();
        }
    }
    let mut samples: [Samples; 2] = Default::default();
    for i in 0..count {
        for turn in 0..SYSTEMS.len() {
            let system = (i + turn) % SYSTEMS.len();
            let salt = ["n", "a"][system];
            let new = format!("{salt}{i:0width$}", width = VALUE_SIZE - salt.len()).into_bytes();
            let key = key(system, i % KEYS_PER_SYSTEM);
            samples[system].record(match system {
                0 => sample(&nearcache, &mut writer, &key, &new).await,
                _ => sample(&cache_aio, &mut writer, &key, &new).await,
            });
        }
    }
    samples
}

fn main() {
    let count: usize = nearcache_tests::bench_setting("DELAY_SAMPLES", 2_000);
    let server = RedisServer::start(&[]);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    println!(
        "invalidation delay in us after the write's reply, {count} samples per system and runtime, p50 / p90 / p99; \
         `behind`: nearcache's less cache-aio's (above zero, nearcache is later)"
    );
    println!(
        "{:<40} {:<10} {:>22} {:>22} {:>15} {:>6}",
        "runtime", "system", "stopped serving old", "read the new value", "first read old", "stale"
    );
    let runtimes = [
        ("current-thread", tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()),
        (
            "multi-thread, reader in a spawned task",
            tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build().unwrap(),
        ),
    ];
    for ((name, runtime), prefix) in runtimes.into_iter().zip(["current", "multi"]) {
        let url = server.url();
        let mut samples = runtime.block_on(async move { tokio::spawn(run(url, prefix, count)).await.unwrap() });
        let mut figures = Vec::new();
        for (system, samples) in SYSTEMS.iter().zip(&mut samples) {
            let stopped = Samples::percentiles(&mut samples.stopped_old);
            let read = Samples::percentiles(&mut samples.read_new);
            let show = |[p50, p90, p99]: [f64; 3]| format!("{p50:.1} / {p90:.1} / {p99:.1}");
            println!(
                "{name:<40} {system:<10} {:>22} {:>22} {:>15} {:>6}",
                show(stopped),
                show(read),
                samples.first_read_old,
                samples.stale
            );
            figures.push((stopped, read));
        }
        let ((near_stopped, near_read), (aio_stopped, aio_read)) = (figures[0], figures[1]);
        let behind = |near: [f64; 3], aio: [f64; 3]| {
            let [p50, p90, p99] = [0, 1, 2].map(|i| near[i] - aio[i]);
            format!("{p50:+.1} / {p90:+.1} / {p99:+.1}")
        };
        println!(
            "{name:<40} {:<10} {:>22} {:>22}",
            "behind",
            behind(near_stopped, aio_stopped),
            behind(near_read, aio_read)
        );
    }
}
