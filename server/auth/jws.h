/*
 * jws.h - the signature check of a compact JWS (RFC 7515) with OpenSSL:
 * HS256 (HMAC-SHA256, constant-time compare), RS256 (RSASSA-PKCS1-v1_5
 * SHA-256) and ES256 (ECDSA P-256 SHA-256, the JWS r||s form). Keys are
 * loaded by the master; workers verify every token they have not cached.
 *
 * libjwt 1.10 (Debian 12) refuses any "typ" other than "JWT" inside its
 * decoder, so RFC 9068 access tokens ("at+jwt") could not be verified
 * with it; the claims are parsed once, by auth.c, either way.
 */
#ifndef MCPI_JWS_H
#define MCPI_JWS_H

#include <stddef.h>

enum jws_alg { JWS_HS256 = 1, JWS_RS256, JWS_ES256 };

/* The largest RSA key accepted, OpenSSL's own verification limit
 * (OPENSSL_RSA_MAX_MODULUS_BITS); larger keys are refused at start-up. */
#define JWS_MAX_RSA_BITS 16384
/* The longest signature any accepted key makes. */
#define JWS_MAX_SIG_BYTES (JWS_MAX_RSA_BITS / 8)

struct jws_key {
	enum jws_alg alg;
	const unsigned char *secret; /* HS256: borrowed from the caller, who wipes it */
	size_t secret_len;
	void *pkey;            /* RS256/ES256: EVP_PKEY of the public key */
};

/* HS256: borrows the secret in material. RS256/ES256: loads material as a
 * PEM public key of the algorithm's type (RSA of 2048 to JWS_MAX_RSA_BITS
 * bits, EC on P-256). 0, or -1 with err. */
int jws_key_init(struct jws_key *k, enum jws_alg alg, const unsigned char *material, size_t len,
                 char *err, size_t errlen);
void jws_key_free(struct jws_key *k);

/* 1 if sig (decoded bytes) is a valid signature of input under k, else 0. */
int jws_verify(const struct jws_key *k, const char *input, size_t input_len,
               const unsigned char *sig, size_t sig_len);

#endif
