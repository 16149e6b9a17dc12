//! Read throughput for the benchmarks: many tasks reading keys in a loop,
//! counted over a fixed time, the same loop for every system compared.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::AsyncCommands;

/// `GET` through a nearcache [`Cache`](nearcache::Cache).
pub struct CachedGet(pub nearcache::Cache);

impl Reader for CachedGet {
    async fn read(&self, key: &str) -> Vec<u8> {
        match self.0.get(key).await.expect("nearcache get") {
            nearcache::Value::BulkString(bytes) => bytes,
            other => panic!("unexpected reply {other:?}"),
        }
    }
}

/// `GET` through a redis crate connection: uncached, or with its
/// `cache-aio` cache on.
pub struct RedisGet(pub redis::aio::MultiplexedConnection);

impl Reader for RedisGet {
    async fn read(&self, key: &str) -> Vec<u8> {
        self.0.clone().get(key).await.expect("redis get")
    }
}

/// A bare `Mutex<HashMap>` of the values, read with one lock, one lookup
/// and one copy: no eviction order, expiry, coherence or decoding. Not a
/// cache; what a hit costs at the least on one thread (under contention a
/// sharded map does better).
pub struct MutexMap(Mutex<hashbrown::HashMap<Vec<u8>, Vec<u8>>>);

impl MutexMap {
    /// A map holding `value` under every key of `keys`.
    pub fn new(keys: impl IntoIterator<Item = impl AsRef<[u8]>>, value: &[u8]) -> MutexMap {
        MutexMap(Mutex::new(keys.into_iter().map(|key| (key.as_ref().to_vec(), value.to_vec())).collect()))
    }
}

impl Reader for MutexMap {
    async fn read(&self, key: &str) -> Vec<u8> {
        self.0.lock().expect("the map's lock").get(key.as_bytes()).expect("a key the map was made with").clone()
    }
}

/// A read the benchmarks can drive from many tasks.
pub trait Reader: Send + Sync + 'static {
    /// Reads `key`; panics on an error or an unexpected reply.
    fn read(&self, key: &str) -> impl Future<Output = Vec<u8>> + Send;
}

/// Reads per second with `tasks` concurrent tasks, each walking `keys` with
/// a stride, for `seconds`.
pub async fn throughput<R: Reader>(reader: Arc<R>, keys: Arc<Vec<String>>, tasks: usize, seconds: f64) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let (reader, stop, total, keys) =
                (Arc::clone(&reader), Arc::clone(&stop), Arc::clone(&total), Arc::clone(&keys));
            tokio::spawn(async move {
                let mut n = t * 7919;
                let mut count = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    // A cached read may never return Pending (cache-aio's
                    // hits do not): spend the coop budget in every loop alike
                    // so each system's tasks yield to the timer that stops them.
                    tokio::task::coop::consume_budget().await;
                    n = (n + 7919) % keys.len();
                    std::hint::black_box(reader.read(&keys[n]).await);
                    count += 1;
                }
                total.fetch_add(count, Ordering::Relaxed);
            })
        })
        .collect();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for handle in handles {
        handle.await.expect("a reader task panicked");
    }
    total.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// The `percent`th percentile of `sorted` (ascending): the sample at
/// `len * percent / 100`.
pub fn percentile(sorted: &[f64], percent: usize) -> f64 {
    sorted[sorted.len() * percent / 100]
}
