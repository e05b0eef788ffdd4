/* libFuzzer driver: arbitrary bytes as a JSON-RPC body. Whatever json-c
 * accepts is scanned by json_text_scan; the id span must lie inside the
 * body and start like a string or number, and utf8_clip must return a
 * whole-character prefix of valid UTF-8 within its bound. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../worker/json_text.h"
#include "../../worker/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	json_tokener *tok = json_tokener_new_ex(64);
	json_object *o = json_tokener_parse_ex(tok, body, (int)size);
	struct json_text_info info;
	size_t bad = 0;
	int clip = utf8_clip(body, size, 60);

	if (clip < 0 || clip > 60 || (size_t)clip > size || utf8_length(body, (size_t)clip) < 0 ||
	    memchr(body, 0, (size_t)clip))
		__builtin_trap();
	if (json_tokener_get_error(tok) == json_tokener_success) {
		size_t end = json_tokener_get_parse_end(tok);
		if (json_text_scan(body, end, &info, &bad) == 0) {
			if (info.id && (info.id < body || info.id + info.id_len > body + end || info.id_len == 0 ||
			                !(info.id[0] == '"' || info.id[0] == '-' ||
			                  (info.id[0] >= '0' && info.id[0] <= '9'))))
				__builtin_trap();
		} else if (bad > end) {
			__builtin_trap();
		}
	}
	json_object_put(o);
	json_tokener_free(tok);
	return 0;
}
