//! Deadlines of the entries that have one, in the order sweep removes them.
//!
//! Only entries with a TTL are here, ordered by (deadline, put sequence), so
//! sweep finds the next expired entry in O(log n) without scanning, and ties
//! go in put order. Entries without a TTL cost nothing.

use std::collections::BTreeMap;

/// Deadlines, earliest first, each pointing at its entry's slot.
pub(crate) struct Expiry {
    by_deadline: BTreeMap<(u64, u64), u32>,
    next_seq: u64,
}

impl Expiry {
    pub(crate) const fn new() -> Self {
        Expiry { by_deadline: BTreeMap::new(), next_seq: 0 }
    }

    /// Adds an entry's deadline; returns the sequence number that, with the
    /// deadline, identifies it.
    pub(crate) fn schedule(&mut self, deadline: u64, slot: u32) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.by_deadline.insert((deadline, seq), slot);
        seq
    }

    /// Removes a deadline added by `schedule`.
    pub(crate) fn cancel(&mut self, deadline: u64, seq: u64) {
        self.by_deadline.remove(&(deadline, seq));
    }

    /// The slot of the entry with the earliest deadline at or before `now_ms`.
    pub(crate) fn first_expired(&self, now_ms: u64) -> Option<u32> {
        self.by_deadline.first_key_value().filter(|((deadline, _), _)| *deadline <= now_ms).map(|(_, &slot)| slot)
    }

    /// Number of scheduled deadlines.
    pub(crate) fn len(&self) -> usize {
        self.by_deadline.len()
    }

    pub(crate) fn clear(&mut self) {
        self.by_deadline.clear();
    }
}
