//! The ref index: which entries each Redis key is recorded for.
//!
//! Each (entry, Redis key) pair is one node on two lists: the Redis key's
//! doubly linked list of nodes, walked by invalidate-refs, and the entry's
//! singly linked list, walked when the entry goes. Unlinking a node is O(1),
//! so removing an entry costs O(its refs) however many entries share a Redis
//! key, and a Redis key's record goes with its last node: the index never
//! holds a key that no entry references.

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

use crate::slab::{NIL, Slab};

/// A Redis key with at least one entry.
struct Record {
    key: Box<[u8]>,
    /// First node of this key's list.
    head: u32,
}

/// One ref: `entry` is recorded for `record`.
struct Node {
    entry: u32,
    record: u32,
    prev_of_record: u32,
    next_of_record: u32,
    next_of_entry: u32,
}

/// Redis key -> entries, with O(1) removal of an entry's refs.
pub(crate) struct Refs {
    hasher: DefaultHashBuilder,
    index: HashTable<u32>,
    records: Slab<Record>,
    nodes: Slab<Node>,
}

impl Refs {
    pub(crate) fn new() -> Self {
        Refs {
            hasher: DefaultHashBuilder::default(),
            index: HashTable::new(),
            records: Slab::new(),
            nodes: Slab::new(),
        }
    }

    /// Records `redis_key` for `entry`, whose ref list starts at `*first_ref`.
    /// A ref already recorded is left as it is.
    pub(crate) fn add(&mut self, entry: u32, first_ref: &mut u32, redis_key: &[u8]) {
        let record = self.find_or_insert(redis_key);
        let mut node = *first_ref;
        while node != NIL {
            let n = self.nodes.get(node);
            if n.record == record {
                return;
            }
            node = n.next_of_entry;
        }
        let old_head = self.records.get(record).head;
        let node = self.nodes.insert(Node {
            entry,
            record,
            prev_of_record: NIL,
            next_of_record: old_head,
            next_of_entry: *first_ref,
        });
        if old_head != NIL {
            self.nodes.get_mut(old_head).prev_of_record = node;
        }
        self.records.get_mut(record).head = node;
        *first_ref = node;
    }

    /// Removes every ref on the entry list starting at `first_ref`.
    pub(crate) fn remove_entry(&mut self, first_ref: u32) {
        let mut next = first_ref;
        while next != NIL {
            let node = self.nodes.remove(next);
            next = node.next_of_entry;
            if node.prev_of_record != NIL {
                self.nodes.get_mut(node.prev_of_record).next_of_record = node.next_of_record;
            } else {
                self.records.get_mut(node.record).head = node.next_of_record;
            }
            if node.next_of_record != NIL {
                self.nodes.get_mut(node.next_of_record).prev_of_record = node.prev_of_record;
            }
            if self.records.get(node.record).head == NIL {
                self.remove_record(node.record);
            }
        }
    }

    /// Appends to `out` the entries recorded for `redis_key`.
    pub(crate) fn entries_of(&self, redis_key: &[u8], out: &mut Vec<u32>) {
        let hash = self.hasher.hash_one(redis_key);
        let Some(&record) = self.index.find(hash, |&r| *self.records.get(r).key == *redis_key) else {
            return;
        };
        let mut node = self.records.get(record).head;
        while node != NIL {
            let n = self.nodes.get(node);
            out.push(n.entry);
            node = n.next_of_record;
        }
    }

    /// Number of Redis keys with at least one entry.
    pub(crate) fn redis_keys(&self) -> u32 {
        self.records.len()
    }

    /// Bytes this index has allocated, for memory accounting.
    pub(crate) fn allocated_bytes(&self) -> usize {
        let key_bytes: usize = self.index.iter().map(|&r| self.records.get(r).key.len()).sum();
        self.records.reserved_bytes()
            + self.nodes.reserved_bytes()
            + self.index.capacity() * (std::mem::size_of::<u32>() + 1)
            + key_bytes
    }

    pub(crate) fn clear(&mut self) {
        self.index = HashTable::new();
        self.records.clear();
        self.nodes.clear();
    }

    fn find_or_insert(&mut self, redis_key: &[u8]) -> u32 {
        let hash = self.hasher.hash_one(redis_key);
        if let Some(&record) = self.index.find(hash, |&r| *self.records.get(r).key == *redis_key) {
            return record;
        }
        let record = self.records.insert(Record { key: redis_key.into(), head: NIL });
        let (records, hasher) = (&self.records, &self.hasher);
        self.index.insert_unique(hash, record, |&r| hasher.hash_one(&records.get(r).key));
        record
    }

    fn remove_record(&mut self, record: u32) {
        let hash = self.hasher.hash_one(&self.records.get(record).key);
        if let Ok(found) = self.index.find_entry(hash, |&r| r == record) {
            found.remove();
        }
        self.records.remove(record);
    }
}
