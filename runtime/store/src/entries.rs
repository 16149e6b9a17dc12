//! The entries and their eviction order.
//!
//! Entries live in a slab and are linked by index into one list, most
//! recent at the head. The eviction policy decides what moves an entry to
//! the head (a put always; a hit too under LRU; under CLOCK, a referenced
//! entry that reaches the tail); eviction takes the tail. Every list
//! operation is O(1).

use std::sync::atomic::{AtomicU32, Ordering};

use crate::slab::{NIL, Slab};

/// No deadline.
pub(crate) const NEVER: u64 = u64::MAX;

/// The bit of [`Entry::meta`] that says the entry was read since it was
/// stored or last given a second chance (CLOCK eviction).
const REFERENCED: u32 = 1 << 31;

/// Longest key an entry holds: the bits of [`Entry::meta`] below `REFERENCED`.
const MAX_KEY_LEN: usize = (REFERENCED - 1) as usize;

/// One cached entry. Key and value share one allocation.
pub(crate) struct Entry {
    /// The cache key followed by the value.
    data: Box<[u8]>,
    /// The key's length, and the `REFERENCED` bit: atomic, so a hit through
    /// a shared reference can set the bit while other readers read the key.
    meta: AtomicU32,
    prev: u32,
    next: u32,
    /// First node of this entry's refs, or `NIL`.
    pub(crate) first_ref: u32,
    /// Put sequence that orders equal deadlines; meaningful only with one.
    pub(crate) expiry_seq: u64,
    /// When the entry expires, or `NEVER`.
    pub(crate) deadline: u64,
}

impl Entry {
    pub(crate) fn new(key: &[u8], value: &[u8], deadline: u64) -> Self {
        let mut data = Vec::with_capacity(key.len() + value.len());
        data.extend_from_slice(key);
        data.extend_from_slice(value);
        Entry {
            data: data.into_boxed_slice(),
            meta: AtomicU32::new(key_len(key)),
            prev: NIL,
            next: NIL,
            first_ref: NIL,
            expiry_seq: 0,
            deadline,
        }
    }

    #[inline]
    fn key_len(&self) -> usize {
        (self.meta.load(Ordering::Relaxed) & !REFERENCED) as usize
    }

    #[inline]
    pub(crate) fn key(&self) -> &[u8] {
        &self.data[..self.key_len()]
    }

    #[inline]
    pub(crate) fn value(&self) -> &[u8] {
        &self.data[self.key_len()..]
    }

    /// Records a hit for CLOCK eviction. Writes only when the bit is not
    /// already set, so repeated hits on an entry leave its line shared.
    #[inline]
    pub(crate) fn mark_referenced(&self) {
        if self.meta.load(Ordering::Relaxed) & REFERENCED == 0 {
            self.meta.fetch_or(REFERENCED, Ordering::Relaxed);
        }
    }

    /// Clears the hit bit and says whether it was set.
    pub(crate) fn take_referenced(&mut self) -> bool {
        let meta = self.meta.get_mut();
        let was = *meta & REFERENCED != 0;
        *meta &= !REFERENCED;
        was
    }

    /// Key plus value bytes.
    pub(crate) fn size(&self) -> u64 {
        self.data.len() as u64
    }

    #[inline]
    pub(crate) fn is_expired(&self, now_ms: u64) -> bool {
        self.deadline <= now_ms
    }

    /// Replaces the value, keeping the key.
    pub(crate) fn set_value(&mut self, value: &[u8]) {
        let key_len = self.key_len();
        if self.data.len() == key_len + value.len() {
            self.data[key_len..].copy_from_slice(value);
        } else {
            let mut data = Vec::with_capacity(key_len + value.len());
            data.extend_from_slice(self.key());
            data.extend_from_slice(value);
            self.data = data.into_boxed_slice();
        }
    }
}

/// `key`'s length as [`Entry::meta`] holds it.
///
/// # Panics
/// For a key of 2 GiB or more (Redis keys are at most 512 MiB).
fn key_len(key: &[u8]) -> u32 {
    assert!(key.len() <= MAX_KEY_LEN, "keys are shorter than 2 GiB");
    key.len() as u32
}

/// The entries, linked most recent first.
pub(crate) struct Entries {
    slab: Slab<Entry>,
    head: u32,
    tail: u32,
}

impl Entries {
    pub(crate) const fn new() -> Self {
        Entries { slab: Slab::new(), head: NIL, tail: NIL }
    }

    pub(crate) fn len(&self) -> u32 {
        self.slab.len()
    }

    #[inline]
    pub(crate) fn get(&self, slot: u32) -> &Entry {
        self.slab.get(slot)
    }

    pub(crate) fn get_mut(&mut self, slot: u32) -> &mut Entry {
        self.slab.get_mut(slot)
    }

    /// The least recent entry, which eviction takes.
    pub(crate) fn tail(&self) -> Option<u32> {
        (self.tail != NIL).then_some(self.tail)
    }

    /// Adds `entry` as the most recent and returns its slot.
    pub(crate) fn push_front(&mut self, entry: Entry) -> u32 {
        let slot = self.slab.insert(entry);
        self.link_front(slot);
        slot
    }

    /// Makes the entry at `slot` the most recent.
    pub(crate) fn move_to_front(&mut self, slot: u32) {
        if self.head != slot {
            self.unlink(slot);
            self.link_front(slot);
        }
    }

    /// Removes the entry at `slot` from the list and returns it.
    pub(crate) fn remove(&mut self, slot: u32) -> Entry {
        self.unlink(slot);
        self.slab.remove(slot)
    }

    /// Bytes reserved for entry records (not their keys and values).
    pub(crate) fn reserved_bytes(&self) -> usize {
        self.slab.reserved_bytes()
    }

    pub(crate) fn clear(&mut self) {
        *self = Entries::new();
    }

    fn link_front(&mut self, slot: u32) {
        let old_head = self.head;
        {
            let entry = self.slab.get_mut(slot);
            entry.prev = NIL;
            entry.next = old_head;
        }
        if old_head != NIL {
            self.slab.get_mut(old_head).prev = slot;
        } else {
            self.tail = slot;
        }
        self.head = slot;
    }

    fn unlink(&mut self, slot: u32) {
        let (prev, next) = {
            let entry = self.slab.get(slot);
            (entry.prev, entry.next)
        };
        if prev != NIL {
            self.slab.get_mut(prev).next = next;
        } else {
            self.head = next;
        }
        if next != NIL {
            self.slab.get_mut(next).prev = prev;
        } else {
            self.tail = prev;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_record_fits_in_48_bytes() {
        // The per-entry overhead target (64 bytes beyond key and value) is
        // this record plus about 10 bytes of hash table.
        assert!(std::mem::size_of::<crate::slab::Slab<Entry>>() > 0);
        assert_eq!(std::mem::size_of::<Entry>(), 48);
    }

    #[test]
    fn list_keeps_recency_order() {
        let mut entries = Entries::new();
        let a = entries.push_front(Entry::new(b"a", b"1", NEVER));
        let b = entries.push_front(Entry::new(b"b", b"2", NEVER));
        assert_eq!(entries.tail(), Some(a));
        entries.move_to_front(a);
        assert_eq!(entries.tail(), Some(b));
        let removed = entries.remove(b);
        assert_eq!((removed.key(), removed.value()), (&b"b"[..], &b"2"[..]));
        assert_eq!(entries.tail(), Some(a));
        entries.remove(a);
        assert_eq!(entries.tail(), None);
    }

    #[test]
    fn the_referenced_bit_leaves_key_and_value_intact() {
        let mut entry = Entry::new(b"key", b"value", NEVER);
        assert!(!entry.take_referenced());
        entry.mark_referenced();
        entry.mark_referenced();
        assert_eq!((entry.key(), entry.value()), (&b"key"[..], &b"value"[..]));
        assert!(entry.take_referenced());
        assert!(!entry.take_referenced());
        entry.set_value(b"longer value");
        assert_eq!((entry.key(), entry.value()), (&b"key"[..], &b"longer value"[..]));
    }
}
