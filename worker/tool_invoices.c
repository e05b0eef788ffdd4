/*
 * tool_invoices.c - handlers for the invoice tools. Runs in workers: each
 * handler reads validated arguments, checks what only code can check
 * (64-bit totals, cursors), and calls one SQL function through db.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cursor.h"
#include "db.h"
#include "tool_handlers.h"

static const char *arg_str(json_object *args, const char *name)
{
	json_object *v;

	if (!json_object_object_get_ex(args, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static long long arg_int(json_object *args, const char *name)
{
	json_object *v;

	return json_object_object_get_ex(args, name, &v) ? json_object_get_int64(v) : 0;
}

/* Parses the JSON text a SQL function returned; frees text. */
static int take_json(char *text, json_object **out, struct tool_error *err)
{
	*out = json_tokener_parse(text);
	free(text);
	if (!*out) {
		tool_error_set(err, "INTERNAL", NULL, 0, "the database returned malformed JSON");
		return -1;
	}
	return 0;
}

int tool_create_invoice(struct tool_call *call, json_object **result, struct tool_error *err)
{
	json_object *items = NULL;
	const char *params[6];
	int64_t total = 0;
	size_t n;
	char *text = NULL;

	json_object_object_get_ex(call->args, "line_items", &items);
	n = json_object_array_length(items);
	for (size_t i = 0; i < n; i++) {
		json_object *it = json_object_array_get_idx(items, i);
		int64_t line;
		if (__builtin_mul_overflow(arg_int(it, "amount_cents"), arg_int(it, "quantity"), &line) ||
		    __builtin_add_overflow(total, line, &total)) {
			char field[64];
			snprintf(field, sizeof(field), "line_items[%zu]", i);
			tool_error_set(err, "INVALID_INPUT", field, 0,
			               "%s makes the invoice total exceed %" PRId64 " minor units; "
			               "split it into several invoices", field, INT64_MAX);
			return -1;
		}
	}
	params[0] = call->id->tenant;
	params[1] = arg_str(call->args, "customer_id");
	params[2] = arg_str(call->args, "currency");
	params[3] = arg_str(call->args, "due_date");
	params[4] = arg_str(call->args, "memo");
	params[5] = json_object_to_json_string_ext(items, JSON_C_TO_STRING_PLAIN);
	if (db_call_json(call->db, "create_invoice", 6, params, 0, &text, err) < 0)
		return -1;
	return take_json(text, result, err);
}

int tool_list_invoices(struct tool_call *call, json_object **result, struct tool_error *err)
{
	const char *customer = arg_str(call->args, "customer_id");
	const char *status = arg_str(call->args, "status");
	const char *cursor = arg_str(call->args, "cursor");
	char scope[512], limit[24], after_us[24], after_id[64], next[CURSOR_MAX];
	const char *params[6];
	json_object *page, *nextpos, *out;
	char *text = NULL;
	long long ts;

	snprintf(scope, sizeof(scope), "list_invoices|%s|%s|%s", call->id->tenant, customer,
	         status ? status : "");
	snprintf(limit, sizeof(limit), "%lld", arg_int(call->args, "limit"));
	params[0] = call->id->tenant;
	params[1] = customer;
	params[2] = status;
	params[3] = limit;
	params[4] = params[5] = NULL;
	if (cursor) {
		if (cursor_decode(call->cursor_key, scope, cursor, &ts, after_id, sizeof(after_id)) < 0) {
			tool_error_set(err, "INVALID_INPUT", "cursor", 0,
			               "cursor is not a next_cursor from list_invoices with these same "
			               "customer_id and status arguments; omit it to start from the first page");
			return -1;
		}
		snprintf(after_us, sizeof(after_us), "%lld", ts);
		params[4] = after_us;
		params[5] = after_id;
	}
	if (db_call_json(call->db, "list_invoices", 6, params, 1, &text, err) < 0 ||
	    take_json(text, &page, err) < 0)
		return -1;

	out = json_object_new_object();
	json_object_object_add(out, "invoices", json_object_get(json_object_object_get(page, "invoices")));
	nextpos = json_object_object_get(page, "next");
	if (nextpos && json_object_is_type(nextpos, json_type_object)) {
		cursor_encode(call->cursor_key, scope,
		              json_object_get_int64(json_object_object_get(nextpos, "ts")),
		              json_object_get_string(json_object_object_get(nextpos, "id")), next);
		json_object_object_add(out, "next_cursor", json_object_new_string(next));
	} else {
		json_object_object_add(out, "next_cursor", NULL);
	}
	json_object_put(page);
	*result = out;
	return 0;
}
