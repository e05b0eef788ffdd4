/*
 * keys.c - the keys tokens are verified with (see auth.h): one secret or
 * PEM public key read from a file by the master, or a set of public keys
 * from the issuer's JWKS, fetched by the JWKS fetcher process and installed
 * here by the master (from the fetcher or the cache file) and by each
 * worker (from the master's message). Runs in the master, the CLI and
 * workers.
 */
#include <errno.h>
#include <jwt.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/auth/auth.h"

static int read_key_file(const char *path, unsigned char **out, size_t *len,
                         char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	size_t n;

	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	buf = malloc(65536);
	if (!buf) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = fread(buf, 1, 65535, f);
	fclose(f);
	/* A trailing newline is an editor's, not part of an HMAC secret. */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* JWKS mode: the algorithms of jwt_alg, public-key ones only. */
static int load_jwks_algs(const struct config *cfg, struct auth_keys *keys, char *err, size_t errlen)
{
	const char *p = cfg->jwt_alg;

	keys->from_jwks = 1;
	while (*p) {
		size_t n = strcspn(p, " ");
		enum jws_alg a = n ? jws_alg_from_name(p, n) : 0;
		if (n && (!a || a == JWS_HS256 || !jws_alg_available(a))) {
			snprintf(err, errlen, "jwt_alg %.*s cannot verify keys from a JWKS: use RS256, RS384, "
			         "RS512, PS256, PS384, PS512, ES256, ES384 or EdDSA%s", (int)(n > 16 ? 16 : n), p,
			         a == JWS_EDDSA ? " (this OpenSSL has no Ed25519)" : "");
			return -1;
		}
		if (a)
			keys->algs |= 1u << a;
		p += n;
		p += strspn(p, " ");
	}
	if (!keys->algs) {
		snprintf(err, errlen, "jwt_alg names no algorithm");
		return -1;
	}
	return 0;
}

int auth_keys_load(const struct config *cfg, struct auth_keys *keys, char *err, size_t errlen)
{
	const char *path;
	enum jws_alg alg;
	char why[200];

	memset(keys, 0, sizeof(*keys));
	if (config_jwks_mode(cfg))
		return load_jwks_algs(cfg, keys, err, errlen);
	alg = jws_alg_from_name(cfg->jwt_alg, strlen(cfg->jwt_alg));
	if (!alg || !jws_alg_available(alg)) {
		snprintf(err, errlen, "jwt_alg %s is not supported with a key file (one of HS256, RS256, "
		         "RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA)", cfg->jwt_alg);
		return -1;
	}
	keys->alg = jwt_str_alg(cfg->jwt_alg);
	keys->alg_name = jws_alg_name(alg);
	path = alg == JWS_HS256 ? cfg->jwt_secret_file : cfg->jwt_public_key_file;
	if (read_key_file(path, &keys->key, &keys->key_len, err, errlen) < 0)
		return -1;
	if (alg == JWS_HS256 && keys->key_len < 32) {
		snprintf(err, errlen, "%s: an HS256 secret needs at least 32 bytes, found %zu",
		         path, keys->key_len);
		auth_keys_free(keys);
		return -1;
	}
	if (alg != JWS_HS256 && !strstr((char *)keys->key, "-----BEGIN PUBLIC KEY-----")) {
		snprintf(err, errlen, "%s: expected a PEM public key (BEGIN PUBLIC KEY)", path);
		auth_keys_free(keys);
		return -1;
	}
	if (jws_key_init(&keys->jws, alg, keys->key, keys->key_len, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		auth_keys_free(keys);
		return -1;
	}
	return 0;
}

static void free_set(struct auth_jwk *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		jws_key_free(&set[i].jws);
	free(set);
}

void auth_keys_free(struct auth_keys *keys)
{
	jws_key_free(&keys->jws);
	if (keys->key) {
		OPENSSL_cleanse(keys->key, keys->key_len);
		free(keys->key);
	}
	free_set(keys->set, keys->nset);
	free(keys->set_bytes);
	memset(keys, 0, sizeof(*keys));
}

int auth_keys_install(struct auth_keys *keys, const unsigned char *bytes, size_t len,
                      size_t *skipped, char *err, size_t errlen)
{
	static struct keyset ks;
	struct auth_jwk *set;
	unsigned char *copy;
	size_t n = 0;

	*skipped = 0;
	if (keyset_decode(bytes, len, &ks, err, errlen) < 0)
		return -1;
	set = calloc(ks.count ? ks.count : 1, sizeof(*set));
	copy = malloc(len);
	if (!set || !copy) {
		free(set);
		free(copy);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(copy, bytes, len);
	for (size_t i = 0; i < ks.count; i++) {
		const struct keyset_entry *e = &ks.keys[i];
		char why[200];
		if (e->alg >= JWS_ALG_END || !(keys->algs & (1u << e->alg))) {
			snprintf(err, errlen, "key %zu: algorithm %u is not in jwt_alg", i, e->alg);
			(*skipped)++;
			continue;
		}
		if (jws_key_from_der(&set[n].jws, (enum jws_alg)e->alg, e->der, e->der_len, why,
		                     sizeof(why)) < 0) {
			snprintf(err, errlen, "key %.*s: %s", (int)e->kid_len, e->kid, why);
			(*skipped)++;
			continue;
		}
		memcpy(set[n].kid, e->kid, e->kid_len);
		set[n].kid[e->kid_len] = '\0';
		set[n].kid_len = e->kid_len;
		n++;
	}
	free_set(keys->set, keys->nset);
	free(keys->set_bytes);
	keys->set = set;
	keys->nset = n;
	keys->set_bytes = copy;
	keys->set_len = len;
	keys->serial++;
	return 0;
}
