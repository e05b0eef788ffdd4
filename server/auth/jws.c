/*
 * jws.c - JWS signature verification with OpenSSL (see jws.h). Key loading
 * runs in the master; verification in workers.
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

#include "server/auth/jws.h"

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
	if (alg == JWS_RS256 && (EVP_PKEY_base_id(pkey) != EVP_PKEY_RSA || EVP_PKEY_bits(pkey) < 2048 ||
	                         EVP_PKEY_bits(pkey) > JWS_MAX_RSA_BITS)) {
		snprintf(err, errlen, "RS256 needs an RSA public key of at least 2048 and at most %d bits%s",
		         JWS_MAX_RSA_BITS, EVP_PKEY_base_id(pkey) == EVP_PKEY_RSA ? " (OpenSSL verifies no larger)" : "");
		EVP_PKEY_free(pkey);
		return -1;
	}
	if (alg == JWS_ES256) {
		char curve[64] = "";
		size_t n = 0;
		if (EVP_PKEY_base_id(pkey) != EVP_PKEY_EC ||
		    !EVP_PKEY_get_utf8_string_param(pkey, "group", curve, sizeof(curve), &n) ||
		    strcmp(curve, SN_X9_62_prime256v1) != 0) {
			snprintf(err, errlen, "ES256 needs an EC public key on P-256");
			EVP_PKEY_free(pkey);
			return -1;
		}
	}
	k->pkey = pkey;
	return 0;
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

/* ES256 signatures are r||s (32 bytes each); OpenSSL verifies DER. */
static int es256_to_der(const unsigned char *sig, size_t sig_len, unsigned char **der, int *der_len)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;

	*der = NULL;
	if (sig_len != 64 || !(es = ECDSA_SIG_new()) || !(r = BN_bin2bn(sig, 32, NULL)) ||
	    !(s = BN_bin2bn(sig + 32, 32, NULL)) || !ECDSA_SIG_set0(es, r, s)) {
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
	EVP_MD_CTX *ctx;
	unsigned char *der = NULL;
	int der_len = 0, ok = 0;

	if (k->alg == JWS_HS256)
		return verify_hs256(k, input, input_len, sig, sig_len);
	if (k->alg == JWS_ES256) {
		if (es256_to_der(sig, sig_len, &der, &der_len) < 0)
			return 0;
		sig = der;
		sig_len = (size_t)der_len;
	}
	ctx = EVP_MD_CTX_new();
	if (ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1)
		ok = EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)input, input_len) == 1;
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return ok;
}
