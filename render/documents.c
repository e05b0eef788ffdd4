/*
 * documents.c - statement and invoice layouts (see documents.h): what is
 * printed where. Runs only in the renderer. Text of any length is drawn
 * whole (wrapped) from heap strings; the few fixed-size fields (table
 * cells, the title, the running header) are cut by textclip_copy, on a
 * grapheme boundary and with an ellipsis.
 */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/documents.h"
#include "render/pdf.h"
#include "render/textclip.h"
#include "server/lib/currency.h"
#include "server/lib/json_get.h"
#include "server/proto/render_proto.h"

struct docdata {
	json_object *root, *seller, *customer, *lines, *payments;
	const char *currency;
	int exp;
	char title[200], running[400];
};

static const char *str(json_object *o, const char *name)
{
	const char *s = o ? json_get_string(o, name) : NULL;
	return s ? s : "";
}

static long long num(json_object *o, const char *name)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, name, &v) && json_object_is_type(v, json_type_int)
	       ? json_object_get_int64(v) : 0;
}

static json_object *member(json_object *o, const char *name, json_type type)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, name, &v) && json_object_is_type(v, type) ? v : NULL;
}

static void money(const struct docdata *dd, long long v, char *buf, size_t cap)
{
	currency_format(v, dd->exp, buf, cap);
}

static void money_cur(const struct docdata *dd, long long v, char *buf, size_t cap)
{
	char m[40];
	currency_format(v, dd->exp, m, sizeof(m));
	snprintf(buf, cap, "%.3s %s", dd->currency, m);
}

/* A formatted text of any length, wrapped in a box of width w; returns its height. */
static double text_printf(struct pdf *p, double x, double y, double w, double size, int bold,
                          const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static double text_printf(struct pdf *p, double x, double y, double w, double size, int bold,
                          const char *fmt, ...)
{
	va_list ap;
	char *s;
	double h;

	va_start(ap, fmt);
	s = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	h = pdf_text(p, x, y, w, s, size, bold, PDF_LEFT);
	g_free(s);
	return h;
}

/* Label: value pairs in a right-aligned column; returns the new y. */
static double facts(struct pdf *p, double x, double y, double w, const char *const *kv, int n)
{
	for (int i = 0; i < n; i++) {
		double h = pdf_text(p, x, y, w * 0.42, kv[2 * i], 8.5, 1, PDF_LEFT);
		double h2 = pdf_text(p, x + w * 0.42, y, w * 0.58, kv[2 * i + 1], 8.5, 0, PDF_RIGHT);
		y += (h > h2 ? h : h2) + 1;
	}
	return y;
}

/* Seller on the left, the document's heading and facts on the right. */
static double masthead(struct pdf *p, const struct docdata *dd, const char *heading,
                       const char *const *kv, int n)
{
	double x = pdf_left(p), w = pdf_width(p), y = 42, ly, ry;

	ly = y + pdf_text(p, x, y, w * 0.55, str(dd->seller, "legal_name")[0] ? str(dd->seller, "legal_name")
	                  : "(no business profile: see upsert_business_profile)", 13, 1, PDF_LEFT) + 2;
	ly += pdf_text(p, x, ly, w * 0.55, str(dd->seller, "address"), 8.5, 0, PDF_LEFT);
	if (*str(dd->seller, "tax_id"))
		ly += text_printf(p, x, ly, w * 0.55, 8.5, 0, "Tax ID: %s", str(dd->seller, "tax_id"));
	if (*str(dd->seller, "email") || *str(dd->seller, "phone"))
		ly += text_printf(p, x, ly, w * 0.55, 8.5, 0, "%s%s%s", str(dd->seller, "email"),
		                  *str(dd->seller, "email") && *str(dd->seller, "phone") ? "  \xc2\xb7  " : "",
		                  str(dd->seller, "phone"));
	ry = y + pdf_text(p, x + w * 0.6, y, w * 0.4, heading, 18, 1, PDF_RIGHT) + 4;
	ry = facts(p, x + w * 0.6, ry, w * 0.4, kv, n);
	return (ly > ry ? ly : ry) + 10;
}

static double customer_block(struct pdf *p, const struct docdata *dd, const char *label, double y)
{
	double x = pdf_left(p), w = pdf_width(p) * 0.55;

	y += pdf_text(p, x, y, w, label, 7.5, 1, PDF_LEFT) + 1;
	y += pdf_text(p, x, y, w, *str(dd->customer, "name") ? str(dd->customer, "name")
	              : str(dd->customer, "customer_id"), 11, 1, PDF_LEFT);
	y += pdf_text(p, x, y, w, str(dd->customer, "address"), 8.5, 0, PDF_LEFT);
	y += pdf_text(p, x, y, w, str(dd->customer, "email"), 8.5, 0, PDF_LEFT);
	y += text_printf(p, x, y, w, 8.5, 0, "Account: %s", str(dd->customer, "customer_id"));
	return y;
}

/* A shaded band of n labelled amounts across the page. */
static double band(struct pdf *p, double y, const char *const *labels, const char (*values)[64], int n,
                   int bold_last)
{
	double x = pdf_left(p), w = pdf_width(p) / n;

	pdf_shade(p, x, y, pdf_width(p), 34);
	for (int i = 0; i < n; i++) {
		pdf_text(p, x + i * w + 4, y + 4, w - 8, labels[i], 7.5, 0, PDF_RIGHT);
		pdf_text(p, x + i * w + 4, y + 16, w - 8, values[i], 10, bold_last && i == n - 1, PDF_RIGHT);
	}
	return y + 38;
}

/* ---- statements ---- */

static const char *line_type(const char *t)
{
	return strcmp(t, "invoice") == 0 ? "Invoice" : strcmp(t, "payment") == 0 ? "Payment"
	     : strcmp(t, "void") == 0 ? "Void" : strcmp(t, "reversal") == 0 ? "Reversal"
	     : strcmp(t, "credit_note") == 0 ? "Credit" : t;
}

static int open_item(const struct docdata *dd)
{
	return strcmp(str(dd->root, "type"), "open_item") == 0;
}

static void statement_row(const struct pdf_doc *d, size_t i, char cells[][PDF_CELL_MAX])
{
	const struct docdata *dd = d->data;
	json_object *ln = json_object_array_get_idx(dd->lines, i);
	char *document;

	textclip_copy(cells[0], PDF_CELL_MAX, str(ln, "date"));
	if (open_item(dd)) {
		textclip_copy(cells[1], PDF_CELL_MAX, str(ln, "document"));
		textclip_copy(cells[2], PDF_CELL_MAX, str(ln, "due_date"));
		money(dd, num(ln, "original_cents"), cells[3], PDF_CELL_MAX);
		money(dd, num(ln, "paid_cents"), cells[4], PDF_CELL_MAX);
		money(dd, num(ln, "open_cents"), cells[5], PDF_CELL_MAX);
		snprintf(cells[6], PDF_CELL_MAX, "%lld", num(ln, "days_past_due"));
		return;
	}
	textclip_copy(cells[1], PDF_CELL_MAX, line_type(str(ln, "type")));
	document = g_strconcat(str(ln, "document"), *str(ln, "reference") ? " \xc2\xb7 " : "", str(ln, "reference"),
	                       NULL);
	textclip_copy(cells[2], PDF_CELL_MAX, document);
	g_free(document);
	textclip_copy(cells[3], PDF_CELL_MAX, str(ln, "due_date"));
	if (num(ln, "debit_cents"))
		money(dd, num(ln, "debit_cents"), cells[4], PDF_CELL_MAX);
	if (num(ln, "credit_cents"))
		money(dd, num(ln, "credit_cents"), cells[5], PDF_CELL_MAX);
	money(dd, num(ln, "balance_cents"), cells[6], PDF_CELL_MAX);
}

static double statement_first(struct pdf *p, const struct pdf_doc *d, double y)
{
	const struct docdata *dd = d->data;
	json_object *s = member(dd->root, "summary", json_type_object);
	char period[64];
	static const char *const labels[] = { "Opening balance", "Invoiced", "Payments", "Overdue",
	                                      "Closing balance" };
	static const char *const credit_labels[] = { "Opening", "Invoiced", "Paid (net)",
	                                             "Credit notes", "Overdue", "Closing balance" };
	/* With reversals or credit notes in the period, payments are shown net
	 * of reversals and the credit notes get a column of their own. */
	int credits = num(s, "reversals_cents") != 0 || num(s, "credit_notes_cents") != 0;
	char values[6][64];
	const char *kv[] = { "Statement", str(dd->root, "statement_id"), "Statement date",
	                     str(dd->root, "statement_date"), "Period", period, "Type",
	                     open_item(dd) ? "Open items" : "Activity", "Currency", dd->currency };

	(void)y;
	snprintf(period, sizeof(period), "%s to %s", str(dd->root, "period_start"), str(dd->root, "period_end"));
	y = masthead(p, dd, "STATEMENT", kv, 5);
	y = customer_block(p, dd, "STATEMENT FOR", y) + 10;
	money(dd, num(s, "opening_balance_cents"), values[0], 64);
	money(dd, num(s, "invoiced_cents"), values[1], 64);
	money(dd, num(s, "payments_cents") - num(s, "reversals_cents"), values[2], 64);
	if (credits)
		money(dd, num(s, "credit_notes_cents"), values[3], 64);
	money(dd, num(s, "overdue_cents"), values[3 + credits], 64);
	money_cur(dd, num(s, "closing_balance_cents"), values[4 + credits], 64);
	y = band(p, y, credits ? credit_labels : labels, values, 5 + credits, 1) + 6;
	y += pdf_text(p, pdf_left(p), y, pdf_width(p), open_item(dd) ? "Open items at the statement date"
	              : "Activity in the period (balance brought forward)", 9.5, 1, PDF_LEFT);
	return y;
}

static double remittance(struct pdf *p, const struct docdata *dd, double y, const char *due)
{
	double x = pdf_left(p), w = pdf_width(p);
	char *account = g_strdup_printf("%s (%s)", *str(dd->customer, "name") ? str(dd->customer, "name")
	                                : str(dd->customer, "customer_id"), str(dd->customer, "customer_id"));

	pdf_rule(p, x, y, w, 1);
	y += 3 + pdf_text(p, x, y + 3, w, "Please detach this slip and return it with your payment.", 7, 0,
	                  PDF_CENTER) + 6;
	y += pdf_text(p, x, y, w, "REMITTANCE", 12, 1, PDF_LEFT) + 4;
	{
		const char *kv[] = { "Account", account, "Statement",
		                     *str(dd->root, "statement_id") ? str(dd->root, "statement_id")
		                                                    : str(dd->root, "invoice_number"),
		                     "Statement date", *str(dd->root, "statement_date") ? str(dd->root, "statement_date")
		                                                                        : str(dd->root, "document_date"),
		                     "Amount due", due, "Amount enclosed", "______________________" };
		y = facts(p, x, y, w * 0.6, kv, 5) + 4;
	}
	g_free(account);
	y += text_printf(p, x, y, w, 8.5, 1, "Pay to: %s", *str(dd->seller, "legal_name")
	                 ? str(dd->seller, "legal_name") : "(no business profile)");
	if (*str(dd->seller, "payment_instructions"))
		y += pdf_text(p, x, y, w, str(dd->seller, "payment_instructions"), 8.5, 0, PDF_LEFT);
	return y;
}

static double statement_tail(struct pdf *p, const struct pdf_doc *d, double y)
{
	const struct docdata *dd = d->data;
	json_object *a = member(dd->root, "aging", json_type_object);
	json_object *s = member(dd->root, "summary", json_type_object);
	/* Unapplied customer credit (from credit notes) is a column of its own
	 * when there is any, so the columns always add up to the total. */
	const char *labels[7] = { "Current", "1-30 days", "31-60 days", "61-90 days", "Over 90 days" };
	const char *keys[7] = { "current", "days_1_30", "days_31_60", "days_61_90", "days_over_90" };
	char values[7][64], due[80], line[200];
	int n = 5;

	if (num(a, "unapplied_credit")) {
		labels[n] = "Credit held";
		keys[n++] = "unapplied_credit";
	}
	labels[n] = "Total due";
	keys[n++] = "total";
	snprintf(line, sizeof(line), "Aging as of %s", str(dd->root, "statement_date"));
	y += pdf_text(p, pdf_left(p), y, pdf_width(p), line, 9.5, 1, PDF_LEFT) + 2;
	for (int i = 0; i < n; i++)
		money(dd, num(a, keys[i]), values[i], 64);
	y = band(p, y, labels, values, n, 1) + 16;
	money_cur(dd, num(s, "closing_balance_cents"), due, sizeof(due));
	return remittance(p, dd, y, due);
}

/* ---- invoices ---- */

static void invoice_row(const struct pdf_doc *d, size_t i, char cells[][PDF_CELL_MAX])
{
	const struct docdata *dd = d->data;
	json_object *ln = json_object_array_get_idx(dd->lines, i);

	textclip_copy(cells[0], PDF_CELL_MAX, str(ln, "description"));
	snprintf(cells[1], PDF_CELL_MAX, "%lld", num(ln, "quantity"));
	money(dd, num(ln, "amount_cents"), cells[2], PDF_CELL_MAX);
	money(dd, num(ln, "line_total_cents"), cells[3], PDF_CELL_MAX);
}

static double invoice_first(struct pdf *p, const struct pdf_doc *d, double y)
{
	const struct docdata *dd = d->data;
	const char *kv[] = { "Invoice", *str(dd->root, "invoice_number") ? str(dd->root, "invoice_number")
	                     : "DRAFT", "Date", str(dd->root, "document_date"), "Due date",
	                     str(dd->root, "due_date"), "Status", str(dd->root, "status"), "Currency",
	                     dd->currency };

	(void)y;
	y = masthead(p, dd, "INVOICE", kv, 5);
	y = customer_block(p, dd, "BILL TO", y) + 10;
	if (*str(dd->root, "memo"))
		y += pdf_text(p, pdf_left(p), y, pdf_width(p), str(dd->root, "memo"), 8.5, 0, PDF_LEFT) + 6;
	return y;
}

#define MAX_PAYMENT_LINES 12

static double invoice_tail(struct pdf *p, const struct pdf_doc *d, double y)
{
	const struct docdata *dd = d->data;
	static const char *const labels[] = { "Total", "Paid", "Amount due" };
	char values[3][64], due[80];
	size_t np = dd->payments ? json_object_array_length(dd->payments) : 0;

	money(dd, num(dd->root, "total_cents"), values[0], 64);
	money(dd, num(dd->root, "amount_paid_cents"), values[1], 64);
	money_cur(dd, num(dd->root, "amount_due_cents"), values[2], 64);
	y = band(p, y, labels, values, 3, 1) + 6;
	if (np) {
		y += pdf_text(p, pdf_left(p), y, pdf_width(p), "Payments received", 9.5, 1, PDF_LEFT) + 2;
		for (size_t i = 0; i < np && i < MAX_PAYMENT_LINES; i++) {
			json_object *pay = json_object_array_get_idx(dd->payments, i);
			char amt[64];
			money_cur(dd, num(pay, "amount_cents"), amt, sizeof(amt));
			y += text_printf(p, pdf_left(p), y, pdf_width(p), 8.5, 0, "%.10s  %s  %s %s", str(pay, "paid_at"),
			                 amt, str(pay, "method"), str(pay, "reference"));
		}
		if (np > MAX_PAYMENT_LINES)
			y += text_printf(p, pdf_left(p), y, pdf_width(p), 8.5, 0, "... and %zu more payments (see get_invoice)",
			                 np - MAX_PAYMENT_LINES);
		y += 6;
	}
	money_cur(dd, num(dd->root, "amount_due_cents"), due, sizeof(due));
	return remittance(p, dd, y + 10, due);
}

int documents_render(PangoFontMap *fonts, int kind, const char *json, size_t json_len,
                     unsigned char **pdf, size_t *len, int *pages, char *err, size_t errlen)
{
	static const struct pdf_column activity_cols[] = {
		{ "Date", 0.12, PDF_LEFT }, { "Type", 0.1, PDF_LEFT }, { "Document", 0.27, PDF_LEFT },
		{ "Due", 0.12, PDF_LEFT }, { "Debit", 0.13, PDF_RIGHT }, { "Credit", 0.13, PDF_RIGHT },
		{ "Balance", 0.13, PDF_RIGHT } };
	static const struct pdf_column open_cols[] = {
		{ "Date", 0.12, PDF_LEFT }, { "Document", 0.16, PDF_LEFT }, { "Due", 0.12, PDF_LEFT },
		{ "Original", 0.14, PDF_RIGHT }, { "Paid", 0.14, PDF_RIGHT }, { "Open", 0.14, PDF_RIGHT },
		{ "Days past due", 0.18, PDF_RIGHT } };
	static const struct pdf_column invoice_cols[] = {
		{ "Description", 0.55, PDF_LEFT }, { "Qty", 0.1, PDF_RIGHT }, { "Unit price", 0.17, PDF_RIGHT },
		{ "Amount", 0.18, PDF_RIGHT } };
	struct json_tokener *tok = json_tokener_new();
	struct docdata dd = { 0 };
	struct pdf_doc d = { 0 };
	/* The running header's pieces: together they fit dd.running. */
	char author[101], customer[101], doc_title[151];
	char *title = NULL;
	int rc = -1;

	dd.root = tok ? json_tokener_parse_ex(tok, json, (int)json_len) : NULL;
	if (!json_object_is_type(dd.root, json_type_object) || (kind != DOC_STATEMENT && kind != DOC_INVOICE)) {
		snprintf(err, errlen, "the document data is not a JSON object of a known kind");
		goto out;
	}
	dd.seller = member(dd.root, "seller", json_type_object);
	dd.customer = member(dd.root, "customer", json_type_object);
	dd.currency = str(dd.root, "currency");
	dd.exp = currency_exponent(dd.currency);
	if (dd.exp < 0) {
		snprintf(err, errlen, "the document's currency is not an ISO 4217 code");
		goto out;
	}
	dd.lines = member(dd.root, kind == DOC_STATEMENT ? "lines" : "line_items", json_type_array);
	dd.payments = member(dd.root, "payments", json_type_array);
	d.author = *str(dd.seller, "legal_name") ? str(dd.seller, "legal_name") : "mcp-invoiced";
	d.letter = strcmp(str(dd.seller, "paper_size"), "Letter") == 0;
	d.nrows = dd.lines ? json_object_array_length(dd.lines) : 0;
	d.data = &dd;
	if (kind == DOC_STATEMENT) {
		title = g_strconcat("Statement ", str(dd.root, "statement_id"), NULL);
		d.date = str(dd.root, "statement_date");
		d.ncols = 7;
		memcpy(d.cols, open_item(&dd) ? open_cols : activity_cols, sizeof(activity_cols));
		d.row = statement_row;
		d.first = statement_first;
		d.tail = statement_tail;
	} else {
		title = g_strconcat("Invoice ", *str(dd.root, "invoice_number") ? str(dd.root, "invoice_number")
		                    : str(dd.root, "invoice_id"), NULL);
		d.date = str(dd.root, "document_date");
		d.ncols = 4;
		memcpy(d.cols, invoice_cols, sizeof(invoice_cols));
		d.row = invoice_row;
		d.first = invoice_first;
		d.tail = invoice_tail;
	}
	textclip_copy(dd.title, sizeof(dd.title), title);
	if (strlen(d.date) != 10) {
		snprintf(err, errlen, "the document has no date");
		goto out;
	}
	textclip_copy(author, sizeof(author), d.author);
	textclip_copy(customer, sizeof(customer), *str(dd.customer, "name") ? str(dd.customer, "name")
	              : str(dd.customer, "customer_id"));
	textclip_copy(doc_title, sizeof(doc_title), dd.title);
	snprintf(dd.running, sizeof(dd.running), "%s  \xc2\xb7  %s  \xc2\xb7  %s (continued)", author, customer,
	         doc_title);
	d.title = dd.title;
	d.running = dd.running;
	rc = pdf_render_doc(fonts, &d, pdf, len, pages, err, errlen);
out:
	g_free(title);
	json_object_put(dd.root);
	if (tok)
		json_tokener_free(tok);
	return rc;
}
