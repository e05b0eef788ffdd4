/*
 * db.c - one PostgreSQL connection per worker, with prepared statements and
 * SQLSTATE-to-tool-error mapping. Runs in workers only; every query is
 * parameterized, every result cleared, and a connection that failed is
 * reset before reuse.
 *
 * The SQL lives in sql/migrations as functions; this table only names them,
 * so `make bench` can run the very same statements through pgbench.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../server/log.h"
#include "../shm/limiter.h"
#include "db.h"
#include "tool_error.h"

struct statement {
	const char *name;
	const char *sql;
};

static const struct statement statements[] = {
	{ "create_invoice", "SELECT mcp_create_invoice($1, $2, $3, $4, $5, $6::date, $7, $8::jsonb, $9, $10::jsonb)::text" },
	{ "list_invoices", "SELECT (r->'invoices')::text, r->'next'->>'ts', r->'next'->>'id'"
	                   " FROM mcp_list_invoices($1, $2, $3, $4::int, $5::bigint, $6::uuid) AS r" },
	{ "get_invoice", "SELECT mcp_get_invoice($1, $2::uuid)::text" },
	{ "send_invoice", "SELECT mcp_send_invoice($1, $2, $3, $4::uuid)::text" },
	{ "void_invoice", "SELECT mcp_void_invoice($1, $2, $3, $4::uuid, $5)::text" },
	{ "apply_payment", "SELECT mcp_apply_payment($1, $2, $3, $4::uuid, $5::bigint, $6::timestamptz, $7, $8, $9, $10::jsonb)::text" },
	{ "list_outstanding_balances", "SELECT (r - 'next')::text, r->'next'->>'currency', r->'next'->>'customer_id'"
	                               " FROM mcp_list_outstanding($1, $2, $3, $4::date, $5::int, $6, $7) AS r" },
	{ "upsert_customer", "SELECT mcp_upsert_customer($1, $2, $3, $4, $5, $6, $7)::text" },
	{ "get_customer", "SELECT mcp_get_customer($1, $2)::text" },
	{ "expire_idempotency_keys", "SELECT mcp_expire_idempotency_keys()::text" },
};
#define NSTATEMENTS (sizeof(statements) / sizeof(statements[0]))

#define RECONNECT_BACKOFF_NS 500000000LL

void db_init(struct db *db, const char *conninfo, long statement_timeout_ms)
{
	memset(db, 0, sizeof(*db));
	db->conninfo = conninfo;
	db->statement_timeout_ms = statement_timeout_ms;
}

void db_close(struct db *db)
{
	if (db->up)
		atomic_store(db->up, 0);
	if (db->conn)
		PQfinish(db->conn);
	db->conn = NULL;
	db->prepared = 0;
}

static int prepare_all(struct db *db)
{
	char sql[128];
	PGresult *r;

	snprintf(sql, sizeof(sql), "SET statement_timeout = %ld", db->statement_timeout_ms);
	r = PQexec(db->conn, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		log_error("cannot set statement_timeout: %s", PQerrorMessage(db->conn));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	for (size_t i = 0; i < NSTATEMENTS; i++) {
		r = PQprepare(db->conn, statements[i].name, statements[i].sql, 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			log_error("cannot prepare %s: %s (has `mcp-invoiced migrate` run?)",
			          statements[i].name, PQresultErrorMessage(r));
			PQclear(r);
			return -1;
		}
		PQclear(r);
	}
	db->prepared = 1;
	return 0;
}

/* Row-level security does not bind superusers, BYPASSRLS roles or the
 * tables' owner: say so once, loudly, if that is who we are. */
static void warn_if_rls_bypassed(struct db *db)
{
	static int checked;
	PGresult *r;

	if (checked++)
		return;
	r = PQexec(db->conn, "SELECT rolsuper OR rolbypassrls OR pg_has_role(current_user, "
	                     "(SELECT relowner FROM pg_class WHERE relname = 'invoices'), 'USAGE'), "
	                     "current_user FROM pg_roles WHERE rolname = current_user");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't')
		log_warn("database role %s bypasses row-level security (superuser, BYPASSRLS or "
		         "table owner); tenants are then kept apart by query filters alone. "
		         "Connect as mcp_invoiced_app.", PQgetvalue(r, 0, 1));
	PQclear(r);
}

/* A server-side FATAL at connection time is a verdict on our settings,
 * except the ones that pass with time. */
static int refusal_is_permanent(const char *msg)
{
	static const char *const transient[] = {
		"starting up", "shutting down", "in recovery", "too many", "connection slots",
	};

	if (!strstr(msg, "FATAL:"))
		return 0;
	for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
		if (strstr(msg, transient[i]))
			return 0;
	return 1;
}

int db_connect(struct db *db)
{
	long long now = limiter_now_ns();

	if (db->conn && PQstatus(db->conn) == CONNECTION_OK && db->prepared)
		return 0;
	if (now < db->next_attempt_ns)
		return -1;
	db_close(db);
	db->conn = PQconnectdb(db->conninfo);
	db->refused = 0;
	if (PQstatus(db->conn) != CONNECTION_OK) {
		/* The libpq message names host and reason, never the password. */
		db->refused = refusal_is_permanent(PQerrorMessage(db->conn));
		log_error("database connection failed: %s", PQerrorMessage(db->conn));
		db_close(db);
		db->next_attempt_ns = now + RECONNECT_BACKOFF_NS;
		return -1;
	}
	if (prepare_all(db) < 0) {
		db->refused = 1; /* the schema is missing or older than this binary */
		db_close(db);
		db->next_attempt_ns = now + RECONNECT_BACKOFF_NS;
		return -1;
	}
	log_info("database connected");
	if (db->up)
		atomic_store(db->up, 1);
	warn_if_rls_bypassed(db);
	return 0;
}

/* Maps a failed result to a tool error; returns 1 if the statement may be
 * re-run (serialization failure or deadlock). */
static int map_error(PGresult *r, struct tool_error *err)
{
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	const char *detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);

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
		tool_error_set(err, code, detail, 0, "%s", msg);
		return 0;
	}
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) {
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

int db_call_row(struct db *db, const char *name, int nparams, const char *const *params,
                int read_only, char **cols, int ncols, struct tool_error *err)
{
	int attempts = 0, reconnects = 0;

	for (;;) {
		PGresult *r;

		if (db_connect(db) < 0) {
			tool_error_set(err, "DATABASE_UNAVAILABLE", NULL, 1,
			               "the database is unavailable; retry later");
			return -1;
		}
		r = PQexecPrepared(db->conn, name, nparams, params, NULL, NULL, 0);
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQnfields(r) == ncols) {
			for (int i = 0; i < ncols; i++) {
				cols[i] = NULL;
				if (!PQgetisnull(r, 0, i) && !(cols[i] = strdup(PQgetvalue(r, 0, i))))
					fatal("out of memory");
			}
			PQclear(r);
			return 0;
		}
		if (PQstatus(db->conn) != CONNECTION_OK) {
			PQclear(r);
			log_warn("database connection lost during %s", name);
			db_close(db);
			/* A write may or may not have committed: let the agent retry
			 * (idempotency keys make that safe). A read is re-run once. */
			if (read_only && reconnects++ == 0)
				continue;
			tool_error_set(err, "DATABASE_UNAVAILABLE", NULL, 1,
			               "the database connection was lost; retry the call");
			return -1;
		}
		if (PQresultStatus(r) == PGRES_TUPLES_OK) {
			log_error("%s returned %d rows of %d columns", name, PQntuples(r), PQnfields(r));
			tool_error_set(err, "INTERNAL", NULL, 0, "unexpected database result");
			PQclear(r);
			return -1;
		}
		if (map_error(r, err) && ++attempts < 3) {
			PQclear(r);
			continue;
		}
		PQclear(r);
		return -1;
	}
}

int db_call_json(struct db *db, const char *name, int nparams, const char *const *params,
                 int read_only, char **json_out, struct tool_error *err)
{
	if (db_call_row(db, name, nparams, params, read_only, json_out, 1, err) < 0)
		return -1;
	if (!*json_out) {
		tool_error_set(err, "INTERNAL", NULL, 0, "the database returned no value");
		return -1;
	}
	return 0;
}
