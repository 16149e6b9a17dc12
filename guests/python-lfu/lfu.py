"""The LFU store: entries, frequency buckets, refs, deadlines and counters.

Plain Python with no component-model types, so it also runs (and can be tried
out) under an ordinary interpreter.
"""

from typing import Dict, List, Optional, Set, Tuple

from deadlines import Deadlines
from options import Options

# A deadline that saturates at the largest u64 is no deadline.
U64_MAX = (1 << 64) - 1

COUNTERS = ("hits", "misses", "stores", "evictions", "expirations", "invalidations")


class Entry:
    """One stored value and everything the store keeps about it."""

    __slots__ = ("key", "value", "deadline", "seq", "refs", "freq", "heap_index")

    def __init__(self, key: bytes, value: bytes, deadline: Optional[int], seq: int, refs: List[bytes], freq: int):
        self.key = key
        self.value = value
        self.deadline = deadline
        self.seq = seq
        self.refs = refs
        self.freq = freq
        self.heap_index = -1

    def size(self) -> int:
        return len(self.key) + len(self.value)


class LfuStore:
    """A cache bounded by entries and bytes that evicts the least frequently used entry.

    Each hit raises an entry's frequency by one; a put that replaces an entry
    keeps its frequency (and its refs). Entries of equal frequency leave
    oldest first: each frequency has an insertion-ordered dict of its entries.
    """

    def __init__(self, options: Options):
        self.options = options
        self.entries: Dict[bytes, Entry] = {}
        self.buckets: Dict[int, Dict[bytes, Entry]] = {}
        # The lowest frequency with entries; recomputed when its bucket empties.
        self.min_freq = 1
        self.refs: Dict[bytes, Set[bytes]] = {}
        self.deadlines = Deadlines()
        self.next_seq = 0
        self.bytes = 0
        self.counters = dict.fromkeys(COUNTERS, 0)

    # Frequency buckets.

    def _link(self, entry: Entry) -> None:
        if not self.buckets or entry.freq < self.min_freq:
            self.min_freq = entry.freq
        self.buckets.setdefault(entry.freq, {})[entry.key] = entry

    def _unlink(self, entry: Entry) -> None:
        bucket = self.buckets[entry.freq]
        del bucket[entry.key]
        if not bucket:
            del self.buckets[entry.freq]
            if entry.freq == self.min_freq and self.buckets:
                self.min_freq = min(self.buckets)

    def _touch(self, entry: Entry) -> None:
        self._unlink(entry)
        entry.freq += 1
        self._link(entry)

    def _victim(self) -> Entry:
        bucket = self.buckets[self.min_freq]
        return next(iter(bucket.values()))

    # Adding and removing entries: every structure changes here and only here.

    def _insert(self, entry: Entry) -> None:
        self.entries[entry.key] = entry
        self._link(entry)
        if entry.deadline is not None:
            self.deadlines.push(entry)
        for ref in entry.refs:
            self.refs.setdefault(ref, set()).add(entry.key)
        self.bytes += entry.size()

    def _remove(self, entry: Entry) -> None:
        del self.entries[entry.key]
        self._unlink(entry)
        self.deadlines.remove(entry)
        for ref in entry.refs:
            keys = self.refs[ref]
            keys.discard(entry.key)
            if not keys:
                del self.refs[ref]
        self.bytes -= entry.size()

    def _clear(self) -> None:
        self.entries.clear()
        self.buckets.clear()
        self.refs.clear()
        self.deadlines.clear()
        self.bytes = 0

    def _make_room(self, size: int) -> None:
        max_bytes = self.options.max_bytes
        while self.entries and (
            len(self.entries) >= self.options.max_entries or (max_bytes is not None and self.bytes + size > max_bytes)
        ):
            self._remove(self._victim())
            self.counters["evictions"] += 1

    # The callbacks.

    def get(self, key: bytes, now_ms: int) -> Optional[bytes]:
        entry = self.entries.get(key)
        if entry is None:
            self.counters["misses"] += 1
            return None
        if entry.deadline is not None and entry.deadline <= now_ms:
            self._remove(entry)
            self.counters["expirations"] += 1
            self.counters["misses"] += 1
            return None
        self.counters["hits"] += 1
        self._touch(entry)
        return entry.value

    def put(self, key: bytes, value: bytes, ttl_ms: Optional[int], now_ms: int, ref: Optional[bytes] = None) -> None:
        size = len(key) + len(value)
        old = self.entries.get(key)
        too_big = self.options.max_bytes is not None and size > self.options.max_bytes
        if ttl_ms == 0 or too_big:
            if old is not None:
                self._remove(old)
            return
        refs: List[bytes] = []
        freq = 1
        if old is not None:
            refs, freq = list(old.refs), old.freq
            self._remove(old)
        if ref is not None and ref not in refs:
            refs.append(ref)
        deadline = None
        if ttl_ms is not None and now_ms + ttl_ms < U64_MAX:
            deadline = now_ms + ttl_ms
        seq = self.next_seq
        self.next_seq += 1
        self._make_room(size)
        self._insert(Entry(key, value, deadline, seq, refs, freq))
        self.counters["stores"] += 1

    def invalidate(self, keys: Optional[List[bytes]]) -> None:
        if keys is None:
            self.counters["invalidations"] += len(self.entries)
            self._clear()
            return
        for key in keys:
            entry = self.entries.get(key)
            if entry is not None:
                self._remove(entry)
                self.counters["invalidations"] += 1

    def invalidate_refs(self, redis_keys: Optional[List[bytes]]) -> None:
        for redis_key in redis_keys or ():
            for key in list(self.refs.get(redis_key, ())):
                self._remove(self.entries[key])
                self.counters["invalidations"] += 1

    def flush(self) -> None:
        self._clear()

    def stats(self) -> List[Tuple[str, int]]:
        pairs = list(self.counters.items())
        pairs.append(("entries", len(self.entries)))
        pairs.append(("bytes", self.bytes))
        return pairs

    def sweep(self, now_ms: int, max_removals: int) -> int:
        removed = 0
        while removed < max_removals:
            entry = self.deadlines.earliest()
            if entry is None or entry.deadline > now_ms:
                break
            self._remove(entry)
            self.counters["expirations"] += 1
            removed += 1
        return removed
