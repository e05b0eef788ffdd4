/*
 * migrate.c - the `migrate` command: connects with migrate_database_url
 * (the owning role), takes an advisory lock so two runs cannot interleave,
 * and applies each embedded migration not yet in schema_migrations inside
 * its own transaction; then, on every run and in one transaction, creates
 * or replaces every function of sql/functions in file order, generates the
 * group-commit members (mcp_make_members) and applies sql/grants.sql.
 * Safe to run again. CLI process only.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/lib/log.h"
#include "server/migrate.h"

static int exec_ok(PGconn *c, const char *sql, const char *what)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
		log_error("%s failed: %s", what, PQresultErrorMessage(r));
	PQclear(r);
	return ok ? 0 : -1;
}

/* After migrations that ran on a database with rows: every table that has
 * rows analyzed, so plans made from the first request on see the new
 * columns and indexes (README "Database": plans that hold on day one). An
 * empty table is left unanalyzed: until its first ANALYZE the planner
 * assumes it may grow (at least 10 pages), where a table analyzed empty is
 * taken to be as small as it is now. */
static int analyze_tables(PGconn *c)
{
	return exec_ok(c, "DO $$DECLARE t regclass; n bigint; BEGIN"
	                  " FOR t IN SELECT oid FROM pg_class WHERE relkind = 'r'"
	                  "  AND relnamespace = 'public'::regnamespace LOOP"
	                  "  EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s LIMIT 1) x', t) INTO n;"
	                  "  IF n > 0 THEN EXECUTE format('ANALYZE %s', t); END IF;"
	                  " END LOOP; END $$", "analyzing the tables");
}

static int applied(PGconn *c, const char *version, int *out)
{
	const char *params[1] = { version };
	PGresult *r = PQexecParams(c, "SELECT 1 FROM schema_migrations WHERE version = $1::int",
	                           1, NULL, params, NULL, NULL, 0);
	int ok = PQresultStatus(r) == PGRES_TUPLES_OK;

	*out = ok && PQntuples(r) == 1;
	if (!ok)
		log_error("reading schema_migrations failed: %s", PQresultErrorMessage(r));
	PQclear(r);
	return ok ? 0 : -1;
}

/* Applies migration mg unless schema_migrations has it, in its own
 * transaction; *done counts the applied ones. */
static int apply_migration(PGconn *c, const struct migration *mg, int *done)
{
	char version[16];
	const char *params[2];
	PGresult *r;
	int is_applied;

	snprintf(version, sizeof(version), "%d", atoi(mg->name));
	if (applied(c, version, &is_applied) < 0)
		return -1;
	if (is_applied)
		return 0;
	if (exec_ok(c, "BEGIN", "BEGIN") < 0)
		return -1;
	if (exec_ok(c, mg->sql, mg->name) < 0) {
		exec_ok(c, "ROLLBACK", "ROLLBACK");
		return -1;
	}
	params[0] = version;
	params[1] = mg->name;
	r = PQexecParams(c, "INSERT INTO schema_migrations (version, name) VALUES ($1::int, $2)",
	                 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		log_error("recording %s failed: %s", mg->name, PQresultErrorMessage(r));
		PQclear(r);
		exec_ok(c, "ROLLBACK", "ROLLBACK");
		return -1;
	}
	PQclear(r);
	if (exec_ok(c, "COMMIT", "COMMIT") < 0)
		return -1;
	log_info("applied migration %s", mg->name);
	(*done)++;
	return 0;
}

/* Every function file, then the group-commit members generated from the
 * tool functions as they now are (sql/functions/02_members.sql), then the
 * grants: one transaction, on every run, so a changed body is in place
 * whether or not a migration was pending. */
static int apply_functions(PGconn *c)
{
	if (exec_ok(c, "BEGIN", "BEGIN") < 0)
		return -1;
	for (size_t i = 0; i < sql_functions_count; i++)
		if (exec_ok(c, sql_functions[i].sql, sql_functions[i].name) < 0)
			goto fail;
	if (exec_ok(c, "SELECT mcp_make_members()", "generating the mcp_try_* members") < 0 ||
	    exec_ok(c, sql_grants, "grants") < 0)
		goto fail;
	return exec_ok(c, "COMMIT", "COMMIT");
fail:
	exec_ok(c, "ROLLBACK", "ROLLBACK");
	return -1;
}

int migrate_run(const struct config *cfg)
{
	PGconn *c = PQconnectdb(cfg->migrate_database_url);
	int rc = -1, done = 0;

	if (PQstatus(c) != CONNECTION_OK) {
		log_error("cannot connect to the database: %s", PQerrorMessage(c));
		goto out;
	}
	if (exec_ok(c, "SET client_min_messages = warning", "setup") < 0 ||
	    exec_ok(c, "SELECT pg_advisory_lock(7383021)", "taking the migration lock") < 0 ||
	    exec_ok(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	               " version integer PRIMARY KEY, name text NOT NULL,"
	               " applied_at timestamptz NOT NULL DEFAULT now())", "creating schema_migrations") < 0)
		goto out;
	for (size_t i = 0; i < migrations_count; i++)
		if (apply_migration(c, &migrations[i], &done) < 0)
			goto out;
	if (apply_functions(c) < 0)
		goto out;
	if (done > 0 && analyze_tables(c) < 0)
		goto out;
	log_info("schema is current (%d applied now, %zu known, %zu function files)", done,
	         migrations_count, sql_functions_count);
	rc = 0;
out:
	PQfinish(c);
	return rc;
}
