/*
 * tools.h - the tool table: each tool is declared once (name, scope,
 * annotations, argument specs, output schema, the statement it runs with
 * its parameters by name and its lock key, hooks), and that one
 * declaration drives argument validation, tools/list, the README table,
 * the query a call sends (tool_query.c), the prepared statements and the
 * batch lock order (worker/db). Runs in workers (and the CLI, for the
 * README and statement tables).
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
	char num[4][24];     /* integers rendered as statement parameters */
	int nnum;
	char position[CURSOR_POSITION_MAX];
	/* Parameters a tool's prepare computed ("%name" in its statement;
	 * tool_call_set); NULL when it set none. */
	struct { const char *name, *value; } computed[4];
	json_object *holder; /* owns the fingerprint texts; freed by tool_call_cleanup */
	/* A file the call made besides its JSON (malloc'd, freed by tool_call_cleanup):
	 * get_einvoice's XML, embedded in the result at the URI in scope; for a
	 * document tool, the file the renderer embeds in the PDF (an invoice's
	 * Factur-X XML). */
	char *embed;
	size_t embed_len;
	const char *embed_mime;
};

/* What a call asks of the database: one prepared statement, one round
 * trip, one transaction (tool_query_build fills it from the tool's
 * declaration). params point into call (its args or scratch) and stay
 * valid until tool_call_cleanup. */
#define TOOL_MAX_PARAMS 12
struct tool_query {
	const char *stmt;
	int nparams;
	const char *params[TOOL_MAX_PARAMS];
	int read_only;
	int ncols; /* result columns; with no finish, column 0 is the result JSON */
};

/* The statement a tool runs, its parameters by name, in order:
 *   @tenant @subject @request_id      the caller and the request
 *   @fingerprint                      the arguments without idempotency_key (JSON)
 *   @require_known_customer           the configuration's flag, true/false
 *   @except a b c                     the arguments without a, b, c (JSON)
 *   %name                             what the tool's prepare computed (tool_call_set), or NULL
 *   arg                               the argument by its type: an integer as decimal text, a
 *                                     boolean true/false (absent: false), an object or array as
 *                                     JSON, else the text; NULL when absent
 *   arg:text                          the argument only when given as text (ARG_OBJECT or_string)
 *   arg|alias                         the argument, or its alias
 * A write's SQL is generated: SELECT result::text, err_state, err_message,
 * err_detail FROM mcp_try_<name>($1, ..., $n) (the members
 * sql/functions/02_members.sql generates). */
struct tool_statement {
	const char *name;     /* the prepared statement; NULL: the tool's name */
	const char *sql;      /* a read's SQL; NULL for a write (generated) */
	const char *params[TOOL_MAX_PARAMS + 1]; /* NULL-ended */
	const char *lock_key; /* a write: the parameter naming the row it locks first, or NULL */
	int heavy;            /* a read whose cost grows with a ledger: never queued behind another */
	int ncols;            /* result columns; 0 means 1 */
};

/* prepare (optional): what only code can check before the statement runs
 * (64-bit totals, one of two arguments, cursors, a date in the future),
 * and the "%name" parameters it computes; 0, or -1 with err filled. */
typedef int (*tool_prepare_fn)(struct tool_call *call, struct tool_error *err);
/* finish: the structuredContent JSON text (malloc'd, *result) from the row
 * the query returned, or -1 with err filled. cols stay the caller's. */
typedef int (*tool_finish_fn)(struct tool_call *call, char *const *cols, char **result,
                              struct tool_error *err);

struct tool_def {
	const char *name;
	const char *title;
	const char *description;
	const char *scope;
	int read_only, destructive, idempotent; /* read_only: a read statement, else a write */
	const struct arg_spec *args; /* ended by {0} */
	const char *output_schema;   /* JSON text */
	struct tool_statement stmt;
	tool_prepare_fn prepare;     /* NULL: nothing to check */
	tool_finish_fn finish;       /* NULL: column 0 of the row is the result */
	int document;                /* a DOC_* kind: the result is rendered to PDF (document.h) */
};

/* The query of a validated call: runs def's prepare, then fills q from its
 * statement's declaration; 0, or -1 with err filled. */
int tool_query_build(const struct tool_def *def, struct tool_call *call, struct tool_query *q,
                     struct tool_error *err);
/* The value of a "%name" parameter (name with its %); value stays the caller's
 * until tool_call_cleanup. */
void tool_call_set(struct tool_call *call, const char *name, const char *value);
/* The statement's name, its parameter count, the index of a parameter by
 * name (-1: none). */
const char *tool_statement_name(const struct tool_def *def);
int tool_statement_nparams(const struct tool_statement *st);
int tool_statement_param(const char *const *params, const char *name);
/* A write's generated SQL into buf; -1 if it does not fit. */
int tool_statement_sql(const struct tool_def *def, char *buf, size_t cap);
/* Checks def's declaration: every parameter resolves (sources, argument
 * names in def's argument table), the count fits its SQL's $n, the lock
 * key names a parameter of a write. 0, or -1 with why filled. */
int tool_statement_check(const struct tool_def *def, char *why, size_t cap);

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
