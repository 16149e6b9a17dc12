//! nearcache on a Redis Cluster against its peers, in one run: cached GET
//! hit throughput against a private 3-master cluster and against a private
//! single redis-server, the redis crate's own `cache-aio` cache on the
//! cluster, and uncached GET through the redis crate's cluster client; then
//! an mget of keys on every node, cached and uncached.
//!
//! Run with `cargo bench -p nearcache-tests --bench cluster`. Set
//! `BENCH_SECONDS` to change the time per throughput figure (default 3).

use std::sync::Arc;

use nearcache::{Cache, CacheBuilder};
use nearcache_tests::redis_cluster::RedisCluster;
use nearcache_tests::redis_server::RedisServer;
use nearcache_tests::throughput::{CachedGet, Reader, throughput};
use redis::AsyncCommands;
use redis::caching::CacheConfig;
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;

const KEYS: usize = 1_000;
const VALUE_SIZE: usize = 100;
/// Keys per mget: spread over every node of the cluster.
const MGET_KEYS: usize = 8;

fn key(n: usize) -> String {
    format!("bench:{n:06}")
}

/// The redis crate's cluster client: uncached, or with its `cache-aio` cache on.
struct CrateCluster(ClusterConnection);
impl Reader for CrateCluster {
    async fn read(&self, key: &str) -> Vec<u8> {
        self.0.clone().get(key).await.expect("cluster get")
    }
}

/// An mget of `MGET_KEYS` keys, from the one key named on.
struct NearcacheMget(Cache);
impl Reader for NearcacheMget {
    async fn read(&self, first: &str) -> Vec<u8> {
        let values = self.0.mget(mget_keys(first)).await.expect("nearcache mget");
        assert_eq!(values.len(), MGET_KEYS);
        Vec::new()
    }
}

struct CrateClusterMget(ClusterConnection);
impl Reader for CrateClusterMget {
    async fn read(&self, first: &str) -> Vec<u8> {
        // The cluster client splits an MGET by slot and puts it together.
        let values: Vec<Vec<u8>> = self.0.clone().mget(mget_keys(first)).await.expect("cluster mget");
        assert_eq!(values.len(), MGET_KEYS);
        Vec::new()
    }
}

/// `MGET_KEYS` keys from `first` on, spaced so they land on different slots.
fn mget_keys(first: &str) -> Vec<String> {
    let n: usize = first.trim_start_matches("bench:").parse().expect("a bench key");
    (0..MGET_KEYS).map(|i| key((n + i * 97) % KEYS)).collect()
}

fn main() {
    let seconds: f64 = nearcache_tests::bench_setting("BENCH_SECONDS", 3.0);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(run(seconds));
}

async fn run(seconds: f64) {
    let cluster = RedisCluster::start();
    let server = RedisServer::start(&[]);
    let value = vec![b'v'; VALUE_SIZE];
    for n in 0..KEYS {
        cluster.write(key(n).as_bytes(), &value);
    }
    let mut single = server.client().get_multiplexed_async_connection().await.unwrap();
    for n in 0..KEYS {
        let _: () = single.set(key(n), &value).await.unwrap();
    }

    let on_cluster = Arc::new(CachedGet(CacheBuilder::cluster(cluster.urls()).build().await.unwrap()));
    let on_single = Arc::new(CachedGet(CacheBuilder::new(server.url()).build().await.unwrap()));
    let cluster_client = ClusterClient::builder(cluster.urls()).build().unwrap();
    let uncached = Arc::new(CrateCluster(cluster_client.get_async_connection().await.unwrap()));
    let resp3 = cluster.urls().iter().map(|url| format!("{url}/?protocol=resp3")).collect::<Vec<_>>();
    let cache_aio_client = ClusterClient::builder(resp3)
        .use_protocol(redis::ProtocolVersion::RESP3)
        .cache_config(CacheConfig::new())
        .build()
        .unwrap();
    let cache_aio = Arc::new(CrateCluster(cache_aio_client.get_async_connection().await.unwrap()));
    let keys: Arc<Vec<String>> = Arc::new((0..KEYS).map(key).collect());
    // Warm every cache: each key once.
    for k in keys.iter() {
        on_cluster.read(k).await;
        on_single.read(k).await;
        cache_aio.read(k).await;
    }

    println!(
        "GET/s, {KEYS} keys of {VALUE_SIZE} B, {seconds} s each, 3-master cluster, multi-thread runtime ({} workers)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("{:<40} {:>14} {:>14}", "system", "1 task", "64 tasks");
    let mut rows = Vec::new();
    macro_rules! row {
        ($name:expr, $reader:expr) => {{
            let one = throughput(Arc::clone(&$reader), Arc::clone(&keys), 1, seconds).await;
            let many = throughput(Arc::clone(&$reader), Arc::clone(&keys), 64, seconds).await;
            println!("{:<40} {one:>14.0} {many:>14.0}", $name);
            rows.push((one, many));
        }};
    }
    row!("nearcache on the cluster (hits)", on_cluster);
    row!("nearcache on one server (hits)", on_single);
    row!("redis crate cache-aio on the cluster", cache_aio);
    row!("redis crate cluster client, uncached", uncached);
    let (cluster_hits, single_hits, aio, raw) = (rows[0], rows[1], rows[2], rows[3]);
    println!(
        "ratios: cluster / one server = {:.2}x, {:.2}x; nearcache / cache-aio (cluster) = {:.1}x, {:.1}x; nearcache / uncached cluster = {:.0}x, {:.0}x",
        cluster_hits.0 / single_hits.0,
        cluster_hits.1 / single_hits.1,
        cluster_hits.0 / aio.0,
        cluster_hits.1 / aio.1,
        cluster_hits.0 / raw.0,
        cluster_hits.1 / raw.1,
    );
    let stats = on_cluster.0.stats();
    assert_eq!(stats.misses, KEYS as u64, "the cluster run was not all hits after warm-up");
    let spread: Vec<String> = stats.nodes.iter().map(|n| format!("{} {}", n.address, n.reads_sent)).collect();
    println!("misses sent per node during warm-up: {}", spread.join(", "));

    let near_mget = Arc::new(NearcacheMget(CacheBuilder::cluster(cluster.urls()).build().await.unwrap()));
    let crate_mget = Arc::new(CrateClusterMget(cluster_client.get_async_connection().await.unwrap()));
    for k in keys.iter() {
        near_mget.read(k).await;
    }
    println!("mget of {MGET_KEYS} keys on different slots, calls/s:");
    rows.clear();
    row!("nearcache on the cluster (all hits)", near_mget);
    row!("redis crate cluster client, uncached", crate_mget);
    println!("ratio: nearcache / uncached = {:.0}x, {:.0}x", rows[0].0 / rows[1].0, rows[0].1 / rows[1].1);
}
