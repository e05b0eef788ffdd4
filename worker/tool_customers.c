/*
 * tool_customers.c - queries for customer details used on statements:
 * upsert_customer and get_customer. Runs in workers.
 */
#include "auth.h"
#include "tool_handlers.h"

int tool_upsert_customer(struct tool_call *call, struct tool_query *q, struct tool_error *err)
{
	(void)err;
	*q = (struct tool_query){ .stmt = "upsert_customer", .nparams = 7, .ncols = 1, .params = {
		call->id->tenant, call->id->sub, call->request_id, json_get_string(call->args, "customer_id"),
		json_get_string(call->args, "name"), json_get_string(call->args, "email"),
		json_get_string(call->args, "address") } };
	return 0;
}

int tool_get_customer(struct tool_call *call, struct tool_query *q, struct tool_error *err)
{
	(void)err;
	*q = (struct tool_query){ .stmt = "get_customer", .nparams = 2, .read_only = 1, .ncols = 1,
	                          .params = { call->id->tenant, json_get_string(call->args, "customer_id") } };
	return 0;
}
