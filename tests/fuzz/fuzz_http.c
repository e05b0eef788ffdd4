/* libFuzzer driver: the HTTP request-head parser and framing semantics must
 * never read out of bounds, crash or accept a head longer than the input. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../worker/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request req;
	int n = http_parse_request((const char *)data, size, &req);

	if (n > 0) {
		if ((size_t)n > size)
			__builtin_trap();
		if (http_request_semantics(&req) == 0 && req.content_length < -1)
			__builtin_trap();
		(void)http_find_header(&req, "Content-Type");
	}
	return 0;
}
