//! The tracking cache against real redis-server processes: hits, misses and
//! invalidations for every allowlisted command, tracking modes, expiry,
//! read-your-writes, the in-flight race, connection loss, and bad input.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nearcache::{Cache, CacheBuilder, Error, NativeFactory, Tracking, Value};
use nearcache_tests::redis_server::{RedisServer, free_port, kill_tracking_clients};
use redis::aio::MultiplexedConnection;
use tokio::sync::{Notify, oneshot};

async fn cache(server: &RedisServer) -> Cache {
    CacheBuilder::new(server.url()).shards(8).build().await.expect("cache connects")
}

/// A RESP3 connection without tracking, so replies compare equal to the cache's.
async fn other(server: &RedisServer) -> MultiplexedConnection {
    let client = redis::Client::open(format!("{}/?protocol=resp3", server.url())).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

async fn run(conn: &mut MultiplexedConnection, parts: &[&str]) -> Value {
    command(parts).query_async::<Value>(conn).await.unwrap_or_else(|e| panic!("{parts:?}: {e}"))
}

fn command(parts: &[&str]) -> redis::Cmd {
    let mut cmd = redis::cmd(parts[0]);
    for part in &parts[1..] {
        cmd.arg(*part);
    }
    cmd
}

/// Returns once every invalidation Redis sent the cache before now has been
/// handled: pushes are handled in socket order, before the reply that follows.
async fn drain(cache: &Cache) {
    cache.command(&redis::cmd("PING")).await.expect("PING through the cache");
}

struct Case {
    setup: &'static [&'static [&'static str]],
    read: &'static [&'static str],
    write: &'static [&'static str],
}

const fn case(
    setup: &'static [&'static [&'static str]],
    read: &'static [&'static str],
    write: &'static [&'static str],
) -> Case {
    Case { setup, read, write }
}

const STRING: &[&[&str]] = &[&["SET", "k", "a"]];
const HASH: &[&[&str]] = &[&["HSET", "h", "f", "v1"]];
const LIST: &[&[&str]] = &[&["RPUSH", "l", "a", "b"]];
const SET: &[&[&str]] = &[&["SADD", "s", "a"], &["SADD", "s2", "a", "b"]];
const ZSET: &[&[&str]] = &[&["ZADD", "z", "1", "a", "2", "b"], &["ZADD", "z2", "5", "q"]];
const HASH_WRITE: &[&str] = &["HSET", "h", "f", "v22", "g", "x"];
const LIST_WRITE: &[&str] = &["LPUSH", "l", "z"];
const ZSET_WRITE: &[&str] = &["ZADD", "z", "0", "b", "3", "c"];

/// Every allowlisted command the issue names, plus the multi-key ones, each
/// with a write that changes its reply.
const CASES: &[Case] = &[
    case(STRING, &["GET", "k"], &["SET", "k", "b"]),
    case(STRING, &["GETRANGE", "k", "0", "1"], &["SET", "k", "bc"]),
    case(STRING, &["STRLEN", "k"], &["SET", "k", "bc"]),
    case(STRING, &["GETBIT", "k", "7"], &["SET", "k", "b"]),
    case(STRING, &["BITCOUNT", "k"], &["SET", "k", "c"]),
    case(STRING, &["EXISTS", "k"], &["DEL", "k"]),
    case(STRING, &["TYPE", "k"], &["DEL", "k"]),
    case(HASH, &["HGET", "h", "f"], HASH_WRITE),
    case(HASH, &["HMGET", "h", "f", "g"], HASH_WRITE),
    case(HASH, &["HGETALL", "h"], HASH_WRITE),
    case(HASH, &["HLEN", "h"], HASH_WRITE),
    case(HASH, &["HEXISTS", "h", "g"], HASH_WRITE),
    case(HASH, &["HKEYS", "h"], HASH_WRITE),
    case(HASH, &["HVALS", "h"], HASH_WRITE),
    case(HASH, &["HSTRLEN", "h", "f"], HASH_WRITE),
    case(LIST, &["LINDEX", "l", "0"], LIST_WRITE),
    case(LIST, &["LLEN", "l"], LIST_WRITE),
    case(LIST, &["LRANGE", "l", "0", "-1"], LIST_WRITE),
    case(LIST, &["LPOS", "l", "a"], LIST_WRITE),
    case(SET, &["SCARD", "s"], &["SADD", "s", "x"]),
    case(SET, &["SISMEMBER", "s", "x"], &["SADD", "s", "x"]),
    case(SET, &["SMISMEMBER", "s", "x", "a"], &["SADD", "s", "x"]),
    case(SET, &["SMEMBERS", "s"], &["SADD", "s", "x"]),
    case(ZSET, &["ZCARD", "z"], ZSET_WRITE),
    case(ZSET, &["ZSCORE", "z", "b"], ZSET_WRITE),
    case(ZSET, &["ZMSCORE", "z", "a", "b"], ZSET_WRITE),
    case(ZSET, &["ZRANK", "z", "b"], ZSET_WRITE),
    case(ZSET, &["ZRANGE", "z", "0", "-1"], ZSET_WRITE),
    case(ZSET, &["ZRANGE", "z", "0", "5", "BYSCORE", "WITHSCORES"], ZSET_WRITE),
    case(ZSET, &["ZRANGE", "z", "[a", "[z", "BYLEX"], ZSET_WRITE),
    case(ZSET, &["ZCOUNT", "z", "0", "10"], ZSET_WRITE),
    // A write to the second key must drop an entry stored under the first.
    case(SET, &["SINTER", "s", "s2"], &["SREM", "s2", "a"]),
    case(SET, &["SUNION", "s", "s2"], &["SADD", "s2", "n"]),
    case(STRING, &["EXISTS", "k", "k2"], &["SET", "k2", "x"]),
    case(ZSET, &["ZUNION", "2", "z", "z2"], &["ZADD", "z2", "9", "r"]),
];

#[tokio::test]
async fn every_allowlisted_command_hits_then_sees_another_clients_write() {
    let server = RedisServer::start(&[]);
    let cache = cache(&server).await;
    let mut other = other(&server).await;
    for case in CASES {
        run(&mut other, &["FLUSHDB"]).await;
        for setup in case.setup {
            run(&mut other, setup).await;
        }
        drain(&cache).await;
        let read = command(case.read);
        let first = cache.cached(&read).await.unwrap();
        assert_eq!(first, run(&mut other, case.read).await, "{:?}: the first read is the server's reply", case.read);
        let hits = cache.stats().hits;
        assert_eq!(cache.cached(&read).await.unwrap(), first, "{:?}", case.read);
        assert_eq!(cache.stats().hits, hits + 1, "{:?}: the second read is a hit", case.read);

        run(&mut other, case.write).await;
        drain(&cache).await;
        let after = cache.cached(&read).await.unwrap();
        let server_now = run(&mut other, case.read).await;
        assert_ne!(first, server_now, "{:?}: the write must change the reply", case.read);
        assert_eq!(after, server_now, "{:?}: served a stale reply after another client's write", case.read);
    }
}

#[tokio::test]
async fn mget_splits_per_key_and_sends_only_misses() {
    let server = RedisServer::start(&[]);
    let cache = cache(&server).await;
    let mut other = other(&server).await;
    run(&mut other, &["MSET", "a", "1", "b", "2"]).await;
    assert_eq!(cache.get("a").await.unwrap(), Value::BulkString(b"1".to_vec()));
    let before = cache.stats();
    let values = cache.mget(["a", "b", "c"]).await.unwrap();
    assert_eq!(values, vec![Value::BulkString(b"1".to_vec()), Value::BulkString(b"2".to_vec()), Value::Nil]);
    let after = cache.stats();
    assert_eq!((after.hits - before.hits, after.misses - before.misses), (1, 2));
    // Each key is its own entry, nil included (negative caching).
    assert_eq!(cache.mget(["c", "b", "a"]).await.unwrap()[0], Value::Nil);
    assert_eq!(cache.stats().hits, after.hits + 3);
    // A cached nil through `get` is one hit for the cache and the backend.
    let before = cache.stats();
    assert_eq!(cache.get("c").await.unwrap(), Value::Nil);
    let after = cache.stats();
    assert_eq!(after.hits - before.hits, 1);
    assert_eq!(after.backend_stat("hits") - before.backend_stat("hits"), 1, "the backend counted one hit twice");
    run(&mut other, &["SET", "c", "3"]).await;
    drain(&cache).await;
    assert_eq!(cache.get("c").await.unwrap(), Value::BulkString(b"3".to_vec()));
}

#[tokio::test]
async fn broadcast_tracking_caches_only_keys_under_its_prefixes() {
    let server = RedisServer::start(&[]);
    let cache = CacheBuilder::new(server.url())
        .tracking(Tracking::Broadcast { prefixes: vec![b"user:".to_vec()] })
        .build()
        .await
        .unwrap();
    let mut other = other(&server).await;
    run(&mut other, &["MSET", "user:1", "a", "other:1", "b"]).await;
    cache.get("user:1").await.unwrap();
    cache.get("other:1").await.unwrap();
    let stats = cache.stats();
    cache.get("user:1").await.unwrap();
    cache.get("other:1").await.unwrap();
    assert_eq!(cache.stats().hits, stats.hits + 1, "only the key under the prefix is cached");
    assert!(cache.stats().uncached_reads >= 2);
    run(&mut other, &["SET", "user:1", "changed"]).await;
    drain(&cache).await;
    assert_eq!(cache.get("user:1").await.unwrap(), Value::BulkString(b"changed".to_vec()));
}

#[tokio::test]
async fn optin_tracking_tracks_every_cached_read() {
    let server = RedisServer::start(&[]);
    let cache = CacheBuilder::new(server.url()).tracking(Tracking::OptIn).build().await.unwrap();
    let mut other = other(&server).await;
    run(&mut other, &["SET", "k", "old"]).await;
    assert_eq!(cache.get("k").await.unwrap(), Value::BulkString(b"old".to_vec()));
    assert_eq!(cache.get("k").await.unwrap(), Value::BulkString(b"old".to_vec()));
    assert_eq!(cache.stats().hits, 1);
    // Without CLIENT CACHING YES before the read, Redis would not track the
    // key and this write would never be reported: the entry would stay stale.
    run(&mut other, &["SET", "k", "new"]).await;
    drain(&cache).await;
    assert_eq!(cache.get("k").await.unwrap(), Value::BulkString(b"new".to_vec()));
    assert_eq!(cache.stats().invalidated_keys, 1);
}

#[tokio::test]
async fn flushall_and_flushdb_empty_the_cache() {
    let server = RedisServer::start(&[]);
    let cache = cache(&server).await;
    let mut other = other(&server).await;
    for flush in ["FLUSHDB", "FLUSHALL"] {
        run(&mut other, &["SET", "k", "v"]).await;
        drain(&cache).await;
        cache.get("k").await.unwrap();
        assert_eq!(cache.stats().backend_stat("entries"), 1);
        run(&mut other, &[flush]).await;
        drain(&cache).await;
        assert_eq!(cache.stats().backend_stat("entries"), 0, "{flush} left entries");
        assert_eq!(cache.get("k").await.unwrap(), Value::Nil, "{flush}");
    }
    assert_eq!(cache.stats().invalidate_all, 2);
}

#[tokio::test]
async fn an_entry_never_outlives_its_keys_expiry_on_the_server() {
    let server = RedisServer::start(&[]);
    let cache = cache(&server).await;
    let mut other = other(&server).await;
    // No active expiry: Redis sends no invalidation when the key's time is up
    // (only when something touches it), so only the cache's own deadline,
    // taken from PTTL, can stop it serving the value.
    run(&mut other, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]).await;
    run(&mut other, &["SET", "k", "v", "PX", "300"]).await;
    assert_eq!(cache.get("k").await.unwrap(), Value::BulkString(b"v".to_vec()));
    assert_eq!(cache.get("k").await.unwrap(), Value::BulkString(b"v".to_vec()));
    assert_eq!(cache.stats().hits, 1);
    // The subject of the test is time passing, not synchronisation.
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(cache.get("k").await.unwrap(), Value::Nil, "served a value after its key expired");
}

#[tokio::test]
async fn a_client_reads_its_own_writes() {
    let server = RedisServer::start(&[]);
    let cache = cache(&server).await;
    cache.set("k", "1").await.unwrap();
    assert_eq!(cache.get("k").await.unwrap(), Value::BulkString(b"1".to_vec()));
    cache.set("k", "2").await.unwrap();
    assert_eq!(cache.get("k").await.unwrap(), Value::BulkString(b"2".to_vec()));
    assert!(cache.expire("k", 100).await.unwrap());
    assert_eq!(cache.del(["k"]).await.unwrap(), 1);
    assert_eq!(cache.get("k").await.unwrap(), Value::Nil);
    cache.command(&command(&["HSET", "h", "f", "1"])).await.unwrap();
    assert_eq!(cache.cached(&command(&["HGET", "h", "f"])).await.unwrap(), Value::BulkString(b"1".to_vec()));
    cache.command(&command(&["HSET", "h", "f", "2"])).await.unwrap();
    assert_eq!(cache.cached(&command(&["HGET", "h", "f"])).await.unwrap(), Value::BulkString(b"2".to_vec()));
}

#[tokio::test]
async fn an_invalidation_during_a_fill_keeps_the_reply_out_of_the_cache() {
    let server = RedisServer::start(&[]);
    let cache = Arc::new(cache(&server).await);
    let mut other = other(&server).await;
    run(&mut other, &["SET", "race", "old"]).await;

    // Hold the fill of `race` between its reply and its insert.
    let (replied, reply_arrived) = oneshot::channel::<()>();
    let replied = std::sync::Mutex::new(Some(replied));
    let release = Arc::new(Notify::new());
    let held = Arc::new(AtomicBool::new(false));
    let hook_release = Arc::clone(&release);
    cache.set_fill_hook(move |read| {
        let hold = read.keys().any(|k| k == b"race") && !held.swap(true, Ordering::SeqCst);
        let replied = if hold { replied.lock().unwrap().take() } else { None };
        let release = Arc::clone(&hook_release);
        Box::pin(async move {
            if let Some(replied) = replied {
                let _ = replied.send(());
                release.notified().await;
            }
        })
    });

    let reader = tokio::spawn({
        let cache = Arc::clone(&cache);
        async move { cache.get("race").await }
    });
    reply_arrived.await.unwrap();
    run(&mut other, &["SET", "race", "new"]).await;
    drain(&cache).await;
    release.notify_one();
    // The reader gets what the server answered when it asked...
    assert_eq!(reader.await.unwrap().unwrap(), Value::BulkString(b"old".to_vec()));
    // ...but that reply was not cached.
    assert_eq!(cache.stats().fills_skipped, 1);
    assert_eq!(cache.get("race").await.unwrap(), Value::BulkString(b"new".to_vec()));
}

#[tokio::test]
async fn a_killed_connection_flushes_and_tracking_comes_back() {
    let server = RedisServer::start(&[]);
    let cache = cache(&server).await;
    let mut other = other(&server).await;
    run(&mut other, &["SET", "k", "v1"]).await;
    cache.get("k").await.unwrap();
    assert_eq!(kill_tracking_clients(&mut other).await, 1);
    cache.wait_connection_losses(1).await;
    assert_eq!(cache.stats().backend_stat("entries"), 0, "the loss did not flush the cache");
    // Written while the cache may have no connection: no invalidation reaches it.
    run(&mut other, &["SET", "k", "v2"]).await;
    cache.wait_connected().await;
    assert_eq!(cache.get("k").await.unwrap(), Value::BulkString(b"v2".to_vec()));
    // Tracking is on again on the new connection.
    cache.get("k").await.unwrap();
    run(&mut other, &["SET", "k", "v3"]).await;
    drain(&cache).await;
    assert_eq!(cache.get("k").await.unwrap(), Value::BulkString(b"v3".to_vec()));
    let stats = cache.stats();
    assert_eq!((stats.reconnect_flushes, stats.reconnects), (1, 1));
}

#[tokio::test]
async fn a_server_restart_flushes_and_the_cache_reconnects() {
    let mut server = RedisServer::start(&[]);
    let cache = CacheBuilder::new(server.url()).max_backoff(Duration::from_millis(50)).build().await.unwrap();
    cache.set("k", "v1").await.unwrap();
    cache.get("k").await.unwrap();
    server.restart();
    cache.wait_connection_losses(1).await;
    assert!(matches!(cache.get("k").await, Err(Error::Disconnected)) || cache.is_connected());
    cache.wait_connected().await;
    // The restarted server keeps nothing: the old value must not be served.
    assert_eq!(cache.get("k").await.unwrap(), Value::Nil);
}

/// A task that does nothing but hit the cache still lets the other tasks of
/// its thread run (the runtime here has one thread): hits spend the task's
/// cooperative budget, so the loop yields before the budget is gone.
#[tokio::test]
async fn a_loop_of_hits_lets_the_other_tasks_of_its_thread_run() {
    let server = RedisServer::start(&[]);
    let cache = cache(&server).await;
    cache.set("k", "v").await.unwrap();
    cache.get("k").await.unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let other = tokio::spawn({
        let ran = Arc::clone(&ran);
        async move { ran.store(true, Ordering::Release) }
    });
    let hits_before = cache.stats().hits;
    let mut reads = 0u64;
    while !ran.load(Ordering::Acquire) && reads < 100_000 {
        assert_eq!(cache.get("k").await.unwrap(), Value::BulkString(b"v".to_vec()));
        reads += 1;
    }
    assert!(ran.load(Ordering::Acquire), "the other task never ran during {reads} hits");
    assert_eq!(cache.stats().hits - hits_before, reads, "every read in the loop was a hit");
    other.await.unwrap();
}

#[tokio::test]
async fn commands_whose_arguments_concatenate_alike_get_their_own_entries() {
    let server = RedisServer::start(&[]);
    let cache = cache(&server).await;
    let mut other = other(&server).await;
    run(&mut other, &["HSET", "h", "a", "1", "b", "2", "ab", "3"]).await;
    run(&mut other, &["RPUSH", "l", "x", "y"]).await;
    for _ in 0..2 {
        let two = cache.cached(&command(&["HMGET", "h", "a", "b"])).await.unwrap();
        let one = cache.cached(&command(&["HMGET", "h", "ab"])).await.unwrap();
        assert_eq!(two, Value::Array(vec![Value::BulkString(b"1".to_vec()), Value::BulkString(b"2".to_vec())]));
        assert_eq!(one, Value::Array(vec![Value::BulkString(b"3".to_vec())]));
        let a = cache.cached(&command(&["LRANGE", "l", "1", "10"])).await.unwrap();
        let b = cache.cached(&command(&["LRANGE", "l", "11", "0"])).await.unwrap();
        assert_eq!((a, b), (Value::Array(vec![Value::BulkString(b"y".to_vec())]), Value::Array(vec![])));
    }
    assert_eq!(cache.stats().hits, 4);
}

#[tokio::test]
async fn error_replies_are_returned_and_never_cached() {
    let server = RedisServer::start(&[]);
    let cache = cache(&server).await;
    let mut other = other(&server).await;
    run(&mut other, &["SET", "s", "string"]).await;
    for _ in 0..2 {
        let error = cache.cached(&command(&["HGET", "s", "f"])).await.unwrap_err();
        assert!(error.to_string().contains("WRONGTYPE"), "{error}");
    }
    assert_eq!(cache.stats().hits, 0);
    assert_eq!(cache.stats().backend_stat("entries"), 0);
}

#[tokio::test]
async fn concurrent_identical_misses_share_one_round_trip() {
    let server = RedisServer::start(&[]);
    let cache = Arc::new(cache(&server).await);
    cache.set("k", "v").await.unwrap();
    let readers: Vec<_> = (0..32)
        .map(|_| {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move { cache.get("k").await })
        })
        .collect();
    for reader in readers {
        assert_eq!(reader.await.unwrap().unwrap(), Value::BulkString(b"v".to_vec()));
    }
    let stats = cache.stats();
    // On a current-thread runtime every reader misses before the first reply.
    assert_eq!(stats.misses, 32);
    assert_eq!(stats.single_flight_joins, 31);
    assert_eq!(stats.fills, 1);
}

#[tokio::test]
async fn bad_input_is_a_clear_error() {
    let error = |result: Result<Cache, Error>| result.err().expect("must fail").to_string();
    assert_eq!(
        error(Cache::connect("http://127.0.0.1:1").await),
        "invalid Redis URL `http://127.0.0.1:1`: unsupported scheme `http`; use redis:// or rediss://"
    );
    assert!(error(Cache::connect("redis://127.0.0.1:notaport").await).starts_with("invalid Redis URL"));
    let nobody = format!("redis://127.0.0.1:{}", free_port());
    let unreachable =
        error(CacheBuilder::new(&nobody).timeouts(Duration::from_millis(500), Duration::from_secs(1)).build().await);
    assert!(unreachable.starts_with(&format!("cannot connect to Redis at {nobody}")), "{unreachable}");

    let server = RedisServer::start(&[]);
    assert_eq!(
        error(CacheBuilder::new(server.url()).shards(0).build().await),
        "invalid option `shards`: expected 1 to 1024, got 0"
    );
    assert!(
        error(CacheBuilder::new(server.url()).commands(["GET", "SET"]).build().await)
            .starts_with("invalid option `commands`: `SET` is not a cacheable command")
    );
    let bad_backend = CacheBuilder::new(server.url())
        .backend(Arc::new(NativeFactory), vec![("max-entries".into(), "0".into())])
        .build()
        .await;
    assert_eq!(
        error(bad_backend),
        "backend `native`: backend refused its options: option `max-entries`: expected a positive integer, got `0`"
    );

    let cache = CacheBuilder::new(server.url()).commands(["HGET"]).build().await.unwrap();
    assert_eq!(
        cache_error(&cache, &["SET", "k", "v"]).await,
        "`SET` cannot be cached: it is not a read-only command on the allowlist"
    );
    assert_eq!(cache_error(&cache, &["HGET", "h"]).await, "wrong number of arguments for `HGET`: expected 2, got 1");
    assert_eq!(
        cache_error(&cache, &["LLEN", "l"]).await,
        "`LLEN` is cacheable but not enabled in this cache's command list"
    );
    // `get` is GET: narrowed out, it is refused as `cached` refuses it.
    assert_eq!(
        cache.get("k").await.unwrap_err().to_string(),
        "`GET` is cacheable but not enabled in this cache's command list"
    );
    let multi = cache.command(&redis::cmd("MULTI")).await.unwrap_err().to_string();
    assert_eq!(multi, "`MULTI` is refused: send a transaction whole, as an atomic pipeline (Cache::pipeline)");
}

async fn cache_error(cache: &Cache, parts: &[&str]) -> String {
    cache.cached(&command(parts)).await.unwrap_err().to_string()
}

#[tokio::test]
async fn url_credentials_and_database_are_honoured() {
    let server = RedisServer::start(&["--requirepass", "s3cret"]);
    let port = server.port();
    let cache = CacheBuilder::new(format!("redis://:s3cret@127.0.0.1:{port}/3")).build().await.unwrap();
    cache.set("k", "in db 3").await.unwrap();
    let db3 = redis::Client::open(format!("redis://:s3cret@127.0.0.1:{port}/3?protocol=resp3")).unwrap();
    let mut db3 = db3.get_multiplexed_async_connection().await.unwrap();
    assert_eq!(run(&mut db3, &["GET", "k"]).await, Value::BulkString(b"in db 3".to_vec()));
    assert_eq!(cache.get("k").await.unwrap(), Value::BulkString(b"in db 3".to_vec()));
    // Tracking works in a non-zero database too.
    run(&mut db3, &["SET", "k", "changed"]).await;
    drain(&cache).await;
    assert_eq!(cache.get("k").await.unwrap(), Value::BulkString(b"changed".to_vec()));

    let wrong = CacheBuilder::new(format!("redis://:wrong@127.0.0.1:{port}")).build().await.err().unwrap();
    assert!(wrong.to_string().starts_with("cannot connect to Redis at redis://:***@127.0.0.1:"), "{wrong}");
}

#[tokio::test]
async fn rediss_connects_over_tls_and_tracks() {
    let (server, certificate) = RedisServer::start_tls();
    let url = format!("rediss://127.0.0.1:{}", server.port());
    let cache = CacheBuilder::new(&url).tls_root_certificate(certificate.clone()).build().await.unwrap();
    cache.set("k", "over tls").await.unwrap();
    assert_eq!(cache.get("k").await.unwrap(), Value::BulkString(b"over tls".to_vec()));
    assert_eq!(cache.get("k").await.unwrap(), Value::BulkString(b"over tls".to_vec()));
    assert_eq!(cache.stats().hits, 1);
    // An untrusted certificate is refused, with the reason.
    let untrusted = CacheBuilder::new(&url).timeouts(Duration::from_secs(2), Duration::from_secs(2)).build().await;
    let error = untrusted.err().expect("a self-signed certificate is not trusted by default").to_string();
    assert!(error.starts_with("cannot connect to Redis at rediss://127.0.0.1:"), "{error}");
}

/// The native store, failing every call while `failing` is set, as a
/// trapped wasm instance would (and losing its entries, as the contract says).
struct Flaky {
    store: nearcache::NativeBackend,
    failing: Arc<AtomicBool>,
}

impl Flaky {
    fn check(&mut self, call: &'static str) -> Result<(), nearcache::BackendError> {
        if self.failing.load(Ordering::SeqCst) {
            self.store.store().flush();
            return Err(nearcache::BackendError::Failed { call, reason: "injected failure".into() });
        }
        Ok(())
    }
}

impl nearcache::Backend for Flaky {
    fn init(&mut self, options: &[(String, String)]) -> Result<(), nearcache::BackendError> {
        self.store.init(options)
    }
    fn get(&mut self, key: &[u8], now_ms: u64) -> Result<Option<Vec<u8>>, nearcache::BackendError> {
        self.check("get")?;
        self.store.get(key, now_ms)
    }
    fn put(&mut self, key: &[u8], value: &[u8], ttl: Option<u64>, now: u64) -> Result<(), nearcache::BackendError> {
        self.check("put")?;
        self.store.put(key, value, ttl, now)
    }
    fn put_with_ref(
        &mut self,
        key: &[u8],
        redis_key: &[u8],
        value: &[u8],
        ttl: Option<u64>,
        now: u64,
    ) -> Result<(), nearcache::BackendError> {
        self.check("put-with-ref")?;
        self.store.put_with_ref(key, redis_key, value, ttl, now)
    }
    fn invalidate(&mut self, keys: Option<&[Vec<u8>]>) -> Result<(), nearcache::BackendError> {
        self.check("invalidate")?;
        self.store.invalidate(keys)
    }
    fn invalidate_refs(&mut self, keys: Option<&[Vec<u8>]>) -> Result<(), nearcache::BackendError> {
        self.check("invalidate-refs")?;
        self.store.invalidate_refs(keys)
    }
    fn flush(&mut self) -> Result<(), nearcache::BackendError> {
        self.store.flush()
    }
    fn stats(&mut self) -> Result<Vec<(String, u64)>, nearcache::BackendError> {
        self.store.stats()
    }
    fn sweep(&mut self, now_ms: u64, max: u32) -> Result<u32, nearcache::BackendError> {
        self.store.sweep(now_ms, max)
    }
    fn destroy(&mut self) -> Result<(), nearcache::BackendError> {
        self.store.destroy()
    }
}

struct FlakyFactory(Arc<AtomicBool>);

impl nearcache::BackendFactory for FlakyFactory {
    fn name(&self) -> String {
        "flaky".into()
    }
    fn make(&self) -> Result<Box<dyn nearcache::Backend>, nearcache::BackendError> {
        Ok(Box::new(Flaky { store: nearcache::NativeBackend::new(), failing: Arc::clone(&self.0) }))
    }
}

#[tokio::test]
async fn a_failing_backend_costs_hits_never_answers_or_coherence() {
    let server = RedisServer::start(&[]);
    let failing = Arc::new(AtomicBool::new(false));
    let cache = CacheBuilder::new(server.url())
        .backend(Arc::new(FlakyFactory(Arc::clone(&failing))), vec![])
        .build()
        .await
        .unwrap();
    let mut other = other(&server).await;
    run(&mut other, &["SET", "k", "v1"]).await;
    cache.get("k").await.unwrap();
    assert_eq!(cache.stats().backend_stat("entries"), 1);

    failing.store(true, Ordering::SeqCst);
    // A failed get is a miss and a failed put a skipped fill: reads still answer.
    assert_eq!(cache.get("k").await.unwrap(), Value::BulkString(b"v1".to_vec()));
    // A failed invalidate lost the instance's entries: nothing stale survives it.
    run(&mut other, &["SET", "k", "v2"]).await;
    drain(&cache).await;
    failing.store(false, Ordering::SeqCst);
    assert_eq!(cache.get("k").await.unwrap(), Value::BulkString(b"v2".to_vec()));
    let stats = cache.stats();
    assert!(stats.backend_errors >= 3, "{stats:?}");
    assert_eq!(stats.last_backend_error.as_deref(), Some("backend failed in `invalidate-refs`: injected failure"));
}
