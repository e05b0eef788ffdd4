/* libFuzzer driver: the HTTP request-head parser and framing semantics must
 * never read out of bounds, crash or accept a head longer than the input;
 * the chunked-body decoder likewise on what follows the head. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../worker/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request req;
	int n = http_parse_request((const char *)data, size, &req);

	if (n > 0) {
		char *rest;
		size_t body_len = 0, body_len2 = 0;
		long wire;
		if ((size_t)n > size)
			__builtin_trap();
		if (http_request_semantics(&req) == 0 && req.content_length < -1)
			__builtin_trap();
		(void)http_find_header(&req, "Content-Type");
		/* Whatever follows the head, as a chunked body: the decode pass
		 * must agree with the checking pass and stay inside the input. */
		rest = malloc(size - (size_t)n + 1);
		memcpy(rest, data + n, size - (size_t)n);
		wire = http_chunked_body(rest, size - (size_t)n, 4096, &body_len, 0);
		if (wire > 0) {
			if ((size_t)wire > size - (size_t)n || body_len > 4096 ||
			    http_chunked_body(rest, size - (size_t)n, 4096, &body_len2, 1) != wire ||
			    body_len2 != body_len)
				__builtin_trap();
		}
		free(rest);
	}
	return 0;
}
