// The `init` options this backend accepts, parsed and checked one at a time.

#ifndef C_FIFO_OPTIONS_H
#define C_FIFO_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "fifo.h"

#define DEFAULT_MAX_ENTRIES 10000

typedef struct {
    fifo_options options;
    bool seen_max_entries, seen_max_bytes, seen_eviction;
} options_parser;

void options_start(options_parser *p);

// Applies one name/value pair. On a refusal returns false and writes a
// message naming the option and what it accepts into `error`.
bool options_apply(options_parser *p, const char *name, size_t name_len, const char *value, size_t value_len,
                   char *error, size_t error_len);

#endif
