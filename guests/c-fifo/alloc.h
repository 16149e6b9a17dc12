// Allocation that cannot fail quietly: when the host's memory limit stops
// the heap from growing, the call traps (abort), and the host discards the
// instance and names the memory limit as the cause. A half-updated store is
// never left behind to serve from.

#ifndef C_FIFO_ALLOC_H
#define C_FIFO_ALLOC_H

#include <stdlib.h>

static inline void *checked_malloc(size_t size) {
    void *p = malloc(size == 0 ? 1 : size);
    if (p == NULL) {
        abort();
    }
    return p;
}

static inline void *checked_calloc(size_t count, size_t size) {
    void *p = calloc(count, size);
    if (p == NULL) {
        abort();
    }
    return p;
}

#endif
