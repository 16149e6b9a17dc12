// The FIFO store: entries in put order, the oldest evicted first when
// `max-entries` or `max-bytes` would be exceeded; a get never reorders.
// Behaves exactly like the reference store with `eviction=fifo`.

#ifndef C_FIFO_FIFO_H
#define C_FIFO_FIFO_H

#include "deadlines.h"
#include "entry.h"
#include "table.h"

typedef struct {
    uint64_t max_entries;
    uint64_t max_bytes;  // 0: no byte bound
} fifo_options;

typedef struct {
    uint64_t hits, misses, stores, evictions, expirations, invalidations;
} fifo_counters;

typedef struct {
    fifo_options options;
    table entries;  // cache key -> entry
    table refs;     // Redis key -> ref_set
    deadlines deadlines;
    entry *oldest, *newest;
    uint64_t bytes;
    uint64_t next_seq;
    fifo_counters counters;
} fifo;

void fifo_init(fifo *f, fifo_options options);
// Frees every entry and structure; fifo_init makes it usable again.
void fifo_destroy(fifo *f);

// The live entry under `key`, or NULL; counts one hit or one miss and
// removes an expired entry it finds.
const entry *fifo_get(fifo *f, const uint8_t *key, size_t len, uint64_t now);

// Stores `value` under `key`, with `ref` (if not NULL) added to its refs.
// Takes ownership of the three buffers (malloc'd), keeping or freeing them.
// `ttl` NULL: no deadline; *ttl == 0: removes the key's entry, stores nothing.
void fifo_put(fifo *f, uint8_t *key, size_t key_len, uint8_t *value, size_t value_len, const uint64_t *ttl,
              uint64_t now, uint8_t *ref, size_t ref_len);

void fifo_invalidate(fifo *f, const uint8_t *key, size_t len);
void fifo_invalidate_all(fifo *f);
void fifo_invalidate_ref(fifo *f, const uint8_t *redis_key, size_t len);
void fifo_flush(fifo *f);
uint32_t fifo_sweep(fifo *f, uint64_t now, uint32_t max);

#endif
