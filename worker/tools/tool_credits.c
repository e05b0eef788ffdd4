/*
 * tool_credits.c - queries for corrections after sending: credit notes,
 * spending customer credit, and payment reversals. Runs in workers; each
 * prepare names one SQL function that locks the invoice it changes.
 */
#include <stdio.h>
#include <string.h>

#include "server/auth/auth.h"
#include "worker/tools/tool_handlers.h"

int tool_create_credit_note(struct tool_call *call, struct tool_query *q, struct tool_error *err)
{
	json_object *items = NULL;
	const char *lines = NULL;
	int has_amount = json_object_object_get_ex(call->args, "amount_cents", NULL);

	if (json_object_object_get_ex(call->args, "line_items", &items))
		lines = json_object_to_json_string_ext(items, JSON_C_TO_STRING_PLAIN);
	if (has_amount == !!lines) {
		tool_error_set(err, "INVALID_INPUT", has_amount ? "line_items" : "amount_cents", 0,
		               "give exactly one of amount_cents or line_items");
		return -1;
	}
	if (has_amount)
		snprintf(call->num[0], sizeof(call->num[0]), "%lld", json_get_int(call->args, "amount_cents"));
	*q = (struct tool_query){ .stmt = "create_credit_note", .nparams = 9, .ncols = 1, .params = {
		call->id->tenant, call->id->sub, call->request_id, json_get_string(call->args, "invoice_id"),
		has_amount ? call->num[0] : NULL, lines, json_get_string(call->args, "reason"),
		json_get_string(call->args, "idempotency_key"), tool_args_fingerprint(call) } };
	return 0;
}

int tool_apply_credit(struct tool_call *call, struct tool_query *q, struct tool_error *err)
{
	(void)err;
	snprintf(call->num[0], sizeof(call->num[0]), "%lld", json_get_int(call->args, "amount_cents"));
	*q = (struct tool_query){ .stmt = "apply_credit", .nparams = 8, .ncols = 1, .params = {
		call->id->tenant, call->id->sub, call->request_id, json_get_string(call->args, "invoice_id"),
		json_get_string(call->args, "customer_id"), call->num[0],
		json_get_string(call->args, "idempotency_key"), tool_args_fingerprint(call) } };
	return 0;
}

int tool_reverse_payment(struct tool_call *call, struct tool_query *q, struct tool_error *err)
{
	(void)err;
	*q = (struct tool_query){ .stmt = "reverse_payment", .nparams = 7, .ncols = 1, .params = {
		call->id->tenant, call->id->sub, call->request_id, json_get_string(call->args, "payment_id"),
		json_get_string(call->args, "reason"), json_get_string(call->args, "idempotency_key"),
		tool_args_fingerprint(call) } };
	return 0;
}
