//! The randomized coherence checker: writer tasks and reader tasks over a
//! small key space while the cache's tracked connections are killed now
//! and then. After writes stop and invalidations drain, no entry may differ
//! from the server. The single-server and the cluster tests both run it.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nearcache::{Cache, CacheStats, Error, Value};
use redis::aio::ConnectionLike;

/// Keys the workload reads and writes.
const KEYS: u64 = 24;
/// Readers reading through the cache.
const READERS: u64 = 6;
/// How long writers and readers run.
const RUN_FOR: Duration = Duration::from_secs(4);
/// How often `kill` is called.
const KILL_EVERY: Duration = Duration::from_millis(400);

/// What a run saw.
#[derive(Debug)]
pub struct Report {
    /// Read calls that succeeded (a `get` or an mget of 3 keys).
    pub reads: u64,
    /// Hits during the run, before the final check.
    pub hits: u64,
    /// Reads that failed while a connection was down.
    pub failed: u64,
    /// Writes by the writers.
    pub writes: u64,
    /// Connections killed.
    pub kills: usize,
    /// Keys whose cached value differs from the server's after the run:
    /// (key, cached, server).
    pub stale: Vec<(String, Value, Value)>,
    /// The cache's stats after the final check.
    pub stats: CacheStats,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} reads ({} hits), {} failed while a connection was down, {} writes, {} invalidated keys, {} kills, {} reconnects, {} fills skipped by the race, {} stale",
            self.reads,
            self.hits,
            self.failed,
            self.writes,
            self.stats.invalidated_keys,
            self.kills,
            self.stats.reconnects,
            self.stats.fills_skipped,
            self.stale.len(),
        )
    }
}

impl Report {
    /// Panics unless the run found no stale entry and tested something:
    /// enough kills and reconnects, some hits and some invalidations.
    pub fn assert_coherent(&self) {
        assert!(self.stale.is_empty(), "{} stale entries: {:?}", self.stale.len(), self.stale);
        assert!(
            self.kills >= 5 && self.stats.reconnects >= 5,
            "the connections were not killed often enough to test anything: {self}"
        );
        assert!(self.hits > 0 && self.stats.invalidated_keys > 0, "no hits or no invalidations: {self}");
    }
}

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

/// Runs the workload: one writer task per connection in `writers`, six
/// readers through `cache`, and `kill` (which kills some of the cache's
/// connections and says how many) every 400 ms for 4 s. Then compares every
/// key through the cache with the server, read on `check`.
pub async fn run<C, K, F>(cache: Arc<Cache>, writers: Vec<C>, mut check: C, mut kill: K) -> Report
where
    C: ConnectionLike + Send + 'static,
    K: FnMut() -> F,
    F: Future<Output = usize>,
{
    let stop = Arc::new(AtomicBool::new(false));
    let (reads, failed, writes) =
        (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut tasks = Vec::new();
    for (writer, mut connection) in (0u64..).zip(writers) {
        let (stop, writes) = (Arc::clone(&stop), Arc::clone(&writes));
        tasks.push(tokio::spawn(async move {
            let mut rng = 0x9E37_79B9_7F4A_7C15 ^ (writer + 1);
            let mut version = 0u64;
            while !stop.load(Ordering::Relaxed) {
                version += 1;
                let k = key(next(&mut rng) % KEYS);
                let set = redis::cmd("SET").arg(&k).arg(format!("{writer}:{version}")).clone();
                set.query_async::<()>(&mut connection).await.expect("a writer's SET");
                writes.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for reader in 0..READERS {
        let (cache, stop, reads, failed) =
            (Arc::clone(&cache), Arc::clone(&stop), Arc::clone(&reads), Arc::clone(&failed));
        tasks.push(tokio::spawn(async move {
            let mut rng = 0xD1B5_4A32_D192_ED03 ^ (reader + 1);
            while !stop.load(Ordering::Relaxed) {
                let n = next(&mut rng) % KEYS;
                let result = if n.is_multiple_of(4) {
                    cache.mget([key(n), key((n + 1) % KEYS), key((n + 7) % KEYS)]).await.map(drop)
                } else {
                    cache.get(key(n)).await.map(drop)
                };
                match result {
                    Ok(()) => reads.fetch_add(1, Ordering::Relaxed),
                    Err(Error::Disconnected | Error::Redis(_)) => {
                        cache.wait_connected().await;
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                    Err(other) => panic!("unexpected error: {other}"),
                };
            }
        }));
    }

    let started = Instant::now();
    let mut kills = 0;
    while started.elapsed() < RUN_FOR {
        tokio::time::sleep(KILL_EVERY).await;
        kills += kill().await;
    }
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("a writer or reader panicked");
    }
    let hits = cache.stats().hits;

    // Writes are over; every invalidation they caused precedes this. A
    // connection killed last may still look up until a request on it
    // fails; that failure is its loss, so wait for the reconnect and ask
    // again.
    let mut attempts = 0;
    loop {
        cache.wait_connected().await;
        match cache.sync_invalidations().await {
            Ok(()) => break,
            Err(error) if attempts < 5 => {
                attempts += 1;
                println!("sync after the run failed ({error}); waiting for the reconnect");
            }
            Err(error) => panic!("every node answers PING: {error}"),
        }
    }
    let mut stale = Vec::new();
    for n in 0..KEYS {
        let cached = cache.get(key(n)).await.expect("a read after the run");
        let actual: Value = redis::cmd("GET").arg(key(n)).query_async(&mut check).await.expect("GET on the server");
        if cached != actual {
            stale.push((key(n), cached, actual));
        }
    }
    Report {
        reads: reads.load(Ordering::Relaxed),
        hits,
        failed: failed.load(Ordering::Relaxed),
        writes: writes.load(Ordering::Relaxed),
        kills,
        stale,
        stats: cache.stats(),
    }
}
