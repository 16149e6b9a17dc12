//! A hostile guest. Panics in `init`.
//!
//! Every other callback behaves like the reference store.

wit_bindgen::generate!({ path: "../../../wit", world: "backend" });

use exports::nearcache::backend::store::{CacheKey, Guest, RedisKey, Value};

struct Hostile;

impl Guest for Hostile {
    fn init(options: Vec<(String, String)>) -> Result<(), String> {
        drop(options);
        panic!("panicked on purpose in init")
    }

    fn get(key: CacheKey, now_ms: u64) -> Option<Value> {
        guest_support::get(&key, now_ms)
    }

    fn put(key: CacheKey, value: Value, ttl_ms: Option<u64>, now_ms: u64) {
        guest_support::put(&key, &value, ttl_ms, now_ms)
    }

    fn put_with_ref(key: CacheKey, redis_key: RedisKey, value: Value, ttl_ms: Option<u64>, now_ms: u64) {
        guest_support::put_with_ref(&key, &redis_key, &value, ttl_ms, now_ms)
    }

    fn invalidate(keys: Option<Vec<CacheKey>>) {
        guest_support::invalidate(keys)
    }

    fn invalidate_refs(redis_keys: Option<Vec<RedisKey>>) {
        guest_support::invalidate_refs(redis_keys)
    }

    fn flush() {
        guest_support::flush()
    }

    fn stats() -> Vec<(String, u64)> {
        guest_support::stats()
    }

    fn sweep(now_ms: u64, max: u32) -> u32 {
        guest_support::sweep(now_ms, max)
    }

    fn destroy() {
        guest_support::destroy()
    }
}

export!(Hostile);
