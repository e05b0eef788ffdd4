/*
 * ubl.c - an OASIS UBL 2.1 Invoice (type 380) or CreditNote (381) from the
 * mcp_einvoice_source JSON, as EN 16931 (CustomizationID
 * urn:cen.eu:en16931:2017) or Peppol BIS Billing 3.0 (its CustomizationID,
 * ProfileID and endpoint ids). Runs in workers. Element order follows the
 * UBL 2.1 schema; which business term each element carries is in
 * docs/einvoice.md. The caller has checked the source with ei_missing.
 */
#include <stdio.h>
#include <string.h>

#include "worker/einvoice/model.h"
#include "worker/einvoice/ubl.h"
#include "worker/einvoice/xmlw.h"

#define NS_CAC "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
#define NS_CBC "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
#define EN16931 "urn:cen.eu:en16931:2017"
#define PEPPOL_CUSTOMIZATION EN16931 "#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
#define PEPPOL_PROFILE "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

struct ubl {
	const json_object *src;
	struct xmlw *w;
	const char *currency;
	int exponent, credit, peppol;
	int vat_ids; /* 0 for a document of category O (BR-O-02: no VAT identifiers) */
};

static void amount(struct ubl *u, const char *name, long long minor)
{
	char a[48];

	ei_money(minor, u->exponent, a, sizeof a);
	xmlw_text_attr(u->w, name, "currencyID", u->currency, a);
}

static void tax_scheme(struct ubl *u)
{
	xmlw_open(u->w, "cac:TaxScheme");
	xmlw_text(u->w, "cbc:ID", "VAT");
	xmlw_close(u->w);
}

/* BG-5 / BG-8 (and BG-15 for the deliver-to address). */
static void address(struct ubl *u, const char *element, const json_object *a)
{
	json_object *lines = ei_arr(a, "lines");
	size_t n = lines ? json_object_array_length(lines) : 0;

	xmlw_open(u->w, element);
	if (n > 0)
		xmlw_text(u->w, "cbc:StreetName", json_object_get_string(json_object_array_get_idx(lines, 0)));
	if (n > 1)
		xmlw_text(u->w, "cbc:AdditionalStreetName", json_object_get_string(json_object_array_get_idx(lines, 1)));
	xmlw_text(u->w, "cbc:CityName", ei_str(a, "city"));
	xmlw_text(u->w, "cbc:PostalZone", ei_str(a, "postal_code"));
	xmlw_text(u->w, "cbc:CountrySubentity", ei_str(a, "region"));
	if (n > 2) {
		xmlw_open(u->w, "cac:AddressLine");
		xmlw_text(u->w, "cbc:Line", json_object_get_string(json_object_array_get_idx(lines, 2)));
		xmlw_close(u->w);
	}
	xmlw_open(u->w, "cac:Country");
	xmlw_text(u->w, "cbc:IdentificationCode", ei_str(a, "country_code"));
	xmlw_close(u->w);
	xmlw_close(u->w);
}

/* BG-4 seller / BG-7 buyer. */
static void party(struct ubl *u, const char *role, const json_object *p, const char *name_key)
{
	json_object *endpoint = ei_obj(p, "electronic_address"), *a = ei_obj(p, "address");
	const char *contact = ei_str(p, "contact_name"), *phone = ei_str(p, "phone"), *mail = ei_str(p, "email");

	xmlw_open(u->w, role);
	xmlw_open(u->w, "cac:Party");
	if (endpoint)
		xmlw_text_attr(u->w, "cbc:EndpointID", "schemeID", ei_str(endpoint, "scheme"), ei_str(endpoint, "id"));
	if (a)
		address(u, "cac:PostalAddress", a);
	if (u->vat_ids && ei_str(p, "vat_id")) {
		xmlw_open(u->w, "cac:PartyTaxScheme");
		xmlw_text(u->w, "cbc:CompanyID", ei_str(p, "vat_id"));
		tax_scheme(u);
		xmlw_close(u->w);
	}
	xmlw_open(u->w, "cac:PartyLegalEntity");
	xmlw_text(u->w, "cbc:RegistrationName", ei_str(p, name_key));
	xmlw_text(u->w, "cbc:CompanyID", ei_str(p, "legal_id"));
	xmlw_close(u->w);
	if (contact || phone || mail) {
		xmlw_open(u->w, "cac:Contact");
		xmlw_text(u->w, "cbc:Name", contact);
		xmlw_text(u->w, "cbc:Telephone", phone);
		xmlw_text(u->w, "cbc:ElectronicMail", mail);
		xmlw_close(u->w);
	}
	xmlw_close(u->w);
	xmlw_close(u->w);
}

/* BT-1 .. BT-26: identification, dates, currency, references. */
static void header(struct ubl *u)
{
	json_object *pre = ei_obj(u->src, "preceding_invoice");

	xmlw_open(u->w, u->credit ? "CreditNote" : "Invoice");
	xmlw_attr(u->w, "xmlns", u->credit ? "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
	                                    : "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2");
	xmlw_attr(u->w, "xmlns:cac", NS_CAC);
	xmlw_attr(u->w, "xmlns:cbc", NS_CBC);
	xmlw_text(u->w, "cbc:CustomizationID", u->peppol ? PEPPOL_CUSTOMIZATION : EN16931);
	if (u->peppol)
		xmlw_text(u->w, "cbc:ProfileID", PEPPOL_PROFILE);
	xmlw_text(u->w, "cbc:ID", ei_str(u->src, "number"));
	xmlw_text(u->w, "cbc:IssueDate", ei_str(u->src, "issue_date"));
	if (!u->credit)
		xmlw_text(u->w, "cbc:DueDate", ei_str(u->src, "due_date"));
	xmlw_text(u->w, u->credit ? "cbc:CreditNoteTypeCode" : "cbc:InvoiceTypeCode", u->credit ? "381" : "380");
	xmlw_text(u->w, "cbc:Note", ei_str(u->src, "note"));
	xmlw_text(u->w, "cbc:DocumentCurrencyCode", u->currency);
	xmlw_text(u->w, "cbc:BuyerReference", ei_str(u->src, "buyer_reference"));
	if (ei_str(u->src, "purchase_order")) {
		xmlw_open(u->w, "cac:OrderReference");
		xmlw_text(u->w, "cbc:ID", ei_str(u->src, "purchase_order"));
		xmlw_close(u->w);
	}
	if (pre) {
		xmlw_open(u->w, "cac:BillingReference");
		xmlw_open(u->w, "cac:InvoiceDocumentReference");
		xmlw_text(u->w, "cbc:ID", ei_str(pre, "number"));
		xmlw_text(u->w, "cbc:IssueDate", ei_str(pre, "issue_date"));
		xmlw_close(u->w);
		xmlw_close(u->w);
	}
}

/* BG-13: the delivery date (BT-72); for an intra-community supply the
 * deliver-to country (BT-80, BR-IC-12) is the buyer's address. */
static void delivery(struct ubl *u)
{
	const char *date = ei_str(u->src, "delivery_date");
	int k = ei_uses_category(u->src, "K");

	if (!date && !k)
		return;
	xmlw_open(u->w, "cac:Delivery");
	xmlw_text(u->w, "cbc:ActualDeliveryDate", date);
	if (k) {
		xmlw_open(u->w, "cac:DeliveryLocation");
		address(u, "cac:Address", ei_obj(ei_obj(u->src, "buyer"), "address"));
		xmlw_close(u->w);
	}
	xmlw_close(u->w);
}

/* BG-16/BG-17 credit transfer to the seller's IBAN (BT-84) and BIC (BT-86);
 * BT-20 payment terms (a credit note that leaves something payable says it
 * is set against its invoice: BR-CO-25 needs terms or a due date). */
static void payment(struct ubl *u)
{
	json_object *seller = ei_obj(u->src, "seller"), *t = ei_obj(u->src, "totals");
	const char *iban = ei_str(seller, "iban"), *terms = ei_str(u->src, "payment_terms");
	char text[200];

	if (iban) {
		xmlw_open(u->w, "cac:PaymentMeans");
		xmlw_text_attr(u->w, "cbc:PaymentMeansCode", "name", "Credit transfer", "30");
		xmlw_text(u->w, "cbc:PaymentID", ei_str(u->src, "number"));
		xmlw_open(u->w, "cac:PayeeFinancialAccount");
		xmlw_text(u->w, "cbc:ID", iban);
		if (ei_str(seller, "bic")) {
			xmlw_open(u->w, "cac:FinancialInstitutionBranch");
			xmlw_text(u->w, "cbc:ID", ei_str(seller, "bic"));
			xmlw_close(u->w);
		}
		xmlw_close(u->w);
		xmlw_close(u->w);
	}
	if (!terms && u->credit && ei_int(t, "payable_minor") > 0) {
		snprintf(text, sizeof text, "Credited against invoice %s.",
		         ei_str(ei_obj(u->src, "preceding_invoice"), "number"));
		terms = text;
	}
	if (terms) {
		xmlw_open(u->w, "cac:PaymentTerms");
		xmlw_text(u->w, "cbc:Note", terms);
		xmlw_close(u->w);
	}
}

/* A TaxCategory / ClassifiedTaxCategory: code, rate (none for O), reason. */
static void tax_category(struct ubl *u, const char *element, const json_object *t, int reasons)
{
	const char *c = ei_str(t, "category");
	char pct[32];

	ei_percent(ei_int(t, "rate_bps"), pct, sizeof pct);
	xmlw_open(u->w, element);
	xmlw_text(u->w, "cbc:ID", c);
	if (ei_category_has_rate(c))
		xmlw_text(u->w, "cbc:Percent", pct);
	if (reasons && ei_category_exempt(c)) {
		xmlw_text(u->w, "cbc:TaxExemptionReasonCode", ei_str(t, "exemption_reason_code"));
		xmlw_text(u->w, "cbc:TaxExemptionReason", ei_str(t, "exemption_reason"));
	}
	tax_scheme(u);
	xmlw_close(u->w);
}

/* BG-22 totals and BG-23 VAT breakdown. */
static void totals(struct ubl *u)
{
	json_object *tax = ei_arr(u->src, "tax"), *t = ei_obj(u->src, "totals");
	size_t i, n = tax ? json_object_array_length(tax) : 0;

	xmlw_open(u->w, "cac:TaxTotal");
	amount(u, "cbc:TaxAmount", ei_int(t, "tax_minor"));
	for (i = 0; i < n; i++) {
		json_object *g = json_object_array_get_idx(tax, i);
		xmlw_open(u->w, "cac:TaxSubtotal");
		amount(u, "cbc:TaxableAmount", ei_int(g, "taxable_minor"));
		amount(u, "cbc:TaxAmount", ei_int(g, "tax_minor"));
		tax_category(u, "cac:TaxCategory", g, 1);
		xmlw_close(u->w);
	}
	xmlw_close(u->w);
	xmlw_open(u->w, "cac:LegalMonetaryTotal");
	amount(u, "cbc:LineExtensionAmount", ei_int(t, "line_net_minor"));
	amount(u, "cbc:TaxExclusiveAmount", ei_int(t, "tax_exclusive_minor"));
	amount(u, "cbc:TaxInclusiveAmount", ei_int(t, "tax_inclusive_minor"));
	if (ei_int(t, "paid_minor"))
		amount(u, "cbc:PrepaidAmount", ei_int(t, "paid_minor"));
	if (ei_int(t, "rounding_minor"))
		amount(u, "cbc:PayableRoundingAmount", ei_int(t, "rounding_minor"));
	amount(u, "cbc:PayableAmount", ei_int(t, "payable_minor"));
	xmlw_close(u->w);
}

/* BG-25: one line, its allowance (BG-27, the per-line discount), item and
 * net price (BT-146). */
static void line(struct ubl *u, const json_object *l)
{
	char id[24], qty[64];

	ei_line_id(l, id, sizeof id);
	ei_quantity(l, qty, sizeof qty);
	xmlw_open(u->w, u->credit ? "cac:CreditNoteLine" : "cac:InvoiceLine");
	xmlw_text(u->w, "cbc:ID", id);
	xmlw_text_attr(u->w, u->credit ? "cbc:CreditedQuantity" : "cbc:InvoicedQuantity", "unitCode",
	               ei_str(l, "unit_code") ? ei_str(l, "unit_code") : "C62", qty);
	amount(u, "cbc:LineExtensionAmount", ei_int(l, "net_minor"));
	if (ei_int(l, "allowance_minor")) {
		xmlw_open(u->w, "cac:AllowanceCharge");
		xmlw_text(u->w, "cbc:ChargeIndicator", "false");
		xmlw_text(u->w, "cbc:AllowanceChargeReasonCode", "95");
		xmlw_text(u->w, "cbc:AllowanceChargeReason", "Discount");
		amount(u, "cbc:Amount", ei_int(l, "allowance_minor"));
		xmlw_close(u->w);
	}
	xmlw_open(u->w, "cac:Item");
	xmlw_text(u->w, "cbc:Name", ei_str(l, "description"));
	tax_category(u, "cac:ClassifiedTaxCategory", l, 0);
	xmlw_close(u->w);
	xmlw_open(u->w, "cac:Price");
	xmlw_text_attr(u->w, "cbc:PriceAmount", "currencyID", u->currency, ei_str(l, "price"));
	xmlw_close(u->w);
	xmlw_close(u->w);
}

int ubl_write(const json_object *src, int peppol, struct strbuf *out)
{
	struct ubl u = { .src = src, .currency = ei_str(src, "currency"), .exponent = ei_exponent(src),
	                 .credit = ei_str(src, "kind") && !strcmp(ei_str(src, "kind"), "credit_note"),
	                 .peppol = peppol, .vat_ids = !ei_uses_category(src, "O") };
	json_object *lines = ei_arr(src, "lines");
	size_t i, n = lines ? json_object_array_length(lines) : 0;

	if (!(u.w = xmlw_new()))
		return -1;
	header(&u);
	party(&u, "cac:AccountingSupplierParty", ei_obj(src, "seller"), "legal_name");
	party(&u, "cac:AccountingCustomerParty", ei_obj(src, "buyer"), "name");
	delivery(&u);
	payment(&u);
	totals(&u);
	for (i = 0; i < n; i++)
		line(&u, json_object_array_get_idx(lines, i));
	xmlw_close(u.w);
	return xmlw_finish(u.w, out);
}
