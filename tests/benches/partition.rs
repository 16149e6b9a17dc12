//! How long a partitioned cache serves a stale value, on the wall clock.
//!
//! A cache reads a key through a relay ([`nearcache_tests::relay`]) that
//! then stops forwarding both ways without closing anything; another
//! client writes the key straight to the server; a reader polls the key
//! through the cache every millisecond. Each sample reports, from the
//! moment the relay went silent: when the last read that returned the old
//! value began, and when the cache gave the connection up (its first
//! `Disconnected`). Both must stay below the bound, `max_staleness`; a
//! healthy idle connection must never be given up.
//!
//! Run with `cargo bench -p nearcache-tests --bench partition`; set
//! `PARTITION_SAMPLES` (default 5) and `PARTITION_BOUND_MS` (default 1000,
//! and the default bound of 3000 ms is run as well unless it is set).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use nearcache::{CacheBuilder, CacheStats, Error, Value};
use nearcache_tests::bench_setting;
use nearcache_tests::redis_server::RedisServer;
use nearcache_tests::relay::Relay;

/// One partition, timed from the moment the relay went silent.
struct Sample {
    last_stale_read: Duration,
    given_up: Duration,
}

async fn sample(server: &RedisServer, bound: Duration) -> Sample {
    let relay = Relay::start(SocketAddr::from(([127, 0, 0, 1], server.port()))).await;
    let cache = CacheBuilder::new(relay.url())
        .max_staleness(bound)
        .timeouts(Duration::from_millis(300), Duration::from_secs(60))
        .build()
        .await
        .expect("cache connects through the relay");
    let mut writer = server.client().get_multiplexed_async_connection().await.unwrap();
    redis::cmd("SET").arg("k").arg("old").query_async::<()>(&mut writer).await.unwrap();
    let old = Value::BulkString(b"old".to_vec());
    assert_eq!(cache.get("k").await.unwrap(), old);
    // Idle for a while first: the keep-alive must hold a healthy connection.
    tokio::time::sleep(bound * 2).await;
    assert_eq!(cache.connection_losses(), 0, "a healthy idle connection was given up");

    relay.partition();
    let silent_since = Instant::now();
    redis::cmd("SET").arg("k").arg("new").query_async::<()>(&mut writer).await.unwrap();
    let mut last_stale_read = Duration::ZERO;
    let given_up = loop {
        let began = silent_since.elapsed();
        match cache.get("k").await {
            Ok(value) if value == old => last_stale_read = began,
            Err(Error::Disconnected) => break began,
            other => panic!("a partitioned cache answered {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert!(silent_since.elapsed() < bound * 10, "the cache served the old value for 10 bounds");
    };
    let stats: CacheStats = cache.stats();
    assert_eq!(stats.silent_losses, 1);
    Sample { last_stale_read, given_up }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let samples: usize = bench_setting("PARTITION_SAMPLES", 5);
    let bounds: Vec<Duration> = match std::env::var("PARTITION_BOUND_MS") {
        Ok(_) => vec![Duration::from_millis(bench_setting("PARTITION_BOUND_MS", 1000))],
        Err(_) => vec![Duration::from_millis(1000), CacheBuilder::DEFAULT_MAX_STALENESS],
    };
    let server = RedisServer::start(&[]);
    println!("| max_staleness | samples | last stale read (ms) max | given up (ms) min / max |");
    println!("| ---: | ---: | ---: | ---: |");
    for bound in bounds {
        let taken: Vec<Sample> = (0..samples).map(|_| runtime.block_on(sample(&server, bound))).collect();
        let stale = taken.iter().map(|s| ms(s.last_stale_read)).fold(0.0, f64::max);
        let first = taken.iter().map(|s| ms(s.given_up)).fold(f64::INFINITY, f64::min);
        let last = taken.iter().map(|s| ms(s.given_up)).fold(0.0, f64::max);
        println!("| {} ms | {samples} | {stale:.1} | {first:.1} / {last:.1} |", bound.as_millis());
    }
}
