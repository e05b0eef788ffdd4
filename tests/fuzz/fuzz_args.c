/* libFuzzer driver: arbitrary JSON as tool arguments for every tool. A
 * refusal must carry a code and a message; an acceptance must be an object,
 * and the tool's query (its prepare parses timestamps, cursors and line
 * totals of validated arguments) must then be a statement or a refusal. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "server/auth/auth.h"
#include "worker/tools/tools.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_tokener *tok;
	json_object *raw, *out;
	struct tool_error err;
	static struct auth_identity id = { .sub = "fuzz", .tenant = "fuzz" };
	static struct cursor_key ck;

	if (size < 1)
		return 0;
	tok = json_tokener_new_ex(32);
	raw = json_tokener_parse_ex(tok, (const char *)data + 1, (int)size - 1);
	json_tokener_free(tok);
	memset(&err, 0, sizeof(err));
	const struct tool_def *def = tools_at(data[0] % tools_count());
	out = tools_validate(def, raw, &err);
	if (out) {
		struct tool_call call = { .id = &id, .request_id = "r", .tool_name = def->name,
		                          .cursor_key = &ck, .args = out };
		struct tool_query q = { 0 };
		if (!json_object_is_type(out, json_type_object))
			__builtin_trap();
		if (tool_query_build(def, &call, &q, &err) == 0 ? !q.stmt : !err.code)
			__builtin_trap();
		tool_call_cleanup(&call);
	} else if (!err.code || !err.message[0]) {
		__builtin_trap();
	}
	json_object_put(out);
	json_object_put(raw);
	return 0;
}
