//! The read that follows an invalidation: how long one miss takes, once the
//! invalidation has landed, on nearcache, on the redis crate's `cache-aio`
//! cache, and uncached (a plain GET, and GET with PTTL in one pipeline, as
//! nearcache sends a cached read).
//!
//! The `cache` bench's invalidation delay is this miss plus the wait for the
//! push; this bench takes the miss alone, to tell the two apart. Each
//! sample reads a key twice (so the caches hold it), has another client
//! write it, waits 3 ms (far longer than a push takes on loopback; cache-aio
//! shows no sign of its push to wait on) and times one read.
//!
//! Run with `cargo bench -p nearcache-tests --bench miss`. To profile or
//! count one system alone, run the bench binary with `SYSTEM` set to
//! `nearcache`, `cache-aio`, `uncached` or `pttl`, and `ROUNDS` to the
//! rounds wanted (default 3): the instructions of one miss, for example,
//! are callgrind's total at `ROUNDS=2` less that at `ROUNDS=1`, over
//! 400 (BENCHMARKS.md).

use std::time::{Duration, Instant};

use nearcache::CacheBuilder;
use nearcache_tests::redis_server::RedisServer;
use nearcache_tests::throughput::{CachedGet, Reader, RedisGet, percentile};
use redis::aio::MultiplexedConnection;
use redis::caching::CacheConfig;
use redis::{AsyncCommands, AsyncConnectionConfig};

const KEYS: usize = 50;
const SAMPLES: usize = 400;
const ROUNDS: usize = 3;

/// `GET` and `PTTL` of the key in one pipeline, uncached.
struct WithPttl(MultiplexedConnection);

impl Reader for WithPttl {
    async fn read(&self, key: &str) -> Vec<u8> {
        let pipe = redis::pipe().get(key).cmd("PTTL").arg(key).clone();
        let (value, _pttl): (Vec<u8>, i64) = pipe.query_async(&mut self.0.clone()).await.expect("redis pipeline");
        value
    }
}

fn key(n: usize) -> String {
    format!("miss:{n:03}")
}

/// Prints the p10, p50 and p90 of one miss after an invalidation, in us.
async fn misses<R: Reader>(name: &str, reader: &R, writer: &mut MultiplexedConnection) {
    let mut samples = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let k = key(i % KEYS);
        reader.read(&k).await;
        reader.read(&k).await;
        let new = format!("{name}{i}");
        let _: () = writer.set(&k, &new).await.expect("set");
        tokio::time::sleep(Duration::from_millis(3)).await;
        let started = Instant::now();
        let read = reader.read(&k).await;
        samples.push(started.elapsed().as_secs_f64() * 1e6);
        assert_eq!(read, new.into_bytes(), "{name} served a stale value");
    }
    samples.sort_by(f64::total_cmp);
    let at = |percent| percentile(&samples, percent);
    println!("{name:<26} {:>9.1} {:>9.1} {:>9.1}", at(10), at(50), at(90));
}

fn main() {
    const SYSTEMS: [&str; 4] = ["nearcache", "cache-aio", "uncached", "pttl"];
    let only = std::env::var("SYSTEM").ok();
    if let Some(system) = only.as_deref().filter(|system| !SYSTEMS.contains(system)) {
        panic!("SYSTEM must be one of {SYSTEMS:?}, not {system:?}");
    }
    let rounds = nearcache_tests::bench_setting("ROUNDS", ROUNDS);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let server = RedisServer::start(&[]);
        let mut writer = server.client().get_multiplexed_async_connection().await.expect("connect");
        for n in 0..KEYS {
            let _: () = writer.set(key(n), "v").await.expect("set");
        }
        let nearcache = CachedGet(CacheBuilder::new(server.url()).build().await.expect("nearcache"));
        let resp3 = redis::Client::open(format!("{}/?protocol=resp3", server.url())).expect("a resp3 url");
        let cache_aio = RedisGet(
            resp3
                .get_multiplexed_async_connection_with_config(
                    &AsyncConnectionConfig::new().set_cache_config(CacheConfig::new()),
                )
                .await
                .expect("connect cache-aio"),
        );
        let uncached = RedisGet(server.client().get_multiplexed_async_connection().await.expect("connect"));
        let with_pttl = WithPttl(server.client().get_multiplexed_async_connection().await.expect("connect"));
        println!("one read after an invalidation, us ({SAMPLES} samples per row), multi-thread runtime");
        println!("{:<26} {:>9} {:>9} {:>9}", "system", "p10", "p50", "p90");
        let runs = |system: &str| only.as_deref().is_none_or(|only| only == system);
        for _ in 0..rounds {
            if runs("nearcache") {
                misses("nearcache", &nearcache, &mut writer).await;
            }
            if runs("cache-aio") {
                misses("cache-aio", &cache_aio, &mut writer).await;
            }
            if runs("uncached") {
                misses("uncached GET", &uncached, &mut writer).await;
            }
            if runs("pttl") {
                misses("uncached GET + PTTL", &with_pttl, &mut writer).await;
            }
        }
    });
}
