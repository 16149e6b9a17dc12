//! A hostile guest. Floods the host log from `get` of the trigger key:
//! ten thousand records of 64 KiB each, in one call. Each `log` call costs
//! its guest fuel by the byte, so the call runs out of fuel long before it
//! ends; were host calls free, it would cost the host a 64 KiB copy each.
//!
//! Every other callback behaves like the reference store.

wit_bindgen::generate!({ path: "../../../wit", world: "backend" });

use exports::nearcache::backend::store::{CacheKey, Guest, RedisKey, Value};

struct Hostile;

impl Guest for Hostile {
    guest_support::well_behaved!(init, put, put_with_ref, invalidate, invalidate_refs, flush, stats, sweep, destroy);

    fn get(key: CacheKey, now_ms: u64) -> Option<Value> {
        if guest_support::is_trigger(&key) {
            let record = "x".repeat(64 << 10);
            for _ in 0..10_000 {
                nearcache::backend::host::log(nearcache::backend::host::Level::Error, &record);
            }
            return Some(b"logged".to_vec());
        }
        guest_support::get(&key, now_ms)
    }
}

export!(Hostile);
