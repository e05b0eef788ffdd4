/*
 * tool_payments.c - handlers for money received and money owed:
 * apply_payment (row-locked, idempotent) and list_outstanding_balances
 * (aging per customer and currency). Runs in workers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cursor.h"
#include "db.h"
#include "strbuf.h"
#include "tool_handlers.h"

int tool_apply_payment(struct tool_call *call, char **result, struct tool_error *err)
{
	json_object *holder = NULL;
	const char *params[10];
	char amount[24];
	int rc;

	snprintf(amount, sizeof(amount), "%lld", json_get_int(call->args, "amount_cents"));
	params[0] = call->id->tenant;
	params[1] = call->id->sub;
	params[2] = call->request_id;
	params[3] = json_get_string(call->args, "invoice_id");
	params[4] = amount;
	params[5] = json_get_string(call->args, "paid_at");
	params[6] = json_get_string(call->args, "method");
	params[7] = json_get_string(call->args, "reference");
	params[8] = json_get_string(call->args, "idempotency_key");
	params[9] = tool_args_fingerprint(call->args, &holder);
	rc = tool_run(call, "apply_payment", 10, params, 0, result, err);
	json_object_put(holder);
	return rc;
}

int tool_list_outstanding_balances(struct tool_call *call, char **result,
                                   struct tool_error *err)
{
	const char *customer = json_get_string(call->args, "customer_id");
	const char *currency = json_get_string(call->args, "currency");
	const char *as_of = json_get_string(call->args, "as_of");
	const char *cursor = json_get_string(call->args, "cursor");
	char scope[512], limit[24], position[CURSOR_POSITION_MAX];
	const char *params[7];
	char *cols[3];
	struct strbuf out;
	size_t len;

	snprintf(scope, sizeof(scope), "list_outstanding_balances|%s|%s|%s|%s", call->id->tenant,
	         customer ? customer : "", currency ? currency : "", as_of ? as_of : "");
	snprintf(limit, sizeof(limit), "%lld", json_get_int(call->args, "limit"));
	params[0] = call->id->tenant;
	params[1] = customer;
	params[2] = currency;
	params[3] = as_of;
	params[4] = limit;
	params[5] = params[6] = NULL;
	if (cursor) {
		/* position = "<currency>:<customer_id>" */
		if (cursor_decode(call->cursor_key, scope, cursor, position) < 0 ||
		    strlen(position) < 5 || position[3] != ':') {
			tool_error_set(err, "INVALID_INPUT", "cursor", 0,
			               "cursor is not a next_cursor from list_outstanding_balances with these "
			               "same filters; omit it to start from the first page");
			return -1;
		}
		position[3] = '\0';
		params[5] = position + 4;
		params[6] = position;
	}
	/* cols: the page object, then the last row's currency and customer if
	 * more follow. next_cursor is spliced in before the closing brace. */
	if (db_call_row(call->db, "list_outstanding_balances", 7, params, 1, cols, 3, err) < 0)
		return -1;
	len = cols[0] ? strlen(cols[0]) : 0;
	if (len < 2 || cols[0][len - 1] != '}') {
		for (int i = 0; i < 3; i++)
			free(cols[i]);
		tool_error_set(err, "INTERNAL", NULL, 0, "unexpected database result");
		return -1;
	}
	strbuf_init(&out, len + 400);
	strbuf_append(&out, cols[0], len - 1);
	tool_put_next_cursor(&out, call->cursor_key, scope, cols[1], cols[2]);
	strbuf_puts(&out, "}");
	for (int i = 0; i < 3; i++)
		free(cols[i]);
	*result = strbuf_take(&out, NULL);
	return 0;
}
