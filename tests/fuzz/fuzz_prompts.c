/* libFuzzer driver: arbitrary JSON as prompts/get arguments for every prompt
 * and as completion/complete params. A refusal must say why; an acceptance
 * must be an object (prompts) or name a query or values (completions). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "worker/mcp/completion.h"
#include "worker/mcp/prompts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = { "collect_overdue", "month_end_statements", "reconcile_bank_payment" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_tokener *tok;
	json_object *raw;

	if (size < 1)
		return 0;
	tok = json_tokener_new_ex(32);
	raw = json_tokener_parse_ex(tok, (const char *)data + 1, (int)size - 1);
	json_tokener_free(tok);
	if (data[0] % 4 < 3) {
		const char *name = names[data[0] % 4];
		const struct prompt_def *p = prompts_find(name, strlen(name));
		struct tool_error err;
		json_object *out;
		memset(&err, 0, sizeof(err));
		out = prompts_validate(p, raw, &err);
		if (out ? !json_object_is_type(out, json_type_object) : (!err.code || !err.message[0]))
			__builtin_trap();
		json_object_put(out);
	} else {
		struct completion_call cc = { .tenant = "fuzz" };
		struct tool_query q = { 0 };
		char msg[400] = "";
		if (completion_prepare(raw, &cc, &q, msg, sizeof(msg)) < 0) {
			if (strncmp(msg, "Invalid params: ", 16) != 0)
				__builtin_trap();
		} else if (!cc.values && (!q.stmt || !cc.kind[0])) {
			__builtin_trap();
		}
		completion_cleanup(&cc);
	}
	json_object_put(raw);
	return 0;
}
