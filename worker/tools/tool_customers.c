/*
 * tool_customers.c - queries for customers and tenant settings:
 * upsert_customer, get_customer, list_customers (search with balances),
 * upsert_tax_rate and list_tax_rates. Runs in workers.
 */
#include <stdio.h>
#include <string.h>

#include "server/auth/auth.h"
#include "server/auth/cursor.h"
#include "worker/tools/tool_handlers.h"

int tool_upsert_customer(struct tool_call *call, struct tool_query *q, struct tool_error *err)
{
	const char *vat_id;

	if (tool_arg_alias(call, "vat_id", "tax_id", &vat_id, err) < 0 ||
	    tool_vat_id_in_country(call, vat_id, err) < 0)
		return -1;
	/* The address as text, or (an object) among the e-invoice fields. */
	*q = (struct tool_query){ .stmt = "upsert_customer", .nparams = 9, .ncols = 1, .params = {
		call->id->tenant, call->id->sub, call->request_id, json_get_string(call->args, "customer_id"),
		json_get_string(call->args, "name"), json_get_string(call->args, "email"),
		json_get_string(call->args, "address"), vat_id,
		tool_args_except(call, "customer_id name email vat_id tax_id") } };
	return 0;
}

int tool_get_customer(struct tool_call *call, struct tool_query *q, struct tool_error *err)
{
	(void)err;
	*q = (struct tool_query){ .stmt = "get_customer", .nparams = 2, .read_only = 1, .ncols = 1,
	                          .params = { call->id->tenant, json_get_string(call->args, "customer_id") } };
	return 0;
}

int tool_list_customers(struct tool_call *call, struct tool_query *q, struct tool_error *err)
{
	const char *query = json_get_string(call->args, "query");
	const char *cursor = json_get_string(call->args, "cursor");

	snprintf(call->scope, sizeof(call->scope), "list_customers|%s|%s", call->id->tenant,
	         query ? query : "");
	snprintf(call->num[0], sizeof(call->num[0]), "%lld", json_get_int(call->args, "limit"));
	*q = (struct tool_query){ .stmt = "list_customers", .nparams = 4, .read_only = 1, .ncols = 2,
	                          .params = { call->id->tenant, query, call->num[0] } };
	if (cursor) {
		/* position = "c:<customer_id>" */
		if (cursor_decode(call->cursor_key, call->scope, cursor, call->position) < 0 ||
		    strncmp(call->position, "c:", 2) != 0 || !call->position[2]) {
			tool_error_set(err, "INVALID_INPUT", "cursor", 0,
			               "cursor is not a next_cursor from list_customers with this same "
			               "query; omit it to start from the first page");
			return -1;
		}
		q->params[3] = call->position + 2;
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

int tool_upsert_tax_rate(struct tool_call *call, struct tool_query *q, struct tool_error *err)
{
	json_object *inclusive = NULL;

	(void)err;
	json_object_object_get_ex(call->args, "inclusive", &inclusive);
	snprintf(call->num[0], sizeof(call->num[0]), "%lld", json_get_int(call->args, "rate_bps"));
	*q = (struct tool_query){ .stmt = "upsert_tax_rate", .nparams = 10, .ncols = 1, .params = {
		call->id->tenant, call->id->sub, call->request_id, json_get_string(call->args, "code"),
		json_get_string(call->args, "name"), call->num[0],
		inclusive && json_object_get_boolean(inclusive) ? "true" : "false",
		json_get_string(call->args, "category"), json_get_string(call->args, "exemption_reason"),
		json_get_string(call->args, "exemption_reason_code") } };
	return 0;
}

int tool_list_tax_rates(struct tool_call *call, struct tool_query *q, struct tool_error *err)
{
	(void)err;
	*q = (struct tool_query){ .stmt = "list_tax_rates", .nparams = 1, .read_only = 1, .ncols = 1,
	                          .params = { call->id->tenant } };
	return 0;
}
