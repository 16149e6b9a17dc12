//! Hot reload against a real redis-server: backends swapped while readers
//! and writers run, with no failed request, no stale read, and every
//! replaced instance destroyed exactly once; broken reloads that leave the
//! old backend serving; and the file watch.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nearcache::wasm::{ArtifactCache, Limits, WasmEngine};
use nearcache::{Backend, BackendError, BackendFactory, BackendSource, Cache, CacheBuilder, NativeFactory, Value};
use nearcache_tests::guests;
use nearcache_tests::redis_server::RedisServer;

/// Wraps a factory and records, per instance it made, how often it was destroyed.
struct Counting {
    inner: Arc<dyn BackendFactory>,
    destroys: Arc<Mutex<Vec<u32>>>,
}

impl Counting {
    fn source(inner: Arc<dyn BackendFactory>, destroys: &Arc<Mutex<Vec<u32>>>) -> BackendSource {
        BackendSource::Factory(Arc::new(Counting { inner, destroys: Arc::clone(destroys) }))
    }
}

impl BackendFactory for Counting {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn make(&self) -> Result<Box<dyn Backend>, BackendError> {
        let backend = self.inner.make()?;
        let mut destroys = self.destroys.lock().unwrap();
        destroys.push(0);
        Ok(Box::new(Counted { backend, id: destroys.len() - 1, destroys: Arc::clone(&self.destroys) }))
    }
}

/// An instance that counts its `destroy` calls.
struct Counted {
    backend: Box<dyn Backend>,
    id: usize,
    destroys: Arc<Mutex<Vec<u32>>>,
}

impl Backend for Counted {
    fn init(&mut self, options: &[(String, String)]) -> Result<(), BackendError> {
        self.backend.init(options)
    }
    fn get(&mut self, key: &[u8], now_ms: u64) -> Result<Option<Vec<u8>>, BackendError> {
        self.backend.get(key, now_ms)
    }
    fn put(&mut self, key: &[u8], value: &[u8], ttl_ms: Option<u64>, now_ms: u64) -> Result<(), BackendError> {
        self.backend.put(key, value, ttl_ms, now_ms)
    }
    fn put_with_ref(
        &mut self,
        key: &[u8],
        redis_key: &[u8],
        value: &[u8],
        ttl_ms: Option<u64>,
        now_ms: u64,
    ) -> Result<(), BackendError> {
        self.backend.put_with_ref(key, redis_key, value, ttl_ms, now_ms)
    }
    fn invalidate(&mut self, keys: Option<&[Vec<u8>]>) -> Result<(), BackendError> {
        self.backend.invalidate(keys)
    }
    fn invalidate_refs(&mut self, redis_keys: Option<&[Vec<u8>]>) -> Result<(), BackendError> {
        self.backend.invalidate_refs(redis_keys)
    }
    fn flush(&mut self) -> Result<(), BackendError> {
        self.backend.flush()
    }
    fn stats(&mut self) -> Result<Vec<(String, u64)>, BackendError> {
        self.backend.stats()
    }
    fn sweep(&mut self, now_ms: u64, max: u32) -> Result<u32, BackendError> {
        self.backend.sweep(now_ms, max)
    }
    fn destroy(&mut self) -> Result<(), BackendError> {
        self.destroys.lock().unwrap()[self.id] += 1;
        self.backend.destroy()
    }
}

fn engine(artifacts: &tempfile::TempDir) -> WasmEngine {
    WasmEngine::new(Limits::default()).unwrap().with_artifact_cache(ArtifactCache::open(artifacts.path()).unwrap())
}

fn options() -> Vec<(String, String)> {
    vec![("max-entries".into(), "10000".into())]
}

const KEYS: u64 = 32;
const WRITERS: u64 = 4;
const RELOADS: usize = 50;

fn key(n: u64) -> String {
    format!("reload:{n}")
}

/// The version a value carries: every key has one writer, which writes
/// increasing versions, so a reader that ever sees a version go down has
/// been served a stale value.
fn version(value: &Value) -> u64 {
    match value {
        Value::Nil => 0,
        Value::BulkString(bytes) => std::str::from_utf8(bytes).unwrap().parse().unwrap(),
        other => panic!("unexpected reply {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_reloads_under_traffic_fail_nothing_serve_nothing_stale_and_destroy_each_instance_once() {
    let server = RedisServer::start(&[]);
    let artifacts = tempfile::tempdir().unwrap();
    let destroys = Arc::new(Mutex::new(Vec::new()));
    let engine = engine(&artifacts);
    let load = |path: &str| -> Arc<dyn BackendFactory> {
        Arc::new(nearcache::wasm::WasmFactory::load_file(&engine, path).unwrap())
    };
    // Native, the Rust guest, and another component, in turn.
    let sources: Vec<Arc<dyn BackendFactory>> = vec![
        load(guests::RUST_STORE),
        Arc::new(NativeFactory),
        load(guests::HOSTILE_LOOP_IN_GET),
        Arc::new(NativeFactory),
    ];
    let cache = Arc::new(
        CacheBuilder::new(server.url())
            .shards(2)
            .warm_reloads(KEYS as usize)
            .backend_source(Counting::source(Arc::new(NativeFactory), &destroys), options())
            .build()
            .await
            .unwrap(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let (reads, writes) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let stale = Arc::new(Mutex::new(Vec::<String>::new()));

    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let (client, stop, writes) = (server.client(), Arc::clone(&stop), Arc::clone(&writes));
        tasks.push(tokio::spawn(async move {
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let mut version = 0u64;
            while !stop.load(Ordering::Relaxed) {
                version += 1;
                for n in (writer..KEYS).step_by(WRITERS as usize).step_by(3) {
                    let _: () = redis::cmd("SET").arg(key(n)).arg(version).query_async(&mut conn).await.unwrap();
                    writes.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for reader in 0..4u64 {
        let (cache, stop, reads) = (Arc::clone(&cache), Arc::clone(&stop), Arc::clone(&reads));
        let (failures, stale) = (Arc::clone(&failures), Arc::clone(&stale));
        tasks.push(tokio::spawn(async move {
            let mut seen: HashMap<u64, u64> = HashMap::new();
            let mut n = reader;
            while !stop.load(Ordering::Relaxed) {
                n = (n * 7 + 3) % KEYS;
                let answered = if n % 5 == 0 {
                    cache
                        .mget([key(n), key((n + 1) % KEYS)])
                        .await
                        .map(|values| vec![(n, values[0].clone()), ((n + 1) % KEYS, values[1].clone())])
                } else {
                    cache.get(key(n)).await.map(|value| vec![(n, value)])
                };
                match answered {
                    Ok(values) => {
                        for (k, value) in values {
                            let v = version(&value);
                            let last = seen.entry(k).or_default();
                            if v < *last {
                                stale.lock().unwrap().push(format!("{}: read version {v} after {}", key(k), *last));
                            }
                            *last = v.max(*last);
                        }
                        reads.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => failures.lock().unwrap().push(error.to_string()),
                }
            }
        }));
    }

    let mut reloads = Vec::new();
    for round in 0..RELOADS {
        let source = Counting::source(Arc::clone(&sources[round % sources.len()]), &destroys);
        let reloaded = cache.reload_backend(source, options()).await.expect("every reload succeeds");
        reloads.push(reloaded);
        // Pace the reloads so that traffic runs on every backend.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }

    // Writes are over and every invalidation they caused precedes this reply.
    cache.command(&redis::cmd("PING")).await.unwrap();
    let mut admin = server.client().get_multiplexed_async_connection().await.unwrap();
    for n in 0..KEYS {
        let cached = cache.get(key(n)).await.unwrap();
        let actual: Value = redis::cmd("GET").arg(key(n)).query_async(&mut admin).await.unwrap();
        assert_eq!(cached, actual, "{} differs from the server after the run", key(n));
    }
    let stats = cache.stats();
    let slowest = reloads.iter().map(|r| r.swap).max().unwrap();
    println!(
        "reload: {RELOADS} reloads, {} reads ({} hits), {} writes, {} invalidated keys, {} fills skipped; slowest swap {slowest:?}",
        reads.load(Ordering::Relaxed),
        stats.hits,
        writes.load(Ordering::Relaxed),
        stats.invalidated_keys,
        stats.fills_skipped,
    );
    assert_eq!(*failures.lock().unwrap(), Vec::<String>::new(), "client requests failed");
    assert_eq!(*stale.lock().unwrap(), Vec::<String>::new(), "stale reads");
    assert!(stats.hits > 0 && stats.invalidated_keys > 0, "no hits or no invalidations: nothing was tested");
    assert_eq!(reloads.last().unwrap().current, "native");
    assert!(reloads.iter().any(|r| r.warmed > 0), "no reload was warmed");
    assert!(
        reloads.iter().any(|r| r.current == "rust_store") && reloads.iter().any(|r| r.current == "hostile_loop_in_get")
    );

    // Every instance of every replaced backend was destroyed exactly once;
    // the two serving now were not; dropping the cache destroys them.
    let counts = destroys.lock().unwrap().clone();
    assert_eq!(counts.len(), 2 * (RELOADS + 1));
    let (replaced, serving) = counts.split_at(counts.len() - 2);
    assert!(replaced.iter().all(|&n| n == 1), "destroy counts of replaced instances: {replaced:?}");
    assert_eq!(serving, [0, 0]);
    drop(Arc::into_inner(cache).expect("the tasks are done"));
    assert!(destroys.lock().unwrap().iter().all(|&n| n == 1));
}

async fn set(server: &RedisServer, key: &str, value: &str) {
    let mut conn = server.client().get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SET").arg(key).arg(value).query_async(&mut conn).await.unwrap();
}

/// Asserts `cache` still serves `key` from its backend.
async fn serves_hit(cache: &Cache, key: &str, value: &str) {
    let hits = cache.stats().hits;
    assert_eq!(cache.get(key).await.unwrap(), Value::BulkString(value.as_bytes().to_vec()));
    assert_eq!(cache.stats().hits, hits + 1, "{key} was not a hit");
}

#[tokio::test]
async fn a_broken_reload_leaves_the_old_backend_serving_and_says_why() {
    let server = RedisServer::start(&[]);
    let artifacts = tempfile::tempdir().unwrap();
    let cache = CacheBuilder::new(server.url()).shards(2).wasm_engine(engine(&artifacts)).build().await.unwrap();
    set(&server, "k", "v").await;
    cache.get("k").await.unwrap();
    serves_hit(&cache, "k", "v").await;

    let file = |path: &str| BackendSource::WasmFile(path.into());
    let bytes = |bytes: &[u8]| BackendSource::WasmBytes { name: "broken".into(), bytes: bytes.to_vec() };
    let rust_store = std::fs::read(guests::RUST_STORE).unwrap();
    let cases = [
        (bytes(b"#!/bin/sh\necho not wasm\n"), "not a WebAssembly file"),
        (bytes(b"\0asm\x01\0\0\0"), "a core WebAssembly module, not a component"),
        (bytes(&rust_store[..rust_store.len() / 2]), "invalid component"),
        (file(guests::HOSTILE_WRONG_WORLD), "does not match the backend world"),
        (file(guests::HOSTILE_INIT_ERROR), "backend refused its options"),
        (file(guests::HOSTILE_TRAP_EVERYWHERE), "backend failed in `put-with-ref`"),
        (BackendSource::Native, "option `max-entries`"),
    ];
    for (source, reason) in cases {
        let described = source.to_string();
        let options = match source {
            // The native store, with an option it refuses.
            BackendSource::Native => vec![("max-entries".into(), "0".into())],
            _ => options(),
        };
        let error = cache.reload_backend(source, options).await.expect_err(&described).to_string();
        assert!(error.contains(reason), "reload to {described}: expected `{reason}` in: {error}");
        assert!(!error.contains('\n'), "one line: {error}");
        assert_eq!(cache.backend_name(), "native");
        serves_hit(&cache, "k", "v").await;
    }
    assert_eq!(cache.stats().backend_errors, 0);

    // And a good reload still goes through afterwards.
    let reloaded = cache.reload_backend(file(guests::RUST_STORE), options()).await.unwrap();
    assert_eq!((reloaded.previous.as_str(), reloaded.current.as_str()), ("native", "rust_store"));
    assert_eq!(cache.backend_name(), "rust_store");
    // The new backend starts empty, then serves.
    assert_eq!(cache.get("k").await.unwrap(), Value::BulkString(b"v".to_vec()));
    serves_hit(&cache, "k", "v").await;
}

#[tokio::test]
async fn the_watch_reloads_a_rewritten_file_and_ignores_a_truncated_one() {
    let server = RedisServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backend.wasm");
    let cache = CacheBuilder::new(server.url()).shards(2).build().await.unwrap();
    let mut watch = cache.watch_backend(&path, options(), Duration::from_millis(50)).unwrap();
    set(&server, "k", "v").await;

    let rust_store = std::fs::read(guests::RUST_STORE).unwrap();
    std::fs::write(&path, &rust_store).unwrap();
    let reloaded = watch.next_outcome().await.unwrap().expect("the written component loads");
    assert_eq!(reloaded.current, "backend");
    assert_eq!(cache.backend_name(), "backend");
    cache.get("k").await.unwrap();
    serves_hit(&cache, "k", "v").await;

    // Reading the file, or writing the same bytes again, is no change.
    std::fs::read(&path).unwrap();
    std::fs::write(&path, &rust_store).unwrap();
    // Truncated, as by a copy caught half way: refused, the old one serves.
    std::fs::write(&path, &rust_store[..rust_store.len() / 3]).unwrap();
    let error = watch.next_outcome().await.unwrap().expect_err("a truncated component must not load");
    assert!(error.to_string().contains("invalid component"), "{error}");
    serves_hit(&cache, "k", "v").await;

    // Rewritten whole with another component: picked up.
    std::fs::write(&path, std::fs::read(guests::HOSTILE_LOOP_IN_GET).unwrap()).unwrap();
    watch.next_outcome().await.unwrap().expect("the rewritten component loads");
    assert_eq!(cache.get("k").await.unwrap(), Value::BulkString(b"v".to_vec()));
    serves_hit(&cache, "k", "v").await;
}

#[tokio::test]
async fn a_warmed_reload_serves_the_latest_fills_at_once_and_they_stay_tracked() {
    let server = RedisServer::start(&[]);
    let cache = CacheBuilder::new(server.url()).shards(2).warm_reloads(3).build().await.unwrap();
    for n in 0..5 {
        set(&server, &format!("w:{n}"), "v").await;
        cache.get(format!("w:{n}")).await.unwrap();
    }
    let reloaded = cache.reload_backend(BackendSource::WasmFile(guests::RUST_STORE.into()), options()).await.unwrap();
    // The three latest fills, and only those.
    assert_eq!(reloaded.warmed, 3);
    for n in 2..5 {
        serves_hit(&cache, &format!("w:{n}"), "v").await;
    }
    let misses = cache.stats().misses;
    cache.get("w:0").await.unwrap();
    assert_eq!(cache.stats().misses, misses + 1);

    // The warm reads were tracked: another client's write reaches the new backend.
    set(&server, "w:4", "v2").await;
    cache.command(&redis::cmd("PING")).await.unwrap();
    assert_eq!(cache.get("w:4").await.unwrap(), Value::BulkString(b"v2".to_vec()));
}
