/*
 * rpc.h - one JSON-RPC exchange inside worker/mcp: the envelope (mcp.c)
 * hands a checked request to its method (methods.c), which answers through
 * rpc_send_result or rpc_error. Runs in workers.
 */
#ifndef MCPI_RPC_H
#define MCPI_RPC_H

#include <json-c/json.h>
#include <stddef.h>
#include <string.h>

#include "worker/mcp/mcp.h"

#define MCP_MODERN "2026-07-28"

struct rpc {
	struct worker_ctx *w;
	const struct http_request *http;
	const struct auth_identity *id;
	const char *request_id;
	struct response *resp;
	json_object *msg;
	json_object *params;
	const char *method;
	size_t method_len;
	const char *text_problem; /* json_text_scan found a NUL key or a lone surrogate */
	mcp_resume_fn resume;     /* for a tools/call that waits for the database */
	void *owner;
	struct mcp_wait *wait;    /* set when the answer comes later */
	char id_json[160];
	int modern;
	const char *version; /* negotiated or requested */
};

/* The method compared by its full length: "ping\u0000x" is not "ping". */
static inline int rpc_method_is(const struct rpc *c, const char *name)
{
	return strlen(name) == c->method_len && memcmp(c->method, name, c->method_len) == 0;
}

json_object *rpc_server_info(void);
json_object *rpc_versions_array(void);
/* Sends {"jsonrpc","id","result"}; takes ownership of result. */
void rpc_send_result(struct rpc *c, json_object *result);
void rpc_error(struct rpc *c, int status, int code, const char *message, const char *data);
/* A request that passed the envelope checks, to its method (methods.c). */
void mcp_dispatch(struct rpc *c);

#endif
