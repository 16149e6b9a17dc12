//! The store's counters and gauges.

/// What a store has done since `init`, and what it holds now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Gets that returned a value.
    pub hits: u64,
    /// Gets that returned nothing, including those that found an expired entry.
    pub misses: u64,
    /// Puts that stored an entry.
    pub stores: u64,
    /// Entries removed to make room.
    pub evictions: u64,
    /// Expired entries removed, by get or sweep.
    pub expirations: u64,
    /// Entries removed by invalidate or invalidate-refs.
    pub invalidations: u64,
    /// Entries held, expired or not.
    pub entries: u64,
    /// Key plus value bytes of the entries held.
    pub bytes: u64,
}

impl Stats {
    /// The stats as the name/value pairs of the WIT `stats` callback.
    pub fn to_pairs(&self) -> [(&'static str, u64); 8] {
        [
            ("hits", self.hits),
            ("misses", self.misses),
            ("stores", self.stores),
            ("evictions", self.evictions),
            ("expirations", self.expirations),
            ("invalidations", self.invalidations),
            ("entries", self.entries),
            ("bytes", self.bytes),
        ]
    }
}
