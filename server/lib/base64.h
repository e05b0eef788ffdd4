/*
 * base64.h - Base64 (RFC 4648 section 4) and base64url (section 5, no
 * padding) encode/decode. Used by workers (JWT, cursors, Mcp-Name) and the
 * token CLI. Decoders reject any character outside the alphabet.
 */
#ifndef MCPI_BASE64_H
#define MCPI_BASE64_H

#include <stddef.h>

/* out needs 4*ceil(len/3)+1 bytes; returns the encoded length. */
size_t base64url_encode(const unsigned char *in, size_t len, char *out);
/* Standard alphabet with padding (MCP blobs); same capacity rule. */
size_t base64_encode(const unsigned char *in, size_t len, char *out);

/* Decodes into out (capacity cap); returns decoded length or -1. url=1
 * takes the URL alphabet without padding, url=0 the standard one with
 * optional padding. */
long base64_decode(const char *in, size_t len, unsigned char *out, size_t cap, int url);

#endif
