//! The default store, in process, behind the [`Backend`] trait, with hits
//! that can also be served through a shared reference.

use std::borrow::Cow;

use nearcache_store::Store;

use crate::backend::Backend;
use crate::error::BackendError;
use crate::stats::Striped;

/// [`nearcache_store::Store`] as a [`Backend`]. Never fails but in `init`.
#[derive(Default)]
pub struct NativeBackend {
    store: Store,
    /// Hits served by `get_shared` and misses by `miss_shared`, which
    /// cannot count in the store (its counters need `&mut`); striped, as
    /// every reading thread bumps them.
    shared_hits: Striped,
    shared_misses: Striped,
}

impl NativeBackend {
    /// A store with the default options; call `init` to set others.
    pub fn new() -> Self {
        NativeBackend::default()
    }

    /// The store itself, for callers that want to skip the trait.
    pub fn store(&mut self) -> &mut Store {
        &mut self.store
    }
}

impl Backend for NativeBackend {
    fn init(&mut self, options: &[(String, String)]) -> Result<(), BackendError> {
        self.store.init(options.iter().map(|(n, v)| (n, v))).map_err(|e| BackendError::Rejected(e.to_string()))?;
        self.shared_hits = Striped::default();
        self.shared_misses = Striped::default();
        Ok(())
    }

    fn get(&mut self, key: &[u8], now_ms: u64) -> Result<Option<Vec<u8>>, BackendError> {
        Ok(self.store.get(key, now_ms).map(<[u8]>::to_vec))
    }

    fn get_borrowed(&mut self, key: &[u8], now_ms: &dyn Fn() -> u64) -> Result<Option<Cow<'_, [u8]>>, BackendError> {
        Ok(self.store.get_with_clock(key, now_ms).map(Cow::Borrowed))
    }

    fn put(&mut self, key: &[u8], value: &[u8], ttl_ms: Option<u64>, now_ms: u64) -> Result<(), BackendError> {
        self.store.put(key, value, ttl_ms, now_ms);
        Ok(())
    }

    fn put_with_ref(
        &mut self,
        key: &[u8],
        redis_key: &[u8],
        value: &[u8],
        ttl_ms: Option<u64>,
        now_ms: u64,
    ) -> Result<(), BackendError> {
        self.store.put_with_ref(key, redis_key, value, ttl_ms, now_ms);
        Ok(())
    }

    fn invalidate(&mut self, keys: Option<&[Vec<u8>]>) -> Result<(), BackendError> {
        self.store.invalidate(keys);
        Ok(())
    }

    fn invalidate_refs(&mut self, redis_keys: Option<&[Vec<u8>]>) -> Result<(), BackendError> {
        self.store.invalidate_refs(redis_keys);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), BackendError> {
        self.store.flush();
        Ok(())
    }

    fn stats(&mut self) -> Result<Vec<(String, u64)>, BackendError> {
        let mut stats = self.store.stats();
        stats.hits += self.shared_hits.sum();
        stats.misses += self.shared_misses.sum();
        Ok(stats.to_pairs().iter().map(|&(name, value)| (name.to_owned(), value)).collect())
    }

    fn sweep(&mut self, now_ms: u64, max: u32) -> Result<u32, BackendError> {
        Ok(self.store.sweep(now_ms, max))
    }

    fn destroy(&mut self) -> Result<(), BackendError> {
        self.store.destroy();
        self.shared_hits = Striped::default();
        self.shared_misses = Striped::default();
        Ok(())
    }
}

impl NativeBackend {
    /// Whether [`get_shared`](NativeBackend::get_shared) can answer hits
    /// with the options given to `init`: under FIFO or CLOCK eviction, whose
    /// hits reorder nothing. When it is false, the cache calls the store
    /// only exclusively.
    pub fn serves_shared_hits(&self) -> bool {
        !self.store.config().eviction.hit_reorders()
    }

    /// The live value of `key`, if `get` would return it and can be
    /// answered without exclusive access; `None` otherwise, and then the
    /// exclusive [`Backend::get_borrowed`] answers exactly as the contract
    /// says (it counts the miss, removes the expired entry, reorders under
    /// LRU). The hit counts in `stats` as a `get` hit does.
    // Always, as `Store::get_shared`: the hit path is this lookup and a
    // count, and left to itself the compiler may make it a call.
    #[inline(always)]
    pub fn get_shared(&self, key: &[u8], now_ms: &dyn Fn() -> u64) -> Option<&[u8]> {
        let value = self.store.get_shared(key, now_ms)?;
        self.shared_hits.bump();
        Some(value)
    }

    /// After [`get_shared`](NativeBackend::get_shared) returned `None`:
    /// whether `key` has no entry, a miss answered here, without exclusive
    /// access, and counted in `stats` as `get` counts one. If not (an
    /// expired entry, or LRU eviction), the exclusive `get` must answer.
    // Never inlined: a miss is followed by a round trip, and the hit
    // path's body stays small.
    #[inline(never)]
    pub fn miss_shared(&self, key: &[u8]) -> bool {
        let absent = self.store.lacks(key);
        if absent {
            self.shared_misses.bump();
        }
        absent
    }
}
