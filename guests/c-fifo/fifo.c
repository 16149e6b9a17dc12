// The FIFO store (see fifo.h). Every structure is changed by `link_entry`
// and `unlink_entry` and nowhere else.

#include "fifo.h"

#include <string.h>

#include "alloc.h"

void fifo_init(fifo *f, fifo_options options) {
    memset(f, 0, sizeof *f);
    f->options = options;
    table_init(&f->entries);
    table_init(&f->refs);
    deadlines_init(&f->deadlines);
}

static void add_ref(fifo *f, entry *e, uint8_t *key, size_t len) {
    for (ref_link *link = e->refs; link != NULL; link = link->next_of_entry) {
        if (link->set->node.len == len && (len == 0 || memcmp(link->set->node.key, key, len) == 0)) {
            free(key);
            return;
        }
    }
    uint32_t hash = table_hash(key, len);
    ref_set *set = (ref_set *)table_find(&f->refs, key, len, hash);
    if (set == NULL) {
        set = checked_malloc(sizeof *set);
        set->node = (table_node){.key = key, .len = len, .hash = hash};
        set->links = NULL;
        table_insert(&f->refs, &set->node);
    } else {
        free(key);
    }
    ref_link *link = checked_malloc(sizeof *link);
    *link = (ref_link){.entry = e, .set = set, .next_of_entry = e->refs, .next_in_set = set->links};
    if (set->links != NULL) {
        set->links->prev_in_set = link;
    }
    set->links = link;
    e->refs = link;
}

static void drop_refs(fifo *f, entry *e) {
    ref_link *link = e->refs;
    while (link != NULL) {
        ref_link *next = link->next_of_entry;
        ref_set *set = link->set;
        if (link->prev_in_set != NULL) {
            link->prev_in_set->next_in_set = link->next_in_set;
        } else {
            set->links = link->next_in_set;
        }
        if (link->next_in_set != NULL) {
            link->next_in_set->prev_in_set = link->prev_in_set;
        }
        if (set->links == NULL) {
            table_remove(&f->refs, &set->node);
            free(set->node.key);
            free(set);
        }
        free(link);
        link = next;
    }
    e->refs = NULL;
}

// Appends `e` as the newest entry and indexes it.
static void link_entry(fifo *f, entry *e) {
    e->older = f->newest;
    e->newer = NULL;
    if (f->newest != NULL) {
        f->newest->newer = e;
    } else {
        f->oldest = e;
    }
    f->newest = e;
    table_insert(&f->entries, &e->node);
    if (e->has_deadline) {
        deadlines_push(&f->deadlines, e);
    }
    f->bytes += entry_size(e);
}

// Takes `e` off the list and out of the indexes; its refs stay.
static void unlink_entry(fifo *f, entry *e) {
    if (e->older != NULL) {
        e->older->newer = e->newer;
    } else {
        f->oldest = e->newer;
    }
    if (e->newer != NULL) {
        e->newer->older = e->older;
    } else {
        f->newest = e->older;
    }
    table_remove(&f->entries, &e->node);
    deadlines_remove(&f->deadlines, e);
    f->bytes -= entry_size(e);
}

static void remove_entry(fifo *f, entry *e) {
    unlink_entry(f, e);
    drop_refs(f, e);
    free(e->node.key);
    free(e->value);
    free(e);
}

static entry *find(const fifo *f, const uint8_t *key, size_t len) {
    return (entry *)table_find(&f->entries, key, len, table_hash(key, len));
}

const entry *fifo_get(fifo *f, const uint8_t *key, size_t len, uint64_t now) {
    entry *e = find(f, key, len);
    if (e == NULL) {
        f->counters.misses++;
        return NULL;
    }
    if (e->has_deadline && e->deadline <= now) {
        remove_entry(f, e);
        f->counters.expirations++;
        f->counters.misses++;
        return NULL;
    }
    f->counters.hits++;
    return e;
}

void fifo_put(fifo *f, uint8_t *key, size_t key_len, uint8_t *value, size_t value_len, const uint64_t *ttl,
              uint64_t now, uint8_t *ref, size_t ref_len) {
    entry *e = find(f, key, key_len);
    uint64_t size = (uint64_t)key_len + value_len;
    bool too_big = f->options.max_bytes != 0 && size > f->options.max_bytes;
    if ((ttl != NULL && *ttl == 0) || too_big) {
        if (e != NULL) {
            remove_entry(f, e);
        }
        free(key);
        free(value);
        free(ref);
        return;
    }
    if (e != NULL) {
        // A replacement keeps the entry's refs and becomes the newest entry.
        unlink_entry(f, e);
        free(key);
        free(e->value);
    } else {
        e = checked_malloc(sizeof *e);
        *e = (entry){.node = {.key = key, .len = key_len, .hash = table_hash(key, key_len)}};
    }
    e->value = value;
    e->value_len = value_len;
    e->heap_index = NOT_IN_HEAP;
    // A deadline that saturates at the largest u64 is no deadline.
    e->has_deadline = ttl != NULL && *ttl < UINT64_MAX - now;
    e->deadline = e->has_deadline ? now + *ttl : 0;
    e->seq = f->next_seq++;
    link_entry(f, e);
    if (ref != NULL) {
        add_ref(f, e, ref, ref_len);
    }
    f->counters.stores++;
    while ((f->entries.count > f->options.max_entries ||
            (f->options.max_bytes != 0 && f->bytes > f->options.max_bytes)) &&
           f->entries.count > 1) {
        remove_entry(f, f->oldest);
        f->counters.evictions++;
    }
}

void fifo_invalidate(fifo *f, const uint8_t *key, size_t len) {
    entry *e = find(f, key, len);
    if (e != NULL) {
        remove_entry(f, e);
        f->counters.invalidations++;
    }
}

void fifo_invalidate_all(fifo *f) {
    f->counters.invalidations += f->entries.count;
    fifo_flush(f);
}

void fifo_invalidate_ref(fifo *f, const uint8_t *redis_key, size_t len) {
    uint32_t hash = table_hash(redis_key, len);
    ref_set *set;
    // Removing the last entry of a set frees the set: look it up each time.
    while ((set = (ref_set *)table_find(&f->refs, redis_key, len, hash)) != NULL) {
        remove_entry(f, set->links->entry);
        f->counters.invalidations++;
    }
}

void fifo_flush(fifo *f) {
    while (f->oldest != NULL) {
        remove_entry(f, f->oldest);
    }
}

uint32_t fifo_sweep(fifo *f, uint64_t now, uint32_t max) {
    uint32_t removed = 0;
    while (removed < max) {
        entry *e = deadlines_earliest(&f->deadlines);
        if (e == NULL || e->deadline > now) {
            break;
        }
        remove_entry(f, e);
        f->counters.expirations++;
        removed++;
    }
    return removed;
}

void fifo_destroy(fifo *f) {
    fifo_flush(f);
    table_free(&f->entries);
    table_free(&f->refs);
    deadlines_free(&f->deadlines);
}
