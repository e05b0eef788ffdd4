/*
 * statements.h - the statement table of a worker's database connection and
 * the SQLSTATE -> tool error map. Runs in workers (the CLI prints the
 * table).
 */
#ifndef MCPI_DB_STATEMENTS_H
#define MCPI_DB_STATEMENTS_H

#include <stddef.h>

struct tool_error;

/* A statement a connection prepares: a tool's (its declaration in the tool
 * table, tools.h) or one of the engine's and the prompts' own. */
struct db_statement {
	const char *name;
	const char *sql;
	int heavy;                 /* a read whose cost grows with a ledger: never queued behind another */
	const char *const *params; /* a tool's parameters by name (NULL-ended), else NULL */
	const char *lock_key;      /* the parameter naming the row a write locks first (batch order), or NULL */
};

/* The statement called name (a broken invariant if there is none). The
 * table is built on first use from the tool table (every declaration is
 * checked: a broken one is fatal) and statements.c's own. */
const struct db_statement *db_statement_named(const char *name);
size_t db_statements_count(void);
const struct db_statement *db_statement_at(size_t i);
/* The index of s's lock key among its parameters, or -1 (no lock key). */
int db_statement_lock_index(const struct db_statement *s);

/* Maps an error to a tool error; returns 1 if the statement may simply be
 * run again (serialization failure, deadlock, lock timeout: nothing of it
 * was kept). */
int db_map_error(const char *state, const char *msg, const char *detail, struct tool_error *err);

#endif
