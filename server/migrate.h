/*
 * migrate.h - apply the embedded sql/migrations in order, once each,
 * recording them in schema_migrations. Run by `mcp-invoiced migrate`.
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

/* Returns 0 when the schema is current. */
int migrate_run(const struct config *cfg);

#endif
