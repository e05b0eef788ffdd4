/*
 * jwk.h - the documents the JWKS fetcher reads: a JWK Set (RFC 7517) and
 * authorization-server metadata (RFC 8414 / OpenID Connect Discovery).
 * Runs in the JWKS fetcher only, on bytes from the network: strict JSON
 * (server/lib/json_text.c), at most 16 levels, every member checked.
 */
#ifndef MCPI_JWK_H
#define MCPI_JWK_H

#include <stddef.h>

#include "server/proto/keyset.h"

/* A parsed JWK Set: keyset entries point into der[] and kid[]. */
struct jwk_set {
	struct keyset set;
	unsigned char der[KEYSET_MAX_KEYS][KEYSET_MAX_DER];
	char kid[KEYSET_MAX_KEYS][KEYSET_MAX_KID + 1];
	size_t skipped;        /* keys left out (not for signatures, private, unknown type, ...) */
	char skip_reason[160]; /* why the last one was */
};

/* Parses a JWK Set of at most KEYSET_MAX_KEYS keys. Each key is kept for
 * the algorithms in algs (a bit per enum jws_alg) that suit it: its "alg"
 * when it has one, else every listed algorithm of its kty and crv. A key
 * with private parts, "use" other than "sig", "key_ops" without "verify",
 * an unknown kty/crv/alg, a bad kid or bad key material is left out (and
 * counted). 0, or -1 with err when the document itself is not a JWK Set or
 * has more than KEYSET_MAX_KEYS keys. */
int jwk_set_parse(const char *text, size_t len, unsigned algs, struct jwk_set *out,
                  char *err, size_t errlen);

/* Reads jwks_uri from authorization-server metadata whose "issuer" must
 * equal issuer exactly; jwks_uri must be an https URL of at most cap - 1
 * bytes. 0, or -1 with err. */
int jwk_discovery_parse(const char *text, size_t len, const char *issuer, char *jwks_uri,
                        size_t cap, char *err, size_t errlen);

#endif
