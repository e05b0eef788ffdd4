/*
 * tools.c - the tool table and the machinery it drives: argument validation
 * with messages that name the field and the rule, the tools/list JSON and the
 * README table. Runs in workers; tools_markdown also in the CLI.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "currency.h"
#include "tool_handlers.h"
#include "tools.h"

#define MAX_CENTS 999999999999999LL /* 10^15 - 1 minor units per line */

static const struct arg_spec line_item_fields[] = {
	{ .name = "description", .type = ARG_STRING, .required = 1, .min = 1, .max = 500,
	  .description = "What is billed, 1-500 characters." },
	{ .name = "amount_cents", .type = ARG_INTEGER, .required = 1, .min = 0, .max = MAX_CENTS,
	  .description = "Unit price in minor units of the currency (cents for USD, yen for JPY)." },
	{ .name = "quantity", .type = ARG_INTEGER, .min = 1, .max = 1000000, .has_default = 1,
	  .default_int = 1, .description = "How many units; default 1." },
	{ 0 }
};

static const struct arg_spec create_invoice_args[] = {
	{ .name = "customer_id", .type = ARG_STRING, .required = 1, .min = 1, .max = 64,
	  .charset = CHARS_ID, .description = "Your identifier for the customer, 1-64 of [A-Za-z0-9_.:-]." },
	{ .name = "line_items", .type = ARG_OBJECT_ARRAY, .required = 1, .min = 1, .max = 100,
	  .items = line_item_fields, .description = "1-100 billed lines." },
	{ .name = "due_date", .type = ARG_DATE,
	  .description = "Due date YYYY-MM-DD; default 30 days after today." },
	{ .name = "currency", .type = ARG_CURRENCY, .default_str = "USD",
	  .description = "ISO 4217 code, default USD. Amounts are in its minor units." },
	{ .name = "memo", .type = ARG_STRING, .min = 0, .max = 2000,
	  .description = "Free text shown on the invoice, up to 2000 characters." },
	{ 0 }
};

static const struct arg_spec list_invoices_args[] = {
	{ .name = "customer_id", .type = ARG_STRING, .required = 1, .min = 1, .max = 64,
	  .charset = CHARS_ID, .description = "The customer whose invoices to list." },
	{ .name = "status", .type = ARG_ENUM, .enum_values = "draft sent paid overdue void",
	  .description = "Only invoices in this status; overdue = sent, past due, amount due." },
	{ .name = "limit", .type = ARG_INTEGER, .min = 1, .max = 100, .has_default = 1,
	  .default_int = 20, .description = "Page size 1-100, default 20." },
	{ .name = "cursor", .type = ARG_STRING, .min = 1, .max = 512,
	  .description = "next_cursor from the previous page; omit for the first page." },
	{ 0 }
};

#define TS "{\"type\":\"string\"}"
#define NTS "{\"type\":[\"string\",\"null\"]}"
#define INT "{\"type\":\"integer\"}"
#define INVOICE_PROPS \
	"\"invoice_id\":{\"type\":\"string\",\"format\":\"uuid\"}," \
	"\"invoice_number\":" NTS "," \
	"\"status\":{\"type\":\"string\",\"enum\":[\"draft\",\"sent\",\"paid\",\"overdue\",\"void\"]}," \
	"\"customer_id\":" TS ",\"currency\":" TS "," \
	"\"total_cents\":" INT ",\"amount_paid_cents\":" INT ",\"amount_due_cents\":" INT "," \
	"\"due_date\":" TS ",\"memo\":" NTS ",\"issued_at\":" NTS ",\"created_at\":" TS
#define INVOICE_REQUIRED \
	"\"invoice_id\",\"status\",\"customer_id\",\"currency\",\"total_cents\",\"due_date\",\"created_at\""
#define INVOICE_SCHEMA "{\"type\":\"object\",\"properties\":{" INVOICE_PROPS "},\"required\":[" INVOICE_REQUIRED "]}"

static const struct tool_def tool_table[] = {
	{
		.name = "create_invoice",
		.title = "Create invoice",
		.description = "Create a draft invoice for a customer from line items (unit price in "
		               "minor units times quantity). Returns invoice_id and totals; pass "
		               "invoice_id to the other invoice tools. Use list_invoices to find "
		               "existing invoices before creating a duplicate.",
		.scope = "invoices:write",
		.args = create_invoice_args,
		.output_schema = "{\"type\":\"object\",\"properties\":{" INVOICE_PROPS ","
			"\"line_items\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
			"\"description\":" TS ",\"amount_cents\":" INT ",\"quantity\":" INT ","
			"\"line_total_cents\":" INT "},\"required\":[\"description\",\"amount_cents\","
			"\"quantity\",\"line_total_cents\"]}}},\"required\":[" INVOICE_REQUIRED ",\"line_items\"]}",
		.handler = tool_create_invoice,
	},
	{
		.name = "list_invoices",
		.title = "List invoices",
		.description = "List a customer's invoices, newest first, optionally by status "
		               "(overdue = sent and past due with an amount due). Pages of up to 100; "
		               "pass next_cursor back as cursor for the next page (null at the end).",
		.scope = "invoices:read",
		.read_only = 1,
		.idempotent = 1,
		.args = list_invoices_args,
		.output_schema = "{\"type\":\"object\",\"properties\":{\"invoices\":{\"type\":\"array\","
			"\"items\":" INVOICE_SCHEMA "},\"next_cursor\":" NTS "},"
			"\"required\":[\"invoices\",\"next_cursor\"]}",
		.handler = tool_list_invoices,
	},
};
#define NTOOLS (sizeof(tool_table) / sizeof(tool_table[0]))

size_t tools_count(void)
{
	return NTOOLS;
}

const struct tool_def *tools_at(size_t i)
{
	return i < NTOOLS ? &tool_table[i] : NULL;
}

const struct tool_def *tools_find(const char *name)
{
	for (size_t i = 0; i < NTOOLS; i++)
		if (strcmp(tool_table[i].name, name) == 0)
			return &tool_table[i];
	return NULL;
}

void tool_error_set(struct tool_error *err, const char *code, const char *field,
                    int retryable, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	err->retryable = retryable;
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

/* ---- validation ---- */

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

/* Counts UTF-8 code points; -1 if the bytes are not valid UTF-8. */
static long utf8_length(const char *s, size_t len)
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

static int enum_has(const char *vals, const char *v)
{
	size_t n = strlen(v);
	const char *p = vals;

	if (n == 0)
		return 0;
	while ((p = strstr(p, v)) != NULL) {
		if ((p == vals || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
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
	if (y < 2000 || m < 1 || m > 12 || d < 1)
		return 0;
	return d <= mdays[m - 1] + (m == 2 && is_leap(y));
}

static int charset_ok(enum arg_charset cs, const char *s)
{
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
	                      : "a UUID like 5f0c2a3e-8b1d-4c6e-9f00-1a2b3c4d5e6f";
}

static json_object *validate_object(const struct arg_spec *specs, json_object *obj,
                                    const char *prefix, struct tool_error *err);

/* Validates one value; returns a new reference to the normalized value. */
static json_object *validate_value(const struct arg_spec *sp, json_object *v,
                                   const char *path, struct tool_error *err)
{
	const char *s;
	size_t len;
	long chars;

	switch (sp->type) {
	case ARG_STRING:
	case ARG_ENUM:
	case ARG_DATE:
	case ARG_CURRENCY:
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
		if (sp->type == ARG_ENUM) {
			if (!enum_has(sp->enum_values, s)) {
				tool_error_set(err, "INVALID_INPUT", path, 0, "%s must be one of: %s; got '%.40s'",
				               path, sp->enum_values, s);
				return NULL;
			}
		} else if (sp->type == ARG_DATE) {
			if (!valid_date(s)) {
				tool_error_set(err, "INVALID_INPUT", path, 0,
				               "%s must be a calendar date YYYY-MM-DD from 2000 on, got '%.40s'",
				               path, s);
				return NULL;
			}
		} else if (sp->type == ARG_CURRENCY) {
			if (currency_exponent(s) < 0) {
				tool_error_set(err, "INVALID_INPUT", path, 0,
				               "%s must be an ISO 4217 currency code such as USD, EUR or JPY; "
				               "got '%.40s'", path, s);
				return NULL;
			}
		} else {
			if (chars < sp->min || chars > sp->max) {
				tool_error_set(err, "INVALID_INPUT", path, 0,
				               "%s must be %lld-%lld characters long, got %ld", path,
				               sp->min, sp->max, chars);
				return NULL;
			}
			if (sp->charset && !charset_ok(sp->charset, s)) {
				tool_error_set(err, "INVALID_INPUT", path, 0, "%s must be %s, got '%.70s'",
				               path, charset_rule(sp->charset), s);
				return NULL;
			}
		}
		return json_object_get(v);
	case ARG_INTEGER: {
		long long x;
		if (!json_object_is_type(v, json_type_int)) {
			tool_error_set(err, "INVALID_INPUT", path, 0, "%s must be an integer, got %s",
			               path, json_type_word(v));
			return NULL;
		}
		x = json_object_get_int64(v);
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
	case ARG_OBJECT_ARRAY: {
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
			item = validate_object(sp->items, json_object_array_get_idx(v, i), sub, err);
			if (!item) {
				json_object_put(out);
				return NULL;
			}
			json_object_array_add(out, item);
		}
		return out;
	}
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
			snprintf(path, sizeof(path), "%s%s%.60s", prefix, *prefix ? "." : "", key);
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

json_object *tools_validate(const struct tool_def *def, json_object *raw, struct tool_error *err)
{
	json_object *empty = NULL, *out;

	if (!raw)
		raw = empty = json_object_new_object();
	out = validate_object(def->args, raw, "", err);
	json_object_put(empty);
	return out;
}

/* ---- schemas ---- */

static json_object *schema_of_object(const struct arg_spec *specs);

static json_object *schema_of(const struct arg_spec *sp)
{
	json_object *s = json_object_new_object();

	switch (sp->type) {
	case ARG_STRING:
		json_object_object_add(s, "type", json_object_new_string("string"));
		json_object_object_add(s, "minLength", json_object_new_int64(sp->min));
		json_object_object_add(s, "maxLength", json_object_new_int64(sp->max));
		if (sp->charset == CHARS_ID)
			json_object_object_add(s, "pattern", json_object_new_string("^[A-Za-z0-9_.:-]+$"));
		else if (sp->charset == CHARS_UUID)
			json_object_object_add(s, "format", json_object_new_string("uuid"));
		break;
	case ARG_ENUM: {
		json_object *e = json_object_new_array();
		char buf[256], *save = NULL;
		snprintf(buf, sizeof(buf), "%s", sp->enum_values);
		for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
			json_object_array_add(e, json_object_new_string(t));
		json_object_object_add(s, "type", json_object_new_string("string"));
		json_object_object_add(s, "enum", e);
		break;
	}
	case ARG_DATE:
		json_object_object_add(s, "type", json_object_new_string("string"));
		json_object_object_add(s, "format", json_object_new_string("date"));
		break;
	case ARG_CURRENCY:
		json_object_object_add(s, "type", json_object_new_string("string"));
		json_object_object_add(s, "pattern", json_object_new_string("^[A-Z]{3}$"));
		break;
	case ARG_INTEGER:
		json_object_object_add(s, "type", json_object_new_string("integer"));
		json_object_object_add(s, "minimum", json_object_new_int64(sp->min));
		json_object_object_add(s, "maximum", json_object_new_int64(sp->max));
		if (sp->has_default)
			json_object_object_add(s, "default", json_object_new_int64(sp->default_int));
		break;
	case ARG_OBJECT_ARRAY:
		json_object_object_add(s, "type", json_object_new_string("array"));
		json_object_object_add(s, "minItems", json_object_new_int64(sp->min));
		json_object_object_add(s, "maxItems", json_object_new_int64(sp->max));
		json_object_object_add(s, "items", schema_of_object(sp->items));
		break;
	}
	if (sp->default_str)
		json_object_object_add(s, "default", json_object_new_string(sp->default_str));
	json_object_object_add(s, "description", json_object_new_string(sp->description));
	return s;
}

static json_object *schema_of_object(const struct arg_spec *specs)
{
	json_object *s = json_object_new_object(), *props = json_object_new_object();
	json_object *req = json_object_new_array();

	for (const struct arg_spec *sp = specs; sp->name; sp++) {
		json_object_object_add(props, sp->name, schema_of(sp));
		if (sp->required)
			json_object_array_add(req, json_object_new_string(sp->name));
	}
	json_object_object_add(s, "type", json_object_new_string("object"));
	json_object_object_add(s, "properties", props);
	json_object_object_add(s, "required", req);
	json_object_object_add(s, "additionalProperties", json_object_new_boolean(0));
	return s;
}

json_object *tools_list_json(void)
{
	static json_object *cached;

	if (cached)
		return cached;
	cached = json_object_new_array();
	for (size_t i = 0; i < NTOOLS; i++) {
		const struct tool_def *t = &tool_table[i];
		json_object *o = json_object_new_object(), *ann = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(t->name));
		json_object_object_add(o, "title", json_object_new_string(t->title));
		json_object_object_add(o, "description", json_object_new_string(t->description));
		json_object_object_add(o, "inputSchema", schema_of_object(t->args));
		json_object_object_add(o, "outputSchema", json_tokener_parse(t->output_schema));
		json_object_object_add(ann, "title", json_object_new_string(t->title));
		json_object_object_add(ann, "readOnlyHint", json_object_new_boolean(t->read_only));
		json_object_object_add(ann, "destructiveHint", json_object_new_boolean(t->destructive));
		json_object_object_add(ann, "idempotentHint", json_object_new_boolean(t->idempotent));
		json_object_object_add(ann, "openWorldHint", json_object_new_boolean(0));
		json_object_object_add(o, "annotations", ann);
		json_object_array_add(cached, o);
	}
	return cached;
}

static size_t append_args(char *buf, size_t cap, size_t n, const struct arg_spec *specs,
                          const char *prefix)
{
	for (const struct arg_spec *sp = specs; sp->name && n < cap; sp++) {
		n += (size_t)snprintf(buf + n, cap - n, "%s`%s%s`%s", n && buf[n - 1] != ' ' && buf[n - 1] != '(' ? ", " : "",
		                      prefix, sp->name, sp->required ? "" : "?");
		if (sp->items) {
			char sub[64];
			snprintf(sub, sizeof(sub), "%s[].", sp->name);
			n += (size_t)snprintf(buf + n, cap - n, " (");
			n = append_args(buf, cap, n, sp->items, sub);
			n += (size_t)snprintf(buf + n, cap - n, ")");
		}
	}
	return n;
}

char *tools_markdown(void)
{
	size_t cap = 16384, n = 0;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	n += (size_t)snprintf(buf, cap, "| tool | what it does | scope | arguments (`?` = optional) | hints |\n"
	                                "| --- | --- | --- | --- | --- |\n");
	for (size_t i = 0; i < NTOOLS && n < cap; i++) {
		const struct tool_def *t = &tool_table[i];
		n += (size_t)snprintf(buf + n, cap - n, "| `%s` | %s | `%s` | ", t->name, t->title, t->scope);
		n = append_args(buf, cap, n, t->args, "");
		n += (size_t)snprintf(buf + n, cap - n, " | %s%s%s |\n",
		                      t->read_only ? "read-only" : "writes",
		                      t->destructive ? ", destructive" : "",
		                      t->idempotent ? ", idempotent" : "");
	}
	return buf;
}
