/*
 * prompts.h - MCP prompts: the receivables workflows agents are asked to do
 * (collect overdue invoices, month-end statements, reconcile a bank line),
 * declared once in a table that drives prompts/list, argument checks and
 * completion. A prompt's text is written from live data: prepare names one
 * read-only query, finish turns its row into the GetPromptResult.
 * Runs in workers.
 */
#ifndef MCPI_PROMPTS_H
#define MCPI_PROMPTS_H

#include <json-c/json.h>
#include <stddef.h>

#include "worker/tools/tools.h"

/* One prompts/get while it waits for the database. */
struct prompt_call {
	const char *tenant;
	json_object *args; /* validated; owned by the caller */
	char num[2][24];   /* integers rendered as statement parameters */
};

struct prompt_def {
	const char *name;
	const char *title;
	const char *description;
	const char *scopes;          /* space-separated; all are needed to see or get it */
	const struct arg_spec *args; /* string arguments (MCP prompt arguments are strings) */
	void (*prepare)(struct prompt_call *pc, struct tool_query *q);
	/* The GetPromptResult from the query's JSON text. */
	json_object *(*finish)(struct prompt_call *pc, json_object *data);
};

/* By name, compared over its full length; NULL if none. */
const struct prompt_def *prompts_find(const char *name, size_t len);

/* The prompts array for prompts/list: those whose scopes allowed() grants.
 * A new reference (caller puts it). */
json_object *prompts_list_json(int (*allowed)(const char *scope, const void *ctx), const void *ctx);

/* The first scope the prompt needs that allowed() does not grant (written
 * into buf), or NULL when all are granted. */
const char *prompts_missing_scope(const struct prompt_def *p,
                                  int (*allowed)(const char *scope, const void *ctx), const void *ctx,
                                  char *buf, size_t cap);

/* Validates prompts/get arguments (NULL = none; every value a string, integer
 * arguments written in decimal digits) against p; a new object, or NULL with
 * err filled. */
json_object *prompts_validate(const struct prompt_def *p, json_object *raw, struct tool_error *err);

#endif
