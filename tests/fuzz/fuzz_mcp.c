/* libFuzzer driver: JSON-RPC bodies through the MCP layer of both eras
 * (the first input byte picks the headers). Tool calls reach validation and
 * fail at once at a database that is down. */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/lib/log.h"
#include "worker/mcp/mcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const heads[] = {
	"POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\n\r\n",
	"POST /mcp HTTP/1.1\r\nMCP-Protocol-Version: 2025-11-25\r\n\r\n",
	"POST /mcp HTTP/1.1\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\n"
	"Mcp-Name: create_invoice\r\n\r\n",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	static struct worker_ctx w;
	static struct cursor_key ck;
	static int init;
	struct auth_identity id = { .sub = "fuzz", .tenant = "fuzz",
	                            .scope = "invoices:read invoices:write payments:write" };
	struct http_request req;
	struct response resp;
	const char *head;

	if (!init) {
		config_defaults(&cfg);
		log_init("fuzz", LOG_ERROR);
		cursor_key_init(&ck, (const unsigned char *)"k", 1);
		w.start.cfg = &cfg;
		w.start.shm = shm_create();
		w.start.cursor_key = &ck;
		db_init(&w.db, "host=/nonexistent-mcpi-fuzz port=1 connect_timeout=1", 1000);
		/* Down and never due for a retry: tool calls fail at once. */
		w.db.next_attempt_ns = LLONG_MAX;
		init = 1;
	}
	if (size < 1)
		return 0;
	head = heads[data[0] % 3];
	if (http_parse_request(head, strlen(head), &req) <= 0)
		__builtin_trap();
	response_init(&resp);
	if (mcp_handle(&w, &req, (const char *)data + 1, size - 1, &id, "fuzz-1", &resp, NULL, NULL))
		__builtin_trap(); /* nothing can wait for a database that is down */
	if (resp.status != 200 && resp.status != 202 && resp.status != 400 && resp.status != 403 &&
	    resp.status != 404)
		__builtin_trap();
	response_reset(&resp);
	return 0;
}
