/*
 * migrate.h - apply the embedded sql/migrations in order, once each,
 * recording them in schema_migrations, then every sql/functions file, the
 * generated group-commit members and sql/grants.sql on every run. Run by
 * `mcp-invoiced migrate`.
 */
#ifndef MCPI_MIGRATE_H
#define MCPI_MIGRATE_H

#include <stddef.h>

#include "server/proc/config.h"

struct migration {
	const char *name; /* NNNN_description */
	const char *sql;
};

extern const struct migration migrations[];
extern const size_t migrations_count;
/* The files of sql/functions in file order (name without .sql), and sql/grants.sql. */
extern const struct migration sql_functions[];
extern const size_t sql_functions_count;
extern const char sql_grants[];

/* Returns 0 when the schema is current. */
int migrate_run(const struct config *cfg);

#endif
