/* libFuzzer driver: arbitrary JSON as tool arguments for every tool. A
 * refusal must carry a code and a message; an acceptance must be an object. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../worker/tools.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_tokener *tok;
	json_object *raw, *out;
	struct tool_error err;

	if (size < 1)
		return 0;
	tok = json_tokener_new_ex(32);
	raw = json_tokener_parse_ex(tok, (const char *)data + 1, (int)size - 1);
	json_tokener_free(tok);
	memset(&err, 0, sizeof(err));
	out = tools_validate(tools_at(data[0] % tools_count()), raw, &err);
	if (out) {
		if (!json_object_is_type(out, json_type_object))
			__builtin_trap();
	} else if (!err.code || !err.message[0]) {
		__builtin_trap();
	}
	json_object_put(out);
	json_object_put(raw);
	return 0;
}
