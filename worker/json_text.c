/*
 * json_text.c - a single pass over a JSON text that json-c already accepted
 * (see json_text.h). Runs in workers. It tracks only what it needs: string
 * boundaries and their escapes, object depth, whether a string is a key
 * (the next significant character is ':'), and the span of the top-level
 * "id" value.
 */
#include <string.h>

#include "json_text.h"
#include "utf8.h"

static int hex4(const char *p, size_t left, unsigned *out)
{
	unsigned v = 0;

	if (left < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* Scans the string starting after its opening quote at s[i]; returns the
 * offset just past the closing quote. */
static size_t scan_string(const char *s, size_t len, size_t i, int *has_nul, int *lone)
{
	while (i < len && s[i] != '"') {
		unsigned u, lo;
		if (s[i] != '\\') {
			i++;
			continue;
		}
		if (i + 1 >= len)
			return len;
		if (s[i + 1] != 'u') {
			i += 2;
			continue;
		}
		if (hex4(s + i + 2, len - i - 2, &u) < 0)
			return len;
		i += 6;
		if (u == 0)
			*has_nul = 1;
		if (u >= 0xd800 && u <= 0xdbff) {
			if (i + 6 <= len && s[i] == '\\' && s[i + 1] == 'u' &&
			    hex4(s + i + 2, len - i - 2, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff)
				i += 6;
			else
				*lone = 1;
		} else if (u >= 0xdc00 && u <= 0xdfff) {
			*lone = 1;
		}
	}
	return i < len ? i + 1 : len;
}

static size_t skip_ws(const char *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	return i;
}

int json_text_scan(const char *body, size_t len, struct json_text_info *info, size_t *bad_at)
{
	size_t i = 0;
	int depth = 0, id_next = 0;

	memset(info, 0, sizeof(*info));
	if (utf8_length(body, len) < 0) {
		*bad_at = (size_t)utf8_clip(body, len, len);
		return -1;
	}
	while (i < len) {
		char c = body[i];
		if (c == '"') {
			size_t start = i, end;
			int nul = 0;
			end = scan_string(body, len, i + 1, &nul, &info->lone_surrogate);
			if (skip_ws(body, len, end) < len && body[skip_ws(body, len, end)] == ':') {
				info->nul_key |= nul;
				id_next = depth == 1 && end - start == 4 && memcmp(body + start, "\"id\"", 4) == 0;
				i = skip_ws(body, len, end) + 1;
				continue;
			}
			if (id_next) {
				info->id = body + start;
				info->id_len = end - start;
			}
			id_next = 0;
			i = end;
		} else if (c == '{' || c == '[') {
			if (id_next)
				info->id = NULL; /* not a string or number: json-c's type check refuses it */
			id_next = 0;
			depth++;
			i++;
		} else if (c == '}' || c == ']') {
			depth--;
			i++;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			size_t start = i;
			while (i < len && strchr("+-.eE0123456789", body[i]) && body[i])
				i++;
			if (id_next) {
				info->id = body + start;
				info->id_len = i - start;
			}
			id_next = 0;
		} else {
			if (c == 't' || c == 'f' || c == 'n')
				id_next = 0;
			i++;
		}
	}
	return 0;
}
