/*
 * textclip.c - grapheme-safe truncation (see textclip.h). Runs in the
 * renderer on document text from a worker; pango's break analysis
 * (Unicode UAX #29 cursor positions) decides where a cut may fall.
 */
#include <pango/pango.h>
#include <string.h>

#include "render/textclip.h"

#define ELLIPSIS "\xe2\x80\xa6"
/* Past the budget, enough text that the cluster being cut is analysed whole. */
#define LOOKAHEAD 256

/* The largest grapheme boundary of s[0..len) (valid UTF-8) at most max. */
static size_t grapheme_prefix(const char *s, size_t len, size_t max)
{
	const char *end = s + (len < max + LOOKAHEAD ? len : max + LOOKAHEAD);
	PangoLogAttr *attrs;
	size_t best = 0;
	const char *c = s;
	long nchars, i;

	if (end < s + len)
		end = g_utf8_find_prev_char(s, end + 1);
	nchars = g_utf8_strlen(s, end - s);
	attrs = g_new(PangoLogAttr, nchars + 1);
	pango_get_log_attrs(s, (int)(end - s), -1, pango_language_from_string("und"), attrs, (int)nchars + 1);
	for (i = 0; i <= nchars && (size_t)(c - s) <= max; i++) {
		if (attrs[i].is_cursor_position)
			best = (size_t)(c - s);
		if (i < nchars)
			c = g_utf8_next_char(c);
	}
	g_free(attrs);
	return best;
}

void textclip_copy(char *dst, size_t cap, const char *src)
{
	size_t len = strlen(src), budget, keep;
	const char *valid_end;
	int valid = g_utf8_validate(src, (gssize)len, &valid_end);

	if (valid && len < cap) {
		memcpy(dst, src, len + 1);
		return;
	}
	if (cap <= sizeof(ELLIPSIS)) {
		dst[0] = '\0';
		return;
	}
	budget = cap - sizeof(ELLIPSIS);
	keep = grapheme_prefix(src, (size_t)(valid_end - src), budget);
	memcpy(dst, src, keep);
	memcpy(dst + keep, ELLIPSIS, sizeof(ELLIPSIS));
}
