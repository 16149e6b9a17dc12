// An intrusive hash table keyed by byte strings: the node lives inside the
// owner's struct (an entry, or a Redis key's ref set), so lookups allocate
// nothing. Separate chaining; the bucket count doubles at load factor 1.

#ifndef C_FIFO_TABLE_H
#define C_FIFO_TABLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct table_node {
    struct table_node *next;
    uint8_t *key;
    size_t len;
    uint32_t hash;
} table_node;

typedef struct {
    table_node **buckets;
    size_t mask;
    size_t count;
} table;

// FNV-1a over the bytes (no seed: a backend has no randomness).
uint32_t table_hash(const uint8_t *key, size_t len);

void table_init(table *t);
// Frees the buckets; the nodes belong to their owners.
void table_free(table *t);
table_node *table_find(const table *t, const uint8_t *key, size_t len, uint32_t hash);
// `node->key`, `len` and `hash` must be set; the key must not be present.
void table_insert(table *t, table_node *node);
void table_remove(table *t, table_node *node);

#endif
