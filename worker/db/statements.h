/*
 * statements.h - the statement table of a worker's database connection and
 * the SQLSTATE -> tool error map. Runs in workers.
 */
#ifndef MCPI_DB_STATEMENTS_H
#define MCPI_DB_STATEMENTS_H

#include <stddef.h>

struct tool_error;

struct db_statement {
	const char *name;
	const char *sql;
	int heavy;      /* a read whose cost grows with a ledger: never queued behind another */
	int lock_param; /* the parameter naming the row a write locks first (batch order), or -1 */
};

/* The statement called name (a broken invariant if there is none). */
const struct db_statement *db_statement_named(const char *name);
size_t db_statements_count(void);
const struct db_statement *db_statement_at(size_t i);

/* Maps an error to a tool error; returns 1 if the statement may simply be
 * run again (serialization failure, deadlock, lock timeout: nothing of it
 * was kept). */
int db_map_error(const char *state, const char *msg, const char *detail, struct tool_error *err);

#endif
