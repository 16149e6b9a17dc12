//! The default store as a component: `nearcache_store::Store` behind the
//! `store` exports of `wit/backend.wit`. The same code the host runs natively,
//! so the conformance suite compares the sandbox and nothing else.

wit_bindgen::generate!({ path: "../../wit", world: "backend" });

use std::cell::RefCell;

use exports::nearcache::backend::store::{CacheKey, Guest, RedisKey, Value};
use nearcache_store::Store;

thread_local! {
    /// All state of the instance. A component instance is single-threaded
    /// and never re-entered, so the borrow below never fails.
    static STORE: RefCell<Store> = RefCell::new(Store::new());
}

fn with_store<R>(f: impl FnOnce(&mut Store) -> R) -> R {
    STORE.with(|store| f(&mut store.borrow_mut()))
}

struct RustStore;

impl Guest for RustStore {
    fn init(options: Vec<(String, String)>) -> Result<(), String> {
        with_store(|store| store.init(options).map_err(|e| e.to_string()))
    }

    fn get(key: CacheKey, now_ms: u64) -> Option<Value> {
        with_store(|store| store.get(&key, now_ms).map(<[u8]>::to_vec))
    }

    fn put(key: CacheKey, value: Value, ttl_ms: Option<u64>, now_ms: u64) {
        with_store(|store| store.put(&key, &value, ttl_ms, now_ms));
    }

    fn put_with_ref(key: CacheKey, redis_key: RedisKey, value: Value, ttl_ms: Option<u64>, now_ms: u64) {
        with_store(|store| store.put_with_ref(&key, &redis_key, &value, ttl_ms, now_ms));
    }

    fn invalidate(keys: Option<Vec<CacheKey>>) {
        with_store(|store| store.invalidate(keys.as_deref()));
    }

    fn invalidate_refs(redis_keys: Option<Vec<RedisKey>>) {
        with_store(|store| store.invalidate_refs(redis_keys.as_deref()));
    }

    fn flush() {
        with_store(Store::flush);
    }

    fn stats() -> Vec<(String, u64)> {
        with_store(|store| store.stats().to_pairs().iter().map(|&(name, value)| (name.to_owned(), value)).collect())
    }

    fn sweep(now_ms: u64, max: u32) -> u32 {
        with_store(|store| store.sweep(now_ms, max))
    }

    fn destroy() {
        with_store(Store::destroy);
    }
}

export!(RustStore);
