/* libFuzzer driver: arbitrary JSON as prompts/get arguments for every prompt
 * and as completion/complete params. A refusal must say why; an acceptance
 * must be an object (prompts) or name a query or values (completions).
 * With selectors 4-6 the JSON is {"args": ..., "data": ...}: the prompt's
 * text is written from any query result, and whatever the tenant data
 * holds, the text has at most one <tenant-data> fence, its markers alone
 * on their lines. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "worker/mcp/completion.h"
#include "worker/mcp/prompts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = { "collect_overdue", "month_end_statements", "reconcile_bank_payment" };

static size_t count_lines(const char *text, const char *line)
{
	size_t n = 0, len = strlen(line);

	for (const char *p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, line, len) == 0 && (p[len] == '\n' || p[len] == '\0'))
			n++;
	return n;
}

static void check_prompt_text(const struct prompt_def *p, json_object *raw)
{
	json_object *args = NULL, *rows = NULL, *out, *result, *v;
	struct prompt_call pc = { .tenant = "fuzz" };
	struct tool_error err;
	const char *text;

	memset(&err, 0, sizeof(err));
	json_object_object_get_ex(raw, "args", &args);
	json_object_object_get_ex(raw, "data", &rows);
	out = prompts_validate(p, args, &err);
	if (!out)
		return;
	pc.args = out;
	result = p->finish(&pc, rows);
	if (!json_object_object_get_ex(result, "messages", &v) || !(v = json_object_array_get_idx(v, 0)) ||
	    !json_object_object_get_ex(v, "content", &v) || !json_object_object_get_ex(v, "text", &v))
		__builtin_trap();
	text = json_object_get_string(v);
	if (count_lines(text, "<tenant-data>") > 1 || count_lines(text, "</tenant-data>") > 1 ||
	    count_lines(text, "<tenant-data>") != count_lines(text, "</tenant-data>"))
		__builtin_trap();
	json_object_put(result);
	json_object_put(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_tokener *tok;
	json_object *raw;

	if (size < 1)
		return 0;
	tok = json_tokener_new_ex(32);
	raw = json_tokener_parse_ex(tok, (const char *)data + 1, (int)size - 1);
	json_tokener_free(tok);
	if (data[0] % 8 >= 4 && data[0] % 8 < 7) {
		const char *name = names[data[0] % 8 - 4];
		check_prompt_text(prompts_find(name, strlen(name)), raw);
	} else if (data[0] % 4 < 3) {
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
