// Option parsing (see options.h). Accepted: `max-entries` and `max-bytes`
// (positive integers) and `eviction`, whose only value here is `fifo`: the
// reference store's option names, so the suite's reference tier applies.

#include "options.h"

#include <stdint.h>
#include <string.h>

#include "text.h"

void options_start(options_parser *p) {
    memset(p, 0, sizeof *p);
    p->options.max_entries = DEFAULT_MAX_ENTRIES;
}

static bool is(const char *name, size_t len, const char *expected) {
    return len == strlen(expected) && memcmp(name, expected, len) == 0;
}

// Plain decimal digits, no sign, no overflow, not zero.
static bool parse_positive(const char *value, size_t len, uint64_t *out) {
    uint64_t n = 0;
    if (len == 0) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (value[i] < '0' || value[i] > '9') {
            return false;
        }
        uint64_t digit = (uint64_t)(value[i] - '0');
        if (n > (UINT64_MAX - digit) / 10) {
            return false;
        }
        n = n * 10 + digit;
    }
    *out = n;
    return n != 0;
}

// Writes `before` NAME `after` into `error`.
static bool refuse(char *error, size_t error_len, const char *before, const char *name, size_t name_len,
                   const char *after) {
    text message = text_on(error, error_len);
    text_str(&message, before);
    text_bytes(&message, name, name_len);
    text_str(&message, after);
    return false;
}

bool options_apply(options_parser *p, const char *name, size_t name_len, const char *value, size_t value_len,
                   char *error, size_t error_len) {
    bool *seen;
    if (is(name, name_len, "max-entries")) {
        seen = &p->seen_max_entries;
    } else if (is(name, name_len, "max-bytes")) {
        seen = &p->seen_max_bytes;
    } else if (is(name, name_len, "eviction")) {
        seen = &p->seen_eviction;
    } else {
        return refuse(error, error_len, "unknown option `", name, name_len,
                      "`: this FIFO store accepts max-entries, max-bytes and eviction");
    }
    if (*seen) {
        return refuse(error, error_len, "option `", name, name_len, "` given twice");
    }
    *seen = true;
    if (is(name, name_len, "eviction")) {
        if (!is(value, value_len, "fifo")) {
            return refuse(error, error_len, "option `", name, name_len,
                          "` must be `fifo`: this store evicts in put order only");
        }
        return true;
    }
    uint64_t *target = is(name, name_len, "max-entries") ? &p->options.max_entries : &p->options.max_bytes;
    if (!parse_positive(value, value_len, target)) {
        return refuse(error, error_len, "option `", name, name_len, "` must be a positive integer");
    }
    return true;
}
