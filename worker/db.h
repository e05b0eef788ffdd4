/*
 * db.h - the worker's own PostgreSQL connection: opened after fork,
 * statements prepared once per connection, reconnected when lost, errors
 * mapped to the tool error codes. Runs only in workers.
 */
#ifndef MCPI_DB_H
#define MCPI_DB_H

#include <libpq-fe.h>
#include <stdatomic.h>

struct tool_error;

struct db {
	PGconn *conn;
	const char *conninfo;
	long statement_timeout_ms;
	long long next_attempt_ns; /* reconnect backoff */
	int prepared;
	int refused; /* the last failure will not heal by itself (see db_connect) */
	atomic_int *up; /* optional: set to 1 while connected (the worker's scoreboard slot) */
};

void db_init(struct db *db, const char *conninfo, long statement_timeout_ms);
/* Connects now if possible; failure is not fatal (the next call retries).
 * On failure db->refused tells a configuration problem (no such database
 * or role, authentication refused, schema not migrated) from an outage
 * (server down, starting up, out of connection slots). */
int db_connect(struct db *db);
void db_close(struct db *db);

/* Runs prepared statement `name` (see db.c's table) whose single result
 * column is JSON text. On success *json_out is a malloc'd copy (caller
 * frees) and 0 is returned; on failure err is filled and -1 returned. A
 * statement that may be retried safely (read_only) is retried once after
 * a reconnect; serialization failures are retried up to three times. */
int db_call_json(struct db *db, const char *name, int nparams, const char *const *params,
                 int read_only, char **json_out, struct tool_error *err);

/* The same for a statement returning one row of up to DB_MAX_COLUMNS text
 * columns: cols[i] is a malloc'd copy, or NULL for SQL NULL (free each). */
#define DB_MAX_COLUMNS 4
int db_call_row(struct db *db, const char *name, int nparams, const char *const *params,
                int read_only, char **cols, int ncols, struct tool_error *err);

#endif
