/*
 * strbuf.h - a growable byte buffer for building responses without a JSON
 * object tree (the database already returns JSON text). Used in workers.
 */
#ifndef MCPI_STRBUF_H
#define MCPI_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *data; /* NUL-terminated; owned; take it with strbuf_take */
	size_t len, cap;
};

void strbuf_init(struct strbuf *b, size_t hint);
void strbuf_free(struct strbuf *b);
void strbuf_append(struct strbuf *b, const char *s, size_t n);
void strbuf_puts(struct strbuf *b, const char *s);
/* Appends printf-style formatted text. */
void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. */
void strbuf_json_string(struct strbuf *b, const char *s, size_t n);
/* Returns the data (caller frees) and empties b. */
char *strbuf_take(struct strbuf *b, size_t *len);

#endif
