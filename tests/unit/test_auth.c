/* Unit tests for server/auth/auth.c with tokens minted by libjwt: the claim
 * checks, algorithm pinning and scope matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jwt.h>
#include <cmocka.h>

#include "server/auth/auth.h"

static const char secret[] = "0123456789abcdef0123456789abcdef-unit";
static struct config cfg;
static struct auth_keys keys;

static int setup(void **state)
{
	(void)state;
	config_defaults(&cfg);
	cfg.jwt_issuer = strdup("iss");
	cfg.jwt_audience = strdup("aud");
	keys.alg = JWT_ALG_HS256;
	keys.alg_name = "HS256";
	keys.key = (unsigned char *)strdup(secret);
	keys.key_len = strlen(secret);
	keys.jws = (struct jws_key){ .alg = JWS_HS256, .secret = keys.key, .secret_len = keys.key_len };
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	auth_keys_free(&keys);
	config_free(&cfg);
	return 0;
}

static char *mint(jwt_alg_t alg, const char *key, const char *grants_json)
{
	jwt_t *jwt;
	char *tok;
	jwt_new(&jwt);
	jwt_add_grants_json(jwt, grants_json);
	jwt_set_alg(jwt, alg, (const unsigned char *)key, key ? (int)strlen(key) : 0);
	tok = jwt_encode_str(jwt);
	jwt_free(jwt);
	return tok;
}

static int verify(const char *tok, struct auth_identity *id, char *why)
{
	return auth_verify(&keys, &cfg, tok, strlen(tok), (long long)time(NULL), id, why, 200);
}

static void test_good_token(void **state)
{
	char grants[512], why[200], *tok;
	struct auth_identity id;
	(void)state;
	snprintf(grants, sizeof(grants), "{\"iss\":\"iss\",\"aud\":[\"x\",\"aud\"],\"sub\":\"s1\","
	         "\"tenant_id\":\"t1\",\"scope\":\"invoices:read payments:write\",\"exp\":%ld}",
	         (long)time(NULL) + 60);
	tok = mint(JWT_ALG_HS256, secret, grants);
	assert_int_equal(verify(tok, &id, why), 0);
	assert_string_equal(id.tenant, "t1");
	assert_string_equal(id.sub, "s1");
	assert_true(auth_has_scope(&id, "invoices:read"));
	assert_true(auth_has_scope(&id, "payments:write"));
	assert_false(auth_has_scope(&id, "invoices:write"));
	assert_false(auth_has_scope(&id, "invoices"));
	free(tok);
}

static void refused(const char *grants, jwt_alg_t alg, const char *key, const char *want)
{
	char why[200] = "", *tok = mint(alg, key, grants);
	struct auth_identity id;
	assert_non_null(tok);
	assert_int_equal(verify(tok, &id, why), -1);
	if (!strstr(why, want))
		fail_msg("reason '%s' lacks '%s'", why, want);
	free(tok);
}

static void test_refusals(void **state)
{
	char g[512];
	long now = (long)time(NULL);
	(void)state;
	snprintf(g, sizeof(g), "{\"iss\":\"iss\",\"aud\":\"aud\",\"sub\":\"s\",\"tenant_id\":\"t\",\"exp\":%ld}", now + 60);
	refused(g, JWT_ALG_NONE, NULL, "signed JWT"); /* "alg":"none" has an empty signature */
	refused(g, JWT_ALG_HS512, secret, "algorithm must be HS256");
	refused(g, JWT_ALG_HS256, "another-secret-another-secret-xx", "signature");
	snprintf(g, sizeof(g), "{\"iss\":\"iss\",\"aud\":\"aud\",\"sub\":\"s\",\"tenant_id\":\"t\",\"exp\":%ld}", now - 31);
	refused(g, JWT_ALG_HS256, secret, "expired");
	snprintf(g, sizeof(g), "{\"iss\":\"iss\",\"aud\":\"aud\",\"sub\":\"s\",\"tenant_id\":\"t\"}");
	refused(g, JWT_ALG_HS256, secret, "exp");
	snprintf(g, sizeof(g), "{\"iss\":\"other\",\"aud\":\"aud\",\"sub\":\"s\",\"tenant_id\":\"t\",\"exp\":%ld}", now + 60);
	refused(g, JWT_ALG_HS256, secret, "issuer");
	snprintf(g, sizeof(g), "{\"iss\":\"iss\",\"aud\":[\"no\"],\"sub\":\"s\",\"tenant_id\":\"t\",\"exp\":%ld}", now + 60);
	refused(g, JWT_ALG_HS256, secret, "audience");
	snprintf(g, sizeof(g), "{\"iss\":\"iss\",\"aud\":\"aud\",\"sub\":\"s\",\"exp\":%ld}", now + 60);
	refused(g, JWT_ALG_HS256, secret, "tenant_id");
	snprintf(g, sizeof(g), "{\"iss\":\"iss\",\"aud\":\"aud\",\"sub\":\"s\",\"tenant_id\":\"t\",\"exp\":%ld,\"nbf\":%ld}", now + 600, now + 300);
	refused(g, JWT_ALG_HS256, secret, "nbf");
}

static void test_garbage(void **state)
{
	static const char *const bad[] = { "", "abc", "a.b", "a.b.c.d", "....", "e30.e30.", "%%%.e30.sig" };
	struct auth_identity id;
	char why[200];
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(auth_verify(&keys, &cfg, bad[i], strlen(bad[i]), 0, &id, why, sizeof(why)), -1);
}

/* A cached token skips the signature and JSON work but not the time
 * claims: auth_verify with a given now refuses it once expired or before
 * nbf, and serves it again within them. */
static void test_token_cache_rechecks_time_claims(void **state)
{
	struct auth_identity id;
	char why[200], *tok;
	long leeway = cfg.jwt_leeway_s;
	(void)state;
	tok = mint(JWT_ALG_HS256, secret, "{\"iss\":\"iss\",\"aud\":\"aud\",\"sub\":\"s\","
	           "\"tenant_id\":\"cached\",\"iat\":1000,\"nbf\":1500,\"exp\":2000}");
	assert_non_null(tok);
	cfg.jwt_leeway_s = 30;
	assert_int_equal(auth_verify(&keys, &cfg, tok, strlen(tok), 1600, &id, why, sizeof(why)), 0);
	assert_string_equal(id.tenant, "cached");
	/* The key changes in place: only a cache hit can still pass now. */
	keys.key[0] ^= 1;
	assert_int_equal(auth_verify(&keys, &cfg, tok, strlen(tok), 1700, &id, why, sizeof(why)), 0);
	assert_int_equal(auth_verify(&keys, &cfg, tok, strlen(tok), 2030, &id, why, sizeof(why)), 0);
	assert_int_equal(auth_verify(&keys, &cfg, tok, strlen(tok), 2031, &id, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "expired"));
	assert_int_equal(auth_verify(&keys, &cfg, tok, strlen(tok), 1470, &id, why, sizeof(why)), 0);
	assert_int_equal(auth_verify(&keys, &cfg, tok, strlen(tok), 1469, &id, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "nbf"));
	assert_int_equal(auth_verify(&keys, &cfg, tok, strlen(tok), 1600, &id, why, sizeof(why)), 0);
	keys.key[0] ^= 1;
	cfg.jwt_leeway_s = leeway;
	free(tok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_cache_rechecks_time_claims),
		cmocka_unit_test(test_good_token),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests_name("auth", tests, setup, teardown);
}
