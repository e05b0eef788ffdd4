/*
 * tool_invoices.c - the logic of the invoice tools beyond their declared
 * statements (tools.c): each prepare checks what only code can check
 * (64-bit line totals, one of two arguments, something to change) and
 * list_invoices' decodes its cursor into the statement's "%after_ts" and
 * "%after_id"; its finish adds the next page's cursor. send_invoice and
 * void_invoice need none. Runs in workers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/auth/auth.h"
#include "server/auth/cursor.h"
#include "worker/tools/tool_handlers.h"

/* The lines' gross total (unit price times quantity) must stay within one
 * invoice's limit; tax and discounts are checked by the database. */
static int check_line_totals(json_object *items, struct tool_error *err)
{
	int64_t total = 0;
	size_t n = json_object_array_length(items);

	for (size_t i = 0; i < n; i++) {
		json_object *it = json_object_array_get_idx(items, i);
		int64_t line;
		if (__builtin_mul_overflow(json_get_int(it, "amount_cents"), json_get_int(it, "quantity"), &line) ||
		    __builtin_add_overflow(total, line, &total) || total > TOOL_MAX_INVOICE_CENTS) {
			char field[64];
			snprintf(field, sizeof(field), "line_items[%zu]", i);
			tool_error_set(err, "INVALID_INPUT", field, 0,
			               "%s makes the invoice total exceed %lld minor units (the most one "
			               "invoice may total); split it into several invoices", field,
			               TOOL_MAX_INVOICE_CENTS);
			return -1;
		}
	}
	return 0;
}

int tool_create_invoice(struct tool_call *call, struct tool_error *err)
{
	json_object *items = NULL;

	json_object_object_get_ex(call->args, "line_items", &items);
	return check_line_totals(items, err);
}

int tool_update_invoice(struct tool_call *call, struct tool_error *err)
{
	json_object *items = NULL;

	json_object_object_get_ex(call->args, "line_items", &items);

	if (json_object_object_length(call->args) < 2) {
		tool_error_set(err, "INVALID_INPUT", NULL, 0,
		               "nothing to change: give line_items, due_date, memo, currency, customer_id, "
		               "buyer_reference, purchase_order, delivery_date or payment_terms");
		return -1;
	}
	return items ? check_line_totals(items, err) : 0;
}

int tool_get_invoice(struct tool_call *call, struct tool_error *err)
{
	const char *id = json_get_string(call->args, "invoice_id");
	const char *number = json_get_string(call->args, "number");

	if (!id == !number) {
		tool_error_set(err, "INVALID_INPUT", id ? "number" : "invoice_id", 0,
		               "give exactly one of invoice_id (a UUID) or number (e.g. INV-000005)");
		return -1;
	}
	return 0;
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

int tool_list_invoices(struct tool_call *call, struct tool_error *err)
{
	const char *cursor = json_get_string(call->args, "cursor");
	const char *ts, *id;

	/* The filters: the statement's "@except limit cursor" parameter. */
	snprintf(call->scope, sizeof(call->scope), "list_invoices|%s|%s", call->id->tenant,
	         tool_args_except(call, "limit cursor"));
	if (!cursor)
		return 0;
	if (cursor_decode(call->cursor_key, call->scope, cursor, call->position) < 0 ||
	    split_position(call->position, &ts, &id) < 0) {
		tool_error_set(err, "INVALID_INPUT", "cursor", 0,
		               "cursor is not a next_cursor from list_invoices with these same "
		               "filters and sort; omit it to start from the first page");
		return -1;
	}
	tool_call_set(call, "%after_ts", ts);
	tool_call_set(call, "%after_id", id);
	return 0;
}

/* cols: the invoices array, then the last row's position if more follow. */
int tool_list_invoices_finish(struct tool_call *call, char *const *cols, char **result,
                              struct tool_error *err)
{
	(void)err;
	*result = tool_page_result(call, "invoices", cols[0], cols[1], cols[2]);
	return 0;
}
