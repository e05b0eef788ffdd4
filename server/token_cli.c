/*
 * token_cli.c - mint a development token (see token_cli.h). Reads the HS256
 * secret, signs with libjwt, prints the token, and wipes the secret.
 */
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/auth/auth.h"
#include "server/lib/log.h"
#include "server/token_cli.h"

int token_mint(const struct config *cfg, const char *sub, const char *tenant,
               const char *scope, long ttl_s)
{
	struct auth_keys keys;
	jwt_t *jwt = NULL;
	char err[512], *tok = NULL;
	long now = (long)time(NULL);
	int rc = 1;

	if (strcmp(cfg->jwt_alg, "HS256") != 0) {
		log_error("token minting needs jwt_alg = HS256 (with %s, tokens come from your issuer)",
		          cfg->jwt_alg);
		return 1;
	}
	if (auth_keys_load(cfg, &keys, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return 1;
	}
	if (jwt_new(&jwt) != 0 ||
	    jwt_add_grant(jwt, "iss", cfg->jwt_issuer) != 0 ||
	    jwt_add_grant(jwt, "aud", cfg->jwt_audience) != 0 ||
	    jwt_add_grant(jwt, "sub", sub) != 0 ||
	    jwt_add_grant(jwt, cfg->jwt_tenant_claim, tenant) != 0 ||
	    jwt_add_grant(jwt, "scope", scope) != 0 ||
	    jwt_add_grant_int(jwt, "iat", now) != 0 ||
	    jwt_add_grant_int(jwt, "exp", now + ttl_s) != 0 ||
	    jwt_set_alg(jwt, JWT_ALG_HS256, keys.key, (int)keys.key_len) != 0 ||
	    !(tok = jwt_encode_str(jwt))) {
		log_error("cannot mint the token");
		goto out;
	}
	printf("%s\n", tok);
	rc = 0;
out:
	free(tok);
	jwt_free(jwt);
	auth_keys_free(&keys);
	return rc;
}
