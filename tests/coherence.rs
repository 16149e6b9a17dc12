//! The randomized coherence checker (`nearcache_tests::coherence`) on one
//! server: writers and readers over a small key space, with the cache's
//! connection killed every 400 ms. After writes stop and invalidations
//! drain, no entry may differ from the server.

use std::sync::Arc;
use std::time::Duration;

use nearcache::CacheBuilder;
use nearcache_tests::redis_server::{RedisServer, kill_tracking_clients};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_entry_is_stale_after_concurrent_writes_and_connection_kills() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let server = RedisServer::start(&[]);
    let cache = Arc::new(CacheBuilder::new(server.url()).max_backoff(Duration::from_millis(20)).build().await.unwrap());
    let client = server.client();
    let mut writers = Vec::new();
    for _ in 0..3 {
        writers.push(client.get_multiplexed_async_connection().await.unwrap());
    }
    let check = client.get_multiplexed_async_connection().await.unwrap();
    let admin = client.get_multiplexed_async_connection().await.unwrap();
    let report = nearcache_tests::coherence::run(cache, writers, check, || {
        let mut admin = admin.clone();
        async move { kill_tracking_clients(&mut admin).await }
    })
    .await;
    println!("coherence: {report}");
    report.assert_coherent();
}
