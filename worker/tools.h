/*
 * tools.h - the tool table: each tool is declared once (name, scope,
 * annotations, argument specs, output schema, handler), and that one
 * declaration drives argument validation, tools/list and the README table.
 * Runs in workers (and the CLI, for the README table).
 */
#ifndef MCPI_TOOLS_H
#define MCPI_TOOLS_H

#include <json-c/json.h>
#include <stddef.h>

#include "json_get.h"
#include "tool_error.h"

struct auth_identity;
struct db;
struct cursor_key;

enum arg_type { ARG_STRING, ARG_INTEGER, ARG_ENUM, ARG_DATE, ARG_TIMESTAMP, ARG_CURRENCY,
                ARG_OBJECT_ARRAY };
enum arg_charset { CHARS_ANY = 0, CHARS_ID, CHARS_UUID, CHARS_EMAIL };

struct arg_spec {
	const char *name;
	enum arg_type type;
	int required;
	long long min, max;  /* string: characters; integer: value; array: items */
	int has_default;
	long long default_int;
	const char *default_str; /* string-typed defaults (documented only) */
	enum arg_charset charset;
	const char *enum_values; /* ARG_ENUM: space-separated */
	const char *description;
	const struct arg_spec *items; /* ARG_OBJECT_ARRAY: fields, ended by {0} */
};

struct tool_call {
	const struct auth_identity *id;
	const char *request_id;
	const char *tool_name;
	struct db *db;
	const struct cursor_key *cursor_key;
	json_object *args; /* validated, defaults filled; owned by the caller */
};

/* Returns 0 with *result set to the structuredContent as JSON object text
 * (malloc'd; the caller frees), or -1 with err filled. */
typedef int (*tool_handler)(struct tool_call *call, char **result, struct tool_error *err);

struct tool_def {
	const char *name;
	const char *title;
	const char *description;
	const char *scope;
	int read_only, destructive, idempotent;
	const struct arg_spec *args; /* ended by {0} */
	const char *output_schema;   /* JSON text */
	tool_handler handler;
};

const struct tool_def *tools_find(const char *name);
size_t tools_count(void);
const struct tool_def *tools_at(size_t i);

/* Validates raw arguments (NULL = none) against def; on success returns a new
 * object with defaults filled (caller frees); on failure NULL and err set. */
json_object *tools_validate(const struct tool_def *def, json_object *raw, struct tool_error *err);

/* The tools array for tools/list (built once, shared; do not free). */
json_object *tools_list_json(void);

/* The README's Markdown tool table. Caller frees. */
char *tools_markdown(void);

/* Helpers for handlers: arguments are read with json_get_string and
 * json_get_int (json_get.h). tool_args_fingerprint gives the arguments as
 * JSON text without idempotency_key (the idempotency fingerprint; the text
 * is owned by *holder, which the caller frees). */
const char *tool_args_fingerprint(json_object *args, json_object **holder);

/* Appends `,"next_cursor":` and a cursor sealing position "a:b" for scope,
 * or null when a or b is NULL (no further page). */
struct strbuf;
void tool_put_next_cursor(struct strbuf *out, const struct cursor_key *ck, const char *scope,
                          const char *a, const char *b);

/* Runs prepared statement `stmt` returning one JSON value (text) into
 * *result. */
int tool_run(struct tool_call *call, const char *stmt, int nparams, const char *const *params,
             int read_only, char **result, struct tool_error *err);

#endif
