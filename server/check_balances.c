/*
 * check_balances.c - the `check-balances` command: connects with
 * migrate_database_url (the owning role, which row-level security does not
 * bind, so every tenant is seen), runs mcp_check_balances() in a
 * repeatable-read read-only transaction (one snapshot for the invoices and
 * the kept sums) and prints each difference as a tab-separated line. CLI
 * process only.
 */
#include <libpq-fe.h>
#include <stdio.h>

#include "server/check_balances.h"
#include "server/lib/log.h"

static const char *const columns =
	"tenant_id\tcustomer_id\tcurrency\tdue_date\tkept_cents\tkept_count\tledger_cents\tledger_count";

static int print_differences(PGresult *r, FILE *out)
{
	int rows = PQntuples(r), cols = PQnfields(r);

	if (rows == 0) {
		fprintf(out, "balances: every kept balance equals its invoices\n");
		return 0;
	}
	fprintf(out, "%s\n", columns);
	for (int i = 0; i < rows; i++)
		for (int j = 0; j < cols; j++)
			fprintf(out, "%s%c", PQgetvalue(r, i, j), j + 1 < cols ? '\t' : '\n');
	fprintf(out, "balances: %d difference%s (customer_id * is the tenant's totals)\n", rows,
	        rows == 1 ? "" : "s");
	return 1;
}

int check_balances_run(const struct config *cfg, FILE *out)
{
	PGconn *c = PQconnectdb(cfg->migrate_database_url);
	PGresult *r = NULL;
	int rc = -1;

	if (PQstatus(c) != CONNECTION_OK) {
		log_error("cannot connect to the database: %s", PQerrorMessage(c));
		goto out;
	}
	r = PQexec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		log_error("BEGIN failed: %s", PQresultErrorMessage(r));
		goto out;
	}
	PQclear(r);
	r = PQexec(c, "SELECT * FROM mcp_check_balances()");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_error("mcp_check_balances() failed: %s", PQresultErrorMessage(r));
		goto out;
	}
	rc = print_differences(r, out);
out:
	PQclear(r);
	PQfinish(c);
	return rc;
}
