/*
 * completion.h - MCP completion/complete: suggestions for prompt arguments
 * and resource-template variables. What is offered follows the argument's
 * name and type: customer ids and invoice numbers of the caller's tenant
 * (prefix-matched in PostgreSQL, at most 100), ISO 4217 codes, recent
 * month ends, enum values. Runs in workers.
 */
#ifndef MCPI_COMPLETION_H
#define MCPI_COMPLETION_H

#include <json-c/json.h>

#include "worker/tools/tools.h"

#define COMPLETION_MAX_VALUES 100

struct completion_call {
	const char *tenant;
	char kind[16];           /* the database kind (see mcp_complete), "" when answered in C */
	char prefix[132];
	const char *customer;    /* context.arguments.customer_id, into ctx (may be NULL) */
	char customer_buf[68];
	char limit[8];
	json_object *values;     /* answered in C: the values (owned) */
};

/* Reads params (ref, argument, context). Returns 0 with either cc->values
 * set (answer now) or cc->kind set (q filled: one read-only query), or -1
 * with a JSON-RPC -32602 message in msg. needs_db_scope is set to the scope
 * the query needs. */
int completion_prepare(json_object *params, struct completion_call *cc, struct tool_query *q,
                       char *msg, size_t msg_cap);

/* The CompleteResult from values (a JSON array, up to COMPLETION_MAX_VALUES
 * + 1 entries; the extra one means there are more). Takes values. */
json_object *completion_result(json_object *values);

/* Frees what prepare left. */
void completion_cleanup(struct completion_call *cc);

#endif
