/*
 * utf8.h - strict UTF-8 (RFC 3629: no overlong forms, no surrogates, at most
 * U+10FFFF) for text that reaches JSON output or the database. Used in
 * workers.
 */
#ifndef MCPI_UTF8_H
#define MCPI_UTF8_H

#include <stddef.h>

/* Counts the code points of s[0..len); -1 if the bytes are not valid UTF-8. */
long utf8_length(const char *s, size_t len);

/* The length of the longest prefix of s[0..len) that is at most max bytes,
 * valid UTF-8 without NUL, and ends on a character boundary: what may be
 * echoed ("%.*s") in a message without producing invalid JSON text. */
int utf8_clip(const char *s, size_t len, size_t max);

#endif
