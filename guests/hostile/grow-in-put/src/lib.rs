//! A hostile guest. Allocates without bound in `put` of the trigger key.
//!
//! Every other callback behaves like the reference store.

wit_bindgen::generate!({ path: "../../../wit", world: "backend" });

use exports::nearcache::backend::store::{CacheKey, Guest, RedisKey, Value};

struct Hostile;

impl Guest for Hostile {
    fn init(options: Vec<(String, String)>) -> Result<(), String> {
        guest_support::init(options)
    }

    fn get(key: CacheKey, now_ms: u64) -> Option<Value> {
        guest_support::get(&key, now_ms)
    }

    fn put(key: CacheKey, value: Value, ttl_ms: Option<u64>, now_ms: u64) {
        if guest_support::is_trigger(&key) {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                // Only the allocation matters, not filling it: the guest
                // must hit the memory limit long before its fuel runs out.
                let mut chunk = Vec::with_capacity(1 << 20);
                chunk.push(1u8);
                hoard.push(std::hint::black_box(chunk));
            }
        }
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
