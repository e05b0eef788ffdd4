/* libFuzzer driver: arbitrary bytes as a JWK Set, as authorization-server
 * metadata and as a key-set message (the fetcher's answer, the cache file,
 * the master's message to workers). Whatever the JWKS parser keeps must
 * encode, decode and import again as the same number of keys. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/jwks/jwk.h"
#include "server/auth/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jwk_set parsed;
	static unsigned char bytes[KEYSET_MAX_BYTES];
	static struct keyset decoded;
	unsigned algs = 0;
	char err[300], uri[512];
	struct auth_keys keys;
	size_t skipped;
	long n;

	for (int a = JWS_RS256; a < JWS_ALG_END; a++)
		algs |= 1u << a;
	jwk_discovery_parse((const char *)data, size, "https://issuer.example", uri, sizeof(uri), err,
	                    sizeof(err));
	memset(&keys, 0, sizeof(keys));
	keys.from_jwks = 1;
	keys.algs = algs;
	if (auth_keys_install(&keys, data, size, &skipped, err, sizeof(err)) == 0 && keys.nset + skipped == 0 &&
	    size > KEYSET_HEADER_BYTES)
		__builtin_trap(); /* a non-empty set cannot vanish */
	if (jwk_set_parse((const char *)data, size, algs, &parsed, err, sizeof(err)) == 0 && parsed.set.count) {
		n = keyset_encode(&parsed.set, bytes, sizeof(bytes));
		if (n < 0 || keyset_decode(bytes, (size_t)n, &decoded, err, sizeof(err)) < 0 ||
		    decoded.count != parsed.set.count)
			__builtin_trap();
		if (auth_keys_install(&keys, bytes, (size_t)n, &skipped, err, sizeof(err)) < 0 ||
		    keys.nset != parsed.set.count)
			__builtin_trap();
	}
	auth_keys_free(&keys);
	return 0;
}
