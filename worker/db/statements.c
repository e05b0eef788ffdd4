/*
 * statements.c - the statements a worker's connection prepares (see
 * statements.h): each names its SQL function, whether it is heavy (its
 * cost grows with a ledger) and which parameter names the row it locks
 * first; and how a SQLSTATE becomes a tool error. The SQL itself lives in
 * sql/functions as functions, so `make bench` runs the very same calls
 * through pgbench; writes run through the mcp_try_* wrappers
 * (sql/functions/02_members.sql). Runs in workers.
 */
#include <stdio.h>
#include <string.h>

#include "server/lib/log.h"
#include "server/proto/entry.h"
#include "worker/db/statements.h"
#include "worker/tools/tool_error.h"

/* Reads, and the mcp_try_* form of every write (4 columns: result, sqlstate,
 * message, detail). */
static const struct db_statement statements[] = {
	{ "list_invoices", "SELECT (r->'invoices')::text, r->'next'->>'key', r->'next'->>'id'"
	                   " FROM mcp_find_invoices($1, $2::jsonb, $3::int, $4, $5::uuid) AS r", 0, -1 },
	{ "get_invoice", "SELECT mcp_get_invoice_by($1, $2::uuid, $3)::text", 0, -1 },
	{ "list_customers", "SELECT (r->'customers')::text, r->>'next'"
	                    " FROM mcp_list_customers($1, $2, $3::int, $4) AS r", 0, -1 },
	{ "list_tax_rates", "SELECT mcp_list_tax_rates($1)::text", 0, -1 },
	{ "list_outstanding_balances", "SELECT (r - 'next')::text, r->'next'->>'currency', r->'next'->>'customer_id'"
	                               " FROM mcp_list_outstanding($1, $2, $3, $4::date, $5::int, $6, $7) AS r", 1, -1 },
	{ "get_customer", "SELECT mcp_get_customer($1, $2)::text", 0, -1 },
	{ "prompt_overdue", "SELECT mcp_prompt_overdue($1, $2, $3::int)::text", 1, -1 },
	{ "prompt_balances", "SELECT mcp_list_outstanding($1, NULL, $2, COALESCE($3::date,"
	                     " (date_trunc('month', current_date) - interval '1 day')::date), $4::int,"
	                     " NULL, NULL)::text", 1, -1 },
	{ "prompt_candidates", "SELECT mcp_prompt_candidates($1, $2, $3::bigint, $4, $5, $6::int)::text", 0, -1 },
	{ "complete", "SELECT mcp_complete($1, $2, $3, $4, $5::int)::text", 0, -1 },
	{ "get_business_profile", "SELECT mcp_get_business_profile($1)::text", 0, -1 },
	{ "get_statement", "SELECT r::text, r->>'currency', r->>'period_end', r->>'period_start'"
	                   " FROM mcp_statement($1, $2, $3, $4::date, $5::date, $6) AS r", 1, -1 },
	/* These two with the document's e-invoice source: its Factur-X XML is embedded. */
	{ "get_invoice_document", "SELECT r::text, r->>'currency', r->>'invoice_id',"
	                          " mcp_einvoice_source($1, (r->>'invoice_id')::uuid, NULL)::text"
	                          " FROM mcp_invoice_document($1, $2::uuid) AS r", 1, -1 },
	{ "get_credit_note_document", "SELECT r::text, r->>'currency', r->>'credit_note_id',"
	                              " mcp_einvoice_source($1, NULL, (r->>'credit_note_id')::uuid)::text"
	                              " FROM mcp_credit_note_document($1, $2::uuid) AS r", 1, -1 },
	/* The e-invoice source of an invoice ($2) or a credit note ($3), the
	 * other NULL (contract: docs/receivables.md "E-invoicing data"). */
	{ "einvoice_source", "SELECT mcp_einvoice_source($1, $2::uuid, $3::uuid)::text", 0, -1 },
	{ "expire_idempotency_keys", "SELECT mcp_expire_idempotency_keys()::text", 0, -1 },
	{ "create_invoice", "SELECT result::text, err_state, err_message, err_detail"
	                    " FROM mcp_try_create_invoice($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)", 0, -1 },
	{ "update_invoice", "SELECT result::text, err_state, err_message, err_detail"
	                    " FROM mcp_try_update_invoice($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", 0, 3 },
	{ "create_credit_note", "SELECT result::text, err_state, err_message, err_detail"
	                        " FROM mcp_try_create_credit_note($1, $2, $3, $4, $5, $6, $7, $8, $9)", 0, 3 },
	{ "apply_credit", "SELECT result::text, err_state, err_message, err_detail"
	                  " FROM mcp_try_apply_credit($1, $2, $3, $4, $5, $6, $7, $8)", 0, 3 },
	{ "reverse_payment", "SELECT result::text, err_state, err_message, err_detail"
	                     " FROM mcp_try_reverse_payment($1, $2, $3, $4, $5, $6, $7)", 0, -1 },
	{ "upsert_tax_rate", "SELECT result::text, err_state, err_message, err_detail"
	                     " FROM mcp_try_upsert_tax_rate($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", 0, -1 },
	{ "send_invoice", "SELECT result::text, err_state, err_message, err_detail"
	                  " FROM mcp_try_send_invoice($1, $2, $3, $4)", 0, 3 },
	{ "void_invoice", "SELECT result::text, err_state, err_message, err_detail"
	                  " FROM mcp_try_void_invoice($1, $2, $3, $4, $5)", 0, 3 },
	{ "apply_payment", "SELECT result::text, err_state, err_message, err_detail"
	                   " FROM mcp_try_apply_payment($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", 0, 3 },
	{ "upsert_customer", "SELECT result::text, err_state, err_message, err_detail"
	                     " FROM mcp_try_upsert_customer($1, $2, $3, $4, $5, $6, $7, $8, $9)", 0, -1 },
	{ "upsert_business_profile", "SELECT result::text, err_state, err_message, err_detail"
	                             " FROM mcp_try_upsert_business_profile($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
	                             " $12)", 0, -1 },
	/* Every batch: a member stuck on a row lock gives up quickly and is
	 * tried again alone, so one lock wait never holds the others back; no
	 * statement runs past the last member's deadline. */
	{ "batch_lock_timeout", "SELECT set_config('lock_timeout', '200ms', true),"
	                        " set_config('statement_timeout', $1, true)", 0, -1 },
	/* Every read: no statement runs past its own deadline. */
	{ "read_timeout", "SELECT set_config('statement_timeout', $1, true)", 0, -1 },
};
#define NSTATEMENTS (sizeof(statements) / sizeof(statements[0]))

const struct db_statement *db_statement_named(const char *name)
{
	for (size_t i = 0; i < NSTATEMENTS; i++)
		if (strcmp(statements[i].name, name) == 0)
			return &statements[i];
	fatal("no statement named %s", name);
}

size_t db_statements_count(void)
{
	return NSTATEMENTS;
}

const struct db_statement *db_statement_at(size_t i)
{
	return &statements[i];
}

void db_statements_print(FILE *out)
{
	for (size_t i = 0; i < NSTATEMENTS; i++)
		fprintf(out, "%s\t%s\n", statements[i].name, statements[i].sql);
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
