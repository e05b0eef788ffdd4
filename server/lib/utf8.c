/*
 * utf8.c - strict UTF-8 checks and boundary-safe truncation (see utf8.h).
 * Pure functions; run in workers on untrusted text.
 */
#include "server/lib/utf8.h"

/* Counts UTF-8 code points; -1 if the bytes are not valid UTF-8. */
long utf8_length(const char *s, size_t len)
{
	long count = 0;
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t n;
		unsigned cp;
		if (c < 0x80) {
			n = 1;
			cp = c;
		} else if ((c & 0xe0) == 0xc0) {
			n = 2;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 3;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 4;
			cp = c & 0x07;
		} else {
			return -1;
		}
		if (i + n > len)
			return -1;
		for (size_t k = 1; k < n; k++) {
			if (((unsigned char)s[i + k] & 0xc0) != 0x80)
				return -1;
			cp = cp << 6 | ((unsigned char)s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		i += n;
		count++;
	}
	return count;
}

int utf8_clip(const char *s, size_t len, size_t max)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
		         : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (n == 0 || c == 0 || i + n > max || i + n > len || utf8_length(s + i, n) != 1)
			break;
		i += n;
	}
	return (int)i;
}
