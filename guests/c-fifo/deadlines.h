// An indexed binary min-heap of the entries that have a deadline, earliest
// first, ties in put order. Each entry knows its position, so removing any
// entry is O(log n) and sweep touches only expired entries: its work is
// bounded by its `max`, as the contract asks.

#ifndef C_FIFO_DEADLINES_H
#define C_FIFO_DEADLINES_H

#include "entry.h"

typedef struct {
    entry **items;
    size_t len;
    size_t capacity;
} deadlines;

void deadlines_init(deadlines *d);
void deadlines_free(deadlines *d);
void deadlines_push(deadlines *d, entry *e);
// Removes `e` if it is in the heap.
void deadlines_remove(deadlines *d, entry *e);
// The entry with the earliest deadline, or NULL.
entry *deadlines_earliest(const deadlines *d);

#endif
