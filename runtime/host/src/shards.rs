//! The backend split into shards by Redis key, each behind its own lock.
//!
//! A Store (wasm) or a `&mut` store (native) serves one call at a time
//! (native hits under FIFO or CLOCK aside, below), so concurrency comes
//! from shards. The shard of an entry is chosen by the
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
//! A shard of the native store under FIFO or CLOCK eviction, which can
//! answer hits through a shared reference, sits behind a [`ShardedLock`],
//! whose read side each thread takes on its own cache line: hits on one
//! shard from many threads write nothing shared. A miss with no entry is
//! answered there too; an expired entry needs the write side. The shard
//! holds the store itself, not a `Box<dyn Backend>`, so a hit calls down
//! to the store's table without dynamic dispatch. Every other call, and
//! every call of any other backend, is exclusive.
//!
//! Retiring the shards (when the cache drops them or a reload replaces
//! them) destroys each instance under its lock, after any call in flight,
//! and leaves nothing in its place, which behaves as a [`Retired`]
//! backend: a caller that still has the old shards in hand misses, and its
//! fill is dropped.

use std::borrow::Cow;
use std::hash::BuildHasher;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crossbeam_utils::sync::{ShardedLock, ShardedLockWriteGuard};
use hashbrown::DefaultHashBuilder;

use crate::backend::{Backend, BackendFactory, NativeBackend};
use crate::error::BackendError;

/// A shard: a backend instance behind its lock.
#[expect(
    clippy::large_enum_variant,
    reason = "one per shard, made once: the bytes an exclusive shard leaves unused cost less than a pointer hop on every native hit"
)]
enum Locked {
    /// Every call exclusive. Alone on its cache lines (two: the prefetcher
    /// pulls lines in pairs): the locks of neighbouring shards would
    /// otherwise share a line, and threads hitting different shards would
    /// take turns owning it.
    Exclusive(Padded<Mutex<Box<dyn Backend>>>),
    /// The native store, serving hits through the read side and everything
    /// else through the write side; `None` once retired. A `ShardedLock`
    /// keeps each of its read locks on its own lines.
    Native(ShardedLock<Option<NativeBackend>>),
}

/// A value alone on its cache lines.
#[repr(align(128))]
struct Padded<T>(T);

/// Exclusive access to a shard's backend, whichever its lock.
enum Guard<'a> {
    Exclusive(MutexGuard<'a, Box<dyn Backend>>),
    /// The native store's write side, and what stands in for the store
    /// once it is retired.
    Native(ShardedLockWriteGuard<'a, Option<NativeBackend>>, Retired),
}

impl Deref for Guard<'_> {
    type Target = dyn Backend;
    fn deref(&self) -> &(dyn Backend + 'static) {
        match self {
            Guard::Exclusive(guard) => &***guard,
            Guard::Native(guard, retired) => guard.as_ref().map_or(retired as &dyn Backend, |native| native),
        }
    }
}

impl DerefMut for Guard<'_> {
    fn deref_mut(&mut self) -> &mut (dyn Backend + 'static) {
        match self {
            Guard::Exclusive(guard) => &mut ***guard,
            Guard::Native(guard, retired) => match guard.as_mut() {
                Some(native) => native,
                None => retired,
            },
        }
    }
}

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
                if let Some(mut native) = factory.make_native() {
                    native.init(options)?;
                    return Ok(if native.serves_shared_hits() {
                        Locked::Native(ShardedLock::new(Some(native)))
                    } else {
                        Locked::Exclusive(Padded(Mutex::new(Box::new(native))))
                    });
                }
                let mut backend = factory.make()?;
                backend.init(options)?;
                Ok(Locked::Exclusive(Padded(Mutex::new(backend))))
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
        (0..self.shards.len()).try_for_each(|index| check(&mut *self.lock(index)))
    }

    /// How many shards serve hits through a shared reference.
    #[cfg(test)]
    fn shared_hit_shards(&self) -> usize {
        self.shards.iter().filter(|shard| matches!(shard, Locked::Native(_))).count()
    }

    /// The shard that holds the entries of `redis_key`: the hash scaled to
    /// the shard count by a multiply and a shift, not a division.
    #[inline]
    pub(crate) fn index(&self, redis_key: &[u8]) -> usize {
        let hash = u128::from(self.hasher.hash_one(redis_key));
        ((hash * self.shards.len() as u128) >> 64) as usize
    }

    /// Exclusive access to shard `index`.
    fn lock(&self, index: usize) -> Guard<'_> {
        // A panic while a shard was locked cannot leave a backend half
        // updated in a way that serves stale data (every call is atomic from
        // the cache's view), so a poisoned lock is still usable.
        match &self.shards[index] {
            Locked::Exclusive(lock) => Guard::Exclusive(lock.0.lock().unwrap_or_else(PoisonError::into_inner)),
            Locked::Native(lock) => Guard::Native(lock.write().unwrap_or_else(PoisonError::into_inner), Retired),
        }
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
    /// lend them, so the caller copies them once; `None` on a miss or if
    /// `read` returns `None`. `now_ms` is read only if the backend needs
    /// the time.
    #[inline]
    pub(crate) fn get<T>(
        &self,
        index: usize,
        cache_key: &[u8],
        now_ms: &dyn Fn() -> u64,
        read: impl FnOnce(Cow<'_, [u8]>) -> Option<T>,
    ) -> Option<T> {
        if let Locked::Native(lock) = &self.shards[index] {
            let shard = lock.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(native) = shard.as_ref() {
                if let Some(bytes) = native.get_shared(cache_key, now_ms) {
                    return read(Cow::Borrowed(bytes));
                }
                // A miss (rare next to hits, and followed by a round trip)
                // looks the key up once more rather than take every lock.
                if native.miss_shared(cache_key) {
                    return None;
                }
            }
        }
        self.get_exclusive(index, cache_key, now_ms, read)
    }

    /// [`get`](Shards::get) under the shard's exclusive lock: every
    /// backend's path but the shared hit and miss.
    fn get_exclusive<T>(
        &self,
        index: usize,
        cache_key: &[u8],
        now_ms: &dyn Fn() -> u64,
        read: impl FnOnce(Cow<'_, [u8]>) -> Option<T>,
    ) -> Option<T> {
        let mut shard = self.lock(index);
        match shard.get_borrowed(cache_key, now_ms) {
            Ok(bytes) => bytes.and_then(read),
            Err(error) => {
                drop(shard);
                self.record(error);
                None
            }
        }
    }

    /// Removes one entry, e.g. one whose bytes did not decode.
    pub(crate) fn remove(&self, index: usize, cache_key: &[u8]) {
        let result = self.lock(index).invalidate(Some(&[cache_key.to_vec()]));
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
            if let Err(error) = shard.put_with_ref(cache_key, key, value, ttl_ms, now_ms) {
                drop(shard);
                self.record(error);
                return;
            }
        }
    }

    /// Removes every entry that read any of `keys`.
    pub(crate) fn invalidate_refs(&self, keys: &[Vec<u8>]) {
        if keys.is_empty() {
            return;
        }
        // The shard of each key, unless all live in one (as one key does).
        let first = self.index(&keys[0]);
        let shard_of: Option<Vec<usize>> = if keys[1..].iter().all(|key| self.index(key) == first) {
            None
        } else {
            Some(keys.iter().map(|key| self.index(key)).collect())
        };
        for index in 0..self.shards.len() {
            // A marked shard gets every key; another, the keys it holds:
            // all of them, without a copy, when they live in one shard.
            let list: Cow<'_, [Vec<u8>]> = match &shard_of {
                _ if self.multi_key[index].load(Ordering::SeqCst) => Cow::Borrowed(keys),
                None if index == first => Cow::Borrowed(keys),
                None => continue,
                Some(shard_of) if !shard_of.contains(&index) => continue,
                Some(shard_of) => {
                    let own = keys.iter().zip(shard_of).filter(|&(_, &s)| s == index);
                    Cow::Owned(own.map(|(key, _)| key.clone()).collect())
                }
            };
            let result = self.lock(index).invalidate_refs(Some(&list));
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
                Clear::Invalidate => shard.invalidate(None),
                Clear::Flush => shard.flush(),
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
            let result = self.lock(index).sweep(now_ms, max);
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
            let result = self.lock(index).stats();
            match result {
                Ok(stats) => add_stats(&mut total, stats),
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
    /// leaves [`Retired`] (or, for the native store, nothing) in its place.
    /// Calling it again does nothing.
    pub(crate) fn retire(&self) {
        for index in 0..self.shards.len() {
            let mut shard = self.lock(index);
            let result = shard.destroy();
            // Dropping the instance returns its memory (a wasm Store and all).
            match &mut shard {
                Guard::Exclusive(backend) => **backend = Box::new(Retired),
                Guard::Native(backend, _) => **backend = None,
            }
            drop(shard);
            if let Err(error) = result {
                self.record(error);
            }
        }
    }
}

/// Adds one shard's stats, as its backend returned them, to `total`: a
/// name's values are summed (saturating: a backend may return any number),
/// and names keep the order they first appear in. Linear in the names, so
/// a backend that returns many cannot make the sum take quadratic time.
pub(crate) fn add_stats(total: &mut Vec<(String, u64)>, stats: Vec<(String, u64)>) {
    let mut index: std::collections::HashMap<String, usize> =
        total.iter().enumerate().map(|(i, (name, _))| (name.clone(), i)).collect();
    for (name, value) in stats {
        match index.get(&name) {
            Some(&i) => total[i].1 = total[i].1.saturating_add(value),
            None => {
                index.insert(name.clone(), total.len());
                total.push((name, value));
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[test]
    fn stats_sums_saturate_and_keep_the_first_order() {
        // Found by the guest fuzz target: counters near u64::MAX, summed
        // over two shards, overflowed (a panic in a debug build, a wrapped
        // sum in a release one).
        let stat = |name: &str, value| (name.to_owned(), value);
        let mut total = Vec::new();
        add_stats(&mut total, vec![stat("hits", u64::MAX - 1), stat("misses", 1)]);
        add_stats(&mut total, vec![stat("misses", 2), stat("hits", 7), stat("bytes", 3), stat("bytes", 4)]);
        assert_eq!(total, [stat("hits", u64::MAX), stat("misses", 3), stat("bytes", 7)]);
    }
    use crate::backend::{NativeBackend, NativeFactory};

    fn eviction(policy: &str) -> Vec<(String, String)> {
        vec![("eviction".to_owned(), policy.to_owned())]
    }

    fn stat(shards: &Shards, name: &str) -> u64 {
        shards.stats().into_iter().find(|(n, _)| n == name).map_or_else(|| panic!("no stat {name}"), |(_, v)| v)
    }

    /// Native backends, made only through `make`, as any other factory's are.
    struct ExclusiveOnly;

    impl BackendFactory for ExclusiveOnly {
        fn name(&self) -> String {
            "exclusive".to_owned()
        }
        fn make(&self) -> Result<Box<dyn Backend>, BackendError> {
            Ok(Box::new(NativeBackend::new()))
        }
    }

    #[test]
    fn shards_serve_shared_hits_only_where_the_backend_can() {
        let cases: [(&dyn BackendFactory, &str, usize); 4] = [
            (&NativeFactory, "clock", 3),
            (&NativeFactory, "fifo", 3),
            (&NativeFactory, "lru", 0),
            (&ExclusiveOnly, "clock", 0),
        ];
        for (factory, policy, shared) in cases {
            let shards = Shards::new(factory, 3, &eviction(policy)).unwrap();
            assert_eq!(shards.shared_hit_shards(), shared, "{} with {policy}", factory.name());
        }
    }

    #[test]
    fn shared_hits_count_once_and_an_invalidation_ends_them() {
        let shards = Shards::new(&NativeFactory, 2, &eviction("clock")).unwrap();
        let keys = vec![b"k".to_vec()];
        shards.put(b"GET k", &keys, b"v", None, 0);
        let index = shards.index(b"k");
        let get = || shards.get(index, b"GET k", &|| 0, |bytes| Some(bytes.into_owned()));
        assert_eq!(get(), Some(b"v".to_vec()));
        assert_eq!(get(), Some(b"v".to_vec()));
        shards.invalidate_refs(&keys);
        assert_eq!(get(), None);
        assert_eq!((stat(&shards, "hits"), stat(&shards, "misses")), (2, 1));
        shards.retire();
        assert_eq!(get(), None, "a retired shard serves nothing");
    }

    #[test]
    fn an_invalidation_reaches_every_shard_its_keys_live_in() {
        let shards = Shards::new(&NativeFactory, 4, &eviction("clock")).unwrap();
        let names: Vec<Vec<u8>> = (0..64).map(|n| format!("k{n}").into_bytes()).collect();
        let in_other_shard = |taken: &[&Vec<u8>]| {
            let used: Vec<usize> = taken.iter().map(|key| shards.index(key)).collect();
            names.iter().find(|key| !used.contains(&shards.index(key))).expect("a key in another shard").clone()
        };
        let a = names[0].clone();
        let b = in_other_shard(&[&a]);
        let c = in_other_shard(&[&a, &b]);
        for key in [&a, &b, &c] {
            shards.put(&[b"GET ", key.as_slice()].concat(), std::slice::from_ref(key), b"v", None, 0);
        }
        // An entry that reads a and c lives in a's shard, which is marked.
        shards.put(b"SINTER a c", &[a.clone(), c.clone()], b"v", None, 0);
        let cached = |first: &[u8], cache_key: &[u8]| {
            shards.get(shards.index(first), cache_key, &|| 0, |bytes| Some(bytes.into_owned())).is_some()
        };
        // b and c, in two shards, change in one push.
        shards.invalidate_refs(&[b.clone(), c.clone()]);
        assert!(!cached(&b, &[b"GET ", b.as_slice()].concat()));
        assert!(!cached(&c, &[b"GET ", c.as_slice()].concat()));
        assert!(!cached(&a, b"SINTER a c"), "the entry in a's shard that read c");
        assert!(cached(&a, &[b"GET ", a.as_slice()].concat()), "a did not change");
    }

    /// Readers on other threads never see a value after the invalidation
    /// that removed it has returned.
    #[test]
    fn no_shared_hit_outlives_its_invalidation() {
        let shards = Shards::new(&NativeFactory, 1, &eviction("clock")).unwrap();
        let keys = vec![b"k".to_vec()];
        let round = AtomicUsize::new(0);
        let rounds = 1_000;
        std::thread::scope(|scope| {
            for _ in 0..3 {
                scope.spawn(|| {
                    loop {
                        let invalidated = round.load(Ordering::SeqCst);
                        if invalidated == rounds {
                            break;
                        }
                        // The value names its round; an invalidation of round
                        // n has returned once `round` is past n.
                        if let Some(value) = shards.get(0, b"GET k", &|| 0, |bytes| Some(bytes.into_owned())) {
                            let stored: usize = String::from_utf8(value).unwrap().parse().unwrap();
                            assert!(stored >= invalidated, "read round {stored}'s value after its invalidation");
                        }
                    }
                });
            }
            for n in 0..rounds {
                shards.put(b"GET k", &keys, n.to_string().as_bytes(), None, 0);
                std::thread::yield_now();
                shards.invalidate_refs(&keys);
                round.store(n + 1, Ordering::SeqCst);
            }
        });
        assert!(stat(&shards, "hits") > 0, "the readers never hit: nothing was tested");
    }
}
