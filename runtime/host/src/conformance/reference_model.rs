//! The reference store's behaviour, written as plainly as possible: a
//! vector in recency order, O(n) everywhere. The exact-tier property runs
//! a backend and this model side by side and requires identical answers.

use nearcache_store::{Eviction, Stats};

struct Entry {
    key: Vec<u8>,
    value: Vec<u8>,
    deadline: Option<u64>,
    /// Orders equal deadlines for sweep: the put that set the deadline.
    seq: u64,
    refs: Vec<Vec<u8>>,
    /// Read since stored or since it last went round (CLOCK).
    referenced: bool,
}

impl Entry {
    fn size(&self) -> u64 {
        (self.key.len() + self.value.len()) as u64
    }
}

/// The model. Index 0 is the most recent entry.
pub(crate) struct ReferenceModel {
    max_entries: u64,
    max_bytes: Option<u64>,
    eviction: Eviction,
    entries: Vec<Entry>,
    stats: Stats,
    next_seq: u64,
}

impl ReferenceModel {
    pub(crate) fn new(max_entries: u64, max_bytes: Option<u64>, eviction: Eviction) -> Self {
        ReferenceModel { max_entries, max_bytes, eviction, entries: Vec::new(), stats: Stats::default(), next_seq: 0 }
    }

    pub(crate) fn reset(&mut self) {
        *self = ReferenceModel::new(self.max_entries, self.max_bytes, self.eviction);
    }

    fn position(&self, key: &[u8]) -> Option<usize> {
        self.entries.iter().position(|e| e.key == key)
    }

    fn remove_at(&mut self, index: usize) -> Entry {
        let entry = self.entries.remove(index);
        self.stats.entries -= 1;
        self.stats.bytes -= entry.size();
        entry
    }

    pub(crate) fn get(&mut self, key: &[u8], now: u64) -> Option<Vec<u8>> {
        let Some(index) = self.position(key) else {
            self.stats.misses += 1;
            return None;
        };
        if self.entries[index].deadline.is_some_and(|d| d <= now) {
            self.remove_at(index);
            self.stats.expirations += 1;
            self.stats.misses += 1;
            return None;
        }
        self.stats.hits += 1;
        let index = match self.eviction {
            Eviction::Lru => {
                let entry = self.entries.remove(index);
                self.entries.insert(0, entry);
                0
            }
            Eviction::Fifo => index,
            Eviction::Clock => {
                self.entries[index].referenced = true;
                index
            }
        };
        Some(self.entries[index].value.clone())
    }

    pub(crate) fn put(&mut self, key: &[u8], redis_key: Option<&[u8]>, value: &[u8], ttl: Option<u64>, now: u64) {
        let size = (key.len() + value.len()) as u64;
        let too_big = self.max_bytes.is_some_and(|max| size > max);
        if ttl == Some(0) || too_big {
            if let Some(index) = self.position(key) {
                self.remove_at(index);
            }
            return;
        }
        // A deadline that saturates is no deadline, as in the store.
        let deadline = ttl.map(|ttl| now.saturating_add(ttl)).filter(|&d| d != u64::MAX);
        let seq = self.next_seq;
        if deadline.is_some() {
            self.next_seq += 1;
        }
        let mut refs = match self.position(key) {
            Some(index) => self.remove_at(index).refs,
            None => Vec::new(),
        };
        if let Some(redis_key) = redis_key
            && !refs.iter().any(|r| r == redis_key)
        {
            refs.push(redis_key.to_vec());
        }
        self.entries
            .insert(0, Entry { key: key.to_vec(), value: value.to_vec(), deadline, seq, refs, referenced: false });
        self.stats.entries += 1;
        self.stats.bytes += size;
        self.stats.stores += 1;
        let max_bytes = self.max_bytes.unwrap_or(u64::MAX);
        while (self.stats.entries > self.max_entries || self.stats.bytes > max_bytes) && self.entries.len() > 1 {
            let last = self.entries.len() - 1;
            // The entry just stored is never evicted; under CLOCK a read
            // entry goes round once, unmarked, instead.
            let spared = self.entries[last].key == key;
            if spared || std::mem::take(&mut self.entries[last].referenced) {
                let entry = self.entries.remove(last);
                self.entries.insert(0, entry);
                continue;
            }
            self.remove_at(last);
            self.stats.evictions += 1;
        }
    }

    pub(crate) fn invalidate(&mut self, keys: Option<&[Vec<u8>]>) {
        match keys {
            None => {
                self.stats.invalidations += self.entries.len() as u64;
                self.flush();
            }
            Some(keys) => {
                for key in keys {
                    if let Some(index) = self.position(key) {
                        self.remove_at(index);
                        self.stats.invalidations += 1;
                    }
                }
            }
        }
    }

    pub(crate) fn invalidate_refs(&mut self, redis_keys: Option<&[Vec<u8>]>) {
        for redis_key in redis_keys.unwrap_or_default() {
            while let Some(index) = self.entries.iter().position(|e| e.refs.contains(redis_key)) {
                self.remove_at(index);
                self.stats.invalidations += 1;
            }
        }
    }

    pub(crate) fn flush(&mut self) {
        self.entries.clear();
        self.stats.entries = 0;
        self.stats.bytes = 0;
    }

    pub(crate) fn sweep(&mut self, now: u64, max: u32) -> u32 {
        let mut removed = 0;
        while removed < max {
            let next = (0..self.entries.len())
                .filter_map(|i| self.entries[i].deadline.filter(|&d| d <= now).map(|d| ((d, self.entries[i].seq), i)))
                .min();
            let Some((_, index)) = next else { break };
            self.remove_at(index);
            self.stats.expirations += 1;
            removed += 1;
        }
        removed
    }

    pub(crate) fn stats(&self) -> Stats {
        self.stats
    }
}
