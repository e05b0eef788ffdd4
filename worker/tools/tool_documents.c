/*
 * tool_documents.c - queries for the seller's business profile and for the
 * documents rendered to PDF (get_statement, get_invoice_pdf,
 * get_credit_note_pdf). Runs in
 * workers: prepare names one SQL function call; finish adds the currency's
 * exponent and keeps the document's resource URI in the call (call->scope)
 * for the result and the renderer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/auth/auth.h"
#include "server/lib/currency.h"
#include "server/lib/log.h"
#include "worker/tools/document.h"
#include "worker/tools/tool_handlers.h"

int tool_upsert_business_profile(struct tool_call *call, struct tool_query *q, struct tool_error *err)
{
	const char *vat_id;

	if (tool_arg_alias(call, "vat_id", "tax_id", &vat_id, err) < 0 ||
	    tool_vat_id_in_country(call, vat_id, err) < 0)
		return -1;
	/* The address as text, or (an object) among the e-invoice fields. */
	*q = (struct tool_query){ .stmt = "upsert_business_profile", .nparams = 12, .ncols = 1, .params = {
		call->id->tenant, call->id->sub, call->request_id, json_get_string(call->args, "legal_name"),
		json_get_string(call->args, "address"), vat_id,
		json_get_string(call->args, "email"), json_get_string(call->args, "phone"),
		json_get_string(call->args, "payment_instructions"),
		json_get_string(call->args, "paper_size"), json_get_string(call->args, "default_currency"),
		tool_args_except(call, "legal_name vat_id tax_id email phone payment_instructions paper_size "
		                       "default_currency") } };
	return 0;
}

int tool_get_business_profile(struct tool_call *call, struct tool_query *q, struct tool_error *err)
{
	(void)err;
	*q = (struct tool_query){ .stmt = "get_business_profile", .nparams = 1, .read_only = 1,
	                          .ncols = 1, .params = { call->id->tenant } };
	return 0;
}

int tool_get_statement(struct tool_call *call, struct tool_query *q, struct tool_error *err)
{
	const char *start = json_get_string(call->args, "period_start");
	const char *end = json_get_string(call->args, "period_end");

	/* Both YYYY-MM-DD: text order is date order. */
	if (start && end && strcmp(start, end) > 0) {
		tool_error_set(err, "INVALID_INPUT", "period_start", 0,
		               "period_start %s is after period_end %s", start, end);
		return -1;
	}
	*q = (struct tool_query){ .stmt = "get_statement", .nparams = 6, .read_only = 1, .ncols = 4,
	                          .params = { call->id->tenant, json_get_string(call->args, "customer_id"),
	                                      json_get_string(call->args, "currency"), start, end,
	                                      json_get_string(call->args, "type") } };
	return 0;
}

/* Appends ,"currency_exponent":N to the JSON object text json. */
static int add_exponent(const char *json, const char *currency, char **result, struct tool_error *err)
{
	size_t n = json ? strlen(json) : 0;
	int e = currency ? currency_exponent(currency) : -1;

	if (n < 2 || json[n - 1] != '}' || e < 0) {
		tool_error_set(err, "INTERNAL", NULL, 0, "the database returned no document");
		return -1;
	}
	if (!(*result = malloc(n + 32)))
		fatal("out of memory");
	snprintf(*result, n + 32, "%.*s,\"currency_exponent\":%d}", (int)(n - 1), json, e);
	return 0;
}

/* cols: the statement, its currency, period_end, period_start. */
int tool_get_statement_finish(struct tool_call *call, char *const *cols, char **result,
                              struct tool_error *err)
{
	if (!cols[1] || !cols[2] || !cols[3]) {
		tool_error_set(err, "INTERNAL", NULL, 0, "the database returned no statement");
		return -1;
	}
	snprintf(call->scope, sizeof(call->scope), "invoiced://statements/%s/%s/%s.pdf?period_start=%s&type=%s",
	         json_get_string(call->args, "customer_id"), cols[1], cols[2], cols[3],
	         json_get_string(call->args, "type"));
	return add_exponent(cols[0], cols[1], result, err);
}

int tool_get_invoice_pdf(struct tool_call *call, struct tool_query *q, struct tool_error *err)
{
	(void)err;
	*q = (struct tool_query){ .stmt = "get_invoice_document", .nparams = 2, .read_only = 1, .ncols = 3,
	                          .params = { call->id->tenant, json_get_string(call->args, "invoice_id") } };
	return 0;
}

/* cols: the document, its currency, its invoice_id (as PostgreSQL spells it). */
int tool_get_invoice_pdf_finish(struct tool_call *call, char *const *cols, char **result,
                                struct tool_error *err)
{
	if (!cols[2]) {
		tool_error_set(err, "INTERNAL", NULL, 0, "the database returned no invoice");
		return -1;
	}
	snprintf(call->scope, sizeof(call->scope), "invoiced://invoices/%s.pdf", cols[2]);
	return add_exponent(cols[0], cols[1], result, err);
}

int tool_get_credit_note_pdf(struct tool_call *call, struct tool_query *q, struct tool_error *err)
{
	(void)err;
	*q = (struct tool_query){ .stmt = "get_credit_note_document", .nparams = 2, .read_only = 1, .ncols = 3,
	                          .params = { call->id->tenant, json_get_string(call->args, "credit_note_id") } };
	return 0;
}

/* cols: the document, its currency, its credit_note_id. */
int tool_get_credit_note_pdf_finish(struct tool_call *call, char *const *cols, char **result,
                                    struct tool_error *err)
{
	if (!cols[2]) {
		tool_error_set(err, "INTERNAL", NULL, 0, "the database returned no credit note");
		return -1;
	}
	snprintf(call->scope, sizeof(call->scope), "invoiced://credit-notes/%s.pdf", cols[2]);
	return add_exponent(cols[0], cols[1], result, err);
}
