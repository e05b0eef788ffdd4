/* libFuzzer driver: arbitrary bytes as the claims of a token that carries a
 * valid HS256 signature, so the claim checks (time arithmetic, iss, aud,
 * tenant, sub, scope) are reached on every input. Whatever is accepted must
 * name a tenant and a subject, each exactly the claim's full JSON string (no
 * NUL cut it short). */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <jwt.h>
#include <json-c/json.h>

#include "server/auth/auth.h"
#include "server/lib/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 if the claims text has the string member name and it equals got. */
static int is_whole_claim(const uint8_t *data, size_t size, const char *name, const char *got)
{
	json_tokener *tok = json_tokener_new();
	json_object *claims = json_tokener_parse_ex(tok, (const char *)data, (int)size), *v;
	int ok = json_object_object_get_ex(claims, name, &v) && json_object_is_type(v, json_type_string) &&
	         (size_t)json_object_get_string_len(v) == strlen(got) &&
	         memcmp(json_object_get_string(v), got, strlen(got)) == 0;

	json_object_put(claims);
	json_tokener_free(tok);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	static struct auth_keys keys;
	static unsigned char key[] = "fuzz-secret-that-nobody-can-guess-0123456789";
	static const char head[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	char token[AUTH_MAX_TOKEN + 128], why[200];
	unsigned char mac[32];
	unsigned int mac_len = 0;
	struct auth_identity id;
	size_t n;

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
	if (size > (AUTH_MAX_TOKEN - 200) / 4 * 3)
		return 0;
	n = base64url_encode((const unsigned char *)head, sizeof(head) - 1, token);
	token[n++] = '.';
	n += base64url_encode(data, size, token + n);
	HMAC(EVP_sha256(), key, (int)sizeof(key) - 1, (unsigned char *)token, n, mac, &mac_len);
	token[n++] = '.';
	n += base64url_encode(mac, mac_len, token + n);
	if (auth_verify(&keys, &cfg, token, n, 1700000000, &id, why, sizeof(why)) == 0 &&
	    (!id.tenant[0] || !id.sub[0] || !is_whole_claim(data, size, "tenant_id", id.tenant) ||
	     !is_whole_claim(data, size, "sub", id.sub)))
		__builtin_trap();
	return 0;
}
