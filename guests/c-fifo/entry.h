// One cached entry, and the links between entries and the Redis keys they
// were read from (their refs).

#ifndef C_FIFO_ENTRY_H
#define C_FIFO_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "table.h"

typedef struct ref_link ref_link;

typedef struct entry {
    table_node node;  // key: the cache key, owned by the entry
    uint8_t *value;   // owned by the entry
    size_t value_len;
    bool has_deadline;
    uint64_t deadline;
    uint64_t seq;                // put order, for ties between equal deadlines
    struct entry *older, *newer;  // the FIFO list, oldest at its head
    size_t heap_index;           // position in the deadline heap, or NOT_IN_HEAP
    ref_link *refs;              // this entry's refs
} entry;

#define NOT_IN_HEAP SIZE_MAX

// Every entry that has one Redis key among its refs.
typedef struct ref_set {
    table_node node;  // key: the Redis key, owned by the set
    ref_link *links;
} ref_set;

// One ref: an entry and a Redis key, on both of their lists.
struct ref_link {
    entry *entry;
    ref_set *set;
    ref_link *next_of_entry;
    ref_link *prev_in_set, *next_in_set;
};

static inline size_t entry_size(const entry *e) {
    return e->node.len + e->value_len;
}

#endif
