/*
 * cursor.h - opaque, tamper-checked pagination cursors: a position string
 * sealed with HMAC-SHA256 over the position and the query it belongs to
 * (tenant, tool, filters). Key made by the master, used by workers.
 */
#ifndef MCPI_CURSOR_H
#define MCPI_CURSOR_H

#include <stddef.h>

#define CURSOR_MAX 256
#define CURSOR_POSITION_MAX 128

struct cursor_key {
	unsigned char key[32];
};

/* Master: derive from the HS256 secret (stable across restarts) or, with no
 * secret, draw random bytes. */
void cursor_key_init(struct cursor_key *ck, const unsigned char *secret, size_t secret_len);

/* Writes a cursor for position (< CURSOR_POSITION_MAX bytes) into out
 * (CURSOR_MAX bytes). scope binds the cursor to one query. */
void cursor_encode(const struct cursor_key *ck, const char *scope, const char *position, char *out);

/* 0 and the position (NUL-terminated, CURSOR_POSITION_MAX bytes) on
 * success; -1 if malformed, forged or made for another query. */
int cursor_decode(const struct cursor_key *ck, const char *scope, const char *cursor, char *position);

#endif
