//! A vector of slots addressed by `u32`, with a free list, so the store can
//! link its records by index instead of by pointer.

/// An index that links nothing.
pub(crate) const NIL: u32 = u32::MAX;

enum Slot<T> {
    Occupied(T),
    Vacant { next_free: u32 },
}

/// Slots addressed by `u32`; freed slots are reused last-in first-out.
pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    free_head: u32,
    len: u32,
}

impl<T> Slab<T> {
    pub(crate) const fn new() -> Self {
        Slab { slots: Vec::new(), free_head: NIL, len: 0 }
    }

    /// Number of occupied slots.
    pub(crate) fn len(&self) -> u32 {
        self.len
    }

    /// Stores `value` and returns its index.
    ///
    /// # Panics
    /// When more than `u32::MAX - 1` values are held at once, far beyond any
    /// memory bound the store accepts.
    pub(crate) fn insert(&mut self, value: T) -> u32 {
        self.len += 1;
        if self.free_head != NIL {
            let index = self.free_head;
            let slot = &mut self.slots[index as usize];
            match slot {
                Slot::Vacant { next_free } => self.free_head = *next_free,
                Slot::Occupied(_) => unreachable!("free list points at an occupied slot"),
            }
            *slot = Slot::Occupied(value);
            index
        } else {
            let index = u32::try_from(self.slots.len()).expect("slab index fits u32");
            assert!(index != NIL, "slab is full");
            self.slots.push(Slot::Occupied(value));
            index
        }
    }

    /// Removes and returns the value at `index`.
    pub(crate) fn remove(&mut self, index: u32) -> T {
        let slot = std::mem::replace(&mut self.slots[index as usize], Slot::Vacant { next_free: self.free_head });
        match slot {
            Slot::Occupied(value) => {
                self.free_head = index;
                self.len -= 1;
                value
            }
            Slot::Vacant { .. } => unreachable!("removed a vacant slot"),
        }
    }

    #[inline]
    pub(crate) fn get(&self, index: u32) -> &T {
        match &self.slots[index as usize] {
            Slot::Occupied(value) => value,
            Slot::Vacant { .. } => unreachable!("read a vacant slot"),
        }
    }

    pub(crate) fn get_mut(&mut self, index: u32) -> &mut T {
        match &mut self.slots[index as usize] {
            Slot::Occupied(value) => value,
            Slot::Vacant { .. } => unreachable!("wrote a vacant slot"),
        }
    }

    /// Bytes reserved by the slot vector, for memory accounting.
    pub(crate) fn reserved_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot<T>>()
    }

    /// Drops every value and releases the memory.
    pub(crate) fn clear(&mut self) {
        *self = Slab::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_freed_slots_last_in_first_out() {
        let mut slab = Slab::new();
        let a = slab.insert("a");
        let b = slab.insert("b");
        slab.remove(a);
        slab.remove(b);
        assert_eq!(slab.insert("c"), b);
        assert_eq!(slab.insert("d"), a);
        assert_eq!(slab.len(), 2);
        assert_eq!(*slab.get(b), "c");
    }
}
