/*
 * jwk.c - parse a JWK Set and authorization-server metadata (see jwk.h).
 * Runs in the JWKS fetcher only. Key material becomes an OpenSSL public
 * key (RSA from n and e, EC from crv, x and y, which OpenSSL checks is a
 * point on the curve, Ed25519 from x), is checked against each algorithm
 * it will serve (jws_key_check: RSA size, curve), and leaves as DER.
 */
#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "server/jwks/jwk.h"
#include "server/auth/jws.h"
#include "server/lib/base64.h"
#include "server/lib/json_text.h"

/* Strict JSON (json_text.c) of at most 16 levels whose top is an object. */
static json_object *parse_object(const char *text, size_t len, const char *what, char *err,
                                 size_t errlen)
{
	struct json_text_info info;
	json_tokener *tok;
	json_object *o = NULL;

	if (json_text_scan(text, len, &info) < 0) {
		snprintf(err, errlen, "%s: %s (byte %zu)", what, info.error, info.error_at);
		return NULL;
	}
	if (info.nul_key || info.lone_surrogate) {
		snprintf(err, errlen, "%s: a key holds \\u0000 or a string an unpaired surrogate", what);
		return NULL;
	}
	if ((tok = json_tokener_new_ex(16)))
		o = json_tokener_parse_ex(tok, text, (int)len);
	if (tok)
		json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		snprintf(err, errlen, "%s is not a JSON object of at most 16 levels", what);
		return NULL;
	}
	return o;
}

/* The string member name (no NUL inside), or NULL. */
static const char *string_member(json_object *o, const char *name, size_t *len)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	return memchr(s, '\0', *len) ? NULL : s;
}

/* A base64url member (no padding) decoded into out: its length, or -1. */
static long b64_member(json_object *o, const char *name, unsigned char *out, size_t cap)
{
	size_t n;
	const char *s = string_member(o, name, &n);

	return s && n ? base64_decode(s, n, out, cap, 1) : -1;
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL), *check = NULL;
	EVP_PKEY *pkey = NULL;

	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (!check || EVP_PKEY_public_check(check) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
out:
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

static EVP_PKEY *rsa_key(json_object *jwk, const char **why)
{
	unsigned char n[JWS_MAX_RSA_BITS / 8 + 1], e[16];
	long nl = b64_member(jwk, "n", n, sizeof(n)), el = b64_member(jwk, "e", e, sizeof(e));
	OSSL_PARAM_BLD *bld;
	BIGNUM *bn = NULL, *be = NULL;
	EVP_PKEY *pkey = NULL;

	if (nl <= 0 || el <= 0 || el > 8) {
		*why = "RSA key without base64url n and e (or larger than 16384 bits)";
		return NULL;
	}
	bld = OSSL_PARAM_BLD_new();
	bn = BN_bin2bn(n, (int)nl, NULL);
	be = BN_bin2bn(e, (int)el, NULL);
	if (bld && bn && be && BN_is_odd(be) && !BN_is_one(be) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
		pkey = from_params("RSA", bld);
	if (!pkey)
		*why = "RSA key material is not a valid public key";
	BN_free(bn);
	BN_free(be);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

static EVP_PKEY *ec_key(json_object *jwk, const char *crv, size_t crv_len, const char **why)
{
	int p384 = crv_len == 5 && memcmp(crv, "P-384", 5) == 0;
	size_t size = p384 ? 48 : 32;
	unsigned char point[1 + 2 * 48];
	OSSL_PARAM_BLD *bld;
	EVP_PKEY *pkey = NULL;

	if (!p384 && !(crv_len == 5 && memcmp(crv, "P-256", 5) == 0)) {
		*why = "EC key on a curve other than P-256 or P-384";
		return NULL;
	}
	point[0] = 4;
	if (b64_member(jwk, "x", point + 1, size + 1) != (long)size ||
	    b64_member(jwk, "y", point + 1 + size, size + 1) != (long)size) {
		*why = "EC key whose x and y are not the curve's size";
		return NULL;
	}
	bld = OSSL_PARAM_BLD_new();
	if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	                                           p384 ? "secp384r1" : "prime256v1", 0) &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * size))
		pkey = from_params("EC", bld);
	if (!pkey)
		*why = "EC key is not a point on its curve";
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

static EVP_PKEY *okp_key(json_object *jwk, const char *crv, size_t crv_len, const char **why)
{
	unsigned char x[33];
	EVP_PKEY *pkey = NULL;

	if (!(crv_len == 7 && memcmp(crv, "Ed25519", 7) == 0) || !jws_alg_available(JWS_EDDSA)) {
		*why = "OKP key on a curve other than Ed25519 (or no Ed25519 in this OpenSSL)";
		return NULL;
	}
	if (b64_member(jwk, "x", x, sizeof(x)) != 32 ||
	    !(pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, 32)))
		*why = "Ed25519 key whose x is not 32 bytes";
	return pkey;
}

/* A key meant for verifying signatures: use "sig" (or none), key_ops with
 * "verify" (or none), no private parts. */
static int for_verification(json_object *jwk, const char **why)
{
	static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "k" };
	json_object *ops;
	const char *use;
	size_t n;

	for (size_t i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++)
		if (json_object_object_get_ex(jwk, private_members[i], NULL)) {
			*why = "a key with private or symmetric parts is never used";
			return 0;
		}
	if (json_object_object_get_ex(jwk, "use", NULL) &&
	    (!(use = string_member(jwk, "use", &n)) || n != 3 || memcmp(use, "sig", 3) != 0)) {
		*why = "a key whose use is not sig";
		return 0;
	}
	if (json_object_object_get_ex(jwk, "key_ops", &ops)) {
		int verify = 0;
		for (size_t i = 0; json_object_is_type(ops, json_type_array) && i < json_object_array_length(ops); i++)
			verify |= json_object_is_type(json_object_array_get_idx(ops, i), json_type_string) &&
			          strcmp(json_object_get_string(json_object_array_get_idx(ops, i)), "verify") == 0;
		if (!verify) {
			*why = "a key whose key_ops lack verify";
			return 0;
		}
	}
	return 1;
}

/* The public key of one JWK, or NULL with why. */
static EVP_PKEY *jwk_public_key(json_object *jwk, const char **why)
{
	const char *kty, *crv;
	size_t kty_len, crv_len = 0;

	if (!for_verification(jwk, why))
		return NULL;
	if (!(kty = string_member(jwk, "kty", &kty_len))) {
		*why = "a key without kty";
		return NULL;
	}
	crv = string_member(jwk, "crv", &crv_len);
	if (kty_len == 3 && memcmp(kty, "RSA", 3) == 0)
		return rsa_key(jwk, why);
	if (kty_len == 2 && memcmp(kty, "EC", 2) == 0 && crv)
		return ec_key(jwk, crv, crv_len, why);
	if (kty_len == 3 && memcmp(kty, "OKP", 3) == 0 && crv)
		return okp_key(jwk, crv, crv_len, why);
	*why = "a key of a type other than RSA, EC (P-256, P-384) or OKP (Ed25519)";
	return NULL;
}

/* Adds (kid, alg, pkey) to out: 0, 1 if the key does not suit alg (why
 * set), -1 when the set is full. */
static int add_key(struct jwk_set *out, const char *kid, size_t kid_len, enum jws_alg alg,
                   EVP_PKEY *pkey, const char **why)
{
	struct keyset_entry *e;
	unsigned char *p;
	char reason[160];
	int n;

	if (jws_key_check(pkey, alg, reason, sizeof(reason)) < 0) {
		*why = "a key that does not suit its algorithm (type, curve or RSA size)";
		return 1;
	}
	for (size_t i = 0; i < out->set.count; i++)
		if (out->set.keys[i].alg == (unsigned)alg && out->set.keys[i].kid_len == kid_len &&
		    memcmp(out->set.keys[i].kid, kid, kid_len) == 0) {
			*why = "a key repeating the kid of another key of its algorithm";
			return 1;
		}
	if (out->set.count == KEYSET_MAX_KEYS)
		return -1;
	e = &out->set.keys[out->set.count];
	n = i2d_PUBKEY(pkey, NULL);
	if (n <= 0 || n > KEYSET_MAX_DER) {
		*why = "a key whose DER form is too large";
		return 1;
	}
	p = out->der[out->set.count];
	e->der = p;
	e->der_len = (size_t)i2d_PUBKEY(pkey, &p);
	memcpy(out->kid[out->set.count], kid, kid_len);
	out->kid[out->set.count][kid_len] = '\0';
	e->kid = out->kid[out->set.count];
	e->kid_len = kid_len;
	e->alg = (unsigned)alg;
	out->set.count++;
	return 0;
}

static int kid_ok(const char *kid, size_t n)
{
	if (n > KEYSET_MAX_KID)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (kid[i] < 0x21 || kid[i] > 0x7e)
			return 0;
	return 1;
}

/* One JWK into out: 0 (kept or skipped, counted) or -1 when full. */
static int take_jwk(json_object *jwk, unsigned algs, struct jwk_set *out)
{
	const char *why = NULL, *kid = "", *alg_name;
	size_t kid_len = 0, alg_len, kept = 0;
	EVP_PKEY *pkey = NULL;
	enum jws_alg only = 0;
	int rc = 0;

	if (!json_object_is_type(jwk, json_type_object)) {
		why = "a key that is not a JSON object";
		goto skip;
	}
	if (json_object_object_get_ex(jwk, "kid", NULL) &&
	    (!(kid = string_member(jwk, "kid", &kid_len)) || !kid_ok(kid, kid_len))) {
		why = "a kid that is not 0-255 visible ASCII characters";
		goto skip;
	}
	if (json_object_object_get_ex(jwk, "alg", NULL) &&
	    (!(alg_name = string_member(jwk, "alg", &alg_len)) ||
	     !(only = jws_alg_from_name(alg_name, alg_len)) || only == JWS_HS256)) {
		why = "a key of an algorithm this server does not verify";
		goto skip;
	}
	if (!(pkey = jwk_public_key(jwk, &why)))
		goto skip;
	for (int a = JWS_RS256; a < JWS_ALG_END && rc >= 0; a++) {
		if (!(algs & (1u << a)) || (only && a != (int)only) ||
		    strcmp(jws_alg_kty((enum jws_alg)a), json_object_get_string(
		           json_object_object_get(jwk, "kty"))) != 0)
			continue;
		rc = add_key(out, kid, kid_len, (enum jws_alg)a, pkey, &why);
		kept += rc == 0;
	}
	EVP_PKEY_free(pkey);
	if (rc < 0)
		return -1;
	if (kept)
		return 0;
	if (!why)
		why = "a key of none of the algorithms in jwt_alg";
skip:
	out->skipped++;
	snprintf(out->skip_reason, sizeof(out->skip_reason), "%s%s%.*s", why, kid_len ? ": kid " : "",
	         (int)(kid_len > 64 ? 64 : kid_len), kid);
	return 0;
}

int jwk_set_parse(const char *text, size_t len, unsigned algs, struct jwk_set *out,
                  char *err, size_t errlen)
{
	json_object *doc, *keys;
	size_t n;
	int rc = -1;

	out->set.count = 0;
	out->skipped = 0;
	out->skip_reason[0] = '\0';
	if (!(doc = parse_object(text, len, "JWKS", err, errlen)))
		return -1;
	if (!json_object_object_get_ex(doc, "keys", &keys) || !json_object_is_type(keys, json_type_array)) {
		snprintf(err, errlen, "JWKS has no \"keys\" array");
		goto out;
	}
	n = json_object_array_length(keys);
	if (n > KEYSET_MAX_KEYS) {
		snprintf(err, errlen, "JWKS has %zu keys, at most %d are read", n, KEYSET_MAX_KEYS);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (take_jwk(json_object_array_get_idx(keys, i), algs, out) < 0) {
			snprintf(err, errlen, "JWKS keys make more than %d (kid, alg) pairs", KEYSET_MAX_KEYS);
			goto out;
		}
	rc = 0;
out:
	json_object_put(doc);
	return rc;
}

int jwk_discovery_parse(const char *text, size_t len, const char *issuer, char *jwks_uri,
                        size_t cap, char *err, size_t errlen)
{
	json_object *doc = parse_object(text, len, "authorization server metadata", err, errlen);
	const char *iss, *uri;
	size_t iss_len, uri_len;
	int rc = -1;

	if (!doc)
		return -1;
	if (!(iss = string_member(doc, "issuer", &iss_len)) || iss_len != strlen(issuer) ||
	    memcmp(iss, issuer, iss_len) != 0) {
		snprintf(err, errlen, "authorization server metadata: issuer is not jwt_issuer (%s)", issuer);
		goto out;
	}
	if (!(uri = string_member(doc, "jwks_uri", &uri_len)) || uri_len <= 8 || uri_len >= cap ||
	    strncmp(uri, "https://", 8) != 0 || strpbrk(uri, " \t\r\n")) {
		snprintf(err, errlen, "authorization server metadata: no https jwks_uri of at most %zu bytes",
		         cap - 1);
		goto out;
	}
	memcpy(jwks_uri, uri, uri_len + 1);
	rc = 0;
out:
	json_object_put(doc);
	return rc;
}
