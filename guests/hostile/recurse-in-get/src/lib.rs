//! A hostile guest. Recurses without bound in `get` of the trigger key.
//!
//! Every other callback behaves like the reference store.

wit_bindgen::generate!({ path: "../../../wit", world: "backend" });

use exports::nearcache::backend::store::{CacheKey, Guest, RedisKey, Value};

/// Calls itself through a pointer the optimizer cannot see through, so the
/// recursion is neither a loop nor a tail call: every level is a wasm frame.
static NEXT: fn(u32) -> u32 = descend;

fn descend(depth: u32) -> u32 {
    // SAFETY: a read of a valid, initialized static.
    let next = unsafe { std::ptr::read_volatile(&NEXT) };
    next(depth.wrapping_add(1)) ^ depth
}

struct Hostile;

impl Guest for Hostile {
    guest_support::well_behaved!(init, put, put_with_ref, invalidate, invalidate_refs, flush, stats, sweep, destroy);

    fn get(key: CacheKey, now_ms: u64) -> Option<Value> {
        if guest_support::is_trigger(&key) {
            return Some(descend(0).to_le_bytes().to_vec());
        }
        guest_support::get(&key, now_ms)
    }
}

export!(Hostile);
