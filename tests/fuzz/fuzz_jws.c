/* libFuzzer driver: RS256 and ES256 verification (jws.c, with es256_to_der),
 * which the token fuzzers (HS256) never reach. The first byte picks the
 * algorithm and the mode: arbitrary bytes as a signature (nothing may pass:
 * the private key exists only here), or the input signed with the real key
 * (it must pass) and then with one bit flipped in the signature or the
 * signed text (it must fail). The keys are made once per process. */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/auth/jws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct alg {
	enum jws_alg alg;
	EVP_PKEY *priv;
	struct jws_key key;
};

static void make(struct alg *a, enum jws_alg alg)
{
	EVP_PKEY *k = alg == JWS_RS256 ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
	BIO *b = BIO_new(BIO_s_mem());
	char *pem, err[200];
	long len;

	if (!k || !b || PEM_write_bio_PUBKEY(b, k) != 1)
		abort();
	len = BIO_get_mem_data(b, &pem);
	if (jws_key_init(&a->key, alg, (const unsigned char *)pem, (size_t)len, err, sizeof(err)) < 0)
		abort();
	BIO_free(b);
	a->alg = alg;
	a->priv = k;
}

/* The JWS signature of msg: PKCS#1 v1.5 for RS256, r||s for ES256. */
static size_t sign(const struct alg *a, const unsigned char *msg, size_t len, unsigned char *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char der[600];
	size_t n = sizeof(der);

	if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, a->priv) != 1 ||
	    EVP_DigestSign(ctx, der, &n, msg, len) != 1)
		abort();
	EVP_MD_CTX_free(ctx);
	if (a->alg == JWS_RS256) {
		memcpy(out, der, n);
		return n;
	}
	{
		const unsigned char *p = der;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
		const BIGNUM *r, *s;
		if (!es)
			abort();
		ECDSA_SIG_get0(es, &r, &s);
		if (BN_bn2binpad(r, out, 32) != 32 || BN_bn2binpad(s, out + 32, 32) != 32)
			abort();
		ECDSA_SIG_free(es);
		return 64;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct alg algs[2];
	unsigned char sig[JWS_MAX_SIG_BYTES];
	const struct alg *a;
	size_t split, n;
	char *input;

	if (!algs[0].priv) {
		make(&algs[0], JWS_RS256);
		make(&algs[1], JWS_ES256);
	}
	if (size < 2)
		return 0;
	a = &algs[data[0] & 1];
	if (!(data[0] & 2)) {
		/* data[1] says where the signature starts; both parts in buffers of
		 * exactly their size. */
		split = 2 + (size - 2) * data[1] / 256;
		input = malloc(split - 2 ? split - 2 : 1);
		unsigned char *s = malloc(size - split ? size - split : 1);
		memcpy(input, data + 2, split - 2);
		memcpy(s, data + split, size - split);
		if (jws_verify(&a->key, input, split - 2, s, size - split))
			__builtin_trap();
		free(input);
		free(s);
		return 0;
	}
	input = malloc(size - 2 ? size - 2 : 1);
	memcpy(input, data + 2, size - 2);
	n = sign(a, (const unsigned char *)input, size - 2, sig);
	if (!jws_verify(&a->key, input, size - 2, sig, n))
		__builtin_trap();
	if (jws_verify(&a->key, input, size - 2, sig, n - 1))
		__builtin_trap();
	sig[data[1] % n] ^= (unsigned char)(1u << (data[1] % 8));
	if (jws_verify(&a->key, input, size - 2, sig, n))
		__builtin_trap();
	sig[data[1] % n] ^= (unsigned char)(1u << (data[1] % 8));
	if (size > 2) {
		input[data[1] % (size - 2)] ^= 1;
		if (jws_verify(&a->key, input, size - 2, sig, n))
			__builtin_trap();
	}
	free(input);
	return 0;
}
