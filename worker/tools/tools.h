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

#include "server/auth/cursor.h"
#include "server/lib/json_get.h"
#include "worker/tools/tool_error.h"

struct auth_identity;
struct config;

/* The largest amount one invoice may total, in minor units (10^15 - 1): far
 * below 2^63, so no sum of a few thousand invoices can wrap even in 64-bit
 * arithmetic; sums are computed in numeric in the database anyway. */
#define TOOL_MAX_INVOICE_CENTS 999999999999999LL

enum arg_type { ARG_STRING, ARG_INTEGER, ARG_ENUM, ARG_DATE, ARG_TIMESTAMP, ARG_CURRENCY,
                ARG_OBJECT_ARRAY, ARG_BOOLEAN, ARG_OBJECT, ARG_ARRAY };
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
	const struct arg_spec *items; /* ARG_OBJECT_ARRAY, ARG_OBJECT: fields, ended by {0};
	                               * ARG_ARRAY: the one spec of every item */
	int or_string;                /* ARG_OBJECT: a string (min-max characters) is accepted too */
	/* ARG_STRING: NULL when the text is valid, else the rule it broke (codes.h) */
	const char *(*check)(const char *s);
};

/* One tool call while it runs: validated arguments plus scratch that
 * prepare fills and finish reads (the call may wait for the database in
 * between, so nothing here points into the prepare function's stack). */
struct tool_call {
	const struct auth_identity *id;
	const char *request_id;
	const char *tool_name;
	const struct cursor_key *cursor_key;
	const struct config *cfg; /* require_known_customer, jwt_leeway_s */
	json_object *args;   /* validated, defaults filled; owned by the caller */
	char scope[512];     /* the query a cursor is bound to (list tools) */
	char num[2][24];     /* integers rendered as statement parameters */
	char position[CURSOR_POSITION_MAX];
	json_object *holder; /* owns the fingerprint text; freed by tool_call_cleanup */
	/* A file the call made besides its JSON (malloc'd, freed by tool_call_cleanup):
	 * get_einvoice's XML, embedded in the result at the URI in scope; for a
	 * document tool, the file the renderer embeds in the PDF (an invoice's
	 * Factur-X XML). */
	char *embed;
	size_t embed_len;
	const char *embed_mime;
};

/* What a tool asks of the database: one prepared statement (see db.c's
 * table), one round trip, one transaction. params point into call (its
 * args or scratch) and stay valid until tool_call_cleanup. */
#define TOOL_MAX_PARAMS 12
struct tool_query {
	const char *stmt;
	int nparams;
	const char *params[TOOL_MAX_PARAMS];
	int read_only;
	int ncols; /* result columns; with no finish, column 0 is the result JSON */
};

/* prepare: the query for call, or -1 with err filled (a check only code
 * can make: 64-bit totals, cursors). */
typedef int (*tool_prepare_fn)(struct tool_call *call, struct tool_query *q, struct tool_error *err);
/* finish: the structuredContent JSON text (malloc'd, *result) from the row
 * the query returned, or -1 with err filled. cols stay the caller's. */
typedef int (*tool_finish_fn)(struct tool_call *call, char *const *cols, char **result,
                              struct tool_error *err);

struct tool_def {
	const char *name;
	const char *title;
	const char *description;
	const char *scope;
	int read_only, destructive, idempotent;
	const struct arg_spec *args; /* ended by {0} */
	const char *output_schema;   /* JSON text */
	tool_prepare_fn prepare;
	tool_finish_fn finish;       /* NULL: column 0 of the row is the result */
	int document;                /* a DOC_* kind: the result is rendered to PDF (document.h) */
};

const struct tool_def *tools_find(const char *name);
/* At most TOOLS_MAX tools (a tools/list cache keys on a bit per tool). */
#define TOOLS_MAX 64
size_t tools_count(void);
const struct tool_def *tools_at(size_t i);

/* Validates raw arguments (NULL = none) against def; on success returns a new
 * object with defaults filled (caller frees); on failure NULL and err set. */
json_object *tools_validate(const struct tool_def *def, json_object *raw, struct tool_error *err);
/* The same checks against any argument list (prompts use it too). */
json_object *tools_validate_args(const struct arg_spec *specs, json_object *raw, struct tool_error *err);

/* The tools array for tools/list: the tools whose scope allowed() grants
 * (built once per set, shared; do not free). */
json_object *tools_list_json(int (*allowed)(const char *scope, const void *ctx), const void *ctx);

/* The README's Markdown tool table. Caller frees. */

/* Helpers for handlers: arguments are read with json_get_string and
 * json_get_int (json_get.h). tool_args_fingerprint gives the arguments as
 * JSON text without idempotency_key (the idempotency fingerprint; the text
 * is owned by call->holder until tool_call_cleanup). */
const char *tool_args_fingerprint(struct tool_call *call);
/* The arguments as JSON text without the space-separated names in skip
 * (owned by call->holder, like the fingerprint). */
const char *tool_args_except(struct tool_call *call, const char *skip);

/* An argument with two names (preferred, alias): *value is whichever was
 * given (NULL: neither); -1 with err when both were given and differ. */
int tool_arg_alias(struct tool_call *call, const char *preferred, const char *alias, const char **value,
                   struct tool_error *err);

/* With an address object among the arguments, vat_id (the value of vat_id
 * or tax_id, NULL: none) must start with its country's VAT prefix (EL for
 * Greece): 0, or -1 with err naming the argument. */
int tool_vat_id_in_country(struct tool_call *call, const char *vat_id, struct tool_error *err);

/* Seconds since the epoch of a timestamp that passed ARG_TIMESTAMP
 * validation (RFC 3339 with Z or an offset). */
long long tool_timestamp_epoch(const char *s);

/* Appends `,"next_cursor":` and a cursor sealing position "a:b" for scope,
 * or null when a or b is NULL (no further page). */
struct strbuf;
void tool_put_next_cursor(struct strbuf *out, const struct cursor_key *ck, const char *scope,
                          const char *a, const char *b);

/* {"<key>": items (JSON array text, NULL = []), "next_cursor": ...} for a
 * list page whose last row is at position a:b (NULL: no further page).
 * Caller frees. */
char *tool_page_result(struct tool_call *call, const char *key, const char *items,
                       const char *a, const char *b);

/* The result of a query's row for def (its finish, or column 0); 0 with
 * *result malloc'd, or -1 with err filled. */
int tool_finish(const struct tool_def *def, struct tool_call *call, char *const *cols,
                char **result, struct tool_error *err);

/* Frees what prepare left in call (not args). */
void tool_call_cleanup(struct tool_call *call);

#endif
