/*
 * json_text.c - one pass over a JSON text (see json_text.h). Runs in
 * workers, on JSON-RPC bodies and on the decoded parts of bearer tokens.
 * It is a strict RFC 8259 recogniser: whatever json-c's lenient tokener
 * also reads (comments, leading zeros, "1." and "1e", raw control
 * characters in strings, NaN and Infinity, single quotes, trailing commas,
 * True/NULL) is refused with the byte offset and the rule. On the way it
 * notes what json-c's tree cannot show: object keys with \u0000, unpaired
 * surrogate escapes, and the span of the top-level "id" value.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "server/lib/json_text.h"
#include "server/lib/utf8.h"

struct scan {
	const char *s;
	size_t len, i;
	struct json_text_info *info;
};

/* Records the first rule broken, at offset at. */
__attribute__((format(printf, 3, 4)))
static int fail(struct scan *sc, size_t at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sc->info->error, sizeof(sc->info->error), fmt, ap);
	va_end(ap);
	sc->info->error_at = at;
	return -1;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void skip_ws(struct scan *sc)
{
	while (sc->i < sc->len && (sc->s[sc->i] == ' ' || sc->s[sc->i] == '\t' ||
	                           sc->s[sc->i] == '\r' || sc->s[sc->i] == '\n'))
		sc->i++;
}

/* Names what json-c would take but JSON forbids at s[at], where a value,
 * a name or punctuation was expected (expected says which). */
static int unexpected(struct scan *sc, size_t at, const char *expected)
{
	const char *p = sc->s + at;
	size_t left = sc->len - at, word = 0;

	if (at >= sc->len)
		return fail(sc, at, "unexpected end of the JSON text");
	while (word < left && is_alnum(p[word]))
		word++;
	if (*p == '/' && left > 1 && (p[1] == '*' || p[1] == '/'))
		return fail(sc, at, "a comment (/* */ or //) is not JSON");
	if (*p == '\'')
		return fail(sc, at, "strings and names take double quotes, not single quotes");
	if ((word == 3 && strncasecmp(p, "nan", 3) == 0) || (word == 8 && strncasecmp(p, "infinity", 8) == 0))
		return fail(sc, at, "NaN and Infinity are not JSON numbers");
	if ((word == 4 && (strncasecmp(p, "true", 4) == 0 || strncasecmp(p, "null", 4) == 0)) ||
	    (word == 5 && strncasecmp(p, "false", 5) == 0))
		return fail(sc, at, "true, false and null are written in lower case");
	return fail(sc, at, "%s", expected);
}

static int hex4(const char *p, size_t left, unsigned *out)
{
	unsigned v = 0;

	if (left < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (is_digit(c))
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

/* The string whose opening quote is at s[i]; leaves i just past the closing
 * quote and sets *has_nul if it escapes U+0000. */
static int scan_string(struct scan *sc, int *has_nul)
{
	const char *s = sc->s;
	size_t len = sc->len, i = sc->i + 1;

	while (i < len && s[i] != '"') {
		unsigned u, lo;
		if ((unsigned char)s[i] < 0x20)
			return fail(sc, i, "a control character U+%04X must be escaped in a string",
			            (unsigned)(unsigned char)s[i]);
		if (s[i] != '\\') {
			i++;
			continue;
		}
		if (i + 1 >= len) {
			i = len;
			break;
		}
		if (strchr("\"\\/bfnrt", s[i + 1]) && s[i + 1]) {
			i += 2;
			continue;
		}
		if (s[i + 1] != 'u' || hex4(s + i + 2, len - i - 2, &u) < 0)
			return fail(sc, i, "a string escape must be one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX");
		i += 6;
		if (u == 0)
			*has_nul = 1;
		if (u >= 0xd800 && u <= 0xdbff) {
			if (i + 6 <= len && s[i] == '\\' && s[i + 1] == 'u' &&
			    hex4(s + i + 2, len - i - 2, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff)
				i += 6;
			else
				sc->info->lone_surrogate = 1;
		} else if (u >= 0xdc00 && u <= 0xdfff) {
			sc->info->lone_surrogate = 1;
		}
	}
	if (i >= len)
		return fail(sc, sc->i, "a string is not terminated");
	sc->i = i + 1;
	return 0;
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? at s[i]. */
static int scan_number(struct scan *sc)
{
	const char *s = sc->s;
	size_t len = sc->len, i = sc->i;

	if (s[i] == '-')
		i++;
	if (i >= len || !is_digit(s[i]))
		return unexpected(sc, i, "a number needs a digit after '-'");
	if (s[i] == '0' && i + 1 < len && is_digit(s[i + 1]))
		return fail(sc, i, "a number may not have a leading zero");
	while (i < len && is_digit(s[i]))
		i++;
	if (i < len && s[i] == '.') {
		if (++i >= len || !is_digit(s[i]))
			return fail(sc, i, "a number needs a digit after '.'");
		while (i < len && is_digit(s[i]))
			i++;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		if (++i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= len || !is_digit(s[i]))
			return fail(sc, i, "a number needs a digit in the exponent");
		while (i < len && is_digit(s[i]))
			i++;
	}
	sc->i = i;
	return 0;
}

/* true, false or null, exactly, at s[i]. */
static int scan_literal(struct scan *sc)
{
	static const char *const words[] = { "true", "false", "null" };
	size_t left = sc->len - sc->i;

	for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
		size_t n = strlen(words[w]);
		if (left >= n && memcmp(sc->s + sc->i, words[w], n) == 0 &&
		    (left == n || !is_alnum(sc->s[sc->i + n]))) {
			sc->i += n;
			return 0;
		}
	}
	return unexpected(sc, sc->i, "a value was expected");
}

/* One scalar value at s[i] (not an object or array); marks it as the id's
 * span when id is set. */
static int scan_scalar(struct scan *sc, int id)
{
	size_t start = sc->i;
	char c = sc->i < sc->len ? sc->s[sc->i] : '\0';
	int nul = 0, rc;

	if (c == '"')
		rc = scan_string(sc, &nul);
	else if (c == '-' || is_digit(c))
		rc = scan_number(sc);
	else
		return scan_literal(sc);
	if (rc == 0 && id) {
		sc->info->id = sc->s + start;
		sc->info->id_len = sc->i - start;
	}
	return rc;
}

#define MAX_DEPTH 256

int json_text_scan(const char *body, size_t len, struct json_text_info *info)
{
	struct scan sc = { .s = body, .len = len, .info = info };
	char stack[MAX_DEPTH]; /* the open containers: '{' or '[' */
	size_t comma;
	int depth = 0, id = 0;

	memset(info, 0, sizeof(*info));
	if (utf8_length(body, len) < 0)
		return fail(&sc, (size_t)utf8_clip(body, len, len), "the text is not valid UTF-8");
	for (;;) {
		/* A value is expected at sc.i. */
		skip_ws(&sc);
		if (sc.i < len && (body[sc.i] == '{' || body[sc.i] == '[')) {
			if (depth == MAX_DEPTH)
				return fail(&sc, sc.i, "nested deeper than %d levels", MAX_DEPTH);
			if (id)
				info->id = NULL; /* not a string or number: json-c's type check refuses it */
			stack[depth++] = body[sc.i++];
			skip_ws(&sc);
			if (sc.i < len && body[sc.i] == (stack[depth - 1] == '{' ? '}' : ']')) {
				sc.i++;
				depth--;
				goto after_value;
			}
			if (stack[depth - 1] == '[')
				continue;
			goto name;
		}
		if (id)
			info->id = NULL;
		if (scan_scalar(&sc, id) < 0)
			return -1;
after_value:
		id = 0;
		skip_ws(&sc);
		if (depth == 0) {
			if (sc.i < len)
				return unexpected(&sc, sc.i, "only whitespace may follow the JSON value");
			return 0;
		}
		if (sc.i < len && body[sc.i] == (stack[depth - 1] == '{' ? '}' : ']')) {
			sc.i++;
			depth--;
			goto after_value;
		}
		if (sc.i >= len || body[sc.i] != ',')
			return unexpected(&sc, sc.i, stack[depth - 1] == '{' ? "',' or '}' was expected"
			                                                   : "',' or ']' was expected");
		comma = sc.i++;
		skip_ws(&sc);
		if (sc.i < len && (body[sc.i] == '}' || body[sc.i] == ']'))
			return fail(&sc, comma, "a trailing comma before '%c' is not JSON", body[sc.i]);
		if (stack[depth - 1] == '[')
			continue;
name:
		/* A member: "name" ':' value. */
		skip_ws(&sc);
		{
			size_t start = sc.i;
			int nul = 0;
			if (sc.i >= len || body[sc.i] != '"')
				return unexpected(&sc, sc.i, "an object member name in double quotes was expected");
			if (scan_string(&sc, &nul) < 0)
				return -1;
			info->nul_key |= nul;
			id = depth == 1 && sc.i - start == 4 && memcmp(body + start, "\"id\"", 4) == 0;
			skip_ws(&sc);
			if (sc.i >= len || body[sc.i] != ':')
				return unexpected(&sc, sc.i, "':' was expected after an object member name");
			sc.i++;
		}
	}
}
