/*
 * textclip.h - cutting untrusted text to a byte budget without breaking
 * it: the cut falls on a grapheme cluster boundary (never inside a UTF-8
 * sequence, never between a letter and its combining marks or inside an
 * emoji sequence) and an ellipsis says text was cut. Runs in the renderer.
 */
#ifndef MCPI_TEXTCLIP_H
#define MCPI_TEXTCLIP_H

#include <stddef.h>

/* Copies src into dst[cap] (cap > 0): whole when it is valid UTF-8 shorter
 * than cap, else its longest whole-grapheme prefix that fits with a
 * trailing "…" (invalid bytes and what follows them are dropped). */
void textclip_copy(char *dst, size_t cap, const char *src);

#endif
