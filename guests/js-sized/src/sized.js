// The size-aware store: GreedyDual-Size eviction under a byte budget.
//
// Every entry has a priority H = L + 1 / (size + 1), where size is its key
// plus value bytes and L is the store's "inflation" value. The entry with the
// lowest H is evicted first (ties: the older put first), and L rises to that
// entry's H. A hit sets H = L + 1 / (size + 1) again. Large entries thus go
// before small ones unless they are read, and entries not read for a while
// age out as L rises: more entries, and so more hits, fit in the same bytes.
//
// Time and TTLs are u64 and arrive as BigInt; deadlines stay BigInt.

import { IndexedHeap } from './heap.js';
import { keyString } from './keys.js';

const U64_MAX = (1n << 64n) - 1n;

function evictsBefore(a, b) {
  return a.priority < b.priority || (a.priority === b.priority && a.seq < b.seq);
}

function expiresBefore(a, b) {
  return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
}

export class SizedStore {
  /** @param {{maxEntries: number, maxBytes: number}} options */
  constructor(options) {
    this.options = options;
    /** @type {Map<string, object>} cache key -> entry */
    this.entries = new Map();
    /** @type {Map<string, Set<string>>} Redis key -> cache keys */
    this.refs = new Map();
    this.evictOrder = new IndexedHeap(evictsBefore, 'evictIndex');
    this.deadlines = new IndexedHeap(expiresBefore, 'deadlineIndex');
    this.inflation = 0;
    this.nextSeq = 0;
    this.bytes = 0;
    this.hits = 0;
    this.misses = 0;
    this.stores = 0;
    this.evictions = 0;
    this.expirations = 0;
    this.invalidations = 0;
  }

  priorityOf(size) {
    return this.inflation + 1 / (size + 1);
  }

  // Adding and removing entries: every structure changes here and only here.

  insert(entry) {
    this.entries.set(entry.key, entry);
    this.evictOrder.push(entry);
    if (entry.deadline !== null) this.deadlines.push(entry);
    for (const ref of entry.refs) {
      let keys = this.refs.get(ref);
      if (keys === undefined) this.refs.set(ref, (keys = new Set()));
      keys.add(entry.key);
    }
    this.bytes += entry.size;
  }

  remove(entry) {
    this.entries.delete(entry.key);
    this.evictOrder.remove(entry);
    this.deadlines.remove(entry);
    for (const ref of entry.refs) {
      const keys = this.refs.get(ref);
      keys.delete(entry.key);
      if (keys.size === 0) this.refs.delete(ref);
    }
    this.bytes -= entry.size;
  }

  clear() {
    this.entries.clear();
    this.refs.clear();
    this.evictOrder.clear();
    this.deadlines.clear();
    this.bytes = 0;
  }

  makeRoom(size) {
    const { maxEntries, maxBytes } = this.options;
    while (this.entries.size > 0 && (this.entries.size >= maxEntries || this.bytes + size > maxBytes)) {
      const victim = this.evictOrder.peek();
      this.inflation = victim.priority;
      this.remove(victim);
      this.evictions += 1;
    }
  }

  // The callbacks.

  get(keyBytes, nowMs) {
    const entry = this.entries.get(keyString(keyBytes));
    if (entry === undefined) {
      this.misses += 1;
      return undefined;
    }
    if (entry.deadline !== null && entry.deadline <= nowMs) {
      this.remove(entry);
      this.expirations += 1;
      this.misses += 1;
      return undefined;
    }
    this.hits += 1;
    entry.priority = this.priorityOf(entry.size);
    this.evictOrder.update(entry);
    return entry.value;
  }

  put(keyBytes, value, ttlMs, nowMs, refBytes) {
    const key = keyString(keyBytes);
    const size = keyBytes.length + value.length;
    const old = this.entries.get(key);
    if (ttlMs === 0n || size > this.options.maxBytes) {
      if (old !== undefined) this.remove(old);
      return;
    }
    const refs = old === undefined ? [] : old.refs.slice();
    if (old !== undefined) this.remove(old);
    if (refBytes !== undefined) {
      const ref = keyString(refBytes);
      if (!refs.includes(ref)) refs.push(ref);
    }
    let deadline = null;
    if (ttlMs !== undefined && ttlMs !== null && nowMs + ttlMs < U64_MAX) deadline = nowMs + ttlMs;
    const seq = this.nextSeq++;
    this.makeRoom(size);
    this.insert({
      key,
      value,
      size,
      deadline,
      seq,
      refs,
      priority: this.priorityOf(size),
      evictIndex: -1,
      deadlineIndex: -1,
    });
    this.stores += 1;
  }

  invalidate(keys) {
    if (keys === undefined || keys === null) {
      this.invalidations += this.entries.size;
      this.clear();
      return;
    }
    for (const keyBytes of keys) {
      const entry = this.entries.get(keyString(keyBytes));
      if (entry !== undefined) {
        this.remove(entry);
        this.invalidations += 1;
      }
    }
  }

  invalidateRefs(redisKeys) {
    if (redisKeys === undefined || redisKeys === null) return;
    for (const refBytes of redisKeys) {
      const keys = this.refs.get(keyString(refBytes));
      if (keys === undefined) continue;
      for (const key of [...keys]) {
        this.remove(this.entries.get(key));
        this.invalidations += 1;
      }
    }
  }

  flush() {
    this.clear();
  }

  /** The counters and gauges, as [name, number] pairs. */
  stats() {
    return [
      ['hits', this.hits],
      ['misses', this.misses],
      ['stores', this.stores],
      ['evictions', this.evictions],
      ['expirations', this.expirations],
      ['invalidations', this.invalidations],
      ['entries', this.entries.size],
      ['bytes', this.bytes],
    ];
  }

  sweep(nowMs, max) {
    let removed = 0;
    while (removed < max) {
      const entry = this.deadlines.peek();
      if (entry === undefined || entry.deadline > nowMs) break;
      this.remove(entry);
      this.expirations += 1;
      removed += 1;
    }
    return removed;
  }
}
