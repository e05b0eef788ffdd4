/*
 * tool_call.c - what a tool handler does with its call (see tools.h): the
 * arguments as the idempotency fingerprint, timestamps, the finished
 * result, list pages and their next cursor. Runs in workers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/lib/log.h"
#include "server/lib/strbuf.h"
#include "server/lib/utf8.h"
#include "server/lib/words.h"
#include "worker/tools/codes.h"
#include "worker/tools/tool_handlers.h"
#include "worker/tools/tools.h"

const char *tool_args_except(struct tool_call *call, const char *skip)
{
	json_object *kept = json_object_new_object();

	if (!call->holder)
		call->holder = json_object_new_array();
	json_object_array_add(call->holder, kept);
	json_object_object_foreach(call->args, key, val) {
		if (!words_contain(skip, key))
			json_object_object_add(kept, key, json_object_get(val));
	}
	return json_object_to_json_string_ext(kept, JSON_C_TO_STRING_PLAIN);
}

int tool_arg_alias(struct tool_call *call, const char *preferred, const char *alias, const char **value,
                   struct tool_error *err)
{
	const char *a = json_get_string(call->args, preferred), *b = json_get_string(call->args, alias);

	if (a && b && strcmp(a, b) != 0) {
		tool_error_set(err, "INVALID_INPUT", alias, 0,
		               "%s is an alias of %s (one field): give one of them, or both with the same value",
		               alias, preferred);
		return -1;
	}
	*value = a ? a : b;
	return 0;
}

int tool_vat_id_in_country(struct tool_call *call, const char *vat_id, struct tool_error *err)
{
	json_object *address;
	const char *country, *prefix;

	if (!vat_id || !json_object_object_get_ex(call->args, "address", &address) ||
	    !(country = json_get_string(address, "country_code")))
		return 0;
	prefix = codes_vat_prefix(country);
	/* Northern Ireland's traders carry XI (Windsor Framework). */
	if (strncmp(vat_id, prefix, 2) == 0 || (strcmp(country, "GB") == 0 && strncmp(vat_id, "XI", 2) == 0))
		return 0;
	tool_error_set(err, "INVALID_INPUT", json_get_string(call->args, "vat_id") ? "vat_id" : "tax_id", 0,
	               "%s must start with %s, the VAT prefix of address.country_code %s (EN 16931 "
	               "BR-CO-09%s), got '%.*s'", json_get_string(call->args, "vat_id") ? "vat_id" : "tax_id",
	               prefix, country, strcmp(prefix, country) ? ": Greece uses EL" : "",
	               (int)utf8_clip(vat_id, strlen(vat_id), 40), vat_id);
	return -1;
}

const char *tool_args_fingerprint(struct tool_call *call)
{
	return tool_args_except(call, "idempotency_key");
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static long long days_from_civil(long long y, long long m, long long d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

long long tool_timestamp_epoch(const char *s)
{
	long long t = days_from_civil(atoi(s), atoi(s + 5), atoi(s + 8)) * 86400 +
	              atoi(s + 11) * 3600 + atoi(s + 14) * 60 + atoi(s + 17);
	const char *zone = s + 19;

	if (*zone == '.')
		while (*++zone >= '0' && *zone <= '9')
			;
	if (*zone == '+' || *zone == '-') {
		long long off = atoi(zone + 1) * 3600 + atoi(zone + 4) * 60;
		t += *zone == '+' ? -off : off;
	}
	return t;
}

void tool_call_cleanup(struct tool_call *call)
{
	json_object_put(call->holder);
	call->holder = NULL;
	free(call->embed);
	call->embed = NULL;
}

int tool_finish(const struct tool_def *def, struct tool_call *call, char *const *cols,
                char **result, struct tool_error *err)
{
	if (def->finish)
		return def->finish(call, cols, result, err);
	if (!cols[0]) {
		tool_error_set(err, "INTERNAL", NULL, 0, "the database returned no value");
		return -1;
	}
	if (!(*result = strdup(cols[0])))
		fatal("out of memory");
	return 0;
}

char *tool_page_result(struct tool_call *call, const char *key, const char *items,
                       const char *a, const char *b)
{
	struct strbuf out;

	strbuf_init(&out, (items ? strlen(items) : 2) + 400);
	strbuf_puts(&out, "{\"");
	strbuf_puts(&out, key);
	strbuf_puts(&out, "\":");
	strbuf_puts(&out, items ? items : "[]");
	tool_put_next_cursor(&out, call->cursor_key, call->scope, a, b);
	strbuf_puts(&out, "}");
	return strbuf_take(&out, NULL);
}

void tool_put_next_cursor(struct strbuf *out, const struct cursor_key *ck, const char *scope,
                          const char *a, const char *b)
{
	char position[CURSOR_POSITION_MAX], cursor[CURSOR_MAX + 1];

	strbuf_puts(out, ",\"next_cursor\":");
	if (!a || !b) {
		strbuf_puts(out, "null");
		return;
	}
	snprintf(position, sizeof(position), "%s:%s", a, b);
	cursor_encode(ck, scope, position, cursor);
	strbuf_json_string(out, cursor, strlen(cursor));
}
