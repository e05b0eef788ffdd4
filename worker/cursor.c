/*
 * cursor.c - pagination cursors: base64url("v1:" ts ":" id ":" tag) where
 * tag is HMAC-SHA256(key, scope "|" ts ":" id), truncated to 16 bytes.
 * Runs in workers; the key is set by the master before fork.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../server/log.h"
#include "base64.h"
#include "cursor.h"

#define TAG_LEN 16

void cursor_key_init(struct cursor_key *ck, const unsigned char *secret, size_t secret_len)
{
	static const char label[] = "mcp-invoiced cursor key v1";
	unsigned int n = sizeof(ck->key);

	if (secret && secret_len) {
		HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)label,
		     sizeof(label) - 1, ck->key, &n);
	} else if (RAND_bytes(ck->key, sizeof(ck->key)) != 1) {
		fatal("RAND_bytes failed");
	}
}

static void tag_of(const struct cursor_key *ck, const char *scope, const char *body,
                   unsigned char tag[32])
{
	unsigned int n = 32;
	char msg[1024];
	int len = snprintf(msg, sizeof(msg), "%s|%s", scope, body);

	HMAC(EVP_sha256(), ck->key, sizeof(ck->key), (const unsigned char *)msg,
	     (size_t)(len < (int)sizeof(msg) ? len : (int)sizeof(msg) - 1), tag, &n);
}

void cursor_encode(const struct cursor_key *ck, const char *scope, long long ts_us,
                   const char *id, char *out)
{
	char body[128], raw[160];
	unsigned char tag[32];
	int n;

	snprintf(body, sizeof(body), "%lld:%.63s", ts_us, id);
	tag_of(ck, scope, body, tag);
	n = snprintf(raw, sizeof(raw), "v1:%s:", body);
	memcpy(raw + n, tag, TAG_LEN);
	base64url_encode((const unsigned char *)raw, (size_t)n + TAG_LEN, out);
}

int cursor_decode(const struct cursor_key *ck, const char *scope, const char *cursor,
                  long long *ts_us, char *id, size_t idlen)
{
	unsigned char raw[192], tag[32];
	char body[128], *end;
	const char *colon;
	long n;
	size_t body_len;

	if (strlen(cursor) > CURSOR_MAX)
		return -1;
	n = base64_decode(cursor, strlen(cursor), raw, sizeof(raw) - 1, 1);
	if (n < 3 + TAG_LEN + 3 || memcmp(raw, "v1:", 3) != 0)
		return -1;
	body_len = (size_t)n - 3 - TAG_LEN - 1;
	if (body_len >= sizeof(body) || raw[3 + body_len] != ':')
		return -1;
	memcpy(body, raw + 3, body_len);
	body[body_len] = '\0';
	if (strlen(body) != body_len)
		return -1;
	tag_of(ck, scope, body, tag);
	if (CRYPTO_memcmp(tag, raw + 3 + body_len + 1, TAG_LEN) != 0)
		return -1;
	*ts_us = strtoll(body, &end, 10);
	if (end == body || *end != ':')
		return -1;
	colon = end + 1;
	if (strlen(colon) >= idlen)
		return -1;
	snprintf(id, idlen, "%s", colon);
	return 0;
}
