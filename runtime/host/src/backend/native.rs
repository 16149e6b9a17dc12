//! The default store, in process, behind the [`Backend`] trait, with hits
//! that can also be served through a shared reference.

use std::borrow::Cow;

use nearcache_store::{SharedGet, Store};

use crate::backend::Backend;
use crate::error::BackendError;
use crate::stats::Striped;

/// [`nearcache_store::Store`] as a [`Backend`]. Never fails but in `init`.
#[derive(Default)]
pub struct NativeBackend {
    store: Store,
    /// Hits and misses served by `get_shared`, which cannot count in the
    /// store (its counters need `&mut`); striped, as every reading thread
    /// bumps them.
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

    /// `key` looked up without exclusive access: its live value or a miss,
    /// as `get` would answer and counted as `get` counts them in `stats`;
    /// or [`SharedGet::Exclusive`], and then the exclusive
    /// [`Backend::get_borrowed`] answers exactly as the contract says (it
    /// removes the expired entry, reorders under LRU).
    #[inline]
    pub fn get_shared(&self, key: &[u8], now_ms: &dyn Fn() -> u64) -> SharedGet<'_> {
        let found = self.store.get_shared(key, now_ms);
        match found {
            SharedGet::Hit(_) => self.shared_hits.bump(),
            SharedGet::Miss => self.shared_misses.bump(),
            SharedGet::Exclusive => {}
        }
        found
    }
}
