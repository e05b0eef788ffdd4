/*
 * document.c - the invoiced:// resource URIs of rendered documents and the
 * MCP shapes that carry a PDF (see document.h). Runs in workers. URIs are
 * untrusted input (resources/read): parsed strictly, every piece then goes
 * through the tool table's argument validation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/lib/base64.h"
#include "server/lib/currency.h"
#include "server/lib/log.h"
#include "server/lib/strbuf.h"
#include "worker/tools/document.h"
#include "worker/tools/tool_error.h"
#include "worker/tools/tools.h"

#define STATEMENTS "invoiced://statements/"
#define INVOICES "invoiced://invoices/"
#define CREDIT_NOTES "invoiced://credit-notes/"

/* The next '/'-free segment of [p, end) up to stop; NULL if empty. */
static const char *segment(const char *p, const char *end, char stop, size_t *len)
{
	const char *q = p;

	while (q < end && *q != stop && *q != '/' && *q != '?')
		q++;
	if (q == p || q == end || *q != stop)
		return NULL;
	*len = (size_t)(q - p);
	return p;
}

static void add(json_object *args, const char *name, const char *s, size_t n)
{
	json_object_object_add(args, name, json_object_new_string_len(s, (int)n));
}

/* period_start=...&type=..., each at most once, nothing else. */
static int parse_query(const char *p, const char *end, json_object *args)
{
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p)), *eq;
		const char *stop = amp ? amp : end;
		const char *name;
		eq = memchr(p, '=', (size_t)(stop - p));
		if (!eq)
			return -1;
		if ((size_t)(eq - p) == 12 && memcmp(p, "period_start", 12) == 0)
			name = "period_start";
		else if ((size_t)(eq - p) == 4 && memcmp(p, "type", 4) == 0)
			name = "type";
		else
			return -1;
		if (json_object_object_get_ex(args, name, NULL))
			return -1;
		add(args, name, eq + 1, (size_t)(stop - eq - 1));
		p = amp ? amp + 1 : end;
	}
	return 0;
}

/* What follows an invoice's or credit note's id: ".pdf" (its PDF tool), or
 * ".ubl.xml" / ".cii.xml" with at most "?profile=..." (get_einvoice). */
static const struct tool_def *document_suffix(const char *p, const char *end, const char *pdf_tool,
                                              json_object *args)
{
	size_t n = (size_t)(end - p);

	if (n == 4 && memcmp(p, ".pdf", 4) == 0)
		return tools_find(pdf_tool);
	if (n < 8 || (memcmp(p, ".ubl.xml", 8) != 0 && memcmp(p, ".cii.xml", 8) != 0))
		return NULL;
	add(args, "syntax", p + 1, 3);
	if (n > 8) {
		if (n < 17 || memcmp(p + 8, "?profile=", 9) != 0 || memchr(p + 17, '&', n - 17))
			return NULL;
		add(args, "profile", p + 17, n - 17);
	}
	return tools_find("get_einvoice");
}

const struct tool_def *document_parse_uri(const char *uri, size_t len, json_object **args)
{
	const char *end = uri + len, *p, *s;
	const struct tool_def *def;
	size_t n;
	int inv;

	*args = NULL;
	if (len > DOC_URI_MAX || memchr(uri, '\0', len))
		return NULL;
	inv = len > strlen(INVOICES) && memcmp(uri, INVOICES, strlen(INVOICES)) == 0;
	if (inv || (len > strlen(CREDIT_NOTES) && memcmp(uri, CREDIT_NOTES, strlen(CREDIT_NOTES)) == 0)) {
		p = uri + strlen(inv ? INVOICES : CREDIT_NOTES);
		if (!(s = segment(p, end, '.', &n)))
			return NULL;
		*args = json_object_new_object();
		add(*args, inv ? "invoice_id" : "credit_note_id", s, n);
		def = document_suffix(s + n, end, inv ? "get_invoice_pdf" : "get_credit_note_pdf", *args);
		if (!def) {
			json_object_put(*args);
			*args = NULL;
		}
		return def;
	}
	if (len <= strlen(STATEMENTS) || memcmp(uri, STATEMENTS, strlen(STATEMENTS)) != 0)
		return NULL;
	p = uri + strlen(STATEMENTS);
	*args = json_object_new_object();
	if (!(s = segment(p, end, '/', &n)))
		goto bad;
	add(*args, "customer_id", s, n);
	p = s + n + 1;
	if (!(s = segment(p, end, '/', &n)))
		goto bad;
	add(*args, "currency", s, n);
	p = s + n + 1;
	if (!(s = segment(p, end, '.', &n)) || end - (s + n) < 4 || memcmp(s + n, ".pdf", 4) != 0)
		goto bad;
	add(*args, "period_end", s, n);
	p = s + n + 4;
	if (p < end && (*p != '?' || parse_query(p + 1, end, *args) < 0))
		goto bad;
	return tools_find("get_statement");
bad:
	json_object_put(*args);
	*args = NULL;
	return NULL;
}

static void money(char *buf, size_t cap, json_object *obj, const char *name, int exp)
{
	json_object *v = NULL;
	json_object_object_get_ex(obj, name, &v);
	currency_format(json_object_get_int64(v), exp, buf, cap);
}

/* One line an agent (or a person) reads first. Its figures add up: a
 * statement names every component that moves the balance, an invoice what
 * lies between its total and its amount due. */
/* Appends to an invoice's or credit note's summary whether its PDF is
 * Factur-X, and if not, the terms it lacks (as many as fit). */
static void facturx_note(json_object *doc, char *buf, size_t cap)
{
	json_object *missing = NULL, *fx = NULL;
	size_t n = strlen(buf);

	json_object_object_get_ex(doc, "facturx", &fx);
	if (json_object_get_boolean(fx)) {
		snprintf(buf + n, cap - n, " Factur-X (EN 16931): the CII XML is embedded as factur-x.xml.");
		return;
	}
	json_object_object_get_ex(doc, "facturx_missing", &missing);
	n += (size_t)snprintf(buf + n, cap - n, " Not Factur-X; missing:");
	for (size_t i = 0; i < json_object_array_length(missing) && n < cap; i++) {
		json_object *m = json_object_array_get_idx(missing, i);
		const char *term = json_get_string(m, "term"), *arg = json_get_string(m, "argument");
		const char *name = json_get_string(m, "name");
		n += (size_t)snprintf(buf + n, cap - n, "%s %s%s%s", i ? ";" : "", term ? term : "", term ? " " : "",
		                      name ? name : "");
		if (arg && n < cap)
			n += (size_t)snprintf(buf + n, cap - n, " (%s)", arg);
	}
	if (n < cap)
		snprintf(buf + n, cap - n, ".");
}

static void summary(int kind, json_object *doc, const char *uri, size_t size, char *buf, size_t cap)
{
	const char *cur = json_get_string(doc, "currency");
	int exp = (int)json_get_int(doc, "currency_exponent");
	json_object *cust = NULL, *sum = NULL, *lines = NULL;
	char a[8][48];

	json_object_object_get_ex(doc, "customer", &cust);
	if (kind == DOC_STATEMENT) {
		json_object_object_get_ex(doc, "summary", &sum);
		json_object_object_get_ex(doc, "lines", &lines);
		money(a[0], sizeof(a[0]), sum, "opening_balance_cents", exp);
		money(a[1], sizeof(a[1]), sum, "invoiced_cents", exp);
		money(a[2], sizeof(a[2]), sum, "payments_cents", exp);
		money(a[3], sizeof(a[3]), sum, "reversals_cents", exp);
		money(a[4], sizeof(a[4]), sum, "credit_notes_cents", exp);
		money(a[5], sizeof(a[5]), sum, "closing_balance_cents", exp);
		money(a[6], sizeof(a[6]), sum, "overdue_cents", exp);
		money(a[7], sizeof(a[7]), sum, "unapplied_credit_cents", exp);
		snprintf(buf, cap, "Statement %s (%s) for %s (%s), %s, %s to %s: opening %s + invoiced %s "
		         "- payments %s + payment reversals %s - credit notes %s = closing balance %s %s; "
		         "overdue %s, unapplied credit %s; %zu lines. PDF: %s (%zu bytes).",
		         json_get_string(doc, "statement_id"), json_get_string(doc, "type"),
		         json_get_string(cust, "name") ? json_get_string(cust, "name") : "(no name saved)",
		         json_get_string(cust, "customer_id"), cur, json_get_string(doc, "period_start"),
		         json_get_string(doc, "period_end"), a[0], a[1], a[2], a[3], a[4], a[5], cur, a[6], a[7],
		         lines ? json_object_array_length(lines) : 0, uri, size);
	} else if (kind == DOC_CREDIT_NOTE) {
		money(a[0], sizeof(a[0]), doc, "amount_cents", exp);
		money(a[1], sizeof(a[1]), doc, "applied_to_invoice_cents", exp);
		money(a[2], sizeof(a[2]), doc, "customer_credit_cents", exp);
		snprintf(buf, cap, "Credit note %s for %s on invoice %s: %s %s = %s applied to the invoice + %s "
		         "customer credit. PDF: %s (%zu bytes).", json_get_string(doc, "credit_note_number"),
		         json_get_string(doc, "customer_id"), json_get_string(doc, "invoice_number")
		         ? json_get_string(doc, "invoice_number") : "(unnumbered)", a[0], cur, a[1], a[2], uri, size);
		facturx_note(doc, buf, cap);
	} else {
		money(a[0], sizeof(a[0]), doc, "total_cents", exp);
		money(a[1], sizeof(a[1]), doc, "amount_paid_cents", exp);
		money(a[2], sizeof(a[2]), doc, "credited_cents", exp);
		money(a[3], sizeof(a[3]), doc, "amount_due_cents", exp);
		snprintf(buf, cap, "Invoice %s (%s) for %s: total %s - paid %s (net of reversals) - credited %s "
		         "(credit notes and customer credit applied) = amount due %s %s, due %s. PDF: %s (%zu bytes).",
		         json_get_string(doc, "invoice_number") ? json_get_string(doc, "invoice_number") : "(draft)",
		         json_get_string(doc, "status"), json_get_string(doc, "customer_id"), a[0], a[1], a[2], a[3],
		         cur, json_get_string(doc, "due_date"), uri, size);
		facturx_note(doc, buf, cap);
	}
}

static void put_blob(struct strbuf *b, const unsigned char *pdf, size_t len)
{
	char *enc = malloc(4 * ((len + 2) / 3) + 1);
	size_t n;

	if (!enc)
		fatal("out of memory");
	n = base64_encode(pdf, len, enc);
	strbuf_puts(b, "\"blob\":\"");
	strbuf_append(b, enc, n);
	strbuf_puts(b, "\"");
	free(enc);
}

static const char *file_name(const char *uri)
{
	const char *slash = strrchr(uri, '/');
	return slash ? slash + 1 : uri;
}

char *document_tool_result(int kind, const char *structured, const char *uri,
                           const unsigned char *pdf, size_t pdf_len, int pages, int want_inline,
                           long cap, struct tool_error *err)
{
	json_object *doc = json_tokener_parse(structured);
	size_t slen = strlen(structured), name_len;
	struct strbuf b;
	char text[3000], pdfinfo[DOC_URI_MAX + 128], name[DOC_URI_MAX], note[DOC_URI_MAX + 200];
	const char *q;
	int embed;

	if (!doc || slen < 2 || structured[slen - 1] != '}') {
		json_object_put(doc);
		tool_error_set(err, "INTERNAL", NULL, 0, "the document data could not be read back");
		return NULL;
	}
	/* Over the inline cap the PDF is linked, not embedded, and the result
	 * says so: what the agent asked for, as far as it can have it. */
	embed = want_inline && (long)pdf_len <= cap;
	summary(kind, doc, uri, pdf_len, text, sizeof(text));
	json_object_put(doc);
	q = strchr(file_name(uri), '?');
	name_len = q ? (size_t)(q - file_name(uri)) : strlen(file_name(uri));
	snprintf(name, sizeof(name), "%s%.*s", kind == DOC_STATEMENT ? "statement-"
	         : kind == DOC_CREDIT_NOTE ? "credit-note-" : "invoice-",
	         (int)name_len, file_name(uri));
	strbuf_init(&b, slen + (embed ? pdf_len * 4 / 3 : 0) + 2048);
	strbuf_puts(&b, "\"content\":[{\"type\":\"text\",\"text\":");
	strbuf_json_string(&b, text, strlen(text));
	strbuf_puts(&b, "},{\"type\":\"resource_link\",\"uri\":");
	strbuf_json_string(&b, uri, strlen(uri));
	strbuf_puts(&b, ",\"name\":");
	strbuf_json_string(&b, name, strlen(name));
	snprintf(pdfinfo, sizeof(pdfinfo), ",\"mimeType\":\"" DOC_MIME "\",\"size\":%zu}", pdf_len);
	strbuf_puts(&b, pdfinfo);
	if (want_inline && !embed) {
		snprintf(note, sizeof(note), "The PDF is %zu bytes, over the inline cap of %ld bytes "
		         "(inline_pdf_max_bytes), so it is not embedded: read %s with resources/read.",
		         pdf_len, cap, uri);
		strbuf_puts(&b, ",{\"type\":\"text\",\"text\":");
		strbuf_json_string(&b, note, strlen(note));
		strbuf_puts(&b, "}");
	}
	if (embed) {
		strbuf_puts(&b, ",{\"type\":\"resource\",\"resource\":{\"uri\":");
		strbuf_json_string(&b, uri, strlen(uri));
		strbuf_puts(&b, ",\"mimeType\":\"" DOC_MIME "\",");
		put_blob(&b, pdf, pdf_len);
		strbuf_puts(&b, "}}");
	}
	strbuf_puts(&b, "],\"structuredContent\":");
	strbuf_append(&b, structured, slen - 1);
	strbuf_puts(&b, ",\"pdf\":{\"uri\":");
	strbuf_json_string(&b, uri, strlen(uri));
	snprintf(pdfinfo, sizeof(pdfinfo), ",\"mimeType\":\"" DOC_MIME "\",\"size\":%zu,\"pages\":%d,"
	         "\"inline\":%s}},\"isError\":false", pdf_len, pages, embed ? "true" : "false");
	strbuf_puts(&b, pdfinfo);
	return strbuf_take(&b, NULL);
}

char *document_read_contents(const char *uri, const unsigned char *pdf, size_t pdf_len)
{
	struct strbuf b;

	strbuf_init(&b, pdf_len * 4 / 3 + 512);
	strbuf_puts(&b, "\"contents\":[{\"uri\":");
	strbuf_json_string(&b, uri, strlen(uri));
	strbuf_puts(&b, ",\"mimeType\":\"" DOC_MIME "\",");
	put_blob(&b, pdf, pdf_len);
	strbuf_puts(&b, "}]");
	return strbuf_take(&b, NULL);
}

/* {"uri":...,"mimeType":...,"text":...}: a text resource's contents. */
static void put_text_resource(struct strbuf *b, const char *uri, const char *mime, const char *text, size_t len)
{
	strbuf_puts(b, "{\"uri\":");
	strbuf_json_string(b, uri, strlen(uri));
	strbuf_puts(b, ",\"mimeType\":");
	strbuf_json_string(b, mime, strlen(mime));
	strbuf_puts(b, ",\"text\":");
	strbuf_json_string(b, text, len);
	strbuf_puts(b, "}");
}

char *document_text_tool_result(const char *structured, const char *uri, const char *mime,
                                const char *text, size_t len)
{
	size_t n = strlen(structured);
	struct strbuf b;

	strbuf_init(&b, 2 * n + len * 11 / 10 + 512);
	strbuf_puts(&b, "\"content\":[{\"type\":\"text\",\"text\":");
	strbuf_json_string(&b, structured, n);
	strbuf_puts(&b, "},{\"type\":\"resource\",\"resource\":");
	put_text_resource(&b, uri, mime, text, len);
	strbuf_puts(&b, "}],\"structuredContent\":");
	strbuf_append(&b, structured, n);
	strbuf_puts(&b, ",\"isError\":false");
	return strbuf_take(&b, NULL);
}

char *document_read_text(const char *uri, const char *mime, const char *text, size_t len)
{
	struct strbuf b;

	strbuf_init(&b, len * 11 / 10 + 512);
	strbuf_puts(&b, "\"contents\":[");
	put_text_resource(&b, uri, mime, text, len);
	strbuf_puts(&b, "]");
	return strbuf_take(&b, NULL);
}
