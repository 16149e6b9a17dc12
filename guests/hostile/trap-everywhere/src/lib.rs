//! A hostile guest. Accepts `init`, then traps in every other callback.
//!
//! Every other callback behaves like the reference store.

wit_bindgen::generate!({ path: "../../../wit", world: "backend" });

use exports::nearcache::backend::store::{CacheKey, Guest, RedisKey, Value};

struct Hostile;

impl Guest for Hostile {
    fn init(options: Vec<(String, String)>) -> Result<(), String> {
        guest_support::init(options)
    }

    fn get(_key: CacheKey, _now_ms: u64) -> Option<Value> {
        core::arch::wasm32::unreachable()
    }

    fn put(_key: CacheKey, _value: Value, _ttl_ms: Option<u64>, _now_ms: u64) {
        core::arch::wasm32::unreachable()
    }

    fn put_with_ref(_key: CacheKey, _redis_key: RedisKey, _value: Value, _ttl_ms: Option<u64>, _now_ms: u64) {
        core::arch::wasm32::unreachable()
    }

    fn invalidate(_keys: Option<Vec<CacheKey>>) {
        core::arch::wasm32::unreachable()
    }

    fn invalidate_refs(_redis_keys: Option<Vec<RedisKey>>) {
        core::arch::wasm32::unreachable()
    }

    fn flush() {
        core::arch::wasm32::unreachable()
    }

    fn stats() -> Vec<(String, u64)> {
        core::arch::wasm32::unreachable()
    }

    fn sweep(_now_ms: u64, _max: u32) -> u32 {
        core::arch::wasm32::unreachable()
    }

    fn destroy() {
        core::arch::wasm32::unreachable()
    }
}

export!(Hostile);
