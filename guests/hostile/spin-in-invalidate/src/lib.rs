//! A hostile guest. Spins forever in `invalidate` when the trigger key is among the keys.
//!
//! Every other callback behaves like the reference store.

wit_bindgen::generate!({ path: "../../../wit", world: "backend" });

use exports::nearcache::backend::store::{CacheKey, Guest, RedisKey, Value};

struct Hostile;

impl Guest for Hostile {
    guest_support::well_behaved!(init, get, put, put_with_ref, invalidate_refs, flush, stats, sweep, destroy);

    fn invalidate(keys: Option<Vec<CacheKey>>) {
        if keys.as_ref().is_some_and(|keys| keys.iter().any(|k| guest_support::is_trigger(k))) {
            loop {
                std::hint::spin_loop();
            }
        }
        guest_support::invalidate(keys)
    }
}

export!(Hostile);
