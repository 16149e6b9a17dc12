//! A hostile guest. Allocates without bound in `put` of the trigger key.
//!
//! Every other callback behaves like the reference store.

wit_bindgen::generate!({ path: "../../../wit", world: "backend" });

use exports::nearcache::backend::store::{CacheKey, Guest, RedisKey, Value};

struct Hostile;

impl Guest for Hostile {
    guest_support::well_behaved!(init, get, put_with_ref, invalidate, invalidate_refs, flush, stats, sweep, destroy);

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
}

export!(Hostile);
