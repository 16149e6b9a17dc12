//! The store: index, eviction order, deadlines and refs kept consistent.

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

use crate::config::{Config, ConfigError, Eviction};
use crate::entries::{Entries, Entry, NEVER};
use crate::expiry::Expiry;
use crate::refs::Refs;
use crate::stats::Stats;

/// A bounded map from cache keys to values with LRU, FIFO or CLOCK eviction,
/// per-entry deadlines, and Redis-key refs.
///
/// Its methods are the callbacks of `wit/backend.wit`, whose comments are
/// the contract; each method notes only what the contract leaves open.
///
/// ```
/// # use nearcache_store::Store;
/// let mut store = Store::new();
/// store.put_with_ref(b"GET user:1", b"user:1", b"alice", Some(1_000), 0);
/// assert_eq!(store.get(b"GET user:1", 999), Some(&b"alice"[..]));
/// store.invalidate_refs(Some(&[b"user:1".to_vec()]));
/// assert_eq!(store.get(b"GET user:1", 999), None);
/// ```
pub struct Store {
    config: Config,
    hasher: DefaultHashBuilder,
    /// Cache key -> slot in `entries`.
    index: HashTable<u32>,
    entries: Entries,
    expiry: Expiry,
    refs: Refs,
    stats: Stats,
    /// Reused by invalidate-refs to collect slots without allocating.
    scratch: Vec<u32>,
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

impl Store {
    /// An empty store with the default configuration.
    pub fn new() -> Store {
        Store::with_config(Config::default())
    }

    /// An empty store with `config`.
    pub fn with_config(config: Config) -> Store {
        Store {
            config,
            hasher: DefaultHashBuilder::default(),
            index: HashTable::new(),
            entries: Entries::new(),
            expiry: Expiry::new(),
            refs: Refs::new(),
            stats: Stats::default(),
            scratch: Vec::new(),
        }
    }

    /// Applies `init` options: the store is emptied and its counters reset.
    /// On error the store is left as it was.
    pub fn init<N, V>(&mut self, options: impl IntoIterator<Item = (N, V)>) -> Result<(), ConfigError>
    where
        N: AsRef<str>,
        V: AsRef<str>,
    {
        let config = Config::from_options(options)?;
        *self = Store::with_config(config);
        Ok(())
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The live value of `key`. An expired entry found here is removed and
    /// counted as an expiration and a miss.
    pub fn get(&mut self, key: &[u8], now_ms: u64) -> Option<&[u8]> {
        self.get_with_clock(key, || now_ms)
    }

    /// As [`get`](Self::get), reading the clock only for an entry that has
    /// a deadline, at the moment it is checked: a clock read is a sizeable
    /// share of a hit, and an entry without one never expires.
    pub fn get_with_clock(&mut self, key: &[u8], now_ms: impl FnOnce() -> u64) -> Option<&[u8]> {
        let Some(slot) = self.find(key) else {
            self.stats.misses += 1;
            return None;
        };
        let entry = self.entries.get(slot);
        if entry.deadline != NEVER && entry.is_expired(now_ms()) {
            self.remove(slot);
            self.stats.expirations += 1;
            self.stats.misses += 1;
            return None;
        }
        self.stats.hits += 1;
        match self.config.eviction {
            Eviction::Lru => self.entries.move_to_front(slot),
            Eviction::Fifo => {}
            Eviction::Clock => self.entries.get(slot).mark_referenced(),
        }
        Some(self.entries.get(slot).value())
    }

    /// A hit through a shared reference, for a store that many threads read
    /// at once: the live value of `key`, as [`get`](Self::get) would return
    /// it, or `None` when `get` itself must answer: a miss, an expired entry
    /// (which `get` removes), or LRU eviction (where a hit reorders).
    ///
    /// Writes nothing another reader of the same entry would see change but
    /// the CLOCK mark, and counts nothing: the caller counts the hits it
    /// serves this way (the counters need `&mut`) and adds them to `hits`.
    // Always: this is the native hit path's lookup, called across a crate
    // boundary, and left to itself the compiler's inlining choice changes
    // with unrelated edits, each time adding a call to every hit.
    #[inline(always)]
    pub fn get_shared(&self, key: &[u8], now_ms: impl FnOnce() -> u64) -> Option<&[u8]> {
        if self.config.eviction.hit_reorders() {
            return None;
        }
        let entry = self.entries.get(self.find(key)?);
        if entry.deadline != NEVER && entry.is_expired(now_ms()) {
            return None;
        }
        if self.config.eviction == Eviction::Clock {
            entry.mark_referenced();
        }
        Some(entry.value())
    }

    /// Whether `key` has no entry at all, live or expired: then
    /// [`get`](Self::get) would miss and change nothing but its miss
    /// count, so a caller that [`get_shared`](Self::get_shared) turned
    /// away can answer the miss itself, through a shared reference, and
    /// count it. Counts nothing.
    pub fn lacks(&self, key: &[u8]) -> bool {
        self.find(key).is_none()
    }

    /// Stores `value` under `key`. The entry becomes the most recent, and
    /// unmarked under CLOCK, whatever the policy. An entry larger than
    /// `max-bytes` is not stored.
    pub fn put(&mut self, key: &[u8], value: &[u8], ttl_ms: Option<u64>, now_ms: u64) {
        self.store(key, value, ttl_ms, now_ms);
    }

    /// As [`put`](Self::put), then records `redis_key` as a ref of the entry.
    pub fn put_with_ref(&mut self, key: &[u8], redis_key: &[u8], value: &[u8], ttl_ms: Option<u64>, now_ms: u64) {
        if let Some(slot) = self.store(key, value, ttl_ms, now_ms) {
            let entry = self.entries.get_mut(slot);
            self.refs.add(slot, &mut entry.first_ref, redis_key);
        }
    }

    /// Removes the entries under `keys`, or every entry for `None`.
    pub fn invalidate(&mut self, keys: Option<&[Vec<u8>]>) {
        let Some(keys) = keys else {
            self.stats.invalidations += u64::from(self.entries.len());
            self.clear();
            return;
        };
        for key in keys {
            if let Some(slot) = self.find(key) {
                self.remove(slot);
                self.stats.invalidations += 1;
            }
        }
    }

    /// Removes every entry that has any of `redis_keys` among its refs.
    pub fn invalidate_refs(&mut self, redis_keys: Option<&[Vec<u8>]>) {
        let Some(redis_keys) = redis_keys else { return };
        let mut slots = std::mem::take(&mut self.scratch);
        for redis_key in redis_keys {
            slots.clear();
            self.refs.entries_of(redis_key, &mut slots);
            for &slot in &slots {
                self.remove(slot);
                self.stats.invalidations += 1;
            }
        }
        slots.clear();
        self.scratch = slots;
    }

    /// Removes every entry; counters other than entries and bytes stay.
    pub fn flush(&mut self) {
        self.clear();
    }

    /// Counters and gauges.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Removes up to `max` expired entries, earliest deadline first (ties in
    /// put order), and returns how many it removed. O(max log n).
    pub fn sweep(&mut self, now_ms: u64, max: u32) -> u32 {
        let mut removed = 0;
        while removed < max {
            let Some(slot) = self.expiry.first_expired(now_ms) else {
                break;
            };
            self.remove(slot);
            self.stats.expirations += 1;
            removed += 1;
        }
        removed
    }

    /// Drops every entry and releases the memory; the store is as new.
    pub fn destroy(&mut self) {
        *self = Store::with_config(self.config.clone());
    }

    /// Bytes the store has allocated beyond the key and value bytes of its
    /// entries: entry records, hash tables, the ref index (including the
    /// Redis keys it holds) and deadlines. Allocator overhead is not counted.
    pub fn overhead_bytes(&self) -> usize {
        const EXPIRY_NODE_ESTIMATE: usize = 32;
        self.entries.reserved_bytes()
            + self.index.capacity() * (std::mem::size_of::<u32>() + 1)
            + self.refs.allocated_bytes()
            + self.expiry.len() * EXPIRY_NODE_ESTIMATE
    }

    /// Number of Redis keys that have at least one entry.
    pub fn referenced_redis_keys(&self) -> u32 {
        self.refs.redis_keys()
    }

    // Always, as `get_shared`: with `lacks` calling it too, the compiler
    // would otherwise make it a call on the hit path.
    #[inline(always)]
    fn find(&self, key: &[u8]) -> Option<u32> {
        let hash = self.hasher.hash_one(key);
        self.index.find(hash, |&slot| self.entries.get(slot).key() == key).copied()
    }

    /// The put shared by put and put-with-ref. Returns the entry's slot if
    /// it was stored.
    fn store(&mut self, key: &[u8], value: &[u8], ttl_ms: Option<u64>, now_ms: u64) -> Option<u32> {
        let deadline = match ttl_ms {
            None => NEVER,
            Some(0) => {
                self.remove_key(key);
                return None;
            }
            Some(ttl) => now_ms.saturating_add(ttl),
        };
        let size = (key.len() + value.len()) as u64;
        if self.config.max_bytes.is_some_and(|max| size > max.get()) {
            self.remove_key(key);
            return None;
        }

        let slot = match self.find(key) {
            Some(slot) => {
                let entry = self.entries.get_mut(slot);
                let old_size = entry.size();
                if entry.deadline != NEVER {
                    self.expiry.cancel(entry.deadline, entry.expiry_seq);
                }
                entry.set_value(value);
                entry.deadline = deadline;
                entry.take_referenced();
                self.stats.bytes = self.stats.bytes - old_size + size;
                self.entries.move_to_front(slot);
                slot
            }
            None => {
                let slot = self.entries.push_front(Entry::new(key, value, deadline));
                let (entries, hasher) = (&self.entries, &self.hasher);
                self.index.insert_unique(hasher.hash_one(key), slot, |&s| hasher.hash_one(entries.get(s).key()));
                self.stats.entries += 1;
                self.stats.bytes += size;
                slot
            }
        };
        if deadline != NEVER {
            let seq = self.expiry.schedule(deadline, slot);
            self.entries.get_mut(slot).expiry_seq = seq;
        }
        self.stats.stores += 1;
        self.evict_beyond_bounds(slot);
        Some(slot)
    }

    /// Evicts from the tail until the bounds hold. `keep` (the entry just
    /// stored, at the head) is never evicted: it fits on its own. Under
    /// CLOCK a marked tail is unmarked and moved to the head instead (and
    /// so is `keep`, should the others all have gone round before it): each
    /// entry is passed over at most once, so the loop ends.
    fn evict_beyond_bounds(&mut self, keep: u32) {
        let max_bytes = self.config.max_bytes.map_or(u64::MAX, |max| max.get());
        while self.stats.entries > self.config.max_entries.get() || self.stats.bytes > max_bytes {
            let Some(slot) = self.entries.tail() else { break };
            if slot == keep {
                if self.entries.len() == 1 {
                    break;
                }
                self.entries.move_to_front(slot);
            } else if self.config.eviction == Eviction::Clock && self.entries.get_mut(slot).take_referenced() {
                self.entries.move_to_front(slot);
            } else {
                self.remove(slot);
                self.stats.evictions += 1;
            }
        }
    }

    fn remove_key(&mut self, key: &[u8]) {
        if let Some(slot) = self.find(key) {
            self.remove(slot);
        }
    }

    /// Removes the entry at `slot` from every structure.
    fn remove(&mut self, slot: u32) {
        let entry = self.entries.remove(slot);
        let hash = self.hasher.hash_one(entry.key());
        if let Ok(found) = self.index.find_entry(hash, |&s| s == slot) {
            found.remove();
        }
        if entry.deadline != NEVER {
            self.expiry.cancel(entry.deadline, entry.expiry_seq);
        }
        self.refs.remove_entry(entry.first_ref);
        self.stats.entries -= 1;
        self.stats.bytes -= entry.size();
    }

    fn clear(&mut self) {
        self.index = HashTable::new();
        self.entries.clear();
        self.expiry.clear();
        self.refs.clear();
        self.stats.entries = 0;
        self.stats.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(options: &[(&str, &str)]) -> Store {
        let mut store = Store::new();
        store.init(options.iter().copied()).unwrap();
        store
    }

    #[test]
    fn removing_entries_by_any_route_drops_their_refs() {
        let mut s = store(&[("max-entries", "2")]);
        s.put_with_ref(b"a", b"ra", b"1", None, 0);
        s.put_with_ref(b"b", b"rb", b"1", Some(5), 0);
        s.put_with_ref(b"c", b"rc", b"1", None, 0); // evicts a
        assert_eq!(s.referenced_redis_keys(), 2);
        assert_eq!(s.sweep(5, 10), 1); // expires b
        assert_eq!(s.referenced_redis_keys(), 1);
        s.invalidate(Some(&[b"c".to_vec()]));
        assert_eq!(s.referenced_redis_keys(), 0);
        s.put_with_ref(b"d", b"rd", b"1", None, 0);
        s.flush();
        assert_eq!(s.referenced_redis_keys(), 0);
    }

    #[test]
    fn shared_redis_key_refs_unlink_from_the_middle() {
        let mut s = store(&[]);
        for key in [&b"x"[..], b"y", b"z"] {
            s.put_with_ref(key, b"h", b"v", None, 0);
        }
        s.invalidate(Some(&[b"y".to_vec()]));
        s.invalidate_refs(Some(&[b"h".to_vec()]));
        assert_eq!(s.stats().entries, 0);
        assert_eq!(s.referenced_redis_keys(), 0);
    }

    #[test]
    fn the_clock_is_read_only_for_entries_with_a_deadline() {
        let mut s = store(&[]);
        s.put(b"forever", b"1", None, 0);
        s.put(b"brief", b"2", Some(10), 0);
        let unread = || -> u64 { panic!("read the clock for an entry without a deadline") };
        assert_eq!(s.get_with_clock(b"forever", unread), Some(&b"1"[..]));
        assert_eq!(s.get_with_clock(b"brief", || 9), Some(&b"2"[..]));
        assert_eq!(s.get_with_clock(b"brief", || 10), None);
        assert_eq!(s.stats().expirations, 1);
    }

    #[test]
    fn clock_gives_a_read_entry_a_second_chance() {
        let mut s = store(&[("max-entries", "3"), ("eviction", "clock")]);
        for key in [&b"a"[..], b"b", b"c"] {
            s.put(key, b"1", None, 0);
        }
        assert!(s.get(b"a", 0).is_some());
        assert!(s.get_shared(b"b", || 0).is_some());
        s.put(b"d", b"1", None, 0); // a and b go round; c, never read, goes
        assert_eq!(s.get(b"c", 0), None);
        // Going round put a and b behind d, so d, never read, is the tail.
        s.put(b"e", b"1", None, 0);
        assert_eq!(s.get(b"d", 0), None);
        // Going round unmarked a and b: unless read again, they go next.
        assert!(s.get(b"a", 0).is_some() && s.get(b"b", 0).is_some());
        s.put(b"f", b"1", None, 0);
        assert_eq!(s.get(b"e", 0), None);
        assert!(s.get(b"a", 0).is_some() && s.get(b"b", 0).is_some());
        assert_eq!(s.stats().evictions, 3);
    }

    #[test]
    fn clock_never_evicts_the_entry_just_stored() {
        // Every other entry marked: all go round, then the new one must not
        // be the one that goes.
        let mut s = store(&[("max-entries", "2"), ("eviction", "clock")]);
        s.put(b"a", b"1", None, 0);
        s.put(b"b", b"1", None, 0);
        s.get(b"a", 0);
        s.get(b"b", 0);
        s.put(b"c", b"1", None, 0);
        assert!(s.get(b"c", 0).is_some());
        assert_eq!(s.stats().entries, 2);
        let mut s = store(&[("max-bytes", "4"), ("eviction", "clock")]);
        s.put(b"a", b"1", None, 0);
        s.get(b"a", 0);
        s.put(b"b", b"123", None, 0); // only b fits
        assert_eq!(s.get(b"a", 0), None);
        assert_eq!(s.get(b"b", 0), Some(&b"123"[..]));
    }

    #[test]
    fn a_shared_get_defers_to_get_where_get_would_write() {
        let mut s = store(&[("eviction", "lru")]);
        s.put(b"a", b"1", None, 0);
        assert_eq!(s.get_shared(b"a", || 0), None, "an LRU hit reorders");
        for eviction in ["fifo", "clock"] {
            let mut s = store(&[("eviction", eviction)]);
            s.put(b"a", b"1", None, 0);
            s.put(b"brief", b"2", Some(10), 0);
            assert_eq!(s.get_shared(b"a", || panic!("read the clock without a deadline")), Some(&b"1"[..]));
            assert_eq!(s.get_shared(b"brief", || 9), Some(&b"2"[..]));
            assert_eq!(s.get_shared(b"brief", || 10), None, "expired");
            assert_eq!(s.get_shared(b"missing", || 0), None);
            assert!(s.lacks(b"missing") && !s.lacks(b"a"));
            assert!(!s.lacks(b"brief"), "an expired entry is there until get removes it");
            assert_eq!((s.stats().hits, s.stats().misses, s.stats().entries), (0, 0, 2), "counted nothing");
        }
    }

    #[test]
    fn destroy_keeps_the_configuration() {
        let mut s = store(&[("max-entries", "1")]);
        s.put(b"a", b"1", None, 0);
        s.destroy();
        assert_eq!(s.stats(), Stats::default());
        assert_eq!(s.config().max_entries.get(), 1);
    }
}
