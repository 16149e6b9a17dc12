// The deadline heap (see deadlines.h).

#include "deadlines.h"

#include <stdlib.h>

#include "alloc.h"

void deadlines_init(deadlines *d) {
    d->items = NULL;
    d->len = 0;
    d->capacity = 0;
}

void deadlines_free(deadlines *d) {
    free(d->items);
    deadlines_init(d);
}

static bool before(const entry *a, const entry *b) {
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void place(deadlines *d, size_t i, entry *e) {
    d->items[i] = e;
    e->heap_index = i;
}

static void sift_up(deadlines *d, size_t i) {
    entry *e = d->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(e, d->items[parent])) {
            break;
        }
        place(d, i, d->items[parent]);
        i = parent;
    }
    place(d, i, e);
}

static void sift_down(deadlines *d, size_t i) {
    entry *e = d->items[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= d->len) {
            break;
        }
        if (child + 1 < d->len && before(d->items[child + 1], d->items[child])) {
            child++;
        }
        if (!before(d->items[child], e)) {
            break;
        }
        place(d, i, d->items[child]);
        i = child;
    }
    place(d, i, e);
}

void deadlines_push(deadlines *d, entry *e) {
    if (d->len == d->capacity) {
        size_t capacity = d->capacity == 0 ? 16 : d->capacity * 2;
        entry **items = realloc(d->items, capacity * sizeof(entry *));
        if (items == NULL) {
            abort();
        }
        d->items = items;
        d->capacity = capacity;
    }
    place(d, d->len++, e);
    sift_up(d, e->heap_index);
}

void deadlines_remove(deadlines *d, entry *e) {
    size_t i = e->heap_index;
    if (i == NOT_IN_HEAP) {
        return;
    }
    e->heap_index = NOT_IN_HEAP;
    entry *last = d->items[--d->len];
    if (i < d->len) {
        place(d, i, last);
        sift_down(d, i);
        sift_up(d, last->heap_index);
    }
}

entry *deadlines_earliest(const deadlines *d) {
    return d->len == 0 ? NULL : d->items[0];
}
