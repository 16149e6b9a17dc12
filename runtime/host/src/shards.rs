//! The backend split into shards by Redis key, each behind its own lock.
//!
//! A Store (wasm) or a `&mut` store (native) serves one call at a time, so
//! concurrency comes from shards. The shard of an entry is chosen by the
//! first Redis key it reads, so every entry of a key lives in one shard and
//! an invalidation of that key visits one shard. An entry that reads several
//! keys (SINTER a b) lives in its first key's shard, which is then marked:
//! invalidations of any key also visit marked shards, so a write to `b`
//! reaches the entry stored under `a`.
//!
//! A backend call that fails is counted and treated as the contract says:
//! the instance lost its entries, so a failed get is a miss, a failed put a
//! skipped fill, and a failed invalidate leaves nothing stale behind.
//!
//! Retiring the shards (when the cache drops them or a reload replaces
//! them) destroys each instance under its lock, after any call in flight,
//! and leaves a [`Retired`] stand-in that holds nothing: a caller that still
//! has the old shards in hand misses, and its fill is dropped.

use std::borrow::Cow;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use hashbrown::DefaultHashBuilder;

use crate::backend::{Backend, BackendFactory};
use crate::error::BackendError;

/// One shard: a backend instance.
struct Shard {
    backend: Box<dyn Backend>,
}

/// A shard behind its lock, alone on its cache lines (two: the prefetcher
/// pulls lines in pairs): the locks of neighbouring shards would otherwise
/// share a line, and threads hitting different shards would take turns
/// owning it.
#[repr(align(128))]
struct Locked(Mutex<Shard>);

/// What a retired shard holds: nothing. Every call succeeds and stores nothing.
struct Retired;

impl Backend for Retired {
    fn init(&mut self, _: &[(String, String)]) -> Result<(), BackendError> {
        Ok(())
    }
    fn get(&mut self, _: &[u8], _: u64) -> Result<Option<Vec<u8>>, BackendError> {
        Ok(None)
    }
    fn put(&mut self, _: &[u8], _: &[u8], _: Option<u64>, _: u64) -> Result<(), BackendError> {
        Ok(())
    }
    fn put_with_ref(&mut self, _: &[u8], _: &[u8], _: &[u8], _: Option<u64>, _: u64) -> Result<(), BackendError> {
        Ok(())
    }
    fn invalidate(&mut self, _: Option<&[Vec<u8>]>) -> Result<(), BackendError> {
        Ok(())
    }
    fn invalidate_refs(&mut self, _: Option<&[Vec<u8>]>) -> Result<(), BackendError> {
        Ok(())
    }
    fn flush(&mut self) -> Result<(), BackendError> {
        Ok(())
    }
    fn stats(&mut self) -> Result<Vec<(String, u64)>, BackendError> {
        Ok(Vec::new())
    }
    fn sweep(&mut self, _: u64, _: u32) -> Result<u32, BackendError> {
        Ok(0)
    }
    fn destroy(&mut self) -> Result<(), BackendError> {
        Ok(())
    }
}

/// The backend's shards.
pub(crate) struct Shards {
    name: String,
    shards: Box<[Locked]>,
    /// Whether shard i holds an entry that reads several keys.
    multi_key: Box<[AtomicBool]>,
    hasher: DefaultHashBuilder,
    errors: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Shards {
    /// Makes `count` instances with `factory` and inits each with `options`.
    pub(crate) fn new(
        factory: &dyn BackendFactory,
        count: usize,
        options: &[(String, String)],
    ) -> Result<Shards, BackendError> {
        let shards = (0..count)
            .map(|_| {
                let mut backend = factory.make()?;
                backend.init(options)?;
                Ok(Locked(Mutex::new(Shard { backend })))
            })
            .collect::<Result<Vec<_>, BackendError>>()?;
        Ok(Shards {
            name: factory.name(),
            shards: shards.into_boxed_slice(),
            multi_key: (0..count).map(|_| AtomicBool::new(false)).collect(),
            hasher: DefaultHashBuilder::default(),
            errors: AtomicU64::new(0),
            last_error: Mutex::new(None),
        })
    }

    /// The backend's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// How many shards there are.
    pub(crate) fn len(&self) -> usize {
        self.shards.len()
    }

    /// Runs `check` on every instance in turn; stops at the first error.
    pub(crate) fn check_each(
        &self,
        mut check: impl FnMut(&mut dyn Backend) -> Result<(), BackendError>,
    ) -> Result<(), BackendError> {
        (0..self.shards.len()).try_for_each(|index| check(self.lock(index).backend.as_mut()))
    }

    /// The shard that holds the entries of `redis_key`: the hash scaled to
    /// the shard count by a multiply and a shift, not a division.
    pub(crate) fn index(&self, redis_key: &[u8]) -> usize {
        let hash = u128::from(self.hasher.hash_one(redis_key));
        ((hash * self.shards.len() as u128) >> 64) as usize
    }

    fn lock(&self, index: usize) -> MutexGuard<'_, Shard> {
        // A panic while a shard was locked cannot leave a backend half
        // updated in a way that serves stale data (every call is atomic from
        // the cache's view), so a poisoned lock is still usable.
        self.shards[index].0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn record(&self, error: BackendError) {
        let count = self.errors.fetch_add(1, Ordering::Relaxed) + 1;
        if count.is_power_of_two() {
            tracing::warn!(backend = %self.name, errors = count, "backend call failed: {error}");
        }
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(error.to_string());
    }

    /// The cached bytes of `cache_key`, looked up in shard `index` and
    /// handed to `read` under the shard's lock, lent by a backend that can
    /// lend them, so the caller copies them once. `now_ms` is read only if
    /// the backend needs the time.
    pub(crate) fn get<T>(
        &self,
        index: usize,
        cache_key: &[u8],
        now_ms: &dyn Fn() -> u64,
        read: impl FnOnce(Cow<'_, [u8]>) -> T,
    ) -> Option<T> {
        let mut shard = self.lock(index);
        match shard.backend.get_borrowed(cache_key, now_ms) {
            Ok(bytes) => bytes.map(read),
            Err(error) => {
                drop(shard);
                self.record(error);
                None
            }
        }
    }

    /// Removes one entry, e.g. one whose bytes did not decode.
    pub(crate) fn remove(&self, index: usize, cache_key: &[u8]) {
        let result = self.lock(index).backend.invalidate(Some(&[cache_key.to_vec()]));
        if let Err(error) = result {
            self.record(error);
        }
    }

    /// Stores an entry with a ref for each key it read, in the first key's shard.
    pub(crate) fn put(&self, cache_key: &[u8], keys: &[Vec<u8>], value: &[u8], ttl_ms: Option<u64>, now_ms: u64) {
        let index = self.index(&keys[0]);
        if keys.len() > 1 {
            // Marked before the entry exists, so an invalidation that could
            // miss it cannot run between the put and the mark.
            self.multi_key[index].store(true, Ordering::SeqCst);
        }
        let mut shard = self.lock(index);
        for key in keys {
            if let Err(error) = shard.backend.put_with_ref(cache_key, key, value, ttl_ms, now_ms) {
                drop(shard);
                self.record(error);
                return;
            }
        }
    }

    /// Removes every entry that read any of `keys`.
    pub(crate) fn invalidate_refs(&self, keys: &[Vec<u8>]) {
        let mut by_shard: Vec<Vec<Vec<u8>>> = vec![Vec::new(); self.shards.len()];
        for key in keys {
            by_shard[self.index(key)].push(key.clone());
        }
        for (index, own) in by_shard.iter().enumerate() {
            let list = if self.multi_key[index].load(Ordering::SeqCst) { keys } else { own.as_slice() };
            if list.is_empty() {
                continue;
            }
            let result = self.lock(index).backend.invalidate_refs(Some(list));
            if let Err(error) = result {
                self.record(error);
            }
        }
    }

    /// Removes every entry: `invalidate(none)` when Redis says everything
    /// changed (FLUSHALL), `flush` when the connection dropped.
    pub(crate) fn clear(&self, how: Clear) {
        for index in 0..self.shards.len() {
            let mut shard = self.lock(index);
            let result = match how {
                Clear::Invalidate => shard.backend.invalidate(None),
                Clear::Flush => shard.backend.flush(),
            };
            self.multi_key[index].store(false, Ordering::SeqCst);
            drop(shard);
            if let Err(error) = result {
                self.record(error);
            }
        }
    }

    /// Removes up to `max` expired entries in each shard.
    pub(crate) fn sweep(&self, now_ms: u64, max: u32) -> u64 {
        let mut removed = 0;
        for index in 0..self.shards.len() {
            let result = self.lock(index).backend.sweep(now_ms, max);
            match result {
                Ok(n) => removed += u64::from(n),
                Err(error) => self.record(error),
            }
        }
        removed
    }

    /// The backend's stats, summed over shards, plus `backend_errors`.
    pub(crate) fn stats(&self) -> Vec<(String, u64)> {
        let mut total: Vec<(String, u64)> = Vec::new();
        for index in 0..self.shards.len() {
            let result = self.lock(index).backend.stats();
            match result {
                Ok(stats) => {
                    for (name, value) in stats {
                        match total.iter_mut().find(|(n, _)| *n == name) {
                            Some((_, sum)) => *sum += value,
                            None => total.push((name, value)),
                        }
                    }
                }
                Err(error) => self.record(error),
            }
        }
        total
    }

    /// Backend calls that failed, and the last reason.
    pub(crate) fn errors(&self) -> (u64, Option<String>) {
        (self.errors.load(Ordering::Relaxed), self.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    /// Destroys every instance, once, after the call in flight on it, and
    /// leaves [`Retired`] in its place. Calling it again does nothing.
    pub(crate) fn retire(&self) {
        for index in 0..self.shards.len() {
            let mut shard = self.lock(index);
            let result = shard.backend.destroy();
            // Dropping the instance returns its memory (a wasm Store and all).
            shard.backend = Box::new(Retired);
            drop(shard);
            if let Err(error) = result {
                self.record(error);
            }
        }
    }
}

/// How [`Shards::clear`] removes entries.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Clear {
    /// `invalidate(none)`: Redis reported that everything changed.
    Invalidate,
    /// `flush`: the cache lost its connection.
    Flush,
}
