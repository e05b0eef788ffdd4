/*
 * tool_documents.c - the logic beyond their declared statements (tools.c)
 * of the seller's business profile (its VAT id) and of the documents
 * rendered to PDF (get_statement, get_invoice_pdf, get_credit_note_pdf).
 * Runs in workers: prepare checks the period; finish adds the currency's
 * exponent and keeps the document's resource URI in the call (call->scope)
 * for the result and the renderer. An invoice or a credit note whose
 * e-invoice data is complete gets its CII XML (EN 16931) written here and
 * kept in the call (call->embed): the renderer embeds it, making the PDF
 * Factur-X.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/lib/currency.h"
#include "server/lib/log.h"
#include "server/lib/strbuf.h"
#include "server/proto/render_proto.h"
#include "worker/einvoice/einvoice.h"
#include "worker/tools/document.h"
#include "worker/tools/tool_handlers.h"

int tool_upsert_business_profile(struct tool_call *call, struct tool_error *err)
{
	const char *vat_id;

	return tool_arg_alias(call, "vat_id", "tax_id", &vat_id, err) < 0 ||
	       tool_vat_id_in_country(call, vat_id, err) < 0 ? -1 : 0;
}

int tool_get_statement(struct tool_call *call, struct tool_error *err)
{
	const char *start = json_get_string(call->args, "period_start");
	const char *end = json_get_string(call->args, "period_end");

	/* Both YYYY-MM-DD: text order is date order. */
	if (start && end && strcmp(start, end) > 0) {
		tool_error_set(err, "INVALID_INPUT", "period_start", 0,
		               "period_start %s is after period_end %s", start, end);
		return -1;
	}
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

/* A missing "term" that is no business term: why the XML cannot go with the PDF. */
static json_object *not_a_term(const char *name)
{
	json_object *list = json_object_new_array(), *o = json_object_new_object();

	json_object_object_add(o, "term", NULL);
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "argument", NULL);
	json_object_array_add(list, o);
	return list;
}

/* The document's CII XML (EN 16931) from its e-invoice source, kept in
 * call for the renderer; appends "facturx" (and what is missing) to doc. */
static void facturx(struct tool_call *call, const char *source, struct strbuf *doc)
{
	json_object *src = source ? json_tokener_parse(source) : NULL, *missing = NULL;
	struct strbuf xml;
	char why[160];

	strbuf_init(&xml, 16384);
	if (!src) {
		missing = not_a_term("the document's e-invoice data could not be read");
	} else if (einvoice_write(src, EINVOICE_CII, EINVOICE_EN16931, &xml, &missing) < 0) {
		if (!missing)
			missing = not_a_term("the e-invoice writer refused the document");
	} else if (xml.len > RENDER_MAX_ATTACHMENT) {
		snprintf(why, sizeof(why), "the CII XML is %zu bytes, over the renderer's limit of %u for an "
		         "embedded file", xml.len, RENDER_MAX_ATTACHMENT);
		missing = not_a_term(why);
	} else {
		call->embed = strbuf_take(&xml, &call->embed_len);
		call->embed_mime = "application/xml";
	}
	if (call->embed) {
		strbuf_puts(doc, ",\"facturx\":true");
	} else {
		strbuf_puts(doc, ",\"facturx\":false,\"facturx_missing\":");
		strbuf_puts(doc, json_object_to_json_string_ext(missing, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	json_object_put(missing);
	json_object_put(src);
	strbuf_free(&xml);
}

/* cols: the document, its currency, its id (as PostgreSQL spells it), its
 * e-invoice source; the result with the currency's exponent and Factur-X. */
static int facturx_document_finish(struct tool_call *call, char *const *cols, const char *what,
                                   const char *uri_format, char **result, struct tool_error *err)
{
	struct strbuf doc;
	char *with_exponent;

	if (!cols[2]) {
		tool_error_set(err, "INTERNAL", NULL, 0, "the database returned no %s", what);
		return -1;
	}
	snprintf(call->scope, sizeof(call->scope), uri_format, cols[2]);
	if (add_exponent(cols[0], cols[1], &with_exponent, err) < 0)
		return -1;
	strbuf_init(&doc, strlen(with_exponent) + 256);
	strbuf_append(&doc, with_exponent, strlen(with_exponent) - 1);
	free(with_exponent);
	facturx(call, cols[3], &doc);
	strbuf_puts(&doc, "}");
	*result = strbuf_take(&doc, NULL);
	return 0;
}

int tool_get_invoice_pdf_finish(struct tool_call *call, char *const *cols, char **result,
                                struct tool_error *err)
{
	return facturx_document_finish(call, cols, "invoice", "invoiced://invoices/%s.pdf", result, err);
}

int tool_get_credit_note_pdf_finish(struct tool_call *call, char *const *cols, char **result,
                                    struct tool_error *err)
{
	return facturx_document_finish(call, cols, "credit note", "invoiced://credit-notes/%s.pdf", result, err);
}
