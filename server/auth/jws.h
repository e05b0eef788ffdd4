/*
 * jws.h - the signature check of a compact JWS (RFC 7515) with OpenSSL:
 * HS256 (HMAC-SHA256, constant-time compare), RS256/RS384/RS512
 * (RSASSA-PKCS1-v1_5), PS256/PS384/PS512 (RSASSA-PSS, salt = hash length),
 * ES256/ES384 (ECDSA P-256/P-384, the JWS r||s form) and EdDSA (Ed25519,
 * when OpenSSL offers it). Keys are loaded by the master (a PEM file) or
 * arrive as DER from a JWKS (server/proto/keyset.h); workers verify every
 * token they have not cached. A key is used only for its own algorithm.
 *
 * libjwt 1.10 (Debian 12) refuses any "typ" other than "JWT" inside its
 * decoder, so RFC 9068 access tokens ("at+jwt") could not be verified
 * with it; the claims are parsed once, by auth.c, either way.
 */
#ifndef MCPI_JWS_H
#define MCPI_JWS_H

#include <stddef.h>

enum jws_alg {
	JWS_HS256 = 1, JWS_RS256, JWS_ES256, JWS_RS384, JWS_RS512, JWS_PS256, JWS_PS384, JWS_PS512,
	JWS_ES384, JWS_EDDSA,
	JWS_ALG_END
};

/* The largest RSA key accepted, OpenSSL's own verification limit
 * (OPENSSL_RSA_MAX_MODULUS_BITS); larger keys are refused. */
#define JWS_MAX_RSA_BITS 16384
#define JWS_MIN_RSA_BITS 2048
/* The longest signature any accepted key makes. */
#define JWS_MAX_SIG_BYTES (JWS_MAX_RSA_BITS / 8)

struct jws_key {
	enum jws_alg alg;
	const unsigned char *secret; /* HS256: borrowed from the caller, who wipes it */
	size_t secret_len;
	void *pkey;            /* the others: EVP_PKEY of the public key */
};

/* The JOSE name of alg ("RS256"), or NULL. */
const char *jws_alg_name(enum jws_alg alg);
/* The algorithm named exactly by the n bytes at name, or 0. */
enum jws_alg jws_alg_from_name(const char *name, size_t n);
/* The JWK "kty" an algorithm's keys have: "oct", "RSA", "EC" or "OKP". */
const char *jws_alg_kty(enum jws_alg alg);
/* 1 if this OpenSSL can verify alg (EdDSA needs Ed25519). */
int jws_alg_available(enum jws_alg alg);

/* HS256: borrows the secret in material. The others: loads material as a
 * PEM public key of the algorithm's type. 0, or -1 with err. */
int jws_key_init(struct jws_key *k, enum jws_alg alg, const unsigned char *material, size_t len,
                 char *err, size_t errlen);
/* A public key from its DER SubjectPublicKeyInfo, for alg only (RSA of
 * JWS_MIN_RSA_BITS to JWS_MAX_RSA_BITS bits, EC on the algorithm's curve,
 * Ed25519). 0, or -1 with err. */
int jws_key_from_der(struct jws_key *k, enum jws_alg alg, const unsigned char *der, size_t len,
                     char *err, size_t errlen);
/* Checks that pkey (an EVP_PKEY) suits alg: 0, or -1 with err. */
int jws_key_check(const void *pkey, enum jws_alg alg, char *err, size_t errlen);
void jws_key_free(struct jws_key *k);

/* 1 if sig (decoded bytes) is a valid signature of input under k, else 0. */
int jws_verify(const struct jws_key *k, const char *input, size_t input_len,
               const unsigned char *sig, size_t sig_len);

#endif
