/*
 * cii.c - a UN/CEFACT CII D16B CrossIndustryInvoice (type 380 or 381) from
 * the mcp_einvoice_source JSON, with the EN 16931 guideline
 * urn:cen.eu:en16931:2017: valid under the EN 16931 CII rules and as the
 * factur-x.xml of a Factur-X EN 16931 PDF. Runs in workers. Element order
 * follows the D16B schema; which business term each element carries is in
 * docs/einvoice.md. The caller has checked the source with ei_missing.
 */
#include <stdio.h>
#include <string.h>

#include "worker/einvoice/cii.h"
#include "worker/einvoice/model.h"
#include "worker/einvoice/xmlw.h"

struct cii {
	const json_object *src;
	struct xmlw *w;
	const char *currency;
	int exponent, credit;
	int vat_ids; /* 0 for a document of category O (BR-O-02: no VAT identifiers) */
};

static void amount(struct cii *c, const char *name, long long minor)
{
	char a[48];

	ei_money(minor, c->exponent, a, sizeof a);
	xmlw_text(c->w, name, a);
}

/* <element><udt:DateTimeString format="102">YYYYMMDD</...></element> */
static void date(struct cii *c, const char *element, const char *prefix, const char *iso)
{
	char d[9], name[40];

	if (!iso)
		return;
	ei_date102(iso, d);
	snprintf(name, sizeof name, "%s:DateTimeString", prefix);
	xmlw_open(c->w, element);
	xmlw_text_attr(c->w, name, "format", "102", d);
	xmlw_close(c->w);
}

static void address(struct cii *c, const json_object *a)
{
	static const char *const line_names[] = { "ram:LineOne", "ram:LineTwo", "ram:LineThree" };
	json_object *lines = ei_arr(a, "lines");
	size_t i, n = lines ? json_object_array_length(lines) : 0;

	xmlw_open(c->w, "ram:PostalTradeAddress");
	xmlw_text(c->w, "ram:PostcodeCode", ei_str(a, "postal_code"));
	for (i = 0; i < n && i < 3; i++)
		xmlw_text(c->w, line_names[i], json_object_get_string(json_object_array_get_idx(lines, i)));
	xmlw_text(c->w, "ram:CityName", ei_str(a, "city"));
	xmlw_text(c->w, "ram:CountryID", ei_str(a, "country_code"));
	xmlw_text(c->w, "ram:CountrySubDivisionName", ei_str(a, "region"));
	xmlw_close(c->w);
}

/* BG-4 seller / BG-7 buyer. */
static void party(struct cii *c, const char *role, const json_object *p, const char *name_key)
{
	json_object *endpoint = ei_obj(p, "electronic_address"), *a = ei_obj(p, "address");
	const char *contact = ei_str(p, "contact_name"), *phone = ei_str(p, "phone"), *mail = ei_str(p, "email");

	xmlw_open(c->w, role);
	xmlw_text(c->w, "ram:Name", ei_str(p, name_key));
	if (ei_str(p, "legal_id")) {
		xmlw_open(c->w, "ram:SpecifiedLegalOrganization");
		xmlw_text(c->w, "ram:ID", ei_str(p, "legal_id"));
		xmlw_close(c->w);
	}
	if (contact || phone || mail) {
		xmlw_open(c->w, "ram:DefinedTradeContact");
		xmlw_text(c->w, "ram:PersonName", contact);
		if (phone) {
			xmlw_open(c->w, "ram:TelephoneUniversalCommunication");
			xmlw_text(c->w, "ram:CompleteNumber", phone);
			xmlw_close(c->w);
		}
		if (mail) {
			xmlw_open(c->w, "ram:EmailURIUniversalCommunication");
			xmlw_text(c->w, "ram:URIID", mail);
			xmlw_close(c->w);
		}
		xmlw_close(c->w);
	}
	if (a)
		address(c, a);
	if (endpoint) {
		xmlw_open(c->w, "ram:URIUniversalCommunication");
		xmlw_text_attr(c->w, "ram:URIID", "schemeID", ei_str(endpoint, "scheme"), ei_str(endpoint, "id"));
		xmlw_close(c->w);
	}
	if (c->vat_ids && ei_str(p, "vat_id")) {
		xmlw_open(c->w, "ram:SpecifiedTaxRegistration");
		xmlw_text_attr(c->w, "ram:ID", "schemeID", "VA", ei_str(p, "vat_id"));
		xmlw_close(c->w);
	}
	xmlw_close(c->w);
}

/* The root, the guideline and BT-1, BT-3, BT-2, BT-22. */
static void header(struct cii *c)
{
	xmlw_open(c->w, "rsm:CrossIndustryInvoice");
	xmlw_attr(c->w, "xmlns:rsm", "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100");
	xmlw_attr(c->w, "xmlns:qdt", "urn:un:unece:uncefact:data:standard:QualifiedDataType:100");
	xmlw_attr(c->w, "xmlns:ram",
	          "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100");
	xmlw_attr(c->w, "xmlns:udt", "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100");
	xmlw_open(c->w, "rsm:ExchangedDocumentContext");
	xmlw_open(c->w, "ram:GuidelineSpecifiedDocumentContextParameter");
	xmlw_text(c->w, "ram:ID", "urn:cen.eu:en16931:2017");
	xmlw_close(c->w);
	xmlw_close(c->w);
	xmlw_open(c->w, "rsm:ExchangedDocument");
	xmlw_text(c->w, "ram:ID", ei_str(c->src, "number"));
	xmlw_text(c->w, "ram:TypeCode", c->credit ? "381" : "380");
	date(c, "ram:IssueDateTime", "udt", ei_str(c->src, "issue_date"));
	if (ei_str(c->src, "note")) {
		xmlw_open(c->w, "ram:IncludedNote");
		xmlw_text(c->w, "ram:Content", ei_str(c->src, "note"));
		xmlw_close(c->w);
	}
	xmlw_close(c->w);
}

/* BG-25: one line with its allowance (BG-27) and net price (BT-146). */
static void line(struct cii *c, const json_object *l)
{
	const char *cat = ei_str(l, "category");
	char id[24], qty[64], pct[32];

	ei_line_id(l, id, sizeof id);
	ei_quantity(l, qty, sizeof qty);
	ei_percent(ei_int(l, "rate_bps"), pct, sizeof pct);
	xmlw_open(c->w, "ram:IncludedSupplyChainTradeLineItem");
	xmlw_open(c->w, "ram:AssociatedDocumentLineDocument");
	xmlw_text(c->w, "ram:LineID", id);
	xmlw_close(c->w);
	xmlw_open(c->w, "ram:SpecifiedTradeProduct");
	xmlw_text(c->w, "ram:Name", ei_str(l, "description"));
	xmlw_close(c->w);
	xmlw_open(c->w, "ram:SpecifiedLineTradeAgreement");
	xmlw_open(c->w, "ram:NetPriceProductTradePrice");
	xmlw_text(c->w, "ram:ChargeAmount", ei_str(l, "price"));
	xmlw_close(c->w);
	xmlw_close(c->w);
	xmlw_open(c->w, "ram:SpecifiedLineTradeDelivery");
	xmlw_text_attr(c->w, "ram:BilledQuantity", "unitCode", ei_str(l, "unit_code") ? ei_str(l, "unit_code") : "C62",
	               qty);
	xmlw_close(c->w);
	xmlw_open(c->w, "ram:SpecifiedLineTradeSettlement");
	xmlw_open(c->w, "ram:ApplicableTradeTax");
	xmlw_text(c->w, "ram:TypeCode", "VAT");
	xmlw_text(c->w, "ram:CategoryCode", cat);
	if (ei_category_has_rate(cat))
		xmlw_text(c->w, "ram:RateApplicablePercent", pct);
	xmlw_close(c->w);
	if (ei_int(l, "allowance_minor")) {
		xmlw_open(c->w, "ram:SpecifiedTradeAllowanceCharge");
		xmlw_open(c->w, "ram:ChargeIndicator");
		xmlw_text(c->w, "udt:Indicator", "false");
		xmlw_close(c->w);
		amount(c, "ram:ActualAmount", ei_int(l, "allowance_minor"));
		xmlw_text(c->w, "ram:ReasonCode", "95");
		xmlw_text(c->w, "ram:Reason", "Discount");
		xmlw_close(c->w);
	}
	xmlw_open(c->w, "ram:SpecifiedTradeSettlementLineMonetarySummation");
	amount(c, "ram:LineTotalAmount", ei_int(l, "net_minor"));
	xmlw_close(c->w);
	xmlw_close(c->w);
	xmlw_close(c->w);
}

/* BT-10, the parties, BT-13; then BG-13 delivery (BT-72, and for K the
 * deliver-to country BT-80 from the buyer's address, BR-IC-12). */
static void agreement_and_delivery(struct cii *c)
{
	json_object *buyer = ei_obj(c->src, "buyer");

	xmlw_open(c->w, "ram:ApplicableHeaderTradeAgreement");
	xmlw_text(c->w, "ram:BuyerReference", ei_str(c->src, "buyer_reference"));
	party(c, "ram:SellerTradeParty", ei_obj(c->src, "seller"), "legal_name");
	party(c, "ram:BuyerTradeParty", buyer, "name");
	if (ei_str(c->src, "purchase_order")) {
		xmlw_open(c->w, "ram:BuyerOrderReferencedDocument");
		xmlw_text(c->w, "ram:IssuerAssignedID", ei_str(c->src, "purchase_order"));
		xmlw_close(c->w);
	}
	xmlw_close(c->w);
	xmlw_open(c->w, "ram:ApplicableHeaderTradeDelivery");
	if (ei_uses_category(c->src, "K")) {
		xmlw_open(c->w, "ram:ShipToTradeParty");
		address(c, ei_obj(buyer, "address"));
		xmlw_close(c->w);
	}
	if (ei_str(c->src, "delivery_date")) {
		xmlw_open(c->w, "ram:ActualDeliverySupplyChainEvent");
		date(c, "ram:OccurrenceDateTime", "udt", ei_str(c->src, "delivery_date"));
		xmlw_close(c->w);
	}
	xmlw_close(c->w);
}

/* BG-16/BG-17: credit transfer to the seller's IBAN (BT-84) and BIC (BT-86). */
static void payment_means(struct cii *c)
{
	json_object *seller = ei_obj(c->src, "seller");

	if (!ei_str(seller, "iban"))
		return;
	xmlw_open(c->w, "ram:SpecifiedTradeSettlementPaymentMeans");
	xmlw_text(c->w, "ram:TypeCode", "30");
	xmlw_open(c->w, "ram:PayeePartyCreditorFinancialAccount");
	xmlw_text(c->w, "ram:IBANID", ei_str(seller, "iban"));
	xmlw_close(c->w);
	if (ei_str(seller, "bic")) {
		xmlw_open(c->w, "ram:PayeeSpecifiedCreditorFinancialInstitution");
		xmlw_text(c->w, "ram:BICID", ei_str(seller, "bic"));
		xmlw_close(c->w);
	}
	xmlw_close(c->w);
}

/* BG-23: one VAT breakdown per category and rate. */
static void tax_breakdown(struct cii *c)
{
	json_object *tax = ei_arr(c->src, "tax");
	size_t i, n = tax ? json_object_array_length(tax) : 0;
	char pct[32];

	for (i = 0; i < n; i++) {
		json_object *g = json_object_array_get_idx(tax, i);
		const char *cat = ei_str(g, "category");
		int exempt = ei_category_exempt(cat);
		ei_percent(ei_int(g, "rate_bps"), pct, sizeof pct);
		xmlw_open(c->w, "ram:ApplicableTradeTax");
		amount(c, "ram:CalculatedAmount", ei_int(g, "tax_minor"));
		xmlw_text(c->w, "ram:TypeCode", "VAT");
		if (exempt)
			xmlw_text(c->w, "ram:ExemptionReason", ei_str(g, "exemption_reason"));
		amount(c, "ram:BasisAmount", ei_int(g, "taxable_minor"));
		xmlw_text(c->w, "ram:CategoryCode", cat);
		if (exempt)
			xmlw_text(c->w, "ram:ExemptionReasonCode", ei_str(g, "exemption_reason_code"));
		if (ei_category_has_rate(cat))
			xmlw_text(c->w, "ram:RateApplicablePercent", pct);
		xmlw_close(c->w);
	}
}

/* BT-20 and BT-9 (a credit note that leaves something payable says it is
 * set against its invoice: BR-CO-25 needs terms or a due date). */
static void payment_terms(struct cii *c)
{
	const char *terms = ei_str(c->src, "payment_terms"), *due = ei_str(c->src, "due_date");
	char text[200];

	if (!terms && c->credit && ei_int(ei_obj(c->src, "totals"), "payable_minor") > 0) {
		snprintf(text, sizeof text, "Credited against invoice %s.",
		         ei_str(ei_obj(c->src, "preceding_invoice"), "number"));
		terms = text;
	}
	if (!terms && !due)
		return;
	xmlw_open(c->w, "ram:SpecifiedTradePaymentTerms");
	xmlw_text(c->w, "ram:Description", terms);
	if (!c->credit)
		date(c, "ram:DueDateDateTime", "udt", due);
	xmlw_close(c->w);
}

/* BG-22 totals, BG-3 the credited invoice (BT-25, BT-26). */
static void settlement(struct cii *c)
{
	json_object *t = ei_obj(c->src, "totals"), *pre = ei_obj(c->src, "preceding_invoice");
	char tax[48];

	xmlw_open(c->w, "ram:ApplicableHeaderTradeSettlement");
	if (ei_str(ei_obj(c->src, "seller"), "iban"))
		xmlw_text(c->w, "ram:PaymentReference", ei_str(c->src, "number"));
	xmlw_text(c->w, "ram:InvoiceCurrencyCode", c->currency);
	payment_means(c);
	tax_breakdown(c);
	payment_terms(c);
	xmlw_open(c->w, "ram:SpecifiedTradeSettlementHeaderMonetarySummation");
	amount(c, "ram:LineTotalAmount", ei_int(t, "line_net_minor"));
	amount(c, "ram:TaxBasisTotalAmount", ei_int(t, "tax_exclusive_minor"));
	ei_money(ei_int(t, "tax_minor"), c->exponent, tax, sizeof tax);
	xmlw_text_attr(c->w, "ram:TaxTotalAmount", "currencyID", c->currency, tax);
	if (ei_int(t, "rounding_minor"))
		amount(c, "ram:RoundingAmount", ei_int(t, "rounding_minor"));
	amount(c, "ram:GrandTotalAmount", ei_int(t, "tax_inclusive_minor"));
	if (ei_int(t, "paid_minor"))
		amount(c, "ram:TotalPrepaidAmount", ei_int(t, "paid_minor"));
	amount(c, "ram:DuePayableAmount", ei_int(t, "payable_minor"));
	xmlw_close(c->w);
	if (pre) {
		xmlw_open(c->w, "ram:InvoiceReferencedDocument");
		xmlw_text(c->w, "ram:IssuerAssignedID", ei_str(pre, "number"));
		date(c, "ram:FormattedIssueDateTime", "qdt", ei_str(pre, "issue_date"));
		xmlw_close(c->w);
	}
	xmlw_close(c->w);
}

int cii_write(const json_object *src, struct strbuf *out)
{
	struct cii c = { .src = src, .currency = ei_str(src, "currency"), .exponent = ei_exponent(src),
	                 .credit = ei_str(src, "kind") && !strcmp(ei_str(src, "kind"), "credit_note"),
	                 .vat_ids = !ei_uses_category(src, "O") };
	json_object *lines = ei_arr(src, "lines");
	size_t i, n = lines ? json_object_array_length(lines) : 0;

	if (!(c.w = xmlw_new()))
		return -1;
	header(&c);
	xmlw_open(c.w, "rsm:SupplyChainTradeTransaction");
	for (i = 0; i < n; i++)
		line(&c, json_object_array_get_idx(lines, i));
	agreement_and_delivery(&c);
	settlement(&c);
	xmlw_close(c.w);
	xmlw_close(c.w);
	return xmlw_finish(c.w, out);
}
