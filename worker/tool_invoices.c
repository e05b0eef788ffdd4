/*
 * tool_invoices.c - handlers for the invoice tools (create, get, list, send,
 * void). Runs in workers: each handler reads validated arguments, checks
 * what only code can check (64-bit totals, cursors) and calls one SQL
 * function (one round trip, one transaction) through tool_run.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cursor.h"
#include "db.h"
#include "strbuf.h"
#include "tool_handlers.h"

int tool_create_invoice(struct tool_call *call, char **result, struct tool_error *err)
{
	json_object *items = NULL, *holder = NULL;
	const char *params[10];
	int64_t total = 0;
	size_t n;
	int rc;

	json_object_object_get_ex(call->args, "line_items", &items);
	n = json_object_array_length(items);
	for (size_t i = 0; i < n; i++) {
		json_object *it = json_object_array_get_idx(items, i);
		int64_t line;
		if (__builtin_mul_overflow(json_get_int(it, "amount_cents"), json_get_int(it, "quantity"), &line) ||
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
	params[1] = call->id->sub;
	params[2] = call->request_id;
	params[3] = json_get_string(call->args, "customer_id");
	params[4] = json_get_string(call->args, "currency");
	params[5] = json_get_string(call->args, "due_date");
	params[6] = json_get_string(call->args, "memo");
	params[7] = json_object_to_json_string_ext(items, JSON_C_TO_STRING_PLAIN);
	params[8] = json_get_string(call->args, "idempotency_key");
	params[9] = tool_args_fingerprint(call->args, &holder);
	rc = tool_run(call, "create_invoice", 10, params, 0, result, err);
	json_object_put(holder);
	return rc;
}

int tool_get_invoice(struct tool_call *call, char **result, struct tool_error *err)
{
	const char *params[2] = { call->id->tenant, json_get_string(call->args, "invoice_id") };

	return tool_run(call, "get_invoice", 2, params, 1, result, err);
}

int tool_send_invoice(struct tool_call *call, char **result, struct tool_error *err)
{
	const char *params[4] = { call->id->tenant, call->id->sub, call->request_id,
	                          json_get_string(call->args, "invoice_id") };

	return tool_run(call, "send_invoice", 4, params, 0, result, err);
}

int tool_void_invoice(struct tool_call *call, char **result, struct tool_error *err)
{
	const char *params[5] = { call->id->tenant, call->id->sub, call->request_id,
	                          json_get_string(call->args, "invoice_id"),
	                          json_get_string(call->args, "reason") };

	return tool_run(call, "void_invoice", 5, params, 0, result, err);
}

/* Splits "position" = "<microseconds>:<uuid>" (list_invoices cursors). */
static int split_position(char *position, const char **ts, const char **id)
{
	char *colon = strchr(position, ':');

	if (!colon || colon == position || strlen(colon + 1) != 36)
		return -1;
	*colon = '\0';
	for (const char *p = position; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	*ts = position;
	*id = colon + 1;
	return 0;
}

int tool_list_invoices(struct tool_call *call, char **result, struct tool_error *err)
{
	const char *customer = json_get_string(call->args, "customer_id");
	const char *status = json_get_string(call->args, "status");
	const char *cursor = json_get_string(call->args, "cursor");
	char scope[512], limit[24], position[CURSOR_POSITION_MAX];
	const char *params[6];
	char *cols[3];
	struct strbuf out;

	snprintf(scope, sizeof(scope), "list_invoices|%s|%s|%s", call->id->tenant, customer,
	         status ? status : "");
	snprintf(limit, sizeof(limit), "%lld", json_get_int(call->args, "limit"));
	params[0] = call->id->tenant;
	params[1] = customer;
	params[2] = status;
	params[3] = limit;
	params[4] = params[5] = NULL;
	if (cursor && (cursor_decode(call->cursor_key, scope, cursor, position) < 0 ||
	               split_position(position, &params[4], &params[5]) < 0)) {
		tool_error_set(err, "INVALID_INPUT", "cursor", 0,
		               "cursor is not a next_cursor from list_invoices with these same "
		               "customer_id and status arguments; omit it to start from the first page");
		return -1;
	}
	/* cols: the invoices array, then the last row's position if more follow. */
	if (db_call_row(call->db, "list_invoices", 6, params, 1, cols, 3, err) < 0)
		return -1;
	strbuf_init(&out, (cols[0] ? strlen(cols[0]) : 2) + 400);
	strbuf_puts(&out, "{\"invoices\":");
	strbuf_puts(&out, cols[0] ? cols[0] : "[]");
	tool_put_next_cursor(&out, call->cursor_key, scope, cols[1], cols[2]);
	strbuf_puts(&out, "}");
	for (int i = 0; i < 3; i++)
		free(cols[i]);
	*result = strbuf_take(&out, NULL);
	return 0;
}
