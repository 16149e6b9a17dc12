//! The guests written in Python, JavaScript and C (`guests/python-lfu`,
//! `guests/js-sized`, `guests/c-fifo`), each with its own eviction policy.
//! Each evicts by its own policy, passes the conformance suite (the contract
//! tier; the C FIFO also the fifo reference tier), imports nothing but the backend's `host`, is
//! contained when it outgrows its memory, and serves the tracking cache
//! against a real redis-server, dropping what another client overwrote.
//!
//! A guest whose toolchain is missing is skipped with a `SKIPPED:` line on
//! stderr; under `NEARCACHE_REQUIRE_GUEST_TOOLCHAINS=1` (CI) that fails.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use nearcache::conformance::{self, SuiteOptions, Verdict};
use nearcache::wasm::{Limits, Quarantine, WasmEngine, WasmFactory};
use nearcache::{Backend, BackendError, BackendFactory, CacheBuilder, Value};
use nearcache_tests::redis_server::RedisServer;
use nearcache_tests::{LanguageGuest, conformance_cases, guests};

const NOW: u64 = 1_000;

/// The reference checks a backend that refuses `eviction` skips; max-bytes
/// it accepts, so `reference/max-bytes` runs on it.
const WITHOUT_EVICTION_OPTION: &[&str] = &[
    "reference/lru-order",
    "reference/fifo-order",
    "reference/clock-order",
    "reference/model-lru",
    "reference/model-fifo",
    "reference/model-clock",
];
/// What a FIFO-only store skips: the LRU and CLOCK checks.
const FIFO_ONLY: &[&str] =
    &["reference/lru-order", "reference/clock-order", "reference/model-lru", "reference/model-clock"];

macro_rules! assert_tested {
    ($name:ident) => {
        #[allow(unused_imports, reason = "only checks that tests for this guest exist")]
        use self::$name as _;
    };
}
nearcache_tests::foreach_language_guest!(assert_tested);

/// The default limits, but a failed instance is restarted without backoff,
/// so a test can show that the next call works without waiting.
fn limits() -> Limits {
    Limits { quarantine: Quarantine { backoff: Duration::ZERO, ..Quarantine::default() }, ..Limits::default() }
}

/// Compiling a language runtime (CPython, SpiderMonkey) takes seconds, so
/// each guest is compiled once and its factory shared by its tests.
fn shared(guest: &LanguageGuest, cell: &'static OnceLock<Option<WasmFactory>>) -> Option<WasmFactory> {
    let path = guest.path()?;
    let factory = cell.get_or_init(|| {
        let engine = WasmEngine::new(limits()).expect("engine");
        Some(WasmFactory::load_file(&engine, path).unwrap_or_else(|e| panic!("{} does not load: {e}", guest.name)))
    });
    factory.clone()
}

fn options(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|&(n, v)| (n.to_owned(), v.to_owned())).collect()
}

/// The whole suite passes; exactly `skipped` is skipped, each saying why.
fn conforms(factory: &WasmFactory, skipped: &[&str]) {
    let make = || factory.make();
    let outcomes = conformance::assert_conforms(&make, &SuiteOptions { cases: conformance_cases() });
    let got: Vec<&str> = outcomes.iter().filter(|o| matches!(o.verdict, Verdict::Skipped(_))).map(|o| o.name).collect();
    assert_eq!(got, skipped, "skipped checks");
    let passed = outcomes.iter().filter(|o| o.verdict == Verdict::Passed).count();
    assert_eq!(passed + skipped.len(), conformance::check_names().len());
}

/// No WASI at all: the language runtimes were built without it, so the
/// guest's whole world is the backend's `host` import and `store` export.
fn imports_only_the_host(factory: &WasmFactory) {
    let info = factory.info();
    for import in &info.imports {
        assert!(import.starts_with("nearcache:backend/host@"), "unexpected import {import}");
    }
    assert!(info.exports.iter().any(|e| e.starts_with("nearcache:backend/store@")), "{:?}", info.exports);
}

/// Values of 1 MiB under a byte bound far above the 64 MiB memory limit:
/// the put that needs more memory fails, naming the limit, and the next
/// call runs on a fresh instance that serves again.
fn outgrowing_memory_is_contained(factory: &WasmFactory) {
    let mut backend =
        factory.check_init(&options(&[("max-entries", "100000"), ("max-bytes", "4000000000")])).expect("init");
    let value = vec![0x5a; 1 << 20];
    let limit = limits().memory_bytes;
    let mut failure = None;
    for n in 0..2 * (limit >> 20) {
        match backend.put(format!("k{n}").as_bytes(), &value, None, NOW) {
            Ok(()) => {}
            Err(BackendError::Failed { reason, .. }) => {
                failure = Some((n, reason));
                break;
            }
            Err(other) => panic!("put {n}: {other}"),
        }
    }
    let (n, reason) = failure.expect("1 MiB puts never hit the memory limit");
    assert!(reason.contains("memory limit"), "put {n} failed for another reason: {reason}");
    assert_eq!(backend.get(b"k0", NOW).expect("a fresh instance serves"), None);
    backend.put(b"after", b"value", None, NOW).expect("put after the failure");
    assert_eq!(backend.get(b"after", NOW).expect("get after the failure"), Some(b"value".to_vec()));
    assert_eq!(backend.health().restarts, 1);
}

fn present(backend: &mut dyn Backend, key: &[u8]) -> bool {
    backend.get(key, NOW).expect("get").is_some()
}

/// LFU: of two entries, the one read less often goes, though it was read
/// last (an LRU store would evict the other).
fn lfu_evicts_the_least_frequently_used(backend: &mut dyn Backend) {
    backend.init(&options(&[("max-entries", "2")])).expect("init");
    backend.put(b"often", b"1", None, NOW).unwrap();
    for _ in 0..3 {
        assert!(present(backend, b"often"));
    }
    backend.put(b"recent", b"2", None, NOW).unwrap();
    assert!(present(backend, b"recent"));
    backend.put(b"new", b"3", None, NOW).unwrap();
    assert!(!present(backend, b"recent"), "LFU kept the entry read once");
    assert!(present(backend, b"often") && present(backend, b"new"));
}

/// GreedyDual-Size: to make room, the large entry goes before the older
/// small one.
fn sized_evicts_large_entries_first(backend: &mut dyn Backend) {
    backend.init(&options(&[("max-entries", "100"), ("max-bytes", "100")])).expect("init");
    backend.put(b"small", &[1; 10], None, NOW).unwrap();
    backend.put(b"large", &[2; 60], None, NOW).unwrap();
    backend.put(b"next", &[3; 30], None, NOW).unwrap();
    assert!(!present(backend, b"large"), "the large entry was kept");
    assert!(present(backend, b"small") && present(backend, b"next"));
    assert_eq!(stat(backend, "bytes"), 15 + 34);
}

/// FIFO: the first entry put goes first, though it was just read.
fn fifo_evicts_the_first_in(backend: &mut dyn Backend) {
    backend.init(&options(&[("max-entries", "2")])).expect("init");
    backend.put(b"first", b"1", None, NOW).unwrap();
    backend.put(b"second", b"2", None, NOW).unwrap();
    assert!(present(backend, b"first"));
    backend.put(b"third", b"3", None, NOW).unwrap();
    assert!(!present(backend, b"first"), "FIFO kept the first entry because it was read");
    assert!(present(backend, b"second") && present(backend, b"third"));
}

fn stat(backend: &mut dyn Backend, name: &str) -> u64 {
    backend.stats().expect("stats").into_iter().find(|(n, _)| n == name).map_or(0, |(_, v)| v)
}

async fn set(server: &RedisServer, key: &str, value: &str) {
    let mut conn = server.client().get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SET").arg(key).arg(value).query_async(&mut conn).await.unwrap();
}

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

/// The tracking cache over the guest: a second read is a hit, and a write by
/// another client invalidates it, for a GET and for a multi-key read.
async fn serves_the_tracking_cache(factory: WasmFactory, name: &str) {
    let server = RedisServer::start(&[]);
    let cache = CacheBuilder::new(server.url())
        .shards(2)
        .backend(Arc::new(factory), options(&[("max-entries", "1000")]))
        .build()
        .await
        .expect("cache over the guest");
    assert_eq!(cache.backend_name(), name);
    set(&server, "k", "v1").await;
    set(&server, "other", "o1").await;
    assert_eq!(cache.get("k").await.unwrap(), bulk("v1"));
    assert_eq!(cache.get("k").await.unwrap(), bulk("v1"));
    assert_eq!(cache.mget(["k", "other"]).await.unwrap(), vec![bulk("v1"), bulk("o1")]);
    assert_eq!(cache.mget(["k", "other"]).await.unwrap(), vec![bulk("v1"), bulk("o1")]);
    let hits = cache.stats().hits;
    assert!(hits >= 3, "{:?}", cache.stats());
    assert!(cache.stats().backend_stat("entries") >= 2, "{:?}", cache.stats());

    set(&server, "k", "v2").await;
    set(&server, "other", "o2").await;
    // A round trip on the tracked connection: the invalidations, sent
    // before its reply, have been handled when it returns.
    cache.command(&redis::cmd("PING")).await.unwrap();
    assert_eq!(cache.get("k").await.unwrap(), bulk("v2"));
    assert_eq!(cache.mget(["k", "other"]).await.unwrap(), vec![bulk("v2"), bulk("o2")]);
    let stats = cache.stats();
    assert!(stats.backend_stat("invalidations") >= 2, "{stats:?}");
    assert_eq!(stats.backend_errors, 0, "{stats:?}");
}

macro_rules! language_guest_tests {
    ($name:ident, $constant:ident, skipped: $skipped:expr, policy: $policy:path) => {
        mod $name {
            use super::*;

            fn factory() -> Option<WasmFactory> {
                static FACTORY: OnceLock<Option<WasmFactory>> = OnceLock::new();
                shared(&guests::$constant, &FACTORY)
            }

            #[test]
            fn conforms() {
                let Some(factory) = factory() else { return };
                super::conforms(&factory, $skipped);
            }

            #[test]
            fn evicts_by_its_policy() {
                let Some(factory) = factory() else { return };
                let mut backend = factory.make().expect("instance");
                $policy(&mut *backend);
            }

            #[test]
            fn imports_only_the_host() {
                let Some(factory) = factory() else { return };
                super::imports_only_the_host(&factory);
            }

            #[test]
            fn outgrowing_memory_is_contained() {
                let Some(factory) = factory() else { return };
                super::outgrowing_memory_is_contained(&factory);
            }

            #[tokio::test]
            async fn serves_the_tracking_cache() {
                let Some(factory) = factory() else { return };
                super::serves_the_tracking_cache(factory, stringify!($name)).await;
            }
        }
    };
}

language_guest_tests!(python_lfu, PYTHON_LFU, skipped: WITHOUT_EVICTION_OPTION, policy: lfu_evicts_the_least_frequently_used);
language_guest_tests!(js_sized, JS_SIZED, skipped: WITHOUT_EVICTION_OPTION, policy: sized_evicts_large_entries_first);
language_guest_tests!(c_fifo, C_FIFO, skipped: FIFO_ONLY, policy: fifo_evicts_the_first_in);
