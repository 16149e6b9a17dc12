//! The randomized coherence checker: writers and readers over a small key
//! space, with the cache's connection killed now and then. After writes
//! stop and invalidations drain, no entry may differ from the server.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nearcache::{CacheBuilder, Error, Value};
use nearcache_tests::redis_server::{RedisServer, kill_tracking_clients};

const KEYS: u64 = 16;
const RUN_FOR: Duration = Duration::from_secs(4);

fn key(n: u64) -> String {
    format!("coherence:{n}")
}

/// A tiny xorshift: the test needs spread, not quality, and no dependency.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_entry_is_stale_after_concurrent_writes_and_connection_kills() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let server = RedisServer::start(&[]);
    let cache = Arc::new(CacheBuilder::new(server.url()).max_backoff(Duration::from_millis(20)).build().await.unwrap());
    let client = server.client();
    let stop = Arc::new(AtomicBool::new(false));
    let (reads, disconnected, writes) =
        (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));

    let mut tasks = Vec::new();
    for writer in 0..3u64 {
        let (client, stop, writes) = (client.clone(), Arc::clone(&stop), Arc::clone(&writes));
        tasks.push(tokio::spawn(async move {
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let mut rng = 0x9E37_79B9_7F4A_7C15 ^ (writer + 1);
            let mut version = 0u64;
            while !stop.load(Ordering::Relaxed) {
                version += 1;
                let k = key(next(&mut rng) % KEYS);
                let _: () =
                    redis::cmd("SET").arg(&k).arg(format!("{writer}:{version}")).query_async(&mut conn).await.unwrap();
                writes.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for reader in 0..6u64 {
        let (cache, stop, reads, disconnected) =
            (Arc::clone(&cache), Arc::clone(&stop), Arc::clone(&reads), Arc::clone(&disconnected));
        tasks.push(tokio::spawn(async move {
            let mut rng = 0xD1B5_4A32_D192_ED03 ^ (reader + 1);
            while !stop.load(Ordering::Relaxed) {
                let n = next(&mut rng) % KEYS;
                let result = if n.is_multiple_of(4) {
                    cache.mget([key(n), key((n + 1) % KEYS)]).await.map(drop)
                } else {
                    cache.get(key(n)).await.map(drop)
                };
                match result {
                    Ok(()) => reads.fetch_add(1, Ordering::Relaxed),
                    Err(Error::Disconnected | Error::Redis(_)) => {
                        cache.wait_connected().await;
                        disconnected.fetch_add(1, Ordering::Relaxed)
                    }
                    Err(other) => panic!("unexpected error: {other}"),
                };
            }
        }));
    }

    // Kill the cache's connection every 400 ms.
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let started = Instant::now();
    let mut kills = 0;
    while started.elapsed() < RUN_FOR {
        tokio::time::sleep(Duration::from_millis(400)).await;
        kills += kill_tracking_clients(&mut admin).await;
    }
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    // Hits during the run, before the final check reads every key once more.
    let hits = cache.stats().hits;

    // Writes are over; every invalidation they caused precedes this reply.
    cache.wait_connected().await;
    cache.command(&redis::cmd("PING")).await.unwrap();
    let mut stale = Vec::new();
    for n in 0..KEYS {
        let cached = cache.get(key(n)).await.unwrap();
        let actual: Value = redis::cmd("GET").arg(key(n)).query_async(&mut admin).await.unwrap();
        if cached != actual {
            stale.push((key(n), cached, actual));
        }
    }
    let stats = cache.stats();
    println!(
        "coherence: {} reads ({} hits), {} failed while disconnected, {} writes, {} invalidated keys, {} kills, {} reconnects, {} fills skipped by the race",
        reads.load(Ordering::Relaxed),
        hits,
        disconnected.load(Ordering::Relaxed),
        writes.load(Ordering::Relaxed),
        stats.invalidated_keys,
        kills,
        stats.reconnects,
        stats.fills_skipped,
    );
    assert!(stale.is_empty(), "{} stale entries: {stale:?}", stale.len());
    assert!(kills >= 5 && stats.reconnects >= 5, "the connection was not killed often enough to test anything");
    assert!(hits > 0 && stats.invalidated_keys > 0, "no hits or no invalidations: nothing was tested");
}
