/*
 * keyset.c - encode and decode a key set (see keyset.h). Encoding runs in
 * the JWKS fetcher; decoding in the master (the fetcher's answer and the
 * cache file) and in workers (the master's message). Every length is
 * checked before it is used; anything malformed is refused naming the
 * entry and the rule.
 */
#include <stdio.h>
#include <string.h>

#include "server/proto/keyset.h"

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static int kid_valid(const char *kid, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (kid[i] < 0x21 || kid[i] > 0x7e)
			return 0;
	return 1;
}

int keyset_decode(const unsigned char *buf, size_t len, struct keyset *set, char *err, size_t errlen)
{
	size_t off = KEYSET_HEADER_BYTES;
	uint32_t count, total;

	set->count = 0;
	if (len < KEYSET_HEADER_BYTES || memcmp(buf, KEYSET_MAGIC, 8) != 0) {
		snprintf(err, errlen, "key set: not a key set (%zu bytes, no header)", len);
		return -1;
	}
	count = get32(buf + 8);
	total = get32(buf + 12);
	if (total != len || len > KEYSET_MAX_BYTES) {
		snprintf(err, errlen, "key set: says %u bytes, has %zu (at most %d)", total, len,
		         KEYSET_MAX_BYTES);
		return -1;
	}
	if (count > KEYSET_MAX_KEYS) {
		snprintf(err, errlen, "key set: %u keys, at most %d", count, KEYSET_MAX_KEYS);
		return -1;
	}
	for (uint32_t i = 0; i < count; i++) {
		struct keyset_entry *e = &set->keys[i];
		if (len - off < 4) {
			snprintf(err, errlen, "key set: key %u: truncated entry header", i);
			return -1;
		}
		e->alg = buf[off];
		e->kid_len = buf[off + 1];
		e->der_len = (size_t)buf[off + 2] | (size_t)buf[off + 3] << 8;
		off += 4;
		if (e->alg == 0 || e->der_len == 0 || e->der_len > KEYSET_MAX_DER ||
		    len - off < e->kid_len + e->der_len) {
			snprintf(err, errlen, "key set: key %u: bad algorithm or length (kid %zu, DER %zu bytes, "
			         "%zu left)", i, e->kid_len, e->der_len, len - off);
			return -1;
		}
		e->kid = (const char *)buf + off;
		e->der = buf + off + e->kid_len;
		if (!kid_valid(e->kid, e->kid_len)) {
			snprintf(err, errlen, "key set: key %u: kid holds a byte outside visible ASCII", i);
			return -1;
		}
		for (uint32_t j = 0; j < i; j++)
			if (set->keys[j].alg == e->alg && set->keys[j].kid_len == e->kid_len &&
			    memcmp(set->keys[j].kid, e->kid, e->kid_len) == 0) {
				snprintf(err, errlen, "key set: key %u repeats the kid and alg of key %u", i, j);
				return -1;
			}
		off += e->kid_len + e->der_len;
	}
	if (off != len) {
		snprintf(err, errlen, "key set: %zu bytes after the last key", len - off);
		return -1;
	}
	set->count = count;
	return 0;
}

long keyset_encode(const struct keyset *set, unsigned char *out, size_t cap)
{
	size_t off = KEYSET_HEADER_BYTES;

	if (set->count > KEYSET_MAX_KEYS || cap < KEYSET_HEADER_BYTES)
		return -1;
	for (size_t i = 0; i < set->count; i++) {
		const struct keyset_entry *e = &set->keys[i];
		if (e->alg == 0 || e->alg > 255 || e->kid_len > KEYSET_MAX_KID || e->der_len == 0 ||
		    e->der_len > KEYSET_MAX_DER || !kid_valid(e->kid, e->kid_len) ||
		    cap - off < 4 + e->kid_len + e->der_len)
			return -1;
		out[off] = (unsigned char)e->alg;
		out[off + 1] = (unsigned char)e->kid_len;
		out[off + 2] = (unsigned char)e->der_len;
		out[off + 3] = (unsigned char)(e->der_len >> 8);
		memcpy(out + off + 4, e->kid, e->kid_len);
		memcpy(out + off + 4 + e->kid_len, e->der, e->der_len);
		off += 4 + e->kid_len + e->der_len;
	}
	memcpy(out, KEYSET_MAGIC, 8);
	put32(out + 8, (uint32_t)set->count);
	put32(out + 12, (uint32_t)off);
	return (long)off;
}
