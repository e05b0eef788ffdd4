/* libFuzzer driver: the HTTP request-head parser and framing semantics must
 * never read out of bounds, crash or accept a head longer than the input;
 * the chunked-body decoder likewise on what follows the head, and name the
 * rule whenever it refuses. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request req;
	int n = http_parse_request((const char *)data, size, &req);

	if (n > 0) {
		char *rest;
		long wire;
		if ((size_t)n > size)
			__builtin_trap();
		if (http_request_semantics(&req) == 0 && req.content_length < -1)
			__builtin_trap();
		(void)http_find_header(&req, "Content-Type");
		/* Whatever follows the head, as a chunked body: fed in one go,
		 * and fed in two parts with the state carried over, the decoder
		 * must agree with itself and stay inside the input. */
		rest = malloc(2 * (size - (size_t)n) + 2);
		memcpy(rest, data + n, size - (size_t)n);
		memcpy(rest + size - (size_t)n + 1, data + n, size - (size_t)n);
		{
			struct http_chunked one = { 0 }, two = { 0 };
			char *copy = rest + size - (size_t)n + 1;
			size_t len = size - (size_t)n, half = len / 2;
			long wire2;
			wire = http_chunked_feed(&one, rest, len, 4096);
			wire2 = http_chunked_feed(&two, copy, half, 4096);
			if (wire2 == HTTP_PARTIAL)
				wire2 = http_chunked_feed(&two, copy, len, 4096);
			/* Every refusal names the rule it broke. */
			if ((wire == HTTP_ERROR && !one.error) || (wire2 == HTTP_ERROR && !two.error))
				__builtin_trap();
			if (wire > 0 && ((size_t)wire > len || one.out > 4096 || one.out > (size_t)wire ||
			                 wire2 != wire || two.out != one.out ||
			                 memcmp(rest, copy, one.out) != 0))
				__builtin_trap();
		}
		free(rest);
	}
	return 0;
}
