/*
 * auth.h - JWT bearer-token verification (OpenSSL for the signature, see
 * jws.h; json-c for the header and claims). Keys are loaded by the master and inherited by
 * workers; workers call auth_verify on every request.
 */
#ifndef MCPI_AUTH_H
#define MCPI_AUTH_H

#include <stddef.h>

#include "server/auth/jws.h"
#include "server/proc/config.h"
#include "server/proto/keyset.h"

#define AUTH_MAX_TOKEN 8192
/* The latest NumericDate accepted in exp, nbf and iat: 9999-12-31T23:59:59Z. */
#define AUTH_MAX_DATE 253402300799LL

/* auth_verify's answer for a token whose kid names no key of the current
 * set (or when no set has arrived yet): refused, and the caller should ask
 * for a fresh key set. */
#define AUTH_UNKNOWN_KEY (-2)

/* One key of a JWKS: used only for its own algorithm. */
struct auth_jwk {
	char kid[KEYSET_MAX_KID + 1];
	size_t kid_len;
	struct jws_key jws;
};

struct auth_keys {
	/* A key from a file (jwt_secret_file, jwt_public_key_file): */
	int alg;             /* jwt_alg_t (libjwt mints development tokens) */
	const char *alg_name;
	unsigned char *key;  /* HMAC secret or PEM public key; wiped on free */
	size_t key_len;
	struct jws_key jws;  /* what verifies signatures (jws.h) */
	/* Or keys from a JWKS (config_jwks_mode): */
	int from_jwks;
	unsigned algs;               /* a bit per enum jws_alg listed in jwt_alg */
	struct auth_jwk *set;        /* owned; nset keys */
	size_t nset;
	unsigned char *set_bytes;    /* the set as keyset.h bytes (owned), NULL before any */
	size_t set_len;
	unsigned long serial;        /* bumped by each install: cached tokens of older sets miss */
};

struct auth_identity {
	char sub[256];
	char tenant[129];
	char scope[1024];
};

/* Master: reads the secret or public key named by cfg; in JWKS mode
 * (config_jwks_mode) only notes the accepted algorithms: the keys come
 * later from auth_keys_install. */
int auth_keys_load(const struct config *cfg, struct auth_keys *keys, char *err, size_t errlen);
void auth_keys_free(struct auth_keys *keys);

/* JWKS mode: replaces the key set with the one encoded in bytes (keyset.h;
 * copied). Keys of algorithms not in jwt_alg, and keys that fail to import,
 * are left out (counted in *skipped, reason of the last in err). 0, or -1
 * with err when bytes are malformed (the old set stays). Master and
 * workers. */
int auth_keys_install(struct auth_keys *keys, const unsigned char *bytes, size_t len,
                      size_t *skipped, char *err, size_t errlen);

/* Verifies token against keys and cfg's issuer/audience/leeway/tenant
 * claim at time now (Unix seconds). 0 = valid, identity filled; -1 = refused,
 * why says which check failed (safe to return to the client: never contains
 * the token); AUTH_UNKNOWN_KEY = refused for want of the key it names. */
int auth_verify(const struct auth_keys *keys, const struct config *cfg,
                const char *token, size_t token_len, long long now,
                struct auth_identity *id, char *why, size_t whylen);

/* 1 if the space-separated scope list of id contains scope. */
int auth_has_scope(const struct auth_identity *id, const char *scope);

#endif
