//! The tracking cache over wasm backends, against a real redis-server: the
//! Rust guest serves and stays coherent; a hostile guest costs hits, never
//! answers, and the shards it did not break keep serving; a backend's
//! memory stays within its budget, and a reload gets the memory back.

use std::sync::Arc;

use nearcache::wasm::{Limits, WasmEngine, WasmFactory};
use nearcache::{BackendSource, Cache, CacheBuilder, Value};
use nearcache_tests::guests;
use nearcache_tests::redis_server::RedisServer;

fn factory(path: &str) -> Arc<WasmFactory> {
    let engine = WasmEngine::new(Limits::default()).expect("engine");
    Arc::new(WasmFactory::load_file(&engine, path).expect("the guest loads"))
}

async fn cache(server: &RedisServer, path: &str) -> Cache {
    cache_over(server, factory(path), 2).await
}

async fn cache_over(server: &RedisServer, factory: Arc<WasmFactory>, shards: usize) -> Cache {
    CacheBuilder::new(server.url())
        .shards(shards)
        .backend(factory, options())
        .build()
        .await
        .expect("cache over a wasm backend")
}

fn options() -> Vec<(String, String)> {
    vec![("max-entries".into(), "1000".into())]
}

async fn set(server: &RedisServer, key: &str, value: &str) {
    let mut conn = server.client().get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SET").arg(key).arg(value).query_async(&mut conn).await.unwrap();
}

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

#[tokio::test]
async fn the_rust_guest_serves_hits_and_sees_other_clients_writes() {
    let server = RedisServer::start(&[]);
    let cache = cache(&server, guests::RUST_STORE).await;
    assert_eq!(cache.backend_name(), "rust_store");
    set(&server, "k", "v1").await;
    assert_eq!(cache.get("k").await.unwrap(), bulk("v1"));
    assert_eq!(cache.get("k").await.unwrap(), bulk("v1"));
    assert_eq!(cache.stats().hits, 1);
    assert_eq!(cache.stats().backend_stat("entries"), 1);
    set(&server, "k", "v2").await;
    cache.command(&redis::cmd("PING")).await.unwrap();
    assert_eq!(cache.get("k").await.unwrap(), bulk("v2"));
    assert_eq!(cache.stats().backend_errors, 0);
}

#[tokio::test]
async fn a_guest_that_loops_costs_its_shard_and_nothing_else() {
    let server = RedisServer::start(&[]);
    let cache = cache(&server, guests::HOSTILE_LOOP_IN_GET).await;
    let keys: Vec<String> = (0..20).map(|n| format!("key:{n}")).collect();
    for key in &keys {
        set(&server, key, "v").await;
        cache.get(key).await.unwrap();
    }
    set(&server, "hostile", "still answered").await;
    // The guest loops on this key's lookup: the read is answered from Redis.
    assert_eq!(cache.get("hostile").await.unwrap(), bulk("still answered"));
    let stats = cache.stats();
    assert!(stats.backend_errors >= 1, "{stats:?}");
    // Later calls to that shard fail fast while it backs off; each names the cause.
    assert!(stats.last_backend_error.as_deref().is_some_and(|e| e.contains("out of CPU")), "{stats:?}");

    // The looping instance was replaced by an empty one; the other shard's
    // entries are still served.
    let hits = cache.stats().hits;
    for key in &keys {
        assert_eq!(cache.get(key).await.unwrap(), bulk("v"));
    }
    let served = cache.stats().hits - hits;
    assert!(served > 0 && served < 20, "{served} of 20 entries were served after one shard failed");
}

#[tokio::test]
async fn a_guest_that_always_traps_is_bypassed_and_reads_still_answer() {
    let server = RedisServer::start(&[]);
    let cache = cache(&server, guests::HOSTILE_TRAP_EVERYWHERE).await;
    set(&server, "k", "from redis").await;
    for _ in 0..10 {
        assert_eq!(cache.get("k").await.unwrap(), bulk("from redis"));
    }
    let stats = cache.stats();
    assert_eq!(stats.hits, 0);
    assert!(stats.backend_errors >= 10, "{stats:?}");
    let reason = stats.last_backend_error.unwrap_or_default();
    assert!(reason.contains("quarantined") || reason.contains("trap"), "{reason}");
}

/// A guest whose `get` floods the log with large records runs out of fuel
/// in its own calls: every read of its trigger key is answered from Redis,
/// the failure is fuel's, not the wall-clock limit's, and the other shard
/// keeps serving its entries.
#[tokio::test]
async fn a_guest_that_floods_the_log_runs_out_of_fuel_and_other_reads_still_answer() {
    let server = RedisServer::start(&[]);
    let cache = cache(&server, guests::HOSTILE_LOG_FLOOD_LARGE).await;
    let keys: Vec<String> = (0..20).map(|n| format!("key:{n}")).collect();
    for key in &keys {
        set(&server, key, "v").await;
        cache.get(key).await.unwrap();
    }
    set(&server, "hostile", "still answered").await;
    // The guest's `get` of this key logs until its fuel runs out: every
    // read of it is answered from Redis.
    for _ in 0..3 {
        assert_eq!(cache.get("hostile").await.unwrap(), bulk("still answered"));
    }
    let stats = cache.stats();
    assert!(stats.backend_errors >= 1, "{stats:?}");
    let reason = stats.last_backend_error.clone().unwrap_or_default();
    assert!(reason.contains("fuel allowed per call"), "{reason}");
    assert!(!reason.contains("wall-clock"), "{reason}");

    // The flooding instance was replaced by an empty one; the other
    // shard's entries are still served.
    let hits = cache.stats().hits;
    for key in &keys {
        assert_eq!(cache.get(key).await.unwrap(), bulk("v"));
    }
    let served = cache.stats().hits - hits;
    assert!(served > 0 && served < 20, "{served} of 20 entries were served after one shard failed");
}

/// A guest whose fills grow its memory without bound, in every shard, with
/// one small budget for the backend and the engine: what its instances hold
/// together never passes it, each denial names the budget, and every read
/// is answered from Redis. A reload then fits into the same budget, which
/// it could not had the failed instances kept their memory, and the
/// retired backend gives back all it held.
#[tokio::test]
async fn a_guest_that_grows_in_every_shard_stays_within_the_budget_and_a_reload_replaces_it() {
    let server = RedisServer::start(&[]);
    let budget = 16 << 20;
    let limits = Limits { backend_memory_bytes: budget, engine_memory_bytes: budget, ..Limits::default() };
    let engine = WasmEngine::new(limits).expect("engine");
    let hostile = Arc::new(WasmFactory::load_file(&engine, guests::HOSTILE_GROW_IN_PUT).expect("load"));
    let cache = cache_over(&server, Arc::clone(&hostile), 4).await;
    // Keys that end in the guest's trigger, over every shard: each fill
    // grows its shard's instance until the budget stops it.
    for n in 0..16 {
        let key = format!("{n}:hostile");
        set(&server, &key, "from redis").await;
        assert_eq!(cache.get(&key).await.unwrap(), bulk("from redis"));
        assert_eq!(cache.get(&key).await.unwrap(), bulk("from redis"));
    }
    let stats = cache.stats();
    assert!(stats.backend_errors >= 1, "{stats:?}");
    let reason = stats.last_backend_error.clone().unwrap_or_default();
    assert!(reason.contains("memory budget"), "{reason}");
    let usage = hostile.memory();
    assert!(usage.peak <= budget && engine.memory().peak <= budget, "{usage:?} {:?}", engine.memory());
    assert!(usage.peak > budget / 2, "the guest never grew: {usage:?}");

    let fresh = Arc::new(WasmFactory::load_file(&engine, guests::RUST_STORE).expect("load"));
    let source = BackendSource::Factory(Arc::clone(&fresh) as Arc<dyn nearcache::BackendFactory>);
    cache.reload_backend(source, options()).await.expect("the reload fits in the budget");
    assert_eq!(hostile.memory().held, 0, "the retired backend kept memory");
    assert_eq!(engine.memory().held, fresh.memory().held);
    set(&server, "k", "v").await;
    assert_eq!(cache.get("k").await.unwrap(), bulk("v"));
    let hits = cache.stats().hits;
    assert_eq!(cache.get("k").await.unwrap(), bulk("v"));
    assert_eq!(cache.stats().hits, hits + 1, "the fresh backend does not serve hits");
}
