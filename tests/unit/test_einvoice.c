/* Unit tests for worker/einvoice: every fixture of tests/einvoice/fixtures
 * (one per scenario of issue 22, in the mcp_einvoice_source shape) is written
 * as UBL (EN 16931 and Peppol) and CII, and each document is well-formed XML
 * whose root, type code and totals are the source's; the missing business
 * terms of a draft, an incomplete profile and a Peppol profile without
 * endpoints; escaping of any text. With EINVOICE_OUT=DIR the documents are
 * also written there (NAME.ubl.xml, NAME.peppol.xml, NAME.cii.xml) for
 * tests/einvoice/validate_all.py, which runs the official validators. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <libxml/parser.h>

#include "worker/einvoice/einvoice.h"

#define FIXTURES "tests/einvoice/fixtures"

static json_object *fixture(const char *name)
{
	char path[512];
	json_object *o;

	snprintf(path, sizeof path, FIXTURES "/%s.json", name);
	o = json_object_from_file(path);
	assert_non_null(o);
	return o;
}

static void save(const char *name, const char *suffix, const struct strbuf *xml)
{
	const char *dir = getenv("EINVOICE_OUT");
	char path[1024];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof path, "%s/%s.%s.xml", dir, name, suffix);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(xml->data, 1, xml->len, f), xml->len);
	fclose(f);
}

/* Well-formed (libxml2 parses it strictly) and carries the expected text. */
static void expect_document(const struct strbuf *xml, const char *root, const char *type_code)
{
	xmlDocPtr doc = xmlReadMemory(xml->data, (int)xml->len, NULL, "UTF-8", XML_PARSE_NONET);
	char want[64];

	assert_non_null(doc);
	assert_string_equal((const char *)xmlDocGetRootElement(doc)->name, root);
	xmlFreeDoc(doc);
	snprintf(want, sizeof want, "TypeCode>%s<", type_code);
	assert_non_null(strstr(xml->data, want));
}

static void write_one(const char *name)
{
	static const struct { enum einvoice_syntax syntax; enum einvoice_profile profile; const char *suffix; } kinds[] = {
		{ EINVOICE_UBL, EINVOICE_EN16931, "ubl" },
		{ EINVOICE_UBL, EINVOICE_PEPPOL, "peppol" },
		{ EINVOICE_CII, EINVOICE_EN16931, "cii" },
	};
	json_object *src = fixture(name), *missing = NULL;
	int credit = !strcmp(json_object_get_string(json_object_object_get(src, "kind")), "credit_note");

	for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
		struct strbuf xml;
		strbuf_init(&xml, 4096);
		assert_int_equal(einvoice_write(src, kinds[k].syntax, kinds[k].profile, &xml, &missing), 0);
		assert_null(missing);
		expect_document(&xml, kinds[k].syntax == EINVOICE_CII ? "CrossIndustryInvoice"
		                      : credit ? "CreditNote" : "Invoice", credit ? "381" : "380");
		save(name, kinds[k].suffix, &xml);
		strbuf_free(&xml);
	}
	json_object_put(src);
}

static void test_every_fixture_is_written_in_every_syntax(void **state)
{
	DIR *d = opendir(FIXTURES);
	struct dirent *e;
	int n = 0;
	(void)state;

	assert_non_null(d);
	while ((e = readdir(d))) {
		char name[256];
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0 || len - 5 >= sizeof name)
			continue;
		memcpy(name, e->d_name, len - 5);
		name[len - 5] = '\0';
		write_one(name);
		n++;
	}
	closedir(d);
	assert_true(n >= 10);
}

static char *write_ok(json_object *src, enum einvoice_syntax syntax, enum einvoice_profile profile)
{
	struct strbuf xml;
	json_object *missing = NULL;

	strbuf_init(&xml, 4096);
	assert_int_equal(einvoice_write(src, syntax, profile, &xml, &missing), 0);
	return strbuf_take(&xml, NULL);
}

/* want is searched for in the document without its indentation. */
static void expect_in(const char *fixture_name, enum einvoice_syntax syntax, const char *want)
{
	json_object *src = fixture(fixture_name);
	char *xml = write_ok(src, syntax, EINVOICE_EN16931), *r = xml, *w = xml;

	while (*r) {
		if (*r != '\n') {
			*w++ = *r++;
			continue;
		}
		while (*++r == ' ')
			;
	}
	*w = '\0';

	if (!strstr(xml, want))
		fail_msg("%s: %s not in\n%s", fixture_name, want, xml);
	free(xml);
	json_object_put(src);
}

/* Amounts in the currency's decimals (at most 2: BR-DEC), the totals of the
 * source, the rounding amount, the paid amount, the credited invoice. */
static void test_amounts_and_totals(void **state)
{
	(void)state;
	expect_in("domestic_two_rates", EINVOICE_UBL, "<cbc:PayableAmount currencyID=\"EUR\">178.94</cbc:PayableAmount>");
	expect_in("domestic_two_rates", EINVOICE_UBL, "<cbc:Amount currencyID=\"EUR\">1.50</cbc:Amount>");
	expect_in("domestic_two_rates", EINVOICE_CII, "<ram:DuePayableAmount>178.94</ram:DuePayableAmount>");
	expect_in("jpy", EINVOICE_UBL, "<cbc:TaxInclusiveAmount currencyID=\"JPY\">4554</cbc:TaxInclusiveAmount>");
	expect_in("jpy", EINVOICE_CII, "<ram:TaxTotalAmount currencyID=\"JPY\">672</ram:TaxTotalAmount>");
	expect_in("kwd", EINVOICE_UBL, "<cbc:PayableAmount currencyID=\"KWD\">8.39</cbc:PayableAmount>");
	expect_in("inclusive_rounding", EINVOICE_UBL, "<cbc:PayableRoundingAmount currencyID=\"EUR\">0.01<");
	expect_in("inclusive_rounding", EINVOICE_CII, "<ram:RoundingAmount>0.01</ram:RoundingAmount>");
	expect_in("partially_paid", EINVOICE_UBL, "<cbc:PrepaidAmount currencyID=\"EUR\">200.00</cbc:PrepaidAmount>");
	expect_in("partially_paid", EINVOICE_CII, "<ram:DuePayableAmount>395.00</ram:DuePayableAmount>");
	expect_in("credit_note", EINVOICE_UBL, "<cac:InvoiceDocumentReference><cbc:ID>INV-000042</cbc:ID>");
	expect_in("credit_note", EINVOICE_CII, "<ram:IssuerAssignedID>INV-000042</ram:IssuerAssignedID>");
	expect_in("reverse_charge_ae", EINVOICE_UBL, "<cbc:TaxExemptionReasonCode>VATEX-EU-AE<");
	expect_in("intra_community_k", EINVOICE_CII, "<ram:CountryID>FR</ram:CountryID></ram:PostalTradeAddress></ram:ShipToTradeParty>");
}

/* Markup characters escaped; bytes XML 1.0 cannot carry (C0 controls,
 * invalid UTF-8) replaced by U+FFFD; other Unicode kept as is. */
static void test_any_text_is_escaped(void **state)
{
	json_object *src = fixture("domestic_two_rates");
	char *xml;
	(void)state;

	json_object_object_add(src, "note", json_object_new_string("a\x01" "b\xff" "c \xf0\x9f\x8e\x89 </cbc:Note>&"));
	xml = write_ok(src, EINVOICE_UBL, EINVOICE_EN16931);
	if (!strstr(xml, "<cbc:Note>a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c \xf0\x9f\x8e\x89 &lt;/cbc:Note&gt;&amp;</cbc:Note>"))
		fail_msg("%s", xml);
	assert_non_null(strstr(xml, "Widgets &amp; &lt;gadgets&gt; &quot;quoted&quot; — ünïcödé ✓"));
	free(xml);
	json_object_put(src);
}

/* einvoice_write refuses and names exactly these "term=argument" pairs. */
static void expect_missing(json_object *src, enum einvoice_profile profile, const char *const *want, size_t n)
{
	struct strbuf xml;
	json_object *missing = NULL;

	strbuf_init(&xml, 64);
	assert_int_equal(einvoice_write(src, EINVOICE_UBL, profile, &xml, &missing), -1);
	assert_int_equal(xml.len, 0);
	assert_non_null(missing);
	if (json_object_array_length(missing) != n)
		fail_msg("%s", json_object_to_json_string(missing));
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(missing, i);
		char got[200];
		snprintf(got, sizeof got, "%s=%s", json_object_get_string(json_object_object_get(m, "term")),
		         json_object_get_string(json_object_object_get(m, "argument")));
		assert_string_equal(got, want[i]);
		assert_true(strlen(json_object_get_string(json_object_object_get(m, "name"))) > 5);
	}
	json_object_put(missing);
	strbuf_free(&xml);
	json_object_put(src);
}

static json_object *at(json_object *o, const char *key)
{
	return json_object_object_get(o, key);
}

static void test_a_draft_lacks_number_and_date(void **state)
{
	static const char *const want[] = { "BT-1=send_invoice", "BT-2=send_invoice" };
	json_object *src = fixture("domestic_two_rates");
	(void)state;

	json_object_object_add(src, "status", json_object_new_string("draft"));
	json_object_object_add(src, "number", NULL);
	json_object_object_add(src, "issue_date", NULL);
	expect_missing(src, EINVOICE_EN16931, want, 2);
}

static void test_an_incomplete_profile_names_every_term(void **state)
{
	static const char *const want[] = {
		"BT-40=upsert_business_profile.address.country_code", "BT-31=upsert_business_profile.vat_id",
		"BT-55=upsert_customer.address.country_code",
	};
	json_object *src = fixture("domestic_two_rates");
	(void)state;

	json_object_object_add(at(src, "seller"), "vat_id", NULL);
	json_object_object_add(at(src, "seller"), "address", NULL);
	json_object_object_add(at(at(src, "buyer"), "address"), "country_code", NULL);
	expect_missing(src, EINVOICE_EN16931, want, 3);
}

static void test_peppol_needs_endpoints_and_a_reference(void **state)
{
	static const char *const want[] = {
		"BT-34=upsert_business_profile.electronic_address", "BT-49=upsert_customer.electronic_address",
		"BT-10=create_invoice.buyer_reference",
	};
	json_object *src = fixture("exempt_e");
	char *xml;
	(void)state;

	json_object_object_add(at(src, "seller"), "electronic_address", NULL);
	json_object_object_add(at(src, "buyer"), "electronic_address", NULL);
	json_object_object_add(src, "buyer_reference", NULL);
	xml = write_ok(src, EINVOICE_UBL, EINVOICE_EN16931);
	free(xml);
	expect_missing(src, EINVOICE_PEPPOL, want, 3);
}

static void test_category_rules(void **state)
{
	static const char *const ae[] = { "BT-48=upsert_customer.vat_id", "BT-120=upsert_tax_rate.exemption_reason" };
	static const char *const k[] = { "BT-72=create_invoice.delivery_date" };
	static const char *const line[] = { "BT-151=create_invoice.line_items[].tax_code" };
	static const char *const kwd[] = { "BR-DEC=create_invoice.line_items[].amount_cents" };
	json_object *src = fixture("reverse_charge_ae"), *tax;
	(void)state;

	json_object_object_add(at(src, "buyer"), "vat_id", NULL);
	tax = json_object_array_get_idx(at(src, "tax"), 0);
	json_object_object_add(tax, "exemption_reason", NULL);
	json_object_object_add(tax, "exemption_reason_code", NULL);
	expect_missing(src, EINVOICE_EN16931, ae, 2);
	src = fixture("intra_community_k");
	json_object_object_add(src, "delivery_date", NULL);
	expect_missing(src, EINVOICE_EN16931, k, 1);
	src = fixture("partially_paid");
	json_object_object_add(json_object_array_get_idx(at(src, "lines"), 0), "category", NULL);
	expect_missing(src, EINVOICE_EN16931, line, 1);
	src = fixture("kwd");
	json_object_object_add(at(src, "totals"), "paid_minor", json_object_new_int(5));
	expect_missing(src, EINVOICE_EN16931, kwd, 1);
}

/* Category O: no VAT identifiers (BR-O-02), no rate (BR-O-05); Peppol is
 * UBL only. */
static void test_not_subject_to_vat_and_peppol_cii(void **state)
{
	json_object *src = fixture("exempt_e"), *missing = (json_object *)1;
	json_object *g = json_object_array_get_idx(at(src, "tax"), 0);
	struct strbuf xml;
	char *out;
	(void)state;

	json_object_object_add(g, "category", json_object_new_string("O"));
	json_object_object_add(json_object_array_get_idx(at(src, "lines"), 0), "category", json_object_new_string("O"));
	out = write_ok(src, EINVOICE_UBL, EINVOICE_EN16931);
	assert_null(strstr(out, "DE123456789"));
	assert_null(strstr(out, "<cbc:Percent>"));
	assert_non_null(strstr(out, "<cbc:ID>O</cbc:ID>"));
	free(out);
	strbuf_init(&xml, 64);
	assert_int_equal(einvoice_write(src, EINVOICE_CII, EINVOICE_PEPPOL, &xml, &missing), -1);
	assert_null(missing);
	strbuf_free(&xml);
	json_object_put(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_fixture_is_written_in_every_syntax),
		cmocka_unit_test(test_amounts_and_totals),
		cmocka_unit_test(test_any_text_is_escaped),
		cmocka_unit_test(test_a_draft_lacks_number_and_date),
		cmocka_unit_test(test_an_incomplete_profile_names_every_term),
		cmocka_unit_test(test_peppol_needs_endpoints_and_a_reference),
		cmocka_unit_test(test_category_rules),
		cmocka_unit_test(test_not_subject_to_vat_and_peppol_cii),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
