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

#define AUTH_MAX_TOKEN 8192
/* The latest NumericDate accepted in exp, nbf and iat: 9999-12-31T23:59:59Z. */
#define AUTH_MAX_DATE 253402300799LL

struct auth_keys {
	int alg;             /* jwt_alg_t (libjwt mints development tokens) */
	const char *alg_name;
	unsigned char *key;  /* HMAC secret or PEM public key; wiped on free */
	size_t key_len;
	struct jws_key jws;  /* what verifies signatures (jws.h) */
};

struct auth_identity {
	char sub[256];
	char tenant[129];
	char scope[1024];
};

/* Master: reads the secret or public key named by cfg. */
int auth_keys_load(const struct config *cfg, struct auth_keys *keys, char *err, size_t errlen);
void auth_keys_free(struct auth_keys *keys);

/* Verifies token against keys and cfg's issuer/audience/leeway/tenant
 * claim at time now (Unix seconds). 0 = valid, identity filled; -1 = refused,
 * why says which check failed (safe to return to the client: never contains
 * the token). */
int auth_verify(const struct auth_keys *keys, const struct config *cfg,
                const char *token, size_t token_len, long long now,
                struct auth_identity *id, char *why, size_t whylen);

/* 1 if the space-separated scope list of id contains scope. */
int auth_has_scope(const struct auth_identity *id, const char *scope);

#endif
