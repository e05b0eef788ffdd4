/* libFuzzer driver: arbitrary bytes as a JSON-RPC body, scanned by
 * json_text_scan (the strict RFC 8259 check). Invariants:
 * - strict JSON is a subset of what json-c reads: whatever the scan accepts,
 *   json-c accepts as one whole value;
 * - the id span lies inside the text and is itself a JSON text (a string or
 *   number) the scan accepts, so echoing it can never produce invalid JSON;
 * - a refusal names a rule (printable ASCII) and an offset within the text;
 * - utf8_clip returns a whole-character prefix of valid UTF-8 within its
 *   bound.
 * tests/integration/test_protocol.py compares the server's verdicts with
 * Python's strict json reader on mutated bodies. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "server/lib/json_text.h"
#include "server/lib/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_refusal(const struct json_text_info *info, size_t size)
{
	size_t n = strlen(info->error);

	if (n == 0 || info->error_at > size)
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if (info->error[i] < 0x20 || info->error[i] > 0x7e)
			__builtin_trap();
}

static void check_accepted(const char *body, size_t size, const struct json_text_info *info)
{
	json_tokener *tok = json_tokener_new_ex(300);
	json_object *o = json_tokener_parse_ex(tok, body, (int)size);
	struct json_text_info id_info;

	/* A top-level number at the very end leaves json-c waiting for more. */
	if (json_tokener_get_error(tok) == json_tokener_continue)
		o = json_tokener_parse_ex(tok, " ", 1);
	if (json_tokener_get_error(tok) != json_tokener_success)
		__builtin_trap();
	json_object_put(o);
	json_tokener_free(tok);
	if (!info->id)
		return;
	if (info->id < body || info->id + info->id_len > body + size || info->id_len == 0 ||
	    !(info->id[0] == '"' || info->id[0] == '-' || (info->id[0] >= '0' && info->id[0] <= '9')) ||
	    json_text_scan(info->id, info->id_len, &id_info) != 0)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct json_text_info info;
	int clip = utf8_clip(body, size, 60);

	if (clip < 0 || clip > 60 || (size_t)clip > size || utf8_length(body, (size_t)clip) < 0 ||
	    memchr(body, 0, (size_t)clip))
		__builtin_trap();
	if (size > 1 << 20)
		return 0;
	if (json_text_scan(body, size, &info) == 0)
		check_accepted(body, size, &info);
	else
		check_refusal(&info, size);
	return 0;
}
