//! The tracking cache against its peers, in one run against one private
//! redis-server: cached GET hit throughput with 1 and 64 tasks for
//! nearcache (native store, with its default CLOCK eviction, whose hits
//! take a shard's read lock, and with exact LRU, whose hits take it
//! exclusively) and the redis crate's own `cache-aio` cache,
//! uncached GET through the redis crate, a bare `Mutex<HashMap>` read in the
//! same loop (the least a hit costs: one lock, one lookup, one copy), and the
//! invalidation delay (a write by another client until the cache stops
//! serving the old value): until the first read of the new value returns,
//! and, for the samples whose first read after the write was still old,
//! when the last old read returned. The `delay` bench takes the delay
//! apart: until the cache stopped serving the old value as well, on a
//! current-thread runtime and from a spawned task.
//!
//! Run with `cargo bench -p nearcache-tests --bench cache`. Set
//! `BENCH_SECONDS` to change the time per throughput figure (default 3, in
//! [`SLICES`] slices that the systems take in turn), and
//! `BENCH_SHARDS` to give nearcache that many shards instead of its default.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use nearcache::{BackendSource, CacheBuilder};
use nearcache_tests::polling::{Pace, STALE_AFTER};
use nearcache_tests::redis_server::RedisServer;
use nearcache_tests::throughput::{CachedGet, MutexMap, Reader, RedisGet, percentile};
use redis::aio::MultiplexedConnection;
use redis::caching::CacheConfig;
use redis::{AsyncCommands, AsyncConnectionConfig};

const KEYS: usize = 1_000;
const VALUE_SIZE: usize = 100;
/// Invalidation-delay samples per system; its p99 is the tenth worst.
const DELAY_SAMPLES: usize = 1_000;
/// Keys each system's delay samples take in turn.
const KEYS_PER_SYSTEM: usize = KEYS / 3;

fn key(n: usize) -> String {
    format!("bench:{n:06}")
}

/// The `n`th key of `system`'s delay samples, which no other system reads.
fn delay_key(system: usize, n: usize) -> String {
    format!("delay:{system}:{n:06}")
}

/// Gets per second with `tasks` concurrent tasks reading the keys.
async fn throughput<R: Reader>(reader: Arc<R>, tasks: usize, seconds: f64) -> f64 {
    nearcache_tests::throughput::throughput(reader, Arc::new((0..KEYS).map(key).collect()), tasks, seconds).await
}

/// Slices of each throughput figure; the systems take turns by slice.
const SLICES: usize = 6;

/// A system's throughput: gets per second with this many tasks, over this
/// many seconds.
type Measure = Box<dyn Fn(usize, f64) -> Pin<Box<dyn Future<Output = f64> + Send>>>;

/// The throughput of `reader`.
fn measure<R: Reader>(reader: &Arc<R>) -> Measure {
    let reader = Arc::clone(reader);
    Box::new(move |tasks, seconds| Box::pin(throughput(Arc::clone(&reader), tasks, seconds)))
}

/// One invalidation-delay sample.
struct Sample {
    /// Microseconds from the write's reply to the first read of the new
    /// value, or to giving up.
    us: f64,
    /// If the first read after the write's reply still returned the old
    /// value (the cache had not yet applied the invalidation), when the
    /// last such read returned, in microseconds after the write's reply.
    last_old_us: Option<f64>,
    /// Whether the reads were still old when it gave up, after
    /// [`STALE_AFTER`].
    stale: bool,
}

/// Writes `new` to `key` through `writer` and reads the key through
/// `reader` at the [`Pace`] until it sees `new`, timing from the write's
/// reply.
async fn invalidation_delay<R: Reader>(
    reader: &R,
    writer: &mut MultiplexedConnection,
    key: &str,
    new: &[u8],
) -> Sample {
    assert_ne!(reader.read(key).await, new);
    let _: () = writer.set(key, new).await.unwrap();
    let written = Instant::now();
    let micros_since_written = || written.elapsed().as_secs_f64() * 1e6;
    let mut last_old_us = None;
    let mut pace = Pace::new(written);
    loop {
        let read_at = Instant::now();
        if reader.read(key).await == new {
            return Sample { us: micros_since_written(), last_old_us, stale: false };
        }
        last_old_us = Some(micros_since_written());
        if written.elapsed() > STALE_AFTER {
            return Sample { us: micros_since_written(), last_old_us, stale: true };
        }
        pace.wait(read_at).await;
    }
}

/// One system's invalidation delays; a stale sample counts at the time it
/// gave up.
#[derive(Default)]
struct Delays {
    samples: Vec<f64>,
    /// For each sample whose first read was old, when the last old read
    /// returned.
    last_old: Vec<f64>,
    stale: usize,
}

impl Delays {
    fn record(&mut self, sample: Sample) {
        self.samples.push(sample.us);
        self.last_old.extend(sample.last_old_us);
        self.stale += usize::from(sample.stale);
    }

    /// The p50 and p99, in us.
    fn percentiles(&mut self) -> (f64, f64) {
        self.samples.sort_by(f64::total_cmp);
        (percentile(&self.samples, 50), percentile(&self.samples, 99))
    }

    /// The p50 and p90 of when the last old read returned, in us, over the
    /// samples whose first read was old; zeros if there were none.
    fn last_old_percentiles(&mut self) -> (f64, f64) {
        if self.last_old.is_empty() {
            return (0.0, 0.0);
        }
        self.last_old.sort_by(f64::total_cmp);
        (percentile(&self.last_old, 50), percentile(&self.last_old, 90))
    }
}

fn main() {
    let seconds: f64 = nearcache_tests::bench_setting("BENCH_SECONDS", 3.0);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(run(seconds));
}

async fn run(seconds: f64) {
    let server = RedisServer::start(&[]);
    let resp3 = redis::Client::open(format!("{}/?protocol=resp3", server.url())).unwrap();
    let mut writer = server.client().get_multiplexed_async_connection().await.unwrap();
    let value = vec![b'v'; VALUE_SIZE];
    for n in 0..KEYS {
        let _: () = writer.set(key(n), &value).await.unwrap();
    }

    let shards = nearcache_tests::bench_setting("BENCH_SHARDS", CacheBuilder::default_shards());
    let nearcache = Arc::new(CachedGet(CacheBuilder::new(server.url()).shards(shards).build().await.unwrap()));
    let lru = vec![("eviction".to_owned(), "lru".to_owned())];
    let nearcache_lru = Arc::new(CachedGet(
        CacheBuilder::new(server.url())
            .shards(shards)
            .backend_source(BackendSource::Native, lru)
            .build()
            .await
            .unwrap(),
    ));
    let cache_aio = Arc::new(RedisGet(
        resp3
            .get_multiplexed_async_connection_with_config(
                &AsyncConnectionConfig::new().set_cache_config(CacheConfig::new()),
            )
            .await
            .unwrap(),
    ));
    let uncached = Arc::new(RedisGet(server.client().get_multiplexed_async_connection().await.unwrap()));
    let mutex_map = Arc::new(MutexMap::new((0..KEYS).map(key), &value));
    // Warm the caches: every key once.
    for n in 0..KEYS {
        nearcache.read(&key(n)).await;
        nearcache_lru.read(&key(n)).await;
        cache_aio.read(&key(n)).await;
    }

    println!(
        "cached GET hits/s, {KEYS} keys of {VALUE_SIZE} B, {seconds} s each in {SLICES} slices taken in turn, multi-thread runtime ({} workers), nearcache with {shards} shards",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let systems: [(&str, Measure); 5] = [
        ("nearcache (native, clock)", measure(&nearcache)),
        ("nearcache (eviction=lru)", measure(&nearcache_lru)),
        ("redis crate cache-aio", measure(&cache_aio)),
        ("redis crate, uncached GET", measure(&uncached)),
        ("bare Mutex<HashMap>", measure(&mutex_map)),
    ];
    // The systems take turns, a slice at a time, so that a change in the
    // machine's speed during the run reaches every system alike instead of
    // falling on whichever system was measured then.
    let mut rows = [(0.0, 0.0); 5];
    for _ in 0..SLICES {
        for ((_, measure), row) in systems.iter().zip(&mut rows) {
            row.0 += measure(1, seconds / SLICES as f64).await / SLICES as f64;
        }
        for ((_, measure), row) in systems.iter().zip(&mut rows) {
            row.1 += measure(64, seconds / SLICES as f64).await / SLICES as f64;
        }
    }
    println!("{:<28} {:>14} {:>14}", "system", "1 task", "64 tasks");
    for ((name, _), (one, many)) in systems.iter().zip(rows) {
        println!("{name:<28} {one:>14.0} {many:>14.0}");
    }
    let (near, lru, aio, raw, map) = (rows[0], rows[1], rows[2], rows[3], rows[4]);
    for (name, row) in [("nearcache", near), ("nearcache lru", lru)] {
        println!(
            "ratios: {name} / cache-aio = {:.1}x (1 task), {:.1}x (64 tasks); {name} / uncached = {:.0}x, {:.0}x",
            row.0 / aio.0,
            row.1 / aio.1,
            row.0 / raw.0,
            row.1 / raw.1
        );
    }
    println!(
        "bare Mutex<HashMap> / cache-aio = {:.1}x, {:.1}x; nearcache / bare Mutex<HashMap> = {:.2}, {:.2}",
        map.0 / aio.0,
        map.1 / aio.1,
        near.0 / map.0,
        near.1 / map.1
    );
    for cache in [&nearcache, &nearcache_lru] {
        assert_eq!(cache.0.stats().misses, KEYS as u64, "a nearcache run was not all hits after warm-up");
    }

    // The systems' samples alternate, each system on keys of its own, and
    // their order rotates, so that a drift in the machine's speed, or what
    // one system's sample leaves behind for the next, reaches all three
    // alike. A key comes round again every KEYS_PER_SYSTEM samples, each
    // time with a new value. No other system reads a system's keys, so a
    // write sends one push: on keys all three had read, Redis would send
    // three, in an order of its own, and a system's delay would depend on
    // its place in that order.
    for system in 0..3 {
        for n in 0..KEYS_PER_SYSTEM {
            let _: () = writer.set(delay_key(system, n), &value).await.unwrap();
        }
    }
    let mut delays: [Delays; 3] = Default::default();
    for i in 0..DELAY_SAMPLES {
        for turn in 0..3 {
            let system = (i + turn) % 3;
            let salt = ["n", "l", "a"][system];
            let new = format!("{salt}{i:0width$}", width = VALUE_SIZE - salt.len()).into_bytes();
            let k = delay_key(system, i % KEYS_PER_SYSTEM);
            let sample = match system {
                0 => invalidation_delay(&*nearcache, &mut writer, &k, &new).await,
                1 => invalidation_delay(&*nearcache_lru, &mut writer, &k, &new).await,
                _ => invalidation_delay(&*cache_aio, &mut writer, &k, &new).await,
            };
            delays[system].record(sample);
        }
    }
    for (name, delays) in ["nearcache", "nearcache lru", "cache-aio"].into_iter().zip(&mut delays) {
        let (p50, p99) = delays.percentiles();
        let (old_p50, old_p90) = delays.last_old_percentiles();
        println!(
            "invalidation delay, {name}: p50 {p50:.0} us, p99 {p99:.0} us; first read old in {} of {DELAY_SAMPLES} (last old read at p50 {old_p50:.1} us, p90 {old_p90:.1} us); {} still stale after {STALE_AFTER:?}",
            delays.last_old.len(),
            delays.stale
        );
    }
}
