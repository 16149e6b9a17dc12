// The intrusive byte-string hash table (see table.h).

#include "table.h"

#include <string.h>

#include "alloc.h"

enum { INITIAL_BUCKETS = 16 };

uint32_t table_hash(const uint8_t *key, size_t len) {
    uint64_t hash = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++) {
        hash ^= key[i];
        hash *= 0x100000001b3u;
    }
    return (uint32_t)(hash ^ (hash >> 32));
}

void table_init(table *t) {
    t->buckets = checked_calloc(INITIAL_BUCKETS, sizeof(table_node *));
    t->mask = INITIAL_BUCKETS - 1;
    t->count = 0;
}

void table_free(table *t) {
    free(t->buckets);
    t->buckets = NULL;
    t->count = 0;
}

table_node *table_find(const table *t, const uint8_t *key, size_t len, uint32_t hash) {
    for (table_node *node = t->buckets[hash & t->mask]; node != NULL; node = node->next) {
        if (node->hash == hash && node->len == len && (len == 0 || memcmp(node->key, key, len) == 0)) {
            return node;
        }
    }
    return NULL;
}

static void grow(table *t) {
    size_t size = (t->mask + 1) * 2;
    table_node **buckets = checked_calloc(size, sizeof(table_node *));
    for (size_t i = 0; i <= t->mask; i++) {
        table_node *node = t->buckets[i];
        while (node != NULL) {
            table_node *next = node->next;
            node->next = buckets[node->hash & (size - 1)];
            buckets[node->hash & (size - 1)] = node;
            node = next;
        }
    }
    free(t->buckets);
    t->buckets = buckets;
    t->mask = size - 1;
}

void table_insert(table *t, table_node *node) {
    if (t->count > t->mask) {
        grow(t);
    }
    table_node **bucket = &t->buckets[node->hash & t->mask];
    node->next = *bucket;
    *bucket = node;
    t->count++;
}

void table_remove(table *t, table_node *node) {
    for (table_node **link = &t->buckets[node->hash & t->mask]; *link != NULL; link = &(*link)->next) {
        if (*link == node) {
            *link = node->next;
            t->count--;
            return;
        }
    }
}
