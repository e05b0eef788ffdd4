/* libFuzzer driver: arbitrary bytes as a bearer token. Nothing but a token
 * signed with the key may pass; with a random key, nothing passes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <jwt.h>

#include "server/auth/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	static struct auth_keys keys;
	static unsigned char key[] = "fuzz-secret-that-nobody-can-guess-0123456789";
	struct auth_identity id;
	char why[200];

	if (!keys.key) {
		config_defaults(&cfg);
		cfg.jwt_issuer = "iss";
		cfg.jwt_audience = "aud";
		keys.alg = JWT_ALG_HS256;
		keys.alg_name = "HS256";
		keys.key = key;
		keys.key_len = sizeof(key) - 1;
		keys.jws = (struct jws_key){ .alg = JWS_HS256, .secret = key, .secret_len = sizeof(key) - 1 };
	}
	if (auth_verify(&keys, &cfg, (const char *)data, size, 1700000000, &id, why, sizeof(why)) == 0)
		__builtin_trap();
	return 0;
}
