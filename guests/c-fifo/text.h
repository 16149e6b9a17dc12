// Building short messages without stdio: snprintf would link wasi-libc's
// stdio, whose preview1 imports (fd_write...) the component would then carry.

#ifndef C_FIFO_TEXT_H
#define C_FIFO_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    char *buf;
    size_t cap;  // including the terminating NUL
    size_t len;
} text;

static inline text text_on(char *buf, size_t cap) {
    buf[0] = '\0';
    return (text){.buf = buf, .cap = cap, .len = 0};
}

// Appends what fits, always NUL-terminated.
static inline void text_bytes(text *t, const char *bytes, size_t n) {
    size_t room = t->cap - 1 - t->len;
    if (n > room) {
        n = room;
    }
    memcpy(t->buf + t->len, bytes, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static inline void text_str(text *t, const char *s) {
    text_bytes(t, s, strlen(s));
}

static inline void text_u64(text *t, uint64_t n) {
    char digits[20];
    size_t i = sizeof digits;
    do {
        digits[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n != 0);
    text_bytes(t, digits + i, sizeof digits - i);
}

#endif
