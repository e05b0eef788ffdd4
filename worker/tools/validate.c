/*
 * validate.c - argument validation driven by the tool table's argument
 * specs (see tools.h): every refusal names the field (a JSON path) and the
 * rule it broke, and what the agent sent. Runs in workers.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "server/lib/currency.h"
#include "server/lib/utf8.h"
#include "server/lib/words.h"
#include "worker/tools/tools.h"

static const char *json_type_word(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null: return "null";
	case json_type_boolean: return "boolean";
	case json_type_double: return "a number with a fraction";
	case json_type_int: return "an integer";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "unknown";
}

static int enum_has(const char *vals, const char *v)
{
	return *v && words_contain(vals, v);
}

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int valid_date(const char *s)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return 0;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	/* 9998 at most, so that no offset moves a timestamp past year 9999. */
	if (y < 2000 || y > 9998 || m < 1 || m > 12 || d < 1)
		return 0;
	return d <= mdays[m - 1] + (m == 2 && is_leap(y));
}

/* RFC 3339: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM). */
static int valid_timestamp(const char *s)
{
	char date[11];
	size_t i = 19;

	if (strlen(s) < 20 || (s[10] != 'T' && s[10] != 't'))
		return 0;
	memcpy(date, s, 10);
	date[10] = '\0';
	if (!valid_date(date))
		return 0;
	if (s[13] != ':' || s[16] != ':')
		return 0;
	for (int k = 11; k < 19; k++)
		if (k != 13 && k != 16 && (s[k] < '0' || s[k] > '9'))
			return 0;
	if (atoi(s + 11) > 23 || atoi(s + 14) > 59 || atoi(s + 17) > 59)
		return 0;
	if (s[i] == '.') {
		size_t start = ++i;
		while (s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start || i - start > 9)
			return 0;
	}
	if ((s[i] == 'Z' || s[i] == 'z') && s[i + 1] == '\0')
		return 1;
	if ((s[i] == '+' || s[i] == '-') && strlen(s + i) == 6 && s[i + 3] == ':' &&
	    s[i + 1] >= '0' && s[i + 1] <= '9' && s[i + 2] >= '0' && s[i + 2] <= '9' &&
	    s[i + 4] >= '0' && s[i + 4] <= '9' && s[i + 5] >= '0' && s[i + 5] <= '9')
		/* Real offsets run from -12:00 to +14:00 (PostgreSQL refuses
		 * beyond 15:59): at most 14:00 either way. */
		return atoi(s + i + 4) <= 59 && atoi(s + i + 1) * 60 + atoi(s + i + 4) <= 14 * 60;
	return 0;
}

static int valid_email(const char *s)
{
	const char *at = strchr(s, '@');

	if (!at || at == s || strchr(at + 1, '@') || !strchr(at + 1, '.') || at[1] == '.' ||
	    s[strlen(s) - 1] == '.')
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f || strchr("<>()[],;\\\"", *s))
			return 0;
	return 1;
}

static int charset_ok(enum arg_charset cs, const char *s)
{
	if (cs == CHARS_EMAIL)
		return valid_email(s);
	if (cs == CHARS_ID) {
		for (; *s; s++)
			if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			      (*s >= '0' && *s <= '9') || strchr("_.:-", *s)))
				return 0;
	} else if (cs == CHARS_UUID) {
		if (strlen(s) != 36)
			return 0;
		for (int i = 0; i < 36; i++) {
			char c = s[i];
			if (i == 8 || i == 13 || i == 18 || i == 23) {
				if (c != '-')
					return 0;
			} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			             (c >= 'A' && c <= 'F'))) {
				return 0;
			}
		}
	}
	return 1;
}

static const char *charset_rule(enum arg_charset cs)
{
	return cs == CHARS_ID ? "only the characters [A-Za-z0-9_.:-]"
	     : cs == CHARS_EMAIL ? "an e-mail address like billing@example.com"
	                         : "a UUID like 5f0c2a3e-8b1d-4c6e-9f00-1a2b3c4d5e6f";
}

static json_object *validate_object(const struct arg_spec *specs, json_object *obj,
                                    const char *prefix, struct tool_error *err);

/* A string's own rule for its kind (enum, date, timestamp, currency,
 * or length and characters): 0, or -1 with err set. */
static int check_string(const struct arg_spec *sp, const char *s, size_t len, long chars,
                        const char *path, struct tool_error *err)
{
	switch (sp->type) {
	case ARG_ENUM:
		if (enum_has(sp->enum_values, s))
			return 0;
		tool_error_set(err, "INVALID_INPUT", path, 0, "%s must be one of: %s; got '%.*s'",
		               path, sp->enum_values, utf8_clip(s, len, 40), s);
		return -1;
	case ARG_DATE:
		if (valid_date(s))
			return 0;
		tool_error_set(err, "INVALID_INPUT", path, 0,
		               "%s must be a calendar date YYYY-MM-DD from 2000-01-01 to 9998-12-31, got '%.*s'",
		               path, utf8_clip(s, len, 40), s);
		return -1;
	case ARG_TIMESTAMP:
		if (valid_timestamp(s))
			return 0;
		tool_error_set(err, "INVALID_INPUT", path, 0,
		               "%s must be an RFC 3339 timestamp such as 2026-03-01T12:00:00Z "
		               "(years 2000 to 9998, with Z or an offset of at most +/-14:00); got '%.*s'", path,
		               utf8_clip(s, len, 40), s);
		return -1;
	case ARG_CURRENCY:
		if (currency_exponent(s) >= 0)
			return 0;
		tool_error_set(err, "INVALID_INPUT", path, 0,
		               "%s must be an ISO 4217 currency code such as USD, EUR or JPY; "
		               "got '%.*s'", path, utf8_clip(s, len, 40), s);
		return -1;
	default:
		break;
	}
	if (chars < sp->min || chars > sp->max) {
		tool_error_set(err, "INVALID_INPUT", path, 0, "%s must be %lld-%lld characters long, got %ld",
		               path, sp->min, sp->max, chars);
		return -1;
	}
	if (sp->check && sp->check(s)) {
		tool_error_set(err, "INVALID_INPUT", path, 0, "%s must be %s; got '%.*s'",
		               path, sp->check(s), utf8_clip(s, len, 40), s);
		return -1;
	}
	if (sp->charset && !charset_ok(sp->charset, s)) {
		tool_error_set(err, "INVALID_INPUT", path, 0, "%s must be %s, got '%.*s'%s",
		               path, charset_rule(sp->charset), utf8_clip(s, len, 70), s,
		               sp->charset == CHARS_UUID && strncmp(s, "INV-", 4) == 0
		               ? "; an invoice number goes in number (get_invoice, list_invoices)" : "");
		return -1;
	}
	return 0;
}

/* Strings of every kind: a JSON string, no NUL, valid UTF-8, its rule. */
static json_object *validate_string(const struct arg_spec *sp, json_object *v, const char *path,
                                    struct tool_error *err)
{
	const char *s;
	size_t len;
	long chars;

	if (!json_object_is_type(v, json_type_string)) {
		tool_error_set(err, "INVALID_INPUT", path, 0, "%s must be a string, got %s",
		               path, json_type_word(v));
		return NULL;
	}
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (strlen(s) != len) {
		tool_error_set(err, "INVALID_INPUT", path, 0, "%s must not contain NUL characters", path);
		return NULL;
	}
	chars = utf8_length(s, len);
	if (chars < 0) {
		tool_error_set(err, "INVALID_INPUT", path, 0, "%s is not valid UTF-8", path);
		return NULL;
	}
	return check_string(sp, s, len, chars, path, err) == 0 ? json_object_get(v) : NULL;
}

static json_object *validate_integer(const struct arg_spec *sp, json_object *v, const char *path,
                                     struct tool_error *err)
{
	long long x;

	/* JSON Schema 2020-12 counts 100.0 as an integer: a number with a
	 * zero fraction, within the range, is accepted as one. */
	if (json_object_is_type(v, json_type_double)) {
		double d = json_object_get_double(v);
		if (d != floor(d) || d < -9.0e15 || d > 9.0e15) {
			tool_error_set(err, "INVALID_INPUT", path, 0, "%s must be an integer, got %s",
			               path, json_type_word(v));
			return NULL;
		}
		x = (long long)d;
	} else if (json_object_is_type(v, json_type_int)) {
		x = json_object_get_int64(v);
	} else {
		tool_error_set(err, "INVALID_INPUT", path, 0, "%s must be an integer, got %s",
		               path, json_type_word(v));
		return NULL;
	}
	/* json-c saturates out-of-range literals; a saturated value is out of
	 * every range we accept, so the bound checks below catch it. */
	if (x < sp->min) {
		tool_error_set(err, "INVALID_INPUT", path, 0, "%s must be an integer >= %lld, got %lld",
		               path, sp->min, x);
		return NULL;
	}
	if (x > sp->max) {
		tool_error_set(err, "INVALID_INPUT", path, 0, "%s must be an integer <= %lld, got %lld",
		               path, sp->max, x);
		return NULL;
	}
	return json_object_new_int64(x);
}

static json_object *validate_value(const struct arg_spec *sp, json_object *v,
                                   const char *path, struct tool_error *err);

/* An array of min-max items: objects of the fields sp->items
 * (ARG_OBJECT_ARRAY) or values of the one spec sp->items (ARG_ARRAY). */
static json_object *validate_object_array(const struct arg_spec *sp, json_object *v, const char *path,
                                          struct tool_error *err)
{
	json_object *out;
	size_t n;

	if (!json_object_is_type(v, json_type_array)) {
		tool_error_set(err, "INVALID_INPUT", path, 0, "%s must be an array, got %s",
		               path, json_type_word(v));
		return NULL;
	}
	n = json_object_array_length(v);
	if ((long long)n < sp->min || (long long)n > sp->max) {
		tool_error_set(err, "INVALID_INPUT", path, 0, "%s must have %lld-%lld items, got %zu",
		               path, sp->min, sp->max, n);
		return NULL;
	}
	out = json_object_new_array_ext((int)n);
	for (size_t i = 0; i < n; i++) {
		char sub[192];
		json_object *item;
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		item = sp->type == ARG_ARRAY ? validate_value(sp->items, json_object_array_get_idx(v, i), sub, err)
		                             : validate_object(sp->items, json_object_array_get_idx(v, i), sub, err);
		if (!item) {
			json_object_put(out);
			return NULL;
		}
		json_object_array_add(out, item);
	}
	return out;
}

/* Validates one value; returns a new reference to the normalized value. */
static json_object *validate_value(const struct arg_spec *sp, json_object *v,
                                   const char *path, struct tool_error *err)
{
	switch (sp->type) {
	case ARG_STRING:
	case ARG_ENUM:
	case ARG_DATE:
	case ARG_TIMESTAMP:
	case ARG_CURRENCY:
		return validate_string(sp, v, path, err);
	case ARG_INTEGER:
		return validate_integer(sp, v, path, err);
	case ARG_BOOLEAN:
		if (!json_object_is_type(v, json_type_boolean)) {
			tool_error_set(err, "INVALID_INPUT", path, 0, "%s must be true or false, got %s",
			               path, json_type_word(v));
			return NULL;
		}
		return json_object_get(v);
	case ARG_OBJECT_ARRAY:
	case ARG_ARRAY:
		return validate_object_array(sp, v, path, err);
	case ARG_OBJECT:
		if (sp->or_string && json_object_is_type(v, json_type_string))
			return validate_string(sp, v, path, err);
		if (!json_object_is_type(v, json_type_object)) {
			tool_error_set(err, "INVALID_INPUT", path, 0, "%s must be %s, got %s", path,
			               sp->or_string ? "a string or an object" : "an object", json_type_word(v));
			return NULL;
		}
		return validate_object(sp->items, v, path, err);
	}
	return NULL;
}

static json_object *validate_object(const struct arg_spec *specs, json_object *obj,
                                    const char *prefix, struct tool_error *err)
{
	json_object *out;
	char path[160];

	if (!json_object_is_type(obj, json_type_object)) {
		tool_error_set(err, "INVALID_INPUT", prefix, 0, "%s must be an object, got %s",
		               *prefix ? prefix : "arguments", json_type_word(obj));
		return NULL;
	}
	json_object_object_foreach(obj, key, val) {
		const struct arg_spec *sp;
		(void)val;
		for (sp = specs; sp->name; sp++)
			if (strcmp(sp->name, key) == 0)
				break;
		if (!sp->name) {
			char names[400] = "";
			size_t n = 0;
			for (sp = specs; sp->name && n < sizeof(names); sp++)
				n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", n ? ", " : "", sp->name);
			snprintf(path, sizeof(path), "%s%s%.*s", prefix, *prefix ? "." : "", utf8_clip(key, strlen(key), 60), key);
			tool_error_set(err, "INVALID_INPUT", path, 0,
			               "%s is not a known argument; expected: %s", path, names);
			return NULL;
		}
	}
	out = json_object_new_object();
	for (const struct arg_spec *sp = specs; sp->name; sp++) {
		json_object *v = NULL, *norm;
		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", sp->name);
		if (!json_object_object_get_ex(obj, sp->name, &v) || json_object_is_type(v, json_type_null)) {
			if (sp->required) {
				tool_error_set(err, "INVALID_INPUT", path, 0, "%s is required", path);
				json_object_put(out);
				return NULL;
			}
			if (sp->has_default)
				json_object_object_add(out, sp->name, json_object_new_int64(sp->default_int));
			else if (sp->default_str)
				json_object_object_add(out, sp->name, json_object_new_string(sp->default_str));
			continue;
		}
		norm = validate_value(sp, v, path, err);
		if (!norm) {
			json_object_put(out);
			return NULL;
		}
		json_object_object_add(out, sp->name, norm);
	}
	return out;
}

json_object *tools_validate_args(const struct arg_spec *specs, json_object *raw, struct tool_error *err)
{
	json_object *empty = NULL, *out;

	if (!raw)
		raw = empty = json_object_new_object();
	out = validate_object(specs, raw, "", err);
	json_object_put(empty);
	return out;
}

json_object *tools_validate(const struct tool_def *def, json_object *raw, struct tool_error *err)
{
	return tools_validate_args(def->args, raw, err);
}
