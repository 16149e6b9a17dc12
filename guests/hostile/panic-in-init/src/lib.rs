//! A hostile guest. Panics in `init`.
//!
//! Every other callback behaves like the reference store.

wit_bindgen::generate!({ path: "../../../wit", world: "backend" });

use exports::nearcache::backend::store::{CacheKey, Guest, RedisKey, Value};

struct Hostile;

impl Guest for Hostile {
    guest_support::well_behaved!(get, put, put_with_ref, invalidate, invalidate_refs, flush, stats, sweep, destroy);

    fn init(options: Vec<(String, String)>) -> Result<(), String> {
        drop(options);
        panic!("panicked on purpose in init")
    }
}

export!(Hostile);
