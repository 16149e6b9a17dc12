//! A hostile guest. Allocates without bound in `put` and `put-with-ref` of
//! the trigger key (a cache fills through `put-with-ref`).
//!
//! Every other callback behaves like the reference store.

wit_bindgen::generate!({ path: "../../../wit", world: "backend" });

use exports::nearcache::backend::store::{CacheKey, Guest, RedisKey, Value};

struct Hostile;

impl Guest for Hostile {
    guest_support::well_behaved!(init, get, invalidate, invalidate_refs, flush, stats, sweep, destroy);

    fn put(key: CacheKey, value: Value, ttl_ms: Option<u64>, now_ms: u64) {
        if guest_support::is_trigger(&key) {
            grow_without_bound();
        }
        guest_support::put(&key, &value, ttl_ms, now_ms)
    }

    fn put_with_ref(key: CacheKey, redis_key: RedisKey, value: Value, ttl_ms: Option<u64>, now_ms: u64) {
        if guest_support::is_trigger(&key) {
            grow_without_bound();
        }
        guest_support::put_with_ref(&key, &redis_key, &value, ttl_ms, now_ms)
    }
}

fn grow_without_bound() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        // Only the allocation matters, not filling it: the guest must hit
        // the memory limit long before its fuel runs out.
        let mut chunk = Vec::with_capacity(1 << 20);
        chunk.push(1u8);
        hoard.push(std::hint::black_box(chunk));
    }
}

export!(Hostile);
