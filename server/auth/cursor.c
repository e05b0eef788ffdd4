/*
 * cursor.c - pagination cursors: base64url("v1:" position tag) where tag is
 * HMAC-SHA256(key, scope "|" position), truncated to 16 bytes. Runs in
 * workers; the key is set by the master before fork.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "server/auth/cursor.h"
#include "server/lib/base64.h"
#include "server/lib/log.h"

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

static void tag_of(const struct cursor_key *ck, const char *scope, const char *position,
                   unsigned char tag[32])
{
	unsigned int n = 32;
	char msg[1024];
	int len = snprintf(msg, sizeof(msg), "%s|%s", scope, position);

	if (len < 0 || len >= (int)sizeof(msg))
		len = (int)sizeof(msg) - 1;
	HMAC(EVP_sha256(), ck->key, sizeof(ck->key), (const unsigned char *)msg, (size_t)len, tag, &n);
}

void cursor_encode(const struct cursor_key *ck, const char *scope, const char *position, char *out)
{
	unsigned char raw[3 + CURSOR_POSITION_MAX + TAG_LEN], tag[32];
	size_t plen = strnlen(position, CURSOR_POSITION_MAX - 1);

	memcpy(raw, "v1:", 3);
	memcpy(raw + 3, position, plen);
	tag_of(ck, scope, position, tag);
	memcpy(raw + 3 + plen, tag, TAG_LEN);
	base64url_encode(raw, 3 + plen + TAG_LEN, out);
}

int cursor_decode(const struct cursor_key *ck, const char *scope, const char *cursor, char *position)
{
	unsigned char raw[3 + CURSOR_POSITION_MAX + TAG_LEN + 8], tag[32];
	size_t plen;
	long n;

	if (strlen(cursor) > CURSOR_MAX)
		return -1;
	n = base64_decode(cursor, strlen(cursor), raw, sizeof(raw), 1);
	if (n < 3 + TAG_LEN + 1 || memcmp(raw, "v1:", 3) != 0)
		return -1;
	plen = (size_t)n - 3 - TAG_LEN;
	if (plen >= CURSOR_POSITION_MAX || memchr(raw + 3, '\0', plen))
		return -1;
	memcpy(position, raw + 3, plen);
	position[plen] = '\0';
	tag_of(ck, scope, position, tag);
	if (CRYPTO_memcmp(tag, raw + 3 + plen, TAG_LEN) != 0)
		return -1;
	return 0;
}
