//! Instructions per cached GET hit, for callgrind: the same workload as the
//! `cache` bench (one private redis-server, 1,000 keys of 100 bytes, the
//! same read loop), but one task on a current-thread runtime, so the count
//! is deterministic.
//!
//! `HITS` (default 100,000) hits after warm-up; `SYSTEM` is `nearcache`
//! (default: the native store, CLOCK eviction, whose hits take a shard's
//! read lock), `nearcache-lru` (the native store with `eviction=lru`, whose
//! hits relink its list under the shard's exclusive lock), `cache-aio`, `mutex-map` (a bare `Mutex<HashMap>`: one lock, one
//! lookup, one copy), or `floor`: no cache at all, a read that
//! only allocates the 100-byte value it returns, which is what the loop
//! costs by itself. Run it under callgrind at two values of `HITS`:
//! the difference in instructions over the difference in hits is the cost of
//! one hit, the loop included and setup excluded.
//!
//! ```text
//! cargo bench -p nearcache-tests --bench hits --no-run
//! HITS=100000 valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/deps/hits-*
//! HITS=200000 valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/deps/hits-*
//! ```
//!
//! Run outside callgrind with many hits (`HITS=20000000`), it also gives
//! the wall-clock time per hit on one thread with no idle worker to wake,
//! which moves far less between runs than the `cache` bench's 1-task row.

use std::sync::Arc;

use nearcache::{BackendSource, CacheBuilder};
use nearcache_tests::redis_server::RedisServer;
use nearcache_tests::throughput::{CachedGet, MutexMap, Reader};
use redis::caching::CacheConfig;
use redis::{AsyncCommands, AsyncConnectionConfig};

const KEYS: usize = 1_000;
const VALUE_SIZE: usize = 100;

fn key(n: usize) -> String {
    format!("bench:{n:06}")
}

/// One system's read of a key, as the `cache` bench makes it.
enum System {
    Nearcache(CachedGet),
    CacheAio(redis::aio::MultiplexedConnection),
    MutexMap(MutexMap),
    Floor,
}

impl System {
    async fn read(&self, key: &str) -> Vec<u8> {
        match self {
            System::Nearcache(cache) => cache.read(key).await,
            System::CacheAio(connection) => connection.clone().get(key).await.expect("redis get"),
            System::MutexMap(map) => map.read(key).await,
            System::Floor => {
                std::hint::black_box(key);
                vec![b'v'; VALUE_SIZE]
            }
        }
    }
}

fn main() {
    let hits: usize = nearcache_tests::bench_setting("HITS", 100_000);
    let system = std::env::var("SYSTEM").unwrap_or_else(|_| "nearcache".to_owned());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let server = RedisServer::start(&[]);
        let mut writer = server.client().get_multiplexed_async_connection().await.expect("connect");
        let value = vec![b'v'; VALUE_SIZE];
        for n in 0..KEYS {
            let _: () = writer.set(key(n), &value).await.expect("set");
        }
        let keys: Vec<String> = (0..KEYS).map(key).collect();
        let reader = Arc::new(match system.as_str() {
            "nearcache" => {
                System::Nearcache(CachedGet(CacheBuilder::new(server.url()).build().await.expect("nearcache")))
            }
            "nearcache-lru" => {
                let options = vec![("eviction".to_owned(), "lru".to_owned())];
                let builder = CacheBuilder::new(server.url()).backend_source(BackendSource::Native, options);
                System::Nearcache(CachedGet(builder.build().await.expect("nearcache")))
            }
            "cache-aio" => {
                let resp3 = redis::Client::open(format!("{}/?protocol=resp3", server.url())).expect("url");
                let config = AsyncConnectionConfig::new().set_cache_config(CacheConfig::new());
                System::CacheAio(resp3.get_multiplexed_async_connection_with_config(&config).await.expect("connect"))
            }
            "mutex-map" => System::MutexMap(MutexMap::new(&keys, &value)),
            "floor" => System::Floor,
            other => panic!("SYSTEM must be nearcache, nearcache-lru, cache-aio, mutex-map or floor, not {other}"),
        });
        for k in &keys {
            reader.read(k).await;
        }
        // The loop of nearcache_tests::throughput, for a fixed count of hits
        // instead of a fixed time; timed too, for A/B runs outside callgrind.
        let mut n = 0;
        let started = std::time::Instant::now();
        for _ in 0..hits {
            tokio::task::coop::consume_budget().await;
            n = (n + 7919) % keys.len();
            std::hint::black_box(reader.read(&keys[n]).await);
        }
        let elapsed = started.elapsed();
        if let System::Nearcache(cache) = &*reader {
            let stats = cache.0.stats();
            assert_eq!((stats.hits, stats.misses), (hits as u64, KEYS as u64), "not all hits after warm-up");
        }
        println!("{hits} hits on {system}: {:.1} ns per hit", elapsed.as_secs_f64() * 1e9 / hits as f64);
    });
}
