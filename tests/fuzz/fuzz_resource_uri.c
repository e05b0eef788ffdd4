/* libFuzzer driver: arbitrary resources/read URIs. A URI that parses must
 * name a document tool (a PDF, or get_einvoice's XML), and its arguments go
 * through the tool table's validation like any tool call's. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "worker/tools/document.h"
#include "worker/tools/tools.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *args = NULL, *valid;
	struct tool_error err;
	const struct tool_def *def = document_parse_uri((const char *)data, size, &args);

	if (!def) {
		if (args)
			__builtin_trap();
		return 0;
	}
	if ((!def->document && strcmp(def->name, "get_einvoice") != 0) || !args)
		__builtin_trap();
	memset(&err, 0, sizeof(err));
	valid = tools_validate(def, args, &err);
	json_object_put(valid);
	json_object_put(args);
	return 0;
}
