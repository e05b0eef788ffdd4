/*
 * documents.c - statement, invoice and credit note layouts (see
 * documents.h): what is printed where. Runs only in the renderer. Every
 * figure printed is a member of the JSON the database returned, formatted
 * with the currency's exponent: nothing is added up here. Text of any
 * length is drawn whole (wrapped) from heap strings; one-line fields
 * (table cells, header values, the running header) shrink to fit and are
 * then shortened by pango on a grapheme boundary with an ellipsis; the few
 * fixed-size buffers (cells, the title) are cut by textclip_copy, also on
 * a grapheme boundary.
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

#define SMALL 7.5
#define BODY 8.5
#define DASH "\xe2\x80\x93" /* en dash: nothing here */

struct docdata {
	json_object *root, *seller, *customer, *lines;
	const char *currency;
	int exp;
	char title[200], running[3][160];
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

static int has_num(json_object *o, const char *name)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, name, &v) && json_object_is_type(v, json_type_int);
}

static int truthy(json_object *o, const char *name)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, name, &v) && json_object_is_type(v, json_type_boolean)
	       && json_object_get_boolean(v);
}

static json_object *member(json_object *o, const char *name, json_type type)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, name, &v) && json_object_is_type(v, type) ? v : NULL;
}

static size_t count(json_object *array)
{
	return array ? json_object_array_length(array) : 0;
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

/* A rate or discount in basis points as a percentage: 1900 "19%", 1250 "12.5%". */
static void percent(long long bps, char *buf, size_t cap)
{
	long long whole = bps / 100, frac = bps % 100;

	if (frac == 0)
		snprintf(buf, cap, "%lld%%", whole);
	else if (frac % 10 == 0)
		snprintf(buf, cap, "%lld.%lld%%", whole, frac / 10);
	else
		snprintf(buf, cap, "%lld.%02lld%%", whole, frac);
}

/* Text that may be empty: nothing drawn and no height then. */
static double text_if(struct pdf *p, double x, double y, double w, const char *s, double size)
{
	return *s ? pdf_text(p, x, y, w, s, size, 0, PDF_LEFT) : 0;
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

/* Label and value on one line each, labels as wide as the widest one (at
 * most half of w), values right-aligned in the rest and shrunk to fit, never
 * wrapped; returns the new y. */
static double facts(struct pdf *p, double x, double y, double w, const char *const *kv, int n)
{
	double lw = 0;

	for (int i = 0; i < n; i++) {
		double t = pdf_text_width(p, kv[2 * i], BODY, 1);
		lw = t > lw ? t : lw;
	}
	lw = lw + 8 < w / 2 ? lw + 8 : w / 2;
	for (int i = 0; i < n; i++) {
		pdf_text_fit(p, x, y, lw, kv[2 * i], BODY, 1, PDF_LEFT);
		y += pdf_text_fit(p, x + lw, y, w - lw, kv[2 * i + 1], BODY, 0, PDF_RIGHT) + 1;
	}
	return y;
}

/* Seller on the left, the document's heading and facts on the right. */
static double masthead(struct pdf *p, const struct docdata *dd, const char *heading,
                       const char *const *kv, int n)
{
	double x = pdf_left(p), w = pdf_width(p), y = 42, ly, ry;

	ly = y + pdf_text(p, x, y, w * 0.52, str(dd->seller, "legal_name")[0] ? str(dd->seller, "legal_name")
	                  : "(no business profile: see upsert_business_profile)", 13, 1, PDF_LEFT) + 2;
	ly += text_if(p, x, ly, w * 0.52, str(dd->seller, "address"), BODY);
	if (*str(dd->seller, "vat_id"))
		ly += text_printf(p, x, ly, w * 0.52, BODY, 0, "VAT ID: %s", str(dd->seller, "vat_id"));
	if (*str(dd->seller, "email") || *str(dd->seller, "phone"))
		ly += text_printf(p, x, ly, w * 0.52, BODY, 0, "%s%s%s", str(dd->seller, "email"),
		                  *str(dd->seller, "email") && *str(dd->seller, "phone") ? "  \xc2\xb7  " : "",
		                  str(dd->seller, "phone"));
	ry = y + pdf_text_fit(p, x + w * 0.56, y, w * 0.44, heading, 18, 1, PDF_RIGHT) + 4;
	ry = facts(p, x + w * 0.56, ry, w * 0.44, kv, n);
	return (ly > ry ? ly : ry) + 10;
}

static double customer_block(struct pdf *p, const struct docdata *dd, const char *label, double y)
{
	double x = pdf_left(p), w = pdf_width(p) * 0.55;

	y += pdf_text(p, x, y, w, label, SMALL, 1, PDF_LEFT) + 1;
	y += pdf_text(p, x, y, w, *str(dd->customer, "name") ? str(dd->customer, "name")
	              : str(dd->customer, "customer_id"), 11, 1, PDF_LEFT);
	y += text_if(p, x, y, w, str(dd->customer, "address"), BODY);
	y += text_if(p, x, y, w, str(dd->customer, "email"), BODY);
	if (*str(dd->customer, "vat_id"))
		y += text_printf(p, x, y, w, BODY, 0, "VAT ID: %s", str(dd->customer, "vat_id"));
	y += text_printf(p, x, y, w, BODY, 0, "Account: %s", str(dd->customer, "customer_id"));
	return y;
}

/* A shaded band of n labelled amounts across the page, as tall as its two
 * lines of text; the amounts shrink to fit their column. */
static double band(struct pdf *p, double y, const char *const *labels, const char (*values)[64], int n,
                   int bold_last)
{
	double x = pdf_left(p), w = pdf_width(p) / n;
	double lh = pdf_line_height(p, "Hg", SMALL, 0), vh = pdf_line_height(p, "Hg", 10, 1), h = 4 + lh + 2 + vh + 4;

	pdf_shade(p, x, y, pdf_width(p), h);
	for (int i = 0; i < n; i++) {
		pdf_text_fit(p, x + i * w + 4, y + 4, w - 8, labels[i], SMALL, 0, PDF_RIGHT);
		pdf_text_fit(p, x + i * w + 4, y + 4 + lh + 2, w - 8, values[i], 10, bold_last && i == n - 1, PDF_RIGHT);
	}
	return y + h + 4;
}

/* Label on the left, amount on the right of [x, x + w); one line. */
static double amount_row(struct pdf *p, double x, double y, double w, const char *label, const char *amount,
                         int bold)
{
	pdf_text_fit(p, x, y, w * 0.62, label, BODY, bold, PDF_LEFT);
	return pdf_text_fit(p, x + w * 0.62, y, w * 0.38, amount, BODY, bold, PDF_RIGHT) + 1.5;
}

/* The slip a customer returns with a payment: kv are the document's facts. */
static double remittance(struct pdf *p, const struct docdata *dd, double y, const char *const *kv, int n)
{
	double x = pdf_left(p), w = pdf_width(p), top = y;

	pdf_rule(p, x, y, w, 1);
	y += 3 + pdf_text(p, x, y + 3, w, "Please detach this slip and return it with your payment.", 7, 0,
	                  PDF_CENTER) + 6;
	y += pdf_text(p, x, y, w, "REMITTANCE", 12, 1, PDF_LEFT) + 4;
	y = facts(p, x, y, w * 0.75, kv, n) + 4;
	y += text_printf(p, x, y, w, BODY, 1, "Pay to: %s", *str(dd->seller, "legal_name")
	                 ? str(dd->seller, "legal_name") : "(no business profile)");
	if (*str(dd->seller, "payment_instructions"))
		y += pdf_text(p, x, y, w, str(dd->seller, "payment_instructions"), BODY, 0, PDF_LEFT);
	pdf_keep(p, top, y);
	return y;
}

static char *account_name(const struct docdata *dd)
{
	return g_strdup_printf("%s (%s)", *str(dd->customer, "name") ? str(dd->customer, "name")
	                       : str(dd->customer, "customer_id"), str(dd->customer, "customer_id"));
}

/* ---- statements ---- */

static const char *line_type(const char *t)
{
	return strcmp(t, "invoice") == 0 ? "Invoice" : strcmp(t, "payment") == 0 ? "Payment"
	     : strcmp(t, "void") == 0 ? "Void" : strcmp(t, "reversal") == 0 ? "Reversal"
	     : strcmp(t, "credit_note") == 0 ? "Credit note" : t;
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
		money(dd, num(ln, "credited_cents"), cells[5], PDF_CELL_MAX);
		money(dd, num(ln, "open_cents"), cells[6], PDF_CELL_MAX);
		snprintf(cells[7], PDF_CELL_MAX, "%lld", num(ln, "days_past_due"));
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
	/* Every component that moves the balance, with its sign: the band adds up. */
	static const char *const labels[] = { "Opening balance", "+ Invoiced", "\xe2\x88\x92 Payments",
	                                      "+ Reversals", "\xe2\x88\x92 Credit notes", "= Closing balance" };
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
	money(dd, num(s, "payments_cents"), values[2], 64);
	money(dd, num(s, "reversals_cents"), values[3], 64);
	money(dd, num(s, "credit_notes_cents"), values[4], 64);
	money_cur(dd, num(s, "closing_balance_cents"), values[5], 64);
	y = band(p, y, labels, values, 6, 1) + 4;
	y += pdf_text(p, pdf_left(p), y, pdf_width(p), open_item(dd)
	              ? "Open items at the statement date (original \xe2\x88\x92 paid \xe2\x88\x92 credited = open)"
	              : "Activity in the period (balance brought forward)", 9.5, 1, PDF_LEFT);
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
	char *account = account_name(dd);
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
	y = band(p, y, labels, values, n, 1) + 12;
	money_cur(dd, num(s, "closing_balance_cents"), due, sizeof(due));
	{
		const char *kv[] = { "Account", account, "Statement", str(dd->root, "statement_id"),
		                     "Statement date", str(dd->root, "statement_date"), "Amount due", due,
		                     "Amount enclosed", "______________________" };
		y = remittance(p, dd, y, kv, 5);
	}
	g_free(account);
	return y;
}

/* ---- invoices ---- */

static void invoice_row(const struct pdf_doc *d, size_t i, char cells[][PDF_CELL_MAX])
{
	const struct docdata *dd = d->data;
	json_object *ln = json_object_array_get_idx(dd->lines, i);
	char pct[32], amt[64];

	textclip_copy(cells[0], PDF_CELL_MAX, str(ln, "description"));
	snprintf(cells[1], PDF_CELL_MAX, "%lld", num(ln, "quantity"));
	money(dd, num(ln, "amount_cents"), cells[2], PDF_CELL_MAX);
	if (num(ln, "discount_bps")) {
		percent(num(ln, "discount_bps"), pct, sizeof(pct));
		money(dd, -num(ln, "discount_cents"), amt, sizeof(amt));
		snprintf(cells[3], PDF_CELL_MAX, "%s  %s", pct, amt);
	}
	if (has_num(ln, "tax_rate_bps")) {
		percent(num(ln, "tax_rate_bps"), pct, sizeof(pct));
		snprintf(cells[4], PDF_CELL_MAX, "%s%s", pct, truthy(ln, "tax_inclusive") ? " incl." : "");
	} else {
		snprintf(cells[4], PDF_CELL_MAX, DASH);
	}
	money(dd, num(ln, "net_cents"), cells[5], PDF_CELL_MAX);
}

static double invoice_first(struct pdf *p, const struct pdf_doc *d, double y)
{
	const struct docdata *dd = d->data;
	const char *kv[] = { "Invoice no.", *str(dd->root, "invoice_number") ? str(dd->root, "invoice_number")
	                     : "DRAFT", "Invoice date", str(dd->root, "document_date"), "Due date",
	                     str(dd->root, "due_date"), "Currency", dd->currency, "Status", str(dd->root, "status") };

	(void)y;
	y = masthead(p, dd, "INVOICE", kv, 5);
	y = customer_block(p, dd, "BILL TO", y) + 10;
	if (strcmp(str(dd->root, "status"), "void") == 0)
		y += text_printf(p, pdf_left(p), y, pdf_width(p), 11, 1, "VOID: %s", str(dd->root, "void_reason")) + 6;
	if (*str(dd->root, "memo"))
		y += pdf_text(p, pdf_left(p), y, pdf_width(p), str(dd->root, "memo"), BODY, 0, PDF_LEFT) + 6;
	return y;
}

/* The VAT summary (left) and the totals (right), side by side: subtotal −
 * discounts = net; net + the VAT added by exclusive rates = total.
 * Inclusive rates' VAT is shown as contained in the net. */
static double invoice_totals(struct pdf *p, const struct docdata *dd, double y)
{
	json_object *vat = member(dd->root, "vat_summary", json_type_array);
	double x = pdf_left(p), w = pdf_width(p), lw = w * 0.5, rx = x + w * 0.56, rw = w * 0.44;
	double ly = y, ry = y;
	char a[64], b[64], pct[32], label[160];

	ly += pdf_text(p, x, ly, lw, "VAT summary", 9.5, 1, PDF_LEFT) + 2;
	pdf_text_fit(p, x, ly, lw * 0.46, "Rate", SMALL, 1, PDF_LEFT);
	pdf_text_fit(p, x + lw * 0.46, ly, lw * 0.3, "Taxable amount", SMALL, 1, PDF_RIGHT);
	ly += pdf_text_fit(p, x + lw * 0.76, ly, lw * 0.24, "VAT", SMALL, 1, PDF_RIGHT) + 1;
	pdf_rule(p, x, ly, lw, 0);
	ly += 2;
	for (size_t i = 0; i < count(vat); i++) {
		json_object *v = json_object_array_get_idx(vat, i);
		int taxed = has_num(v, "rate_bps");
		if (taxed) {
			percent(num(v, "rate_bps"), pct, sizeof(pct));
			snprintf(label, sizeof(label), "%s%s", pct, truthy(v, "inclusive") ? " (included in prices)" : "");
		} else {
			snprintf(label, sizeof(label), "No VAT");
		}
		money(dd, num(v, "taxable_cents"), a, sizeof(a));
		money(dd, num(v, "tax_cents"), b, sizeof(b));
		pdf_text_fit(p, x, ly, lw * 0.46, label, BODY, 0, PDF_LEFT);
		pdf_text_fit(p, x + lw * 0.46, ly, lw * 0.3, a, BODY, 0, PDF_RIGHT);
		ly += pdf_text_fit(p, x + lw * 0.76, ly, lw * 0.24, b, BODY, 0, PDF_RIGHT) + 1;
		/* A rate of 0 (or no rate) says why: its name, e.g. the exemption. */
		if ((!taxed || num(v, "rate_bps") == 0) && *str(v, "name"))
			ly += text_printf(p, x + 6, ly, lw - 6, SMALL, 0, "Exemption: %s", str(v, "name")) + 1;
	}

	money(dd, num(dd->root, "subtotal_cents"), a, sizeof(a));
	ry += amount_row(p, rx, ry, rw, "Subtotal", a, 0);
	if (num(dd->root, "discount_cents")) {
		money(dd, -num(dd->root, "discount_cents"), a, sizeof(a));
		ry += amount_row(p, rx, ry, rw, "Discounts", a, 0);
	}
	money(dd, num(dd->root, "net_cents"), a, sizeof(a));
	ry += amount_row(p, rx, ry, rw, "Net amount", a, 0);
	for (size_t i = 0; i < count(vat); i++) {
		json_object *v = json_object_array_get_idx(vat, i);
		if (!has_num(v, "rate_bps") || truthy(v, "inclusive"))
			continue;
		percent(num(v, "rate_bps"), pct, sizeof(pct));
		money(dd, num(v, "taxable_cents"), b, sizeof(b));
		snprintf(label, sizeof(label), "VAT %s on %s", pct, b);
		money(dd, num(v, "tax_cents"), a, sizeof(a));
		ry += amount_row(p, rx, ry, rw, label, a, 0);
	}
	pdf_rule(p, rx, ry + 1, rw, 0);
	ry += 3;
	money_cur(dd, num(dd->root, "total_cents"), a, sizeof(a));
	ry += amount_row(p, rx, ry, rw, "Total", a, 1);
	for (size_t i = 0; i < count(vat); i++) {
		json_object *v = json_object_array_get_idx(vat, i);
		if (!truthy(v, "inclusive") || !has_num(v, "rate_bps"))
			continue;
		percent(num(v, "rate_bps"), pct, sizeof(pct));
		money(dd, num(v, "tax_cents"), a, sizeof(a));
		money(dd, num(v, "taxable_cents"), b, sizeof(b));
		ry += text_printf(p, rx, ry, rw, SMALL, 0, "includes VAT %s of %s on %s", pct, a, b);
	}
	pdf_keep(p, y, ly > ry ? ly : ry);
	return (ly > ry ? ly : ry) + 8;
}

/* Everything between the total and the amount due, one line each with the
 * signed amount it moves the amount due by: the column adds up. */
static double invoice_settlements(struct pdf *p, const struct docdata *dd, double y)
{
	json_object *set = member(dd->root, "settlements", json_type_array);
	double x = pdf_left(p), w = pdf_width(p), dw = w * 0.14, tw = w * 0.62, aw = w - dw - tw, top = y;
	char a[64], b[64], c[64];

	if (strcmp(str(dd->root, "status"), "void") == 0)
		return y + text_printf(p, x, y, w, 9.5, 1, "This invoice is void: nothing is due.") + 8;
	y += pdf_text(p, x, y, w, "Payments and credits", 9.5, 1, PDF_LEFT) + 2;
	money(dd, num(dd->root, "total_cents"), a, sizeof(a));
	pdf_text_fit(p, x + dw, y, tw, "Invoice total", BODY, 0, PDF_LEFT);
	y += pdf_text_fit(p, x + dw + tw, y, aw, a, BODY, 0, PDF_RIGHT) + 1;
	for (size_t i = 0; i < count(set); i++) {
		json_object *s = json_object_array_get_idx(set, i);
		const char *kind = str(s, "kind");
		double h, h2;
		char *text;
		if (strcmp(kind, "payment") == 0) {
			text = g_strdup_printf("Payment received%s%s", *str(s, "reference") ? " \xc2\xb7 " : "",
			                       str(s, "reference"));
		} else if (strcmp(kind, "reversal") == 0) {
			text = g_strdup_printf("Payment of %s reversed%s%s", str(s, "payment_date"),
			                       *str(s, "reference") ? " \xc2\xb7 " : "", str(s, "reference"));
		} else if (strcmp(kind, "credit_note") == 0 && num(s, "customer_credit_cents")) {
			money(dd, num(s, "credit_note_cents"), b, sizeof(b));
			money(dd, num(s, "customer_credit_cents"), c, sizeof(c));
			text = g_strdup_printf("Credit note %s \xc2\xb7 %s (of %s; %s to your account as credit)",
			                       str(s, "document"), str(s, "reference"), b, c);
		} else if (strcmp(kind, "credit_note") == 0) {
			text = g_strdup_printf("Credit note %s \xc2\xb7 %s", str(s, "document"), str(s, "reference"));
		} else {
			text = g_strdup("Customer credit applied");
		}
		money(dd, num(s, "amount_cents"), a, sizeof(a));
		pdf_text_fit(p, x, y, dw, str(s, "date"), BODY, 0, PDF_LEFT);
		h = pdf_text(p, x + dw, y, tw - 6, text, BODY, 0, PDF_LEFT);
		h2 = pdf_text_fit(p, x + dw + tw, y, aw, a, BODY, 0, PDF_RIGHT);
		y += (h > h2 ? h : h2) + 1;
		g_free(text);
	}
	pdf_rule(p, x + dw + tw, y + 1, aw, 0);
	y += 3;
	money_cur(dd, num(dd->root, "amount_due_cents"), a, sizeof(a));
	pdf_text_fit(p, x + dw, y, tw, "Amount due", 10, 1, PDF_LEFT);
	y += pdf_text_fit(p, x + dw + tw, y, aw, a, 10, 1, PDF_RIGHT);
	/* Short enough to keep whole; a long history breaks between its lines. */
	if (count(set) < 12)
		pdf_keep(p, top, y);
	return y + 8;
}

static double invoice_tail(struct pdf *p, const struct pdf_doc *d, double y)
{
	const struct docdata *dd = d->data;
	char due[80];
	char *account = account_name(dd);
	const char *number = *str(dd->root, "invoice_number") ? str(dd->root, "invoice_number") : "DRAFT";

	y = invoice_totals(p, dd, y);
	y = invoice_settlements(p, dd, y);
	money_cur(dd, num(dd->root, "amount_due_cents"), due, sizeof(due));
	{
		const char *kv[] = { "Account", account, "Invoice no.", number,
		                     "Invoice date", str(dd->root, "document_date"), "Due date", str(dd->root, "due_date"),
		                     "Amount due", due, "Amount enclosed", "______________________" };
		y = remittance(p, dd, y + 8, kv, 6);
	}
	y += text_printf(p, pdf_left(p), y, pdf_width(p), BODY, 0, "Please quote %s with your payment.", number);
	g_free(account);
	return y;
}

/* ---- credit notes ---- */

static void credit_note_row(const struct pdf_doc *d, size_t i, char cells[][PDF_CELL_MAX])
{
	const struct docdata *dd = d->data;
	json_object *ln = json_object_array_get_idx(dd->lines, i);

	textclip_copy(cells[0], PDF_CELL_MAX, str(ln, "description"));
	snprintf(cells[1], PDF_CELL_MAX, "%lld", num(ln, "quantity"));
	money(dd, num(ln, "amount_cents"), cells[2], PDF_CELL_MAX);
	money(dd, num(ln, "line_total_cents"), cells[3], PDF_CELL_MAX);
}

static double credit_note_first(struct pdf *p, const struct pdf_doc *d, double y)
{
	const struct docdata *dd = d->data;
	const char *kv[] = { "Credit note no.", str(dd->root, "credit_note_number"), "Date",
	                     str(dd->root, "document_date"), "Credits invoice", str(dd->root, "invoice_number"),
	                     "Invoice date", str(dd->root, "invoice_date"), "Currency", dd->currency };

	(void)y;
	y = masthead(p, dd, "CREDIT NOTE", kv, 5);
	y = customer_block(p, dd, "CREDIT TO", y) + 10;
	y += text_printf(p, pdf_left(p), y, pdf_width(p), BODY, 0, "Reason: %s", str(dd->root, "reason")) + 6;
	return y;
}

/* applied to the invoice + credited to the account = the note's amount. */
static double credit_note_tail(struct pdf *p, const struct pdf_doc *d, double y)
{
	const struct docdata *dd = d->data;
	double rx = pdf_left(p) + pdf_width(p) * 0.5, rw = pdf_width(p) * 0.5;
	char a[64], label[160];

	money_cur(dd, num(dd->root, "amount_cents"), a, sizeof(a));
	y += amount_row(p, rx, y, rw, "Credit note total", a, 1);
	pdf_rule(p, rx, y + 1, rw, 0);
	y += 4;
	snprintf(label, sizeof(label), "Applied to invoice %s", str(dd->root, "invoice_number"));
	money(dd, num(dd->root, "applied_to_invoice_cents"), a, sizeof(a));
	y += amount_row(p, rx, y, rw, label, a, 0);
	money(dd, num(dd->root, "customer_credit_cents"), a, sizeof(a));
	y += amount_row(p, rx, y, rw, "Credited to your account", a, 0);
	money(dd, num(dd->root, "invoice_total_cents"), a, sizeof(a));
	snprintf(label, sizeof(label), "Invoice %s of %s totalled %s %s.", str(dd->root, "invoice_number"),
	         str(dd->root, "invoice_date"), dd->currency, a);
	y += 8 + pdf_text(p, pdf_left(p), y + 8, pdf_width(p), label, BODY, 0, PDF_LEFT);
	y += pdf_text(p, pdf_left(p), y, pdf_width(p), "Amounts are as credited, tax included as invoiced. "
	              "Credit held on your account is set against your next invoices.", BODY, 0, PDF_LEFT);
	return y;
}

/* The columns and the parts of a document of kind: its title (g_free)
 * and date, and the functions drawing its rows, first and last blocks. */
static void lay_out_kind(int kind, struct docdata *dd, struct pdf_doc *d, char **title)
{
	static const struct pdf_column activity_cols[] = {
		{ "Date", 0.115, PDF_LEFT, 1, 0 }, { "Type", 0.11, PDF_LEFT, 0, 0 },
		{ "Document \xc2\xb7 reference", 0.26, PDF_LEFT, 0, 1 }, { "Due", 0.115, PDF_LEFT, 1, 0 },
		{ "Debit", 0.13, PDF_RIGHT, 1, 0 }, { "Credit", 0.13, PDF_RIGHT, 1, 0 },
		{ "Balance", 0.14, PDF_RIGHT, 1, 0 } };
	static const struct pdf_column open_cols[] = {
		{ "Date", 0.115, PDF_LEFT, 1, 0 }, { "Document", 0.13, PDF_LEFT, 0, 0 }, { "Due", 0.115, PDF_LEFT, 1, 0 },
		{ "Original", 0.14, PDF_RIGHT, 1, 0 }, { "Paid", 0.13, PDF_RIGHT, 1, 0 },
		{ "Credited", 0.13, PDF_RIGHT, 1, 0 }, { "Open", 0.14, PDF_RIGHT, 1, 0 },
		{ "Days past due", 0.1, PDF_RIGHT, 1, 0 } };
	static const struct pdf_column invoice_cols[] = {
		{ "Description", 0.35, PDF_LEFT, 0, 1 }, { "Qty", 0.065, PDF_RIGHT, 1, 0 },
		{ "Unit price", 0.14, PDF_RIGHT, 1, 0 }, { "Discount", 0.165, PDF_RIGHT, 1, 0 },
		{ "VAT", 0.095, PDF_RIGHT, 1, 0 }, { "Amount", 0.185, PDF_RIGHT, 1, 0 } };
	static const struct pdf_column credit_cols[] = {
		{ "Description", 0.5, PDF_LEFT, 0, 1 }, { "Qty", 0.1, PDF_RIGHT, 1, 0 },
		{ "Unit amount", 0.2, PDF_RIGHT, 1, 0 }, { "Amount", 0.2, PDF_RIGHT, 1, 0 } };
	if (kind == DOC_STATEMENT) {
		*title = g_strconcat("Statement ", str(dd->root, "statement_id"), NULL);
		d->date = str(dd->root, "statement_date");
		d->ncols = open_item(dd) ? 8 : 7;
		memcpy(d->cols, open_item(dd) ? open_cols : activity_cols,
		       open_item(dd) ? sizeof(open_cols) : sizeof(activity_cols));
		d->row = statement_row;
		d->first = statement_first;
		d->tail = statement_tail;
	} else if (kind == DOC_INVOICE) {
		*title = g_strconcat("Invoice ", *str(dd->root, "invoice_number") ? str(dd->root, "invoice_number")
		                    : str(dd->root, "invoice_id"), NULL);
		d->date = str(dd->root, "document_date");
		d->ncols = 6;
		memcpy(d->cols, invoice_cols, sizeof(invoice_cols));
		d->row = invoice_row;
		d->first = invoice_first;
		d->tail = invoice_tail;
	} else {
		*title = g_strconcat("Credit note ", str(dd->root, "credit_note_number"), NULL);
		d->date = str(dd->root, "document_date");
		d->ncols = 4;
		memcpy(d->cols, credit_cols, sizeof(credit_cols));
		d->row = credit_note_row;
		d->first = credit_note_first;
		d->tail = credit_note_tail;
	}
}

/* The invoice or credit note PDF just rendered, made Factur-X: *pdf replaced. */
static int make_facturx(const struct pdf_doc *d, const struct facturx_embed *fx, unsigned char **pdf,
                        size_t *len, char *err, size_t errlen)
{
	struct facturx_meta m = { d->title, d->author, d->date };
	unsigned char *out;
	size_t out_len;

	if (facturx_convert(*pdf, *len, &m, fx, &out, &out_len, err, errlen) < 0) {
		free(*pdf);
		*pdf = NULL;
		return -1;
	}
	free(*pdf);
	*pdf = out;
	*len = out_len;
	return 0;
}

int documents_render(PangoFontMap *fonts, int kind, const char *json, size_t json_len,
                     const struct facturx_embed *fx, int (*cancelled)(void *ctx), void *cancel_ctx,
                     unsigned char **pdf, size_t *len, int *pages, char *err, size_t errlen)
{
	struct json_tokener *tok = json_tokener_new();
	struct docdata dd = { 0 };
	struct pdf_doc d = { 0 };
	char *title = NULL, *continued = NULL;
	int rc = -1;

	dd.root = tok ? json_tokener_parse_ex(tok, json, (int)json_len) : NULL;
	if (!json_object_is_type(dd.root, json_type_object) ||
	    (kind != DOC_STATEMENT && kind != DOC_INVOICE && kind != DOC_CREDIT_NOTE)) {
		snprintf(err, errlen, "the document data is not a JSON object of a known kind");
		goto out;
	}
	if (fx && kind == DOC_STATEMENT) {
		snprintf(err, errlen, "only an invoice or a credit note can carry a Factur-X attachment");
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
	d.author = *str(dd.seller, "legal_name") ? str(dd.seller, "legal_name") : "mcp-invoiced";
	d.letter = strcmp(str(dd.seller, "paper_size"), "Letter") == 0;
	d.nrows = count(dd.lines);
	d.data = &dd;
	lay_out_kind(kind, &dd, &d, &title);
	textclip_copy(dd.title, sizeof(dd.title), title);
	if (strlen(d.date) != 10) {
		snprintf(err, errlen, "the document has no date");
		goto out;
	}
	/* Byte budgets only; the running header shortens each piece to its
	 * width (pango, on a grapheme boundary, in the text's direction). */
	continued = g_strconcat(dd.title, " (continued)", NULL);
	textclip_copy(dd.running[0], sizeof(dd.running[0]), d.author);
	textclip_copy(dd.running[1], sizeof(dd.running[1]), *str(dd.customer, "name") ? str(dd.customer, "name")
	              : str(dd.customer, "customer_id"));
	textclip_copy(dd.running[2], sizeof(dd.running[2]), continued);
	d.title = dd.title;
	for (int i = 0; i < 3; i++)
		d.running[i] = dd.running[i];
	d.cancelled = cancelled;
	d.cancel_ctx = cancel_ctx;
	rc = pdf_render_doc(fonts, &d, pdf, len, pages, err, errlen);
	if (rc == 0 && fx)
		rc = make_facturx(&d, fx, pdf, len, err, errlen);
out:
	g_free(title);
	g_free(continued);
	json_object_put(dd.root);
	if (tok)
		json_tokener_free(tok);
	return rc;
}
