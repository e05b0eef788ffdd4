/*
 * keyset.h - a set of JWT verification keys as bytes: what the JWKS
 * fetcher hands the master (in a sealed memfd), what the master forwards
 * to every worker and what it keeps in jwt_jwks_cache_file. Used by the
 * fetcher (encode), the master and workers (decode).
 *
 *   header:  "MCPIKS1\n" (8 bytes), uint32 count, uint32 total length
 *   entries: uint8 alg (enum jws_alg), uint8 kid length, uint16 DER length,
 *            the kid (visible ASCII, may be empty), the DER public key
 *            (SubjectPublicKeyInfo)
 * little-endian, nothing after the last entry. The decoder checks every
 * length against what is left before reading it.
 */
#ifndef MCPI_KEYSET_H
#define MCPI_KEYSET_H

#include <stddef.h>
#include <stdint.h>

#define KEYSET_MAGIC "MCPIKS1\n"
#define KEYSET_HEADER_BYTES 16
#define KEYSET_MAX_KEYS 64
#define KEYSET_MAX_KID 255
#define KEYSET_MAX_DER 4096
#define KEYSET_MAX_BYTES (KEYSET_HEADER_BYTES + KEYSET_MAX_KEYS * (4 + KEYSET_MAX_KID + KEYSET_MAX_DER))

struct keyset_entry {
	unsigned alg;              /* enum jws_alg (server/auth/jws.h); 1..255 */
	const char *kid;           /* points into the buffer; not NUL-terminated */
	size_t kid_len;
	const unsigned char *der;  /* points into the buffer */
	size_t der_len;
};

struct keyset {
	size_t count;
	struct keyset_entry keys[KEYSET_MAX_KEYS];
};

/* Decodes buf (len bytes) into set, whose entries point into buf. 0, or
 * -1 with err naming what is wrong and where. Does not check that alg is a
 * known algorithm or that the DER is a key: the importer does. */
int keyset_decode(const unsigned char *buf, size_t len, struct keyset *set, char *err, size_t errlen);

/* Encodes set into out (cap bytes): the length written, or -1 if a field
 * is out of range or it does not fit. */
long keyset_encode(const struct keyset *set, unsigned char *out, size_t cap);

#endif
