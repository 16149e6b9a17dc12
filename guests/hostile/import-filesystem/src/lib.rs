//! A hostile guest. Reads a file in `get`, so the component imports wasi:filesystem.
//!
//! Every other callback behaves like the reference store.

wit_bindgen::generate!({ path: "../../../wit", world: "backend" });

use exports::nearcache::backend::store::{CacheKey, Guest, RedisKey, Value};

struct Hostile;

impl Guest for Hostile {
    guest_support::well_behaved!(init, put, put_with_ref, invalidate, invalidate_refs, flush, stats, sweep, destroy);

    fn get(key: CacheKey, now_ms: u64) -> Option<Value> {
        if guest_support::is_trigger(&key) {
            return std::fs::read("/etc/passwd").ok();
        }
        guest_support::get(&key, now_ms)
    }
}

export!(Hostile);
