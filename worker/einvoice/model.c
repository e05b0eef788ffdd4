/*
 * model.c - reading the mcp_einvoice_source JSON for the UBL and CII writers
 * and listing the business terms a valid EN 16931 document would need (see
 * model.h). Pure functions; run in workers. The source is the database's
 * own JSON, so shapes are trusted; absent values are JSON null.
 */
#include <stdio.h>
#include <string.h>

#include "worker/einvoice/model.h"

const char *ei_str(const json_object *o, const char *key)
{
	json_object *v;
	const char *s;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	return *s ? s : NULL;
}

json_object *ei_obj(const json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_object) ? v : NULL;
}

json_object *ei_arr(const json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_array) ? v : NULL;
}

int ei_exponent(const json_object *source)
{
	long long e = ei_int(source, "exponent");

	return e < 0 ? 0 : e > 4 ? 4 : (int)e;
}

void ei_line_id(const json_object *line, char *out, size_t cap)
{
	snprintf(out, cap, "%llu", (unsigned long long)ei_int(line, "position") + 1);
}

long long ei_int(const json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static unsigned long long pow10u(int e)
{
	unsigned long long p = 1;

	while (e-- > 0)
		p *= 10;
	return p;
}

void ei_money(long long minor, int exponent, char *out, size_t cap)
{
	unsigned long long a = minor < 0 ? 0ULL - (unsigned long long)minor : (unsigned long long)minor;
	unsigned long long unit = pow10u(exponent);
	int shown = exponent < 2 ? exponent : 2;
	const char *sign = minor < 0 ? "-" : "";

	if (shown <= 0)
		snprintf(out, cap, "%s%llu", sign, a / unit);
	else
		snprintf(out, cap, "%s%llu.%0*llu", sign, a / unit, shown, a % unit / pow10u(exponent - shown));
}

void ei_percent(long long bps, char *out, size_t cap)
{
	snprintf(out, cap, "%lld.%02lld", bps / 100, bps % 100);
}

void ei_quantity(const json_object *line, char *out, size_t cap)
{
	json_object *q = NULL;

	if (!json_object_object_get_ex(line, "quantity", &q) || !q)
		snprintf(out, cap, "1");
	else if (json_object_is_type(q, json_type_string))
		snprintf(out, cap, "%s", json_object_get_string(q));
	else if (json_object_is_type(q, json_type_int))
		snprintf(out, cap, "%lld", (long long)json_object_get_int64(q));
	else
		snprintf(out, cap, "%.10g", json_object_get_double(q));
}

void ei_date102(const char *iso, char out[9])
{
	size_t n = 0;

	for (; iso && *iso && n < 8; iso++)
		if (*iso >= '0' && *iso <= '9')
			out[n++] = *iso;
	out[n] = '\0';
}

int ei_category_exempt(const char *c)
{
	return c && (!strcmp(c, "E") || !strcmp(c, "AE") || !strcmp(c, "K") || !strcmp(c, "G") ||
	             !strcmp(c, "O"));
}

int ei_category_has_rate(const char *c)
{
	return !c || strcmp(c, "O") != 0;
}

static int array_uses(const json_object *arr, const char *category)
{
	size_t i, n = arr ? json_object_array_length(arr) : 0;

	for (i = 0; i < n; i++) {
		const char *c = ei_str(json_object_array_get_idx(arr, i), "category");
		if (c && !strcmp(c, category))
			return 1;
	}
	return 0;
}

int ei_uses_category(const json_object *source, const char *category)
{
	return array_uses(ei_arr(source, "tax"), category) || array_uses(ei_arr(source, "lines"), category);
}

static void need(json_object *out, const char *term, const char *name, const char *argument)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "term", json_object_new_string(term));
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "argument", json_object_new_string(argument));
	json_object_array_add(out, o);
}

/* BT-1/BT-2 (a draft has neither), BT-25 for a credit note. */
static void check_document(const json_object *src, json_object *out)
{
	int credit = ei_str(src, "kind") && !strcmp(ei_str(src, "kind"), "credit_note");
	const char *status = ei_str(src, "status");
	json_object *pre = ei_obj(src, "preceding_invoice");

	if (!credit && status && !strcmp(status, "draft")) {
		need(out, "BT-1", "Invoice number (a draft has none)", "send_invoice");
		need(out, "BT-2", "Invoice issue date (a draft has none)", "send_invoice");
		return;
	}
	if (!ei_str(src, "number"))
		need(out, "BT-1", "Invoice number", credit ? "create_credit_note" : "send_invoice");
	if (!ei_str(src, "issue_date"))
		need(out, "BT-2", "Invoice issue date", credit ? "create_credit_note" : "send_invoice");
	if (credit && (!ei_str(pre, "number") || !ei_str(pre, "issue_date")))
		need(out, "BT-25", "Preceding invoice reference",
		     "send_invoice");
}

/* BG-4/BG-7: names, countries, VAT and legal identifiers as the categories
 * used require them (BR-S-02 ... BR-IC-02, BR-AE-02, BR-CO-26, BR-O-02). */
static void check_parties(const json_object *src, json_object *out)
{
	json_object *seller = ei_obj(src, "seller"), *buyer = ei_obj(src, "buyer");
	static const char *const vat_categories[] = { "S", "Z", "E", "AE", "K", "G", "L", "M" };
	int seller_vat_needed = 0, o = ei_uses_category(src, "O");
	size_t i;

	for (i = 0; i < sizeof vat_categories / sizeof *vat_categories; i++)
		seller_vat_needed |= ei_uses_category(src, vat_categories[i]);
	if (!ei_str(seller, "legal_name"))
		need(out, "BT-27", "Seller name", "upsert_business_profile.legal_name");
	if (!ei_str(ei_obj(seller, "address"), "country_code"))
		need(out, "BT-40", "Seller country code", "upsert_business_profile.address.country_code");
	if (seller_vat_needed && !ei_str(seller, "vat_id"))
		need(out, "BT-31", "Seller VAT identifier", "upsert_business_profile.vat_id");
	else if (o && !ei_str(seller, "legal_id"))
		need(out, "BT-30", "Seller legal registration identifier (no VAT id on category O)", "upsert_business_profile.legal_id");
	if (!ei_str(buyer, "name"))
		need(out, "BT-44", "Buyer name", "upsert_customer.name");
	if (!ei_str(ei_obj(buyer, "address"), "country_code"))
		need(out, "BT-55", "Buyer country code", "upsert_customer.address.country_code");
	if (ei_uses_category(src, "K") && !ei_str(buyer, "vat_id"))
		need(out, "BT-48", "Buyer VAT identifier (category K)",
		     "upsert_customer.vat_id");
	else if (ei_uses_category(src, "AE") && !ei_str(buyer, "vat_id") && !ei_str(buyer, "legal_id"))
		need(out, "BT-48", "Buyer VAT identifier (category AE)", "upsert_customer.vat_id");
}

/* BG-25 lines with a VAT category each (BT-151); BG-23 exemption reasons
 * (BT-120/BT-121) for E, AE, K, G, O; O alone on its document (BR-O-11..14). */
static void check_tax(const json_object *src, json_object *out, int credit)
{
	json_object *lines = ei_arr(src, "lines"), *tax = ei_arr(src, "tax");
	size_t i, used, bad, n = lines ? json_object_array_length(lines) : 0;
	char name[160];

	if (n == 0)
		need(out, "BG-25", "Invoice line", credit ? "create_credit_note.line_items" : "create_invoice.line_items");
	strcpy(name, "Invoiced item VAT category code (no tax rate on line");
	for (i = 0, used = strlen(name), bad = 0; i < n; i++) {
		if (ei_str(json_object_array_get_idx(lines, i), "category"))
			continue;
		if (used + 16 < sizeof name)
			used += (size_t)snprintf(name + used, sizeof name - used, "%s %zu", bad ? "," : "", i + 1);
		bad++;
	}
	if (bad && used + 2 < sizeof name)
		strcat(name, ")");
	if (bad)
		need(out, "BT-151", name, credit ? "create_credit_note.line_items[].tax_code"
		                                 : "create_invoice.line_items[].tax_code");
	n = tax ? json_object_array_length(tax) : 0;
	for (i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(tax, i);
		const char *c = ei_str(t, "category");
		if (!ei_category_exempt(c) || ei_str(t, "exemption_reason") || ei_str(t, "exemption_reason_code"))
			continue;
		snprintf(name, sizeof name, "VAT exemption reason (or BT-121 code), category %s", c);
		need(out, "BT-120", name, "upsert_tax_rate.exemption_reason");
	}
	if (ei_uses_category(src, "O") && n > 1)
		need(out, "BT-151", "VAT category code (O cannot share a document with other categories)", "create_invoice.line_items[].tax_code");
	if (ei_uses_category(src, "K") && !ei_str(src, "delivery_date"))
		need(out, "BT-72", credit ? "Actual delivery date (category K; the credited invoice's)"
		                          : "Actual delivery date (category K)", "create_invoice.delivery_date");
}

static int loses_decimals(long long minor, int exponent)
{
	return exponent > 2 && minor % (long long)pow10u(exponent - 2) != 0;
}

/* BR-DEC: no amount with more than 2 decimals (exponent 3 and 4 currencies:
 * KWD, CLF). */
static void check_decimals(const json_object *src, json_object *out)
{
	static const char *const totals[] = { "line_net_minor", "tax_minor", "rounding_minor", "paid_minor" };
	json_object *lines = ei_arr(src, "lines"), *tax = ei_arr(src, "tax"), *t = ei_obj(src, "totals");
	size_t i, n;
	int bad = 0, e = ei_exponent(src);

	if (e <= 2)
		return;
	for (i = 0, n = lines ? json_object_array_length(lines) : 0; i < n; i++)
		bad |= loses_decimals(ei_int(json_object_array_get_idx(lines, i), "net_minor"), e) |
		       loses_decimals(ei_int(json_object_array_get_idx(lines, i), "allowance_minor"), e);
	for (i = 0, n = tax ? json_object_array_length(tax) : 0; i < n; i++)
		bad |= loses_decimals(ei_int(json_object_array_get_idx(tax, i), "tax_minor"), e) |
		       loses_decimals(ei_int(json_object_array_get_idx(tax, i), "taxable_minor"), e);
	for (i = 0; i < sizeof totals / sizeof *totals; i++)
		bad |= loses_decimals(ei_int(t, totals[i]), e);
	if (bad)
		need(out, "BR-DEC", "Amounts with at most 2 decimals (whole hundredths of this currency)",
		     "create_invoice.line_items[].amount_cents");
}

/* BT-9 or BT-20 when something is due (BR-CO-25); Peppol BIS 3.0: both
 * electronic addresses (R020, R010) and a buyer reference or order (R003). */
static void check_payment_and_peppol(const json_object *src, json_object *out, int peppol, int credit)
{
	json_object *t = ei_obj(src, "totals");

	if (!credit && ei_int(t, "payable_minor") > 0 && !ei_str(src, "due_date") && !ei_str(src, "payment_terms"))
		need(out, "BT-9", "Payment due date (or BT-20 payment terms)", "create_invoice.due_date");
	if (!peppol)
		return;
	if (!ei_obj(ei_obj(src, "seller"), "electronic_address"))
		need(out, "BT-34", "Seller electronic address",
		     "upsert_business_profile.electronic_address");
	if (!ei_obj(ei_obj(src, "buyer"), "electronic_address"))
		need(out, "BT-49", "Buyer electronic address", "upsert_customer.electronic_address");
	if (!ei_str(src, "buyer_reference") && !ei_str(src, "purchase_order"))
		need(out, "BT-10", "Buyer reference (or BT-13 purchase order)",
		     credit ? "upsert_customer.buyer_reference" : "create_invoice.buyer_reference");
}

json_object *ei_missing(const json_object *src, int peppol)
{
	json_object *out = json_object_new_array();
	int credit = ei_str(src, "kind") && !strcmp(ei_str(src, "kind"), "credit_note");

	check_document(src, out);
	check_parties(src, out);
	check_tax(src, out, credit);
	check_decimals(src, out);
	check_payment_and_peppol(src, out, peppol, credit);
	return out;
}
