//! A hostile guest. Connects to a TCP port in `get`, so the component imports wasi:sockets.
//!
//! Every other callback behaves like the reference store.

wit_bindgen::generate!({ path: "../../../wit", world: "backend" });

use exports::nearcache::backend::store::{CacheKey, Guest, RedisKey, Value};

struct Hostile;

impl Guest for Hostile {
    guest_support::well_behaved!(init, put, put_with_ref, invalidate, invalidate_refs, flush, stats, sweep, destroy);

    fn get(key: CacheKey, now_ms: u64) -> Option<Value> {
        if guest_support::is_trigger(&key) {
            return std::net::TcpStream::connect("127.0.0.1:6379").ok().map(|_| b"connected".to_vec());
        }
        guest_support::get(&key, now_ms)
    }
}

export!(Hostile);
