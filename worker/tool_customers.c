/*
 * tool_customers.c - handlers for customer details used on statements:
 * upsert_customer and get_customer. Runs in workers.
 */
#include "auth.h"
#include "tool_handlers.h"

int tool_upsert_customer(struct tool_call *call, char **result, struct tool_error *err)
{
	const char *params[7] = { call->id->tenant, call->id->sub, call->request_id,
	                          json_get_string(call->args, "customer_id"),
	                          json_get_string(call->args, "name"),
	                          json_get_string(call->args, "email"),
	                          json_get_string(call->args, "address") };

	return tool_run(call, "upsert_customer", 7, params, 0, result, err);
}

int tool_get_customer(struct tool_call *call, char **result, struct tool_error *err)
{
	const char *params[2] = { call->id->tenant, json_get_string(call->args, "customer_id") };

	return tool_run(call, "get_customer", 2, params, 1, result, err);
}
