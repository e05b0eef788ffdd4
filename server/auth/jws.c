/*
 * jws.c - JWS signature verification with OpenSSL (see jws.h). Key loading
 * runs in the master, the JWKS fetcher and workers (a key set arriving from
 * the fetcher is imported by each); verification in workers. One table
 * says, per algorithm, its key type, curve, digest and signature form, so a
 * key is never used for another algorithm than the one it was loaded for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "server/auth/jws.h"

struct alg_info {
	const char *name;
	const char *kty;
	int pkey_type;      /* EVP_PKEY_RSA, EVP_PKEY_EC, EVP_PKEY_ED25519; 0 for HMAC */
	const char *curve;  /* EC: the group's short name */
	int ec_bytes;       /* EC: bytes of r and of s */
	int pss;
	const char *md;     /* digest name; NULL for EdDSA (the algorithm hashes itself) */
};

static const struct alg_info algs[JWS_ALG_END] = {
	[JWS_HS256] = { "HS256", "oct", 0, NULL, 0, 0, "SHA256" },
	[JWS_RS256] = { "RS256", "RSA", EVP_PKEY_RSA, NULL, 0, 0, "SHA256" },
	[JWS_RS384] = { "RS384", "RSA", EVP_PKEY_RSA, NULL, 0, 0, "SHA384" },
	[JWS_RS512] = { "RS512", "RSA", EVP_PKEY_RSA, NULL, 0, 0, "SHA512" },
	[JWS_PS256] = { "PS256", "RSA", EVP_PKEY_RSA, NULL, 0, 1, "SHA256" },
	[JWS_PS384] = { "PS384", "RSA", EVP_PKEY_RSA, NULL, 0, 1, "SHA384" },
	[JWS_PS512] = { "PS512", "RSA", EVP_PKEY_RSA, NULL, 0, 1, "SHA512" },
	[JWS_ES256] = { "ES256", "EC", EVP_PKEY_EC, SN_X9_62_prime256v1, 32, 0, "SHA256" },
	[JWS_ES384] = { "ES384", "EC", EVP_PKEY_EC, SN_secp384r1, 48, 0, "SHA384" },
	[JWS_EDDSA] = { "EdDSA", "OKP", EVP_PKEY_ED25519, NULL, 0, 0, NULL },
};

static const struct alg_info *info(enum jws_alg alg)
{
	return alg > 0 && alg < JWS_ALG_END ? &algs[alg] : NULL;
}

const char *jws_alg_name(enum jws_alg alg)
{
	return info(alg) ? info(alg)->name : NULL;
}

const char *jws_alg_kty(enum jws_alg alg)
{
	return info(alg) ? info(alg)->kty : NULL;
}

enum jws_alg jws_alg_from_name(const char *name, size_t n)
{
	for (int a = 1; a < JWS_ALG_END; a++)
		if (strlen(algs[a].name) == n && memcmp(algs[a].name, name, n) == 0)
			return (enum jws_alg)a;
	return 0;
}

int jws_alg_available(enum jws_alg alg)
{
	EVP_PKEY_CTX *ctx;

	if (alg != JWS_EDDSA)
		return info(alg) != NULL;
	ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY_CTX_free(ctx);
	return ctx != NULL;
}

int jws_key_check(const void *key, enum jws_alg alg, char *err, size_t errlen)
{
	const struct alg_info *a = info(alg);
	EVP_PKEY *pkey = (EVP_PKEY *)key;
	char curve[64] = "";
	size_t n = 0;

	if (!a || !a->pkey_type) {
		snprintf(err, errlen, "%s is not a public-key algorithm", a ? a->name : "?");
		return -1;
	}
	if (EVP_PKEY_base_id(pkey) != a->pkey_type) {
		snprintf(err, errlen, "%s needs a key of type %s", a->name, a->kty);
		return -1;
	}
	if (a->pkey_type == EVP_PKEY_RSA &&
	    (EVP_PKEY_bits(pkey) < JWS_MIN_RSA_BITS || EVP_PKEY_bits(pkey) > JWS_MAX_RSA_BITS)) {
		snprintf(err, errlen, "%s needs an RSA public key of at least %d and at most %d bits "
		         "(OpenSSL verifies no larger), got %d", a->name, JWS_MIN_RSA_BITS,
		         JWS_MAX_RSA_BITS, EVP_PKEY_bits(pkey));
		return -1;
	}
	if (a->curve && (!EVP_PKEY_get_utf8_string_param(pkey, "group", curve, sizeof(curve), &n) ||
	                 strcmp(curve, a->curve) != 0)) {
		snprintf(err, errlen, "%s needs an EC public key on %s", a->name,
		         alg == JWS_ES256 ? "P-256" : "P-384");
		return -1;
	}
	return 0;
}

static int adopt(struct jws_key *k, EVP_PKEY *pkey, enum jws_alg alg, char *err, size_t errlen)
{
	if (jws_key_check(pkey, alg, err, errlen) < 0) {
		EVP_PKEY_free(pkey);
		return -1;
	}
	k->pkey = pkey;
	return 0;
}

int jws_key_init(struct jws_key *k, enum jws_alg alg, const unsigned char *material, size_t len,
                 char *err, size_t errlen)
{
	EVP_PKEY *pkey = NULL;
	BIO *bio;

	memset(k, 0, sizeof(*k));
	k->alg = alg;
	if (alg == JWS_HS256) {
		k->secret = material;
		k->secret_len = len;
		return 0;
	}
	bio = BIO_new_mem_buf(material, (int)len);
	if (bio)
		pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!pkey) {
		snprintf(err, errlen, "not a PEM public key");
		return -1;
	}
	return adopt(k, pkey, alg, err, errlen);
}

int jws_key_from_der(struct jws_key *k, enum jws_alg alg, const unsigned char *der, size_t len,
                     char *err, size_t errlen)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey;

	memset(k, 0, sizeof(*k));
	k->alg = alg;
	if (len == 0 || len > 65536 || !(pkey = d2i_PUBKEY(NULL, &p, (long)len))) {
		snprintf(err, errlen, "not a DER public key");
		return -1;
	}
	if (p != der + len) {
		EVP_PKEY_free(pkey);
		snprintf(err, errlen, "bytes after the DER public key");
		return -1;
	}
	return adopt(k, pkey, alg, err, errlen);
}

void jws_key_free(struct jws_key *k)
{
	EVP_PKEY_free(k->pkey);
	memset(k, 0, sizeof(*k));
}

static int verify_hs256(const struct jws_key *k, const char *input, size_t input_len,
                        const unsigned char *sig, size_t sig_len)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;

	if (sig_len != 32 || !HMAC(EVP_sha256(), k->secret, (int)k->secret_len,
	                           (const unsigned char *)input, input_len, mac, &mac_len))
		return 0;
	return mac_len == 32 && CRYPTO_memcmp(mac, sig, 32) == 0;
}

/* ECDSA signatures in JWS are r||s (n bytes each); OpenSSL verifies DER. */
static int ecdsa_to_der(const unsigned char *sig, size_t sig_len, int n, unsigned char **der,
                        int *der_len)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;

	*der = NULL;
	if (sig_len != (size_t)(2 * n) || !(es = ECDSA_SIG_new()) || !(r = BN_bin2bn(sig, n, NULL)) ||
	    !(s = BN_bin2bn(sig + n, n, NULL)) || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return -1;
	}
	*der_len = i2d_ECDSA_SIG(es, der);
	ECDSA_SIG_free(es);
	return *der_len > 0 ? 0 : -1;
}

int jws_verify(const struct jws_key *k, const char *input, size_t input_len,
               const unsigned char *sig, size_t sig_len)
{
	const struct alg_info *a = info(k->alg);
	EVP_MD_CTX *ctx;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *der = NULL;
	int der_len = 0, ok = 0;

	if (!a)
		return 0;
	if (k->alg == JWS_HS256)
		return verify_hs256(k, input, input_len, sig, sig_len);
	if (!k->pkey)
		return 0;
	if (a->ec_bytes) {
		if (ecdsa_to_der(sig, sig_len, a->ec_bytes, &der, &der_len) < 0)
			return 0;
		sig = der;
		sig_len = (size_t)der_len;
	}
	ctx = EVP_MD_CTX_new();
	if (ctx && EVP_DigestVerifyInit_ex(ctx, &pctx, a->md, NULL, NULL, k->pkey, NULL) == 1 &&
	    (!a->pss || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
	                 EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1)))
		ok = EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)input, input_len) == 1;
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return ok;
}
