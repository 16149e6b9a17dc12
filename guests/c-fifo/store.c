// c-fifo: a nearcache backend in C that evicts first in, first out.
//
// The component exports `nearcache:backend/store` (wit/backend.wit): the
// functions below implement the header wit-bindgen's C generator makes from
// the WIT (`backend.h`, generated at build time, never committed). Options:
// `max-entries` (default 10000), `max-bytes` (default: no bound) and
// `eviction` (only `fifo`); with them it behaves exactly like the reference
// store with `eviction=fifo`, so it passes the suite's fifo reference tier.
//
// Build (what tests/build.rs and `just guest-c` do, through the
// nearcache-guest-build tool):
//   1. bindings: wit-bindgen-c 0.60 (as a library) writes backend.h,
//      backend.c and backend_component_type.o;
//   2. core module: clang-19 --target=wasm32-wasi -mexec-model=reactor -O2
//      *.c backend.c backend_component_type.o, with Debian's wasi-libc;
//   3. component: wit-component's ComponentEncoder, with the WASI preview1
//      reactor adapter from wasi-preview1-component-adapter-provider (left
//      out, as here, when the module does no I/O and imports nothing).
//
// Memory: arguments are the callee's (kept or freed); returned lists and
// strings are malloc'd and freed by the generated post-return functions.
// An empty list arrives with a pointer that is not malloc's (cabi_realloc
// returns `align` for size 0): `owned` swaps it for one that is.

#include <string.h>

#include "alloc.h"
#include "backend.h"
#include "fifo.h"
#include "options.h"
#include "text.h"

static fifo store;
static bool initialized;

static void start(fifo_options options) {
    if (initialized) {
        fifo_destroy(&store);
    }
    fifo_init(&store, options);
    initialized = true;
}

// The store; one with the default options if init has not been called.
static fifo *current(void) {
    if (!initialized) {
        start((fifo_options){.max_entries = DEFAULT_MAX_ENTRIES});
    }
    return &store;
}

// A buffer fifo_put may keep or free.
static uint8_t *owned(uint8_t *ptr, size_t len) {
    return len == 0 ? checked_malloc(1) : ptr;
}

static void log_debug(const char *message) {
    backend_string_t text;
    backend_string_set(&text, message);
    nearcache_backend_host_log(NEARCACHE_BACKEND_HOST_LEVEL_DEBUG, &text);
}

bool exports_nearcache_backend_store_init(backend_list_tuple2_string_string_t *options, backend_string_t *err) {
    options_parser parser;
    options_start(&parser);
    char error[160];
    bool ok = true;
    for (size_t i = 0; ok && i < options->len; i++) {
        backend_tuple2_string_string_t *pair = &options->ptr[i];
        ok = options_apply(&parser, (const char *)pair->f0.ptr, pair->f0.len, (const char *)pair->f1.ptr,
                           pair->f1.len, error, sizeof error);
    }
    backend_list_tuple2_string_string_free(options);
    if (!ok) {
        backend_string_dup(err, error);
        return false;
    }
    start(parser.options);
    char buf[96];
    text message = text_on(buf, sizeof buf);
    text_str(&message, "c-fifo: max-entries=");
    text_u64(&message, parser.options.max_entries);
    text_str(&message, " max-bytes=");
    text_u64(&message, parser.options.max_bytes);
    log_debug(buf);
    return true;
}

bool exports_nearcache_backend_store_get(exports_nearcache_backend_store_cache_key_t *key, uint64_t now_ms,
                                         exports_nearcache_backend_store_value_t *ret) {
    const entry *e = fifo_get(current(), key->ptr, key->len, now_ms);
    exports_nearcache_backend_store_cache_key_free(key);
    if (e == NULL) {
        return false;
    }
    // The host frees what is returned (post-return): hand it a copy.
    ret->len = e->value_len;
    ret->ptr = NULL;
    if (e->value_len > 0) {
        ret->ptr = checked_malloc(e->value_len);
        memcpy(ret->ptr, e->value, e->value_len);
    }
    return true;
}

void exports_nearcache_backend_store_put(exports_nearcache_backend_store_cache_key_t *key,
                                         exports_nearcache_backend_store_value_t *value, uint64_t *maybe_ttl_ms,
                                         uint64_t now_ms) {
    fifo_put(current(), owned(key->ptr, key->len), key->len, owned(value->ptr, value->len), value->len, maybe_ttl_ms,
             now_ms, NULL, 0);
}

void exports_nearcache_backend_store_put_with_ref(exports_nearcache_backend_store_cache_key_t *key,
                                                  exports_nearcache_backend_store_redis_key_t *redis_key,
                                                  exports_nearcache_backend_store_value_t *value,
                                                  uint64_t *maybe_ttl_ms, uint64_t now_ms) {
    fifo_put(current(), owned(key->ptr, key->len), key->len, owned(value->ptr, value->len), value->len, maybe_ttl_ms,
             now_ms, owned(redis_key->ptr, redis_key->len), redis_key->len);
}

void exports_nearcache_backend_store_invalidate(exports_nearcache_backend_store_list_cache_key_t *maybe_keys) {
    if (maybe_keys == NULL) {
        fifo_invalidate_all(current());
        return;
    }
    for (size_t i = 0; i < maybe_keys->len; i++) {
        fifo_invalidate(current(), maybe_keys->ptr[i].ptr, maybe_keys->ptr[i].len);
    }
    exports_nearcache_backend_store_list_cache_key_free(maybe_keys);
}

void exports_nearcache_backend_store_invalidate_refs(
    exports_nearcache_backend_store_list_redis_key_t *maybe_redis_keys) {
    if (maybe_redis_keys == NULL) {
        return;
    }
    for (size_t i = 0; i < maybe_redis_keys->len; i++) {
        fifo_invalidate_ref(current(), maybe_redis_keys->ptr[i].ptr, maybe_redis_keys->ptr[i].len);
    }
    exports_nearcache_backend_store_list_redis_key_free(maybe_redis_keys);
}

void exports_nearcache_backend_store_flush(void) {
    fifo_flush(current());
}

void exports_nearcache_backend_store_stats(backend_list_tuple2_string_u64_t *ret) {
    const fifo *f = current();
    const struct {
        const char *name;
        uint64_t value;
    } stats[] = {
        {"hits", f->counters.hits},
        {"misses", f->counters.misses},
        {"stores", f->counters.stores},
        {"evictions", f->counters.evictions},
        {"expirations", f->counters.expirations},
        {"invalidations", f->counters.invalidations},
        {"entries", f->entries.count},
        {"bytes", f->bytes},
    };
    size_t n = sizeof stats / sizeof stats[0];
    ret->ptr = checked_malloc(n * sizeof *ret->ptr);
    ret->len = n;
    for (size_t i = 0; i < n; i++) {
        backend_string_dup(&ret->ptr[i].f0, stats[i].name);
        ret->ptr[i].f1 = stats[i].value;
    }
}

uint32_t exports_nearcache_backend_store_sweep(uint64_t now_ms, uint32_t max) {
    return fifo_sweep(current(), now_ms, max);
}

void exports_nearcache_backend_store_destroy(void) {
    if (initialized) {
        fifo_destroy(&store);
        initialized = false;
    }
}
