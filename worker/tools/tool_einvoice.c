/*
 * tool_einvoice.c - get_einvoice: one invoice or credit note as an EN 16931
 * e-invoice (UBL 2.1, EN 16931 or Peppol BIS 3.0; or CII D16B). Runs in
 * workers: prepare checks the arguments (the statement, einvoice_source, is
 * declared in tools.c); finish writes the XML
 * (worker/einvoice), keeps it in call->embed for the result's embedded
 * resource, and answers {document_id, type_code, syntax, profile, bytes,
 * sha256, uri}; or INVALID_STATE naming every missing business term.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "server/lib/log.h"
#include "server/lib/strbuf.h"
#include "worker/einvoice/einvoice.h"
#include "worker/tools/tool_handlers.h"

int tool_get_einvoice(struct tool_call *call, struct tool_error *err)
{
	const char *inv = json_get_string(call->args, "invoice_id");
	const char *cn = json_get_string(call->args, "credit_note_id");

	if (!inv == !cn) {
		tool_error_set(err, "INVALID_INPUT", inv ? "credit_note_id" : "invoice_id", 0,
		               "give exactly one of invoice_id and credit_note_id");
		return -1;
	}
	if (!strcmp(json_get_string(call->args, "profile"), "peppol") &&
	    strcmp(json_get_string(call->args, "syntax"), "ubl") != 0) {
		tool_error_set(err, "INVALID_INPUT", "profile", 0,
		               "profile peppol (Peppol BIS Billing 3.0) is defined for syntax ubl only");
		return -1;
	}
	return 0;
}

/* INVALID_STATE: "... missing BT-31 Seller VAT identifier
 * (upsert_business_profile.vat_id); BT-40 ..." - every term, in one message. */
static void missing_error(json_object *missing, const char *what, struct tool_error *err)
{
	struct strbuf b;
	size_t i, n = json_object_array_length(missing);

	strbuf_init(&b, 512);
	for (i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(missing, i);
		strbuf_printf(&b, "%s%s %s (%s)", i ? "; " : "", json_get_string(m, "term"),
		              json_get_string(m, "name"), json_get_string(m, "argument"));
	}
	tool_error_set(err, "INVALID_STATE", NULL, 0, "%s cannot be a valid EN 16931 document yet; missing: %s",
	               what, b.data);
	strbuf_free(&b);
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		fatal("SHA-256 failed");
	for (i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The structuredContent, with the URI the same document is read at. */
static char *einvoice_result(struct tool_call *call, json_object *src, const char *syntax, const char *profile)
{
	const char *inv = json_get_string(call->args, "invoice_id");
	char sha[65];
	struct strbuf b;

	snprintf(call->scope, sizeof(call->scope), "invoiced://%s/%s.%s.xml%s", inv ? "invoices" : "credit-notes",
	         json_get_string(src, "id"), syntax, strcmp(profile, "peppol") ? "" : "?profile=peppol");
	sha256_hex(call->embed, call->embed_len, sha);
	strbuf_init(&b, 512);
	strbuf_puts(&b, "{\"document_id\":");
	strbuf_json_string(&b, json_get_string(src, "number"), strlen(json_get_string(src, "number")));
	strbuf_printf(&b, ",\"type_code\":\"%s\",\"syntax\":\"%s\",\"profile\":\"%s\",\"bytes\":%zu,"
	              "\"sha256\":\"%s\",\"uri\":", inv ? "380" : "381", syntax, profile, call->embed_len, sha);
	strbuf_json_string(&b, call->scope, strlen(call->scope));
	strbuf_puts(&b, "}");
	return strbuf_take(&b, NULL);
}

int tool_get_einvoice_finish(struct tool_call *call, char *const *cols, char **result, struct tool_error *err)
{
	const char *syntax = json_get_string(call->args, "syntax"), *profile = json_get_string(call->args, "profile");
	const char *inv = json_get_string(call->args, "invoice_id");
	json_object *src = cols[0] ? json_tokener_parse(cols[0]) : NULL, *missing = NULL;
	struct strbuf xml;
	int rc = -1;

	strbuf_init(&xml, 16384);
	if (!src || !json_object_is_type(src, json_type_object)) {
		tool_error_set(err, "NOT_FOUND", inv ? "invoice_id" : "credit_note_id", 0, "no %s %s",
		               inv ? "invoice" : "credit note", inv ? inv : json_get_string(call->args, "credit_note_id"));
	} else if (einvoice_write(src, strcmp(syntax, "cii") ? EINVOICE_UBL : EINVOICE_CII,
	                          strcmp(profile, "peppol") ? EINVOICE_EN16931 : EINVOICE_PEPPOL, &xml, &missing) < 0) {
		if (missing)
			missing_error(missing, inv ? "the invoice" : "the credit note", err);
		else
			tool_error_set(err, "INTERNAL", NULL, 0, "the e-invoice could not be written");
	} else {
		call->embed = strbuf_take(&xml, &call->embed_len);
		call->embed_mime = "application/xml";
		*result = einvoice_result(call, src, syntax, profile);
		rc = 0;
	}
	json_object_put(missing);
	json_object_put(src);
	strbuf_free(&xml);
	return rc;
}
