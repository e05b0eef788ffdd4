/*
 * tool_payments.c - the logic beyond their declared statements (tools.c)
 * of money received and money owed: apply_payment's paid_at not in the
 * future beyond the clock leeway, list_outstanding_balances' cursor
 * (decoded into "%after_currency" and "%after_customer") and its next
 * page. Runs in workers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/auth/auth.h"
#include "server/auth/cursor.h"
#include "server/lib/strbuf.h"
#include "server/proc/config.h"
#include "worker/tools/tool_handlers.h"

int tool_apply_payment(struct tool_call *call, struct tool_error *err)
{
	const char *paid_at = json_get_string(call->args, "paid_at");
	long long leeway = call->cfg ? call->cfg->jwt_leeway_s : 30;

	if (paid_at && tool_timestamp_epoch(paid_at) > (long long)time(NULL) + leeway) {
		tool_error_set(err, "INVALID_INPUT", "paid_at", 0,
		               "paid_at must not be in the future (beyond %llds of clock leeway), got '%s'; "
		               "record a payment when the money has arrived", leeway, paid_at);
		return -1;
	}
	return 0;
}

int tool_list_outstanding_balances(struct tool_call *call, struct tool_error *err)
{
	const char *customer = json_get_string(call->args, "customer_id");
	const char *currency = json_get_string(call->args, "currency");
	const char *as_of = json_get_string(call->args, "as_of");
	const char *cursor = json_get_string(call->args, "cursor");
	char *position = call->position;

	snprintf(call->scope, sizeof(call->scope), "list_outstanding_balances|%s|%s|%s|%s",
	         call->id->tenant, customer ? customer : "", currency ? currency : "", as_of ? as_of : "");
	if (cursor) {
		/* position = "<currency>:<customer_id>" */
		if (cursor_decode(call->cursor_key, call->scope, cursor, position) < 0 ||
		    strlen(position) < 5 || position[3] != ':') {
			tool_error_set(err, "INVALID_INPUT", "cursor", 0,
			               "cursor is not a next_cursor from list_outstanding_balances with these "
			               "same filters; omit it to start from the first page");
			return -1;
		}
		position[3] = '\0';
		tool_call_set(call, "%after_customer", position + 4);
		tool_call_set(call, "%after_currency", position);
	}
	return 0;
}

/* cols: the page object, then the last row's currency and customer if more
 * follow. next_cursor is spliced in before the closing brace. */
int tool_list_outstanding_balances_finish(struct tool_call *call, char *const *cols, char **result,
                                          struct tool_error *err)
{
	size_t len = cols[0] ? strlen(cols[0]) : 0;
	struct strbuf out;

	if (len < 2 || cols[0][len - 1] != '}') {
		tool_error_set(err, "INTERNAL", NULL, 0, "unexpected database result");
		return -1;
	}
	strbuf_init(&out, len + 400);
	strbuf_append(&out, cols[0], len - 1);
	tool_put_next_cursor(&out, call->cursor_key, call->scope, cols[1], cols[2]);
	strbuf_puts(&out, "}");
	*result = strbuf_take(&out, NULL);
	return 0;
}
