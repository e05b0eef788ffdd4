/*
 * auth.c - verify JWT bearer tokens. Runs in workers on every request; the
 * keys (keys.c) are read by the master and inherited by fork, or arrive as
 * a JWKS key set from the master.
 *
 * Order of checks: shape, then the header's "alg" must be exactly the
 * configured algorithm, or one of them with a JWKS (so "none" or an HS256
 * token signed with an RSA public key is refused before any crypto); with
 * a JWKS the key is chosen by "kid" among the keys of that algorithm only
 * (all of them when the token has no kid), and "jku", "jwk" and "x5u",
 * which would name a key of the token's choosing, refuse the token (no
 * header is ever followed); "typ" (absent, JWT or the RFC 9068
 * at+jwt, in any case, "application/" optional) and no "crit", then the
 * signature (jws.c), then the claims: exp (required), nbf and iat with
 * leeway, all NumericDates in 0..AUTH_MAX_DATE so no arithmetic on them can
 * overflow, then iss, aud, the tenant claim and sub. Every refusal says which
 * check failed.
 *
 * Every string in the header and claims is used by its full JSON length:
 * one holding a NUL (or an object key holding one, which json-c would cut
 * short) refuses the token, so "acme\u0000evil" is never served as "acme".
 */
#include <stdint.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/auth/auth.h"
#include "server/lib/base64.h"
#include "server/lib/fnv.h"
#include "server/lib/json_text.h"
#include "server/lib/words.h"

/* Decodes one base64url part of the token (part names it in why) and parses
 * it as a JSON object. The decoded text must be strict JSON (json_text.c:
 * json-c alone is lenient) without an object key holding an escaped NUL
 * (json-c would cut it short, and a second "tenant_id\u0000x" key would
 * override "tenant_id") or an unpaired surrogate escape. NULL with why on
 * failure. */
static json_object *decode_json_part(const char *p, size_t len, const char *part, char *why,
                                     size_t whylen)
{
	unsigned char buf[AUTH_MAX_TOKEN];
	long n = base64_decode(p, len, buf, sizeof(buf) - 1, 1);
	json_object *obj = NULL;
	json_tokener *tok = NULL;
	struct json_text_info text;

	if (n <= 0)
		snprintf(why, whylen, "token %s is not base64url JSON", part);
	else if (json_text_scan((const char *)buf, (size_t)n, &text) < 0)
		snprintf(why, whylen, "token %s: %s (byte %zu)", part, text.error, text.error_at);
	else if (text.nul_key)
		snprintf(why, whylen, "token %s: an object key contains a NUL character (\\u0000)", part);
	else if (text.lone_surrogate)
		snprintf(why, whylen, "token %s: a string contains an unpaired UTF-16 surrogate escape", part);
	else if (!(tok = json_tokener_new_ex(16)) ||
	         !(obj = json_tokener_parse_ex(tok, (const char *)buf, (int)n)) ||
	         !json_object_is_type(obj, json_type_object))
		snprintf(why, whylen, "token %s %s not a JSON object of at most 16 levels", part,
		         strcmp(part, "header") == 0 ? "is" : "are");
	else
		goto out;
	json_object_put(obj);
	obj = NULL;
out:
	if (tok)
		json_tokener_free(tok);
	OPENSSL_cleanse(buf, sizeof(buf));
	return obj;
}

/* 1 if v, or any string inside it, contains a NUL character. */
static int has_nul(json_object *v)
{
	if (json_object_is_type(v, json_type_string))
		return memchr(json_object_get_string(v), '\0', (size_t)json_object_get_string_len(v)) != NULL;
	if (json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);
		for (size_t i = 0; i < n; i++)
			if (has_nul(json_object_array_get_idx(v, i)))
				return 1;
	}
	if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, key, member) {
			(void)key;
			if (has_nul(member))
				return 1;
		}
	}
	return 0;
}

/* Every string in a token is used by its full length, and none may hold a
 * NUL: a C-string reader would see "acme\u0000evil" as "acme". 0, or -1 with
 * why naming the member: "token header alg ..." (header) or "token
 * tenant_id claim ..." (claims). */
static int refuse_nul_strings(json_object *obj, int header, char *why, size_t whylen)
{
	json_object_object_foreach(obj, key, member) {
		if (has_nul(member)) {
			snprintf(why, whylen, "token %s%.64s%s contains a NUL character (\\u0000)",
			         header ? "header " : "", key, header ? "" : " claim");
			return -1;
		}
	}
	return 0;
}

/* The string member name of obj with its length: 1, or 0 if absent or not a
 * string. */
static int member_string(json_object *obj, const char *name, const char **s, size_t *len)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, name, &v) || !json_object_is_type(v, json_type_string))
		return 0;
	*s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	return 1;
}

/* 1 if the JSON string v equals want, compared by full length. */
static int string_equals(json_object *v, const char *want)
{
	size_t n = strlen(want);

	return json_object_is_type(v, json_type_string) && (size_t)json_object_get_string_len(v) == n &&
	       memcmp(json_object_get_string(v), want, n) == 0;
}

/* Reads a NumericDate claim (whole or fractional seconds, truncated);
 * returns 1 if present and in 0..AUTH_MAX_DATE, 0 if absent, -1 if present
 * but not a number or out of that range. */
static int numeric_claim(json_object *claims, const char *name, long long *out)
{
	json_object *v;

	if (!json_object_object_get_ex(claims, name, &v))
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		/* json-c clamps larger numbers to INT64_MAX: out of range too. */
		int64_t n = json_object_get_int64(v);
		if (n < 0 || n > AUTH_MAX_DATE)
			return -1;
		*out = (long long)n;
		return 1;
	}
	if (json_object_is_type(v, json_type_double)) {
		double d = json_object_get_double(v);
		if (!(d >= 0 && d <= (double)AUTH_MAX_DATE)) /* also refuses NaN */
			return -1;
		*out = (long long)d;
		return 1;
	}
	return -1;
}

static int audience_matches(json_object *claims, const char *want)
{
	json_object *aud;

	if (!json_object_object_get_ex(claims, "aud", &aud))
		return 0;
	if (json_object_is_type(aud, json_type_string))
		return string_equals(aud, want);
	if (json_object_is_type(aud, json_type_array)) {
		size_t n = json_object_array_length(aud);
		for (size_t i = 0; i < n; i++)
			if (string_equals(json_object_array_get_idx(aud, i), want))
				return 1;
	}
	return 0;
}

static int tenant_valid(const char *t, size_t n)
{
	if (n == 0 || n > 128)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
		      (t[i] >= '0' && t[i] <= '9') || (t[i] && strchr("_.:@-", t[i]))))
			return 0;
	return 1;
}

/*
 * Verified-token cache. Agents send the same token on every call, so a
 * worker remembers the last tokens it verified (the exact bytes, compared in
 * full) with their identity and time claims. A hit skips the signature and
 * JSON work but re-checks exp/nbf/iat against the clock. Per worker process;
 * a reload starts new workers with empty caches.
 */
#define CACHE_SLOTS 256
#define CACHE_MAX_TOKEN 2048
#define NO_CLAIM (-1LL)

struct cache_entry {
	const struct auth_keys *keys;
	unsigned long serial;
	const struct config *cfg;
	size_t len;
	char token[CACHE_MAX_TOKEN];
	long long exp, nbf, iat;
	struct auth_identity id;
};

static struct cache_entry *token_cache;

static size_t cache_slot(const char *token, size_t len)
{
	return (size_t)(fnv1a64(token, len) % CACHE_SLOTS);
}

static int time_claims_ok(const struct config *cfg, long long now, long long exp, long long nbf,
                          long long iat, char *why, size_t whylen)
{
	if (now > exp + cfg->jwt_leeway_s) {
		snprintf(why, whylen, "token expired");
		return 0;
	}
	if (nbf != NO_CLAIM && now + cfg->jwt_leeway_s < nbf) {
		snprintf(why, whylen, "token is not valid yet (nbf)");
		return 0;
	}
	if (iat != NO_CLAIM && iat > now + cfg->jwt_leeway_s) {
		snprintf(why, whylen, "token is issued in the future (iat)");
		return 0;
	}
	return 1;
}

/* 1 = answered from the cache (rc set), 0 = not cached. */
static int cache_lookup(const struct auth_keys *keys, const struct config *cfg, const char *token,
                        size_t len, long long now, struct auth_identity *id, char *why,
                        size_t whylen, int *rc)
{
	struct cache_entry *e;

	if (!token_cache || len > CACHE_MAX_TOKEN)
		return 0;
	e = &token_cache[cache_slot(token, len)];
	if (e->len != len || e->keys != keys || e->serial != keys->serial || e->cfg != cfg ||
	    memcmp(e->token, token, len) != 0)
		return 0;
	if (!time_claims_ok(cfg, now, e->exp, e->nbf, e->iat, why, whylen)) {
		*rc = -1;
		return 1;
	}
	*id = e->id;
	*rc = 0;
	return 1;
}

static void cache_store(const struct auth_keys *keys, const struct config *cfg, const char *token,
                        size_t len, long long exp, long long nbf, long long iat,
                        const struct auth_identity *id)
{
	struct cache_entry *e;

	if (len > CACHE_MAX_TOKEN)
		return;
	if (!token_cache && !(token_cache = calloc(CACHE_SLOTS, sizeof(*token_cache))))
		return;
	e = &token_cache[cache_slot(token, len)];
	e->keys = keys;
	e->serial = keys->serial;
	e->cfg = cfg;
	e->len = len;
	memcpy(e->token, token, len);
	e->exp = exp;
	e->nbf = nbf;
	e->iat = iat;
	e->id = *id;
}

/* The media type JWT (RFC 7519) or at+jwt (RFC 9068). Per RFC 7515 4.1.9
 * "typ" is compared ignoring case and a value without "/" means
 * "application/" + value, so JWT, application/jwt, at+jwt and
 * application/at+jwt are accepted in any case, each by its full length. */
static int typ_accepted(json_object *typ)
{
	static const char prefix[] = "application/";
	static const char *const ok[] = { "jwt", "at+jwt" };
	const char *s = json_object_get_string(typ);
	size_t n = (size_t)json_object_get_string_len(typ);

	if (n > sizeof(prefix) - 1 && strncasecmp(s, prefix, sizeof(prefix) - 1) == 0) {
		s += sizeof(prefix) - 1;
		n -= sizeof(prefix) - 1;
	}
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strlen(ok[i]) == n && strncasecmp(s, ok[i], n) == 0)
			return 1;
	return 0;
}

#define REFUSE(...) do { snprintf(why, whylen, __VA_ARGS__); goto out; } while (0)

/* The algorithm the header names, if the keys accept it: 0 if not (why
 * says which are). */
static enum jws_alg header_alg(const struct auth_keys *keys, json_object *header, char *why,
                               size_t whylen)
{
	const char *name = "";
	size_t n = 0, w = 0;
	enum jws_alg a;
	json_object *v;

	if (json_object_object_get_ex(header, "alg", &v) && json_object_is_type(v, json_type_string)) {
		name = json_object_get_string(v);
		n = (size_t)json_object_get_string_len(v);
	}
	if (!keys->from_jwks) {
		if (keys->alg_name && strlen(keys->alg_name) == n && memcmp(name, keys->alg_name, n) == 0)
			return jws_alg_from_name(name, n);
		snprintf(why, whylen, "token algorithm must be %s", keys->alg_name);
		return 0;
	}
	a = jws_alg_from_name(name, n);
	if (a && (keys->algs & (1u << a)))
		return a;
	w = (size_t)snprintf(why, whylen, "token algorithm must be one of:");
	for (int i = 1; i < JWS_ALG_END && w < whylen; i++)
		if (keys->algs & (1u << i))
			w += (size_t)snprintf(why + w, whylen - w, " %s", jws_alg_name((enum jws_alg)i));
	return 0;
}

/* The header: an accepted algorithm, an accepted typ, no crit, no key of
 * the token's own choosing. The decoded header, or NULL with why. */
static json_object *checked_header(const struct auth_keys *keys, const char *part, size_t len,
                                   enum jws_alg *alg, char *why, size_t whylen)
{
	static const char *const key_headers[] = { "jku", "jwk", "x5u" };
	json_object *header = decode_json_part(part, len, "header", why, whylen), *typ_v;

	if (!header || refuse_nul_strings(header, 1, why, whylen) < 0)
		goto refused;
	if (!(*alg = header_alg(keys, header, why, whylen)))
		goto refused;
	if (json_object_object_get_ex(header, "typ", &typ_v) &&
	    (!json_object_is_type(typ_v, json_type_string) || !typ_accepted(typ_v))) {
		snprintf(why, whylen, "token type (typ) is not accepted: use JWT or at+jwt (RFC 9068), "
		         "optionally with application/");
		goto refused;
	}
	if (json_object_object_get_ex(header, "crit", NULL)) {
		snprintf(why, whylen, "token has critical header parameters this server does not understand");
		goto refused;
	}
	for (size_t i = 0; i < sizeof(key_headers) / sizeof(key_headers[0]); i++)
		if (json_object_object_get_ex(header, key_headers[i], NULL)) {
			snprintf(why, whylen, "token header %s names a key: keys come only from the issuer's "
			         "JWKS or the configured key file", key_headers[i]);
			goto refused;
		}
	return header;
refused:
	json_object_put(header);
	return NULL;
}

/* The signature under the configured key, or with a JWKS under the key the
 * header's kid names among those of alg (every key of alg when there is no
 * kid). 0, -1 with why, or AUTH_UNKNOWN_KEY. */
static int check_signature(const struct auth_keys *keys, json_object *header, enum jws_alg alg,
                           const char *input, size_t input_len, const unsigned char *sig,
                           size_t sig_len, char *why, size_t whylen)
{
	const char *kid = NULL;
	size_t kid_len = 0, tried = 0;
	json_object *v;

	if (!keys->from_jwks) {
		if (jws_verify(&keys->jws, input, input_len, sig, sig_len))
			return 0;
		snprintf(why, whylen, "token signature is invalid");
		return -1;
	}
	if (json_object_object_get_ex(header, "kid", &v)) {
		if (!json_object_is_type(v, json_type_string)) {
			snprintf(why, whylen, "token header kid must be a string");
			return -1;
		}
		kid = json_object_get_string(v);
		kid_len = (size_t)json_object_get_string_len(v);
	}
	for (size_t i = 0; i < keys->nset; i++) {
		const struct auth_jwk *k = &keys->set[i];
		if (k->jws.alg != alg || (kid && (k->kid_len != kid_len || memcmp(k->kid, kid, kid_len) != 0)))
			continue;
		tried++;
		if (jws_verify(&k->jws, input, input_len, sig, sig_len))
			return 0;
	}
	if (tried) {
		snprintf(why, whylen, "token signature is invalid");
		return -1;
	}
	if (!keys->set_bytes)
		snprintf(why, whylen, "no signing keys of the issuer are loaded yet");
	else if (kid)
		snprintf(why, whylen, "token key id (kid) is not among the issuer's current %s keys",
		         jws_alg_name(alg));
	else
		snprintf(why, whylen, "the issuer has no current %s key", jws_alg_name(alg));
	return AUTH_UNKNOWN_KEY;
}

/* exp (required), nbf and iat as NumericDates, then the time rules. */
static int check_time_claims(const struct config *cfg, json_object *claims, long long now,
                             long long *exp, long long *nbf, long long *iat, char *why, size_t whylen)
{
	static const char *const names[3] = { "exp", "nbf", "iat" };
	long long *values[3] = { exp, nbf, iat };

	for (int i = 0; i < 3; i++) {
		int r = numeric_claim(claims, names[i], values[i]);
		if (r == 0 && i == 0) {
			snprintf(why, whylen, "token has no exp claim");
			return -1;
		}
		if (r < 0) {
			snprintf(why, whylen, "token %s claim must be a NumericDate from 0 to %lld", names[i],
			         (long long)AUTH_MAX_DATE);
			return -1;
		}
	}
	return time_claims_ok(cfg, now, *exp, *nbf, *iat, why, whylen) ? 0 : -1;
}

/* The granted scopes: "scope" (RFC 8693, a space-separated string) or,
 * from providers that send it instead (Okta, Entra ID), "scp" as an array
 * of strings or a string. 0, or -1 with why. */
static int scope_of(json_object *claims, struct auth_identity *id, char *why, size_t whylen)
{
	const char *scope = "";
	size_t scope_len = 0, w = 0;
	json_object *scp;

	id->scope[0] = '\0';
	if (member_string(claims, "scope", &scope, &scope_len) ||
	    member_string(claims, "scp", &scope, &scope_len)) {
		if (scope_len >= sizeof(id->scope))
			goto too_long;
		memcpy(id->scope, scope, scope_len + 1);
		return 0;
	}
	if (!json_object_object_get_ex(claims, "scp", &scp) || !json_object_is_type(scp, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(scp); i++) {
		json_object *e = json_object_array_get_idx(scp, i);
		size_t n;
		if (!json_object_is_type(e, json_type_string))
			continue;
		n = (size_t)json_object_get_string_len(e);
		if (w + n + 2 > sizeof(id->scope))
			goto too_long;
		if (w)
			id->scope[w++] = ' ';
		memcpy(id->scope + w, json_object_get_string(e), n);
		w += n;
		id->scope[w] = '\0';
	}
	return 0;
too_long:
	snprintf(why, whylen, "token scope claim is too long");
	return -1;
}

/* Issuer, audience, tenant, subject and scope, into id. */
static int identity_of(const struct config *cfg, json_object *claims, struct auth_identity *id,
                       char *why, size_t whylen)
{
	const char *tenant, *sub;
	size_t tenant_len, sub_len;
	json_object *v;

	if (refuse_nul_strings(claims, 0, why, whylen) < 0)
		return -1;
	if (!json_object_object_get_ex(claims, "iss", &v) || !string_equals(v, cfg->jwt_issuer)) {
		snprintf(why, whylen, "token issuer is not accepted");
		return -1;
	}
	if (!audience_matches(claims, cfg->jwt_audience)) {
		snprintf(why, whylen, "token audience does not include this server");
		return -1;
	}
	if (!member_string(claims, cfg->jwt_tenant_claim, &tenant, &tenant_len) ||
	    !tenant_valid(tenant, tenant_len)) {
		snprintf(why, whylen, "token has no valid %s claim (1-128 of [A-Za-z0-9_.:@-])",
		         cfg->jwt_tenant_claim);
		return -1;
	}
	if (!member_string(claims, "sub", &sub, &sub_len) || sub_len == 0 || sub_len >= sizeof(id->sub)) {
		snprintf(why, whylen, "token has no valid sub claim");
		return -1;
	}
	if (scope_of(claims, id, why, whylen) < 0)
		return -1;
	memcpy(id->sub, sub, sub_len + 1);
	memcpy(id->tenant, tenant, tenant_len + 1);
	return 0;
}

int auth_verify(const struct auth_keys *keys, const struct config *cfg,
                const char *token, size_t token_len, long long now,
                struct auth_identity *id, char *why, size_t whylen)
{
	char tokbuf[AUTH_MAX_TOKEN + 1];
	const char *dot1, *dot2;
	json_object *header = NULL, *claims = NULL;
	unsigned char sig[JWS_MAX_SIG_BYTES]; /* the longest any accepted key makes */
	long sig_len;
	long long exp, nbf = NO_CLAIM, iat = NO_CLAIM;
	enum jws_alg alg;
	int rc = -1;

	if (token_len == 0 || token_len > AUTH_MAX_TOKEN) {
		snprintf(why, whylen, "token is empty or longer than %d bytes", AUTH_MAX_TOKEN);
		return -1;
	}
	if (cache_lookup(keys, cfg, token, token_len, now, id, why, whylen, &rc))
		return rc;
	memcpy(tokbuf, token, token_len);
	tokbuf[token_len] = '\0';
	if (strlen(tokbuf) != token_len)
		REFUSE("token contains a NUL byte");
	dot1 = strchr(tokbuf, '.');
	dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	if (!dot1 || !dot2 || strchr(dot2 + 1, '.') || dot2[1] == '\0')
		REFUSE("token is not a signed JWT (three dot-separated parts)");
	if (!(header = checked_header(keys, tokbuf, (size_t)(dot1 - tokbuf), &alg, why, whylen)))
		goto out;
	/* Parsed (not trusted) before the signature check, so a malformed
	 * token gets a precise reason. */
	claims = decode_json_part(dot1 + 1, (size_t)(dot2 - dot1 - 1), "claims", why, whylen);
	if (!claims)
		goto out;
	sig_len = base64_decode(dot2 + 1, token_len - (size_t)(dot2 + 1 - tokbuf), sig, sizeof(sig), 1);
	if (sig_len <= 0)
		REFUSE("token signature is not base64url of at most %d bytes", JWS_MAX_SIG_BYTES);
	rc = check_signature(keys, header, alg, tokbuf, (size_t)(dot2 - tokbuf), sig, (size_t)sig_len,
	                     why, whylen);
	if (rc < 0)
		goto out;
	rc = -1;
	if (check_time_claims(cfg, claims, now, &exp, &nbf, &iat, why, whylen) < 0 ||
	    identity_of(cfg, claims, id, why, whylen) < 0)
		goto out;
	cache_store(keys, cfg, token, token_len, exp, nbf, iat, id);
	rc = 0;
out:
	OPENSSL_cleanse(tokbuf, token_len);
	json_object_put(header);
	json_object_put(claims);
	return rc;
}

int auth_has_scope(const struct auth_identity *id, const char *scope)
{
	return words_contain(id->scope, scope);
}
