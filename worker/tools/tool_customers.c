/*
 * tool_customers.c - the logic of the customer tools beyond their
 * declared statements (tools.c): upsert_customer's VAT id (alias and
 * country prefix), list_customers' cursor and its next page. Runs in
 * workers.
 */
#include <stdio.h>
#include <string.h>

#include "server/auth/auth.h"
#include "server/auth/cursor.h"
#include "worker/tools/tool_handlers.h"

int tool_upsert_customer(struct tool_call *call, struct tool_error *err)
{
	const char *vat_id;

	return tool_arg_alias(call, "vat_id", "tax_id", &vat_id, err) < 0 ||
	       tool_vat_id_in_country(call, vat_id, err) < 0 ? -1 : 0;
}

int tool_list_customers(struct tool_call *call, struct tool_error *err)
{
	const char *query = json_get_string(call->args, "query");
	const char *cursor = json_get_string(call->args, "cursor");

	snprintf(call->scope, sizeof(call->scope), "list_customers|%s|%s", call->id->tenant,
	         query ? query : "");
	if (cursor) {
		/* position = "c:<customer_id>" */
		if (cursor_decode(call->cursor_key, call->scope, cursor, call->position) < 0 ||
		    strncmp(call->position, "c:", 2) != 0 || !call->position[2]) {
			tool_error_set(err, "INVALID_INPUT", "cursor", 0,
			               "cursor is not a next_cursor from list_customers with this same "
			               "query; omit it to start from the first page");
			return -1;
		}
		tool_call_set(call, "%after_id", call->position + 2);
	}
	return 0;
}

/* cols: the customers array, then the last row's customer_id if more follow. */
int tool_list_customers_finish(struct tool_call *call, char *const *cols, char **result,
                               struct tool_error *err)
{
	(void)err;
	*result = tool_page_result(call, "customers", cols[0], cols[1] ? "c" : NULL, cols[1]);
	return 0;
}
