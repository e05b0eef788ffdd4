/*
 * tool_credits.c - the logic of the correction tools beyond their
 * declared statements (tools.c): a credit note is given by an amount or by
 * lines, never both. apply_credit and reverse_payment need none. Runs in
 * workers.
 */
#include "worker/tools/tool_handlers.h"

int tool_create_credit_note(struct tool_call *call, struct tool_error *err)
{
	int has_amount = json_object_object_get_ex(call->args, "amount_cents", NULL);
	int has_lines = json_object_object_get_ex(call->args, "line_items", NULL);

	if (has_amount == has_lines) {
		tool_error_set(err, "INVALID_INPUT", has_amount ? "line_items" : "amount_cents", 0,
		               "give exactly one of amount_cents or line_items");
		return -1;
	}
	return 0;
}
