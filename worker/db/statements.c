/*
 * statements.c - the statements a worker's connection prepares (see
 * statements.h): every tool's, from its declaration in the tool table
 * (name, SQL or a write's generated mcp_try_* call, parameters by name,
 * lock key, heavy: tools.h), and the few that are no tool's (prompts,
 * completion, the engine's timeouts); and how a SQLSTATE becomes a tool
 * error. The SQL itself lives in sql/functions, so `make bench` runs the
 * very same calls through pgbench; writes run through the mcp_try_*
 * members (sql/functions/02_members.sql). Runs in workers.
 */
#include <stdio.h>
#include <string.h>

#include "server/lib/log.h"
#include "server/proto/entry.h"
#include "worker/db/statements.h"
#include "worker/tools/tool_error.h"
#include "worker/tools/tools.h"

/* The statements that are no tool's. */
static const struct db_statement own[] = {
	{ "prompt_overdue", "SELECT mcp_prompt_overdue($1, $2, $3::int)::text", 1, NULL, NULL },
	{ "prompt_balances", "SELECT mcp_list_outstanding($1, NULL, $2, COALESCE($3::date,"
	                     " (date_trunc('month', current_date) - interval '1 day')::date), $4::int,"
	                     " NULL, NULL)::text", 1, NULL, NULL },
	{ "prompt_candidates", "SELECT mcp_prompt_candidates($1, $2, $3::bigint, $4, $5, $6::int)::text", 0,
	  NULL, NULL },
	{ "complete", "SELECT mcp_complete($1, $2, $3, $4, $5::int)::text", 0, NULL, NULL },
	{ "expire_idempotency_keys", "SELECT mcp_expire_idempotency_keys()::text", 0, NULL, NULL },
	/* Every batch: a member stuck on a row lock gives up quickly and is
	 * tried again alone, so one lock wait never holds the others back; no
	 * statement runs past the last member's deadline. */
	{ "batch_lock_timeout", "SELECT set_config('lock_timeout', '200ms', true),"
	                        " set_config('statement_timeout', $1, true)", 0, NULL, NULL },
	/* Every read: no statement runs past its own deadline. */
	{ "read_timeout", "SELECT set_config('statement_timeout', $1, true)", 0, NULL, NULL },
};
#define NOWN (sizeof(own) / sizeof(own[0]))

static struct db_statement table[TOOLS_MAX + NOWN];
static char generated[TOOLS_MAX][256]; /* the writes' SQL */
static size_t ntable;

/* Builds the table once: the tools' statements, then our own. */
static void table_build(void)
{
	char why[256];

	for (size_t i = 0; i < tools_count(); i++) {
		const struct tool_def *def = tools_at(i);
		if (tool_statement_check(def, why, sizeof(why)) < 0)
			fatal("tool table: %s", why);
		if (!def->stmt.sql && tool_statement_sql(def, generated[i], sizeof(generated[i])) < 0)
			fatal("tool table: %s: generated SQL too long", def->name);
		table[ntable++] = (struct db_statement){ .name = tool_statement_name(def),
			.sql = def->stmt.sql ? def->stmt.sql : generated[i], .heavy = def->stmt.heavy,
			.params = def->stmt.params, .lock_key = def->stmt.lock_key };
	}
	for (size_t i = 0; i < NOWN; i++)
		table[ntable++] = own[i];
}

size_t db_statements_count(void)
{
	if (!ntable)
		table_build();
	return ntable;
}

const struct db_statement *db_statement_at(size_t i)
{
	return i < db_statements_count() ? &table[i] : NULL;
}

const struct db_statement *db_statement_named(const char *name)
{
	for (size_t i = 0; i < db_statements_count(); i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	fatal("no statement named %s", name);
}

int db_statement_lock_index(const struct db_statement *s)
{
	return tool_statement_param(s->params, s->lock_key);
}

void db_statements_print(FILE *out)
{
	for (size_t i = 0; i < db_statements_count(); i++)
		fprintf(out, "%s\t%s\n", table[i].name, table[i].sql);
}

int db_map_error(const char *state, const char *msg, const char *detail, struct tool_error *err)
{
	if (!state)
		state = "";
	if (!msg)
		msg = "database error";
	/* Our own functions raise MInnn codes: message for the agent, the
	 * field in DETAIL. */
	if (strncmp(state, "MI", 2) == 0) {
		const char *code = strcmp(state, "MI404") == 0 ? "NOT_FOUND"
		                 : strcmp(state, "MI409") == 0 ? "CONFLICT"
		                 : strcmp(state, "MI422") == 0 ? "INVALID_STATE"
		                 : "INVALID_INPUT";
		tool_error_set(err, code, detail && *detail ? detail : NULL, 0, "%s", msg);
		return 0;
	}
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0) {
		tool_error_set(err, "CONFLICT", NULL, 1, "concurrent update; retry the call");
		return 1;
	}
	if (strcmp(state, "57014") == 0) {
		tool_error_set(err, "TIMEOUT", NULL, 1, "the database did not answer in time; retry later");
		return 0;
	}
	if (strcmp(state, "22003") == 0) {
		tool_error_set(err, "INVALID_INPUT", NULL, 0, "an amount is out of range: %s", msg);
		return 0;
	}
	if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0) {
		tool_error_set(err, "INVALID_INPUT", NULL, 0, "rejected by a database rule: %s", msg);
		return 0;
	}
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 || strncmp(state, "53", 2) == 0) {
		tool_error_set(err, "DATABASE_UNAVAILABLE", NULL, 1, "the database is unavailable; retry later");
		return 0;
	}
	log_error("unexpected database error %s: %s", state, msg);
	tool_error_set(err, "INTERNAL", NULL, 0, "internal database error (SQLSTATE %s)", state);
	return 0;
}
