//! The well-behaved part of a hostile guest.
//!
//! Each hostile guest misbehaves in one callback and forwards the others
//! here, to the reference store, so a test can show that the host keeps
//! serving from it until the misbehaviour happens, and after.

use std::cell::RefCell;

use nearcache_store::Store;

thread_local! {
    static STORE: RefCell<Store> = RefCell::new(Store::new());
}

fn with_store<R>(f: impl FnOnce(&mut Store) -> R) -> R {
    STORE.with(|store| f(&mut store.borrow_mut()))
}

/// `init`.
pub fn init(options: Vec<(String, String)>) -> Result<(), String> {
    with_store(|store| store.init(options).map_err(|e| e.to_string()))
}

/// `get`.
pub fn get(key: &[u8], now_ms: u64) -> Option<Vec<u8>> {
    with_store(|store| store.get(key, now_ms).map(<[u8]>::to_vec))
}

/// `put`.
pub fn put(key: &[u8], value: &[u8], ttl_ms: Option<u64>, now_ms: u64) {
    with_store(|store| store.put(key, value, ttl_ms, now_ms));
}

/// `put-with-ref`.
pub fn put_with_ref(key: &[u8], redis_key: &[u8], value: &[u8], ttl_ms: Option<u64>, now_ms: u64) {
    with_store(|store| store.put_with_ref(key, redis_key, value, ttl_ms, now_ms));
}

/// `invalidate`.
pub fn invalidate(keys: Option<Vec<Vec<u8>>>) {
    with_store(|store| store.invalidate(keys.as_deref()));
}

/// `invalidate-refs`.
pub fn invalidate_refs(redis_keys: Option<Vec<Vec<u8>>>) {
    with_store(|store| store.invalidate_refs(redis_keys.as_deref()));
}

/// `flush`.
pub fn flush() {
    with_store(Store::flush);
}

/// `stats`.
pub fn stats() -> Vec<(String, u64)> {
    with_store(|store| store.stats().to_pairs().iter().map(|&(name, value)| (name.to_owned(), value)).collect())
}

/// `sweep`.
pub fn sweep(now_ms: u64, max: u32) -> u32 {
    with_store(|store| store.sweep(now_ms, max))
}

/// `destroy`.
pub fn destroy() {
    with_store(Store::destroy);
}

/// The key a hostile guest misbehaves on, so a test can show that other
/// keys are still served before and after.
pub const TRIGGER: &[u8] = b"hostile";

/// Whether a hostile guest misbehaves on `key`: the trigger itself, or any
/// key that ends with it, such as the cache key of `GET hostile`, so the
/// tracking cache can set the trap off through its own key encoding.
pub fn is_trigger(key: &[u8]) -> bool {
    key.ends_with(TRIGGER)
}

/// Writes the callbacks a hostile guest does not misbehave in, each
/// forwarding to the reference store above. Invoke it inside the guest's
/// `impl Guest` block, with `CacheKey`, `RedisKey` and `Value` in scope:
/// `guest_support::well_behaved!(put, flush, stats);`.
#[macro_export]
macro_rules! well_behaved {
    ($($callback:ident),* $(,)?) => { $($crate::well_behaved!(@ $callback);)* };
    (@ init) => {
        fn init(options: Vec<(String, String)>) -> Result<(), String> { $crate::init(options) }
    };
    (@ get) => {
        fn get(key: CacheKey, now_ms: u64) -> Option<Value> { $crate::get(&key, now_ms) }
    };
    (@ put) => {
        fn put(key: CacheKey, value: Value, ttl_ms: Option<u64>, now_ms: u64) {
            $crate::put(&key, &value, ttl_ms, now_ms)
        }
    };
    (@ put_with_ref) => {
        fn put_with_ref(key: CacheKey, redis_key: RedisKey, value: Value, ttl_ms: Option<u64>, now_ms: u64) {
            $crate::put_with_ref(&key, &redis_key, &value, ttl_ms, now_ms)
        }
    };
    (@ invalidate) => {
        fn invalidate(keys: Option<Vec<CacheKey>>) { $crate::invalidate(keys) }
    };
    (@ invalidate_refs) => {
        fn invalidate_refs(redis_keys: Option<Vec<RedisKey>>) { $crate::invalidate_refs(redis_keys) }
    };
    (@ flush) => {
        fn flush() { $crate::flush() }
    };
    (@ stats) => {
        fn stats() -> Vec<(String, u64)> { $crate::stats() }
    };
    (@ sweep) => {
        fn sweep(now_ms: u64, max: u32) -> u32 { $crate::sweep(now_ms, max) }
    };
    (@ destroy) => {
        fn destroy() { $crate::destroy() }
    };
}
