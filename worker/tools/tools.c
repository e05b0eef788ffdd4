/*
 * tools.c - the tool table: one entry per tool with its arguments, output
 * schema, scope, read or write, the statement it runs (parameters by name,
 * lock key, heavy) and its hooks. It drives validation (validate.c),
 * tools/list and the README table (schema.c), each call's query
 * (tool_query.c), the prepared statements and the batch lock order
 * (worker/db/statements.c). Runs in workers; the CLI prints it.
 */
#include <string.h>

#include "worker/tools/codes.h"
#include "worker/tools/document.h"
#include "worker/tools/output_schema.h"
#include "worker/tools/tool_handlers.h"
#include "worker/tools/tools.h"

#define LINE_DESCRIPTION \
	{ .name = "description", .type = ARG_STRING, .required = 1, .min = 1, .max = 500, \
	  .description = "What is billed, 1-500 characters." }
#define LINE_AMOUNT \
	{ .name = "amount_cents", .type = ARG_INTEGER, .required = 1, .min = 0, .max = TOOL_MAX_INVOICE_CENTS, \
	  .description = "Unit price in minor units of the currency (cents for USD, yen for JPY)." }
#define LINE_QUANTITY \
	{ .name = "quantity", .type = ARG_INTEGER, .min = 1, .max = 1000000, .has_default = 1, \
	  .default_int = 1, .description = "How many units; default 1." }

#define LINE_UNIT_CODE \
	{ .name = "unit_code", .type = ARG_STRING, .min = 1, .max = 3, .check = codes_check_unit, \
	  .description = "Unit of the quantity (BT-130), UN/ECE Rec 20/21: C62 one (default), H87 piece, " \
	                 "HUR hour, DAY, MON month, KGM kilogram..." }
#define LINE_TAX_CODE(what) \
	{ .name = "tax_code", .type = ARG_STRING, .min = 1, .max = 32, .charset = CHARS_ID, .description = what }

static const struct arg_spec line_item_fields[] = {
	LINE_DESCRIPTION,
	LINE_AMOUNT,
	LINE_QUANTITY,
	{ .name = "discount_bps", .type = ARG_INTEGER, .min = 0, .max = 10000,
	  .description = "Discount on this line in basis points (1000 = 10%), 0-10000; default none." },
	LINE_TAX_CODE("A tax rate's code from upsert_tax_rate/list_tax_rates; default untaxed."),
	LINE_UNIT_CODE,
	{ 0 }
};

static const struct arg_spec credit_line_fields[] = {
	LINE_DESCRIPTION, LINE_AMOUNT, LINE_QUANTITY,
	LINE_TAX_CODE("The VAT rate of what is credited (amounts include it); default the invoice's "
	              "tax_code when it has only one."),
	LINE_UNIT_CODE,
	{ 0 }
};

/* E-invoice (EN 16931) data; see docs/receivables.md "E-invoicing data". */
static const struct arg_spec address_line = { .name = "line", .type = ARG_STRING, .min = 1, .max = 200,
	.description = "One line of the street address." };
static const struct arg_spec address_fields[] = {
	{ .name = "lines", .type = ARG_ARRAY, .required = 1, .min = 1, .max = 3, .items = &address_line,
	  .description = "1-3 street lines (BT-35..37, BT-162)." },
	{ .name = "city", .type = ARG_STRING, .required = 1, .min = 1, .max = 200, .description = "City." },
	{ .name = "postal_code", .type = ARG_STRING, .min = 1, .max = 32,
	  .description = "Postal code (omit where the country has none)." },
	{ .name = "country_code", .type = ARG_STRING, .required = 1, .min = 2, .max = 2,
	  .check = codes_check_country, .description = "ISO 3166-1 alpha-2 country, e.g. DE." },
	{ .name = "region", .type = ARG_STRING, .min = 1, .max = 200, .description = "Region or state." },
	{ 0 }
};
#define ADDRESS_ARG \
	{ .name = "address", .type = ARG_OBJECT, .or_string = 1, .min = 1, .max = 1000, .items = address_fields, \
	  .description = "Postal address: an object {lines, city, postal_code, country_code, region} " \
	                 "(e-invoices need it), or text up to 1000 characters (statements only)." }
static const struct arg_spec electronic_address_fields[] = {
	{ .name = "scheme", .type = ARG_STRING, .required = 1, .min = 2, .max = 4, .check = codes_check_eas,
	  .description = "Peppol EAS scheme code, e.g. 0088 (GLN), 0208, 9930, EM." },
	{ .name = "id", .type = ARG_STRING, .required = 1, .min = 1, .max = 200,
	  .description = "The identifier in that scheme." },
	{ 0 }
};
#define ELECTRONIC_ADDRESS_ARG(bt) \
	{ .name = "electronic_address", .type = ARG_OBJECT, .items = electronic_address_fields, \
	  .description = "Where e-invoices are delivered (" bt "): {scheme, id}." }
#define LEGAL_ID_ARG(bt) \
	{ .name = "legal_id", .type = ARG_STRING, .min = 1, .max = 100, \
	  .description = "Legal registration number (" bt "), e.g. the company register's." }
#define BUYER_REFERENCE_ARG(what) \
	{ .name = "buyer_reference", .type = ARG_STRING, .min = 1, .max = 200, .description = what }
#define INVOICE_TERMS_ARGS \
	BUYER_REFERENCE_ARG("The buyer's reference (BT-10, e.g. a Leitweg-ID); default the customer's."), \
	{ .name = "purchase_order", .type = ARG_STRING, .min = 1, .max = 200, \
	  .description = "The buyer's purchase order number (BT-13)." }, \
	{ .name = "delivery_date", .type = ARG_DATE, .description = "Actual delivery date (BT-72)." }, \
	{ .name = "payment_terms", .type = ARG_STRING, .min = 1, .max = 1000, \
	  .description = "Payment terms text (BT-20)." }

#define IDEMPOTENCY_KEY \
	{ .name = "idempotency_key", .type = ARG_STRING, .min = 1, .max = 255, \
	  .description = "Any unique string (e.g. a UUID). Retrying with the same key and the same " \
	                 "arguments returns the original result instead of acting twice." }
#define INVOICE_ID \
	{ .name = "invoice_id", .type = ARG_STRING, .required = 1, .min = 1, .max = 64, \
	  .charset = CHARS_UUID, .description = "The invoice_id returned by create_invoice or list_invoices." }
#define CUSTOMER_ID(req, what) \
	{ .name = "customer_id", .type = ARG_STRING, .required = req, .min = 1, .max = 64, \
	  .charset = CHARS_ID, .description = what }

static const struct arg_spec create_invoice_args[] = {
	{ .name = "customer_id", .type = ARG_STRING, .required = 1, .min = 1, .max = 64,
	  .charset = CHARS_ID, .description = "Your identifier for the customer, 1-64 of [A-Za-z0-9_.:-]." },
	{ .name = "line_items", .type = ARG_OBJECT_ARRAY, .required = 1, .min = 1, .max = 100,
	  .items = line_item_fields, .description = "1-100 billed lines." },
	{ .name = "due_date", .type = ARG_DATE,
	  .description = "Due date YYYY-MM-DD; default 30 days after today." },
	{ .name = "currency", .type = ARG_CURRENCY,
	  .description = "ISO 4217 code; default the business profile's default_currency, USD when "
	                 "none is set. Amounts are in its minor units." },
	{ .name = "memo", .type = ARG_STRING, .min = 0, .max = 2000,
	  .description = "Free text shown on the invoice, up to 2000 characters." },
	INVOICE_TERMS_ARGS,
	IDEMPOTENCY_KEY,
	{ 0 }
};

#define LIST_LIMIT(what) \
	{ .name = "limit", .type = ARG_INTEGER, .min = 1, .max = 100, .has_default = 1, \
	  .default_int = 20, .description = what " per page 1-100, default 20." }
#define LIST_CURSOR \
	{ .name = "cursor", .type = ARG_STRING, .min = 1, .max = 512, \
	  .description = "next_cursor from the previous page; omit for the first page." }
#define INVOICE_NUMBER(what) \
	{ .name = "number", .type = ARG_STRING, .min = 1, .max = 32, .charset = CHARS_ID, \
	  .description = what }

static const struct arg_spec list_invoices_args[] = {
	CUSTOMER_ID(0, "Only this customer's invoices."),
	{ .name = "status", .type = ARG_ENUM, .enum_values = "draft sent paid overdue void",
	  .description = "Only invoices in this status; overdue = sent, past due, amount due." },
	INVOICE_NUMBER("Only the invoice with this number, e.g. INV-000005."),
	{ .name = "currency", .type = ARG_CURRENCY, .description = "Only this ISO 4217 currency." },
	{ .name = "issued_from", .type = ARG_DATE, .description = "Issued (sent) on or after this date (UTC)." },
	{ .name = "issued_to", .type = ARG_DATE, .description = "Issued (sent) on or before this date (UTC)." },
	{ .name = "due_from", .type = ARG_DATE, .description = "Due on or after this date." },
	{ .name = "due_to", .type = ARG_DATE, .description = "Due on or before this date." },
	{ .name = "min_total_cents", .type = ARG_INTEGER, .min = 0, .max = TOOL_MAX_INVOICE_CENTS,
	  .description = "Only invoices totalling at least this, in minor units." },
	{ .name = "max_total_cents", .type = ARG_INTEGER, .min = 0, .max = TOOL_MAX_INVOICE_CENTS,
	  .description = "Only invoices totalling at most this, in minor units." },
	{ .name = "sort", .type = ARG_ENUM, .enum_values = "newest due_date", .default_str = "newest",
	  .description = "newest (created, newest first; default) or due_date (earliest due first, then in creation order)." },
	LIST_LIMIT("Invoices"),
	LIST_CURSOR,
	{ 0 }
};

static const struct arg_spec get_invoice_args[] = {
	{ .name = "invoice_id", .type = ARG_STRING, .min = 1, .max = 64, .charset = CHARS_UUID,
	  .description = "The invoice_id returned by create_invoice or list_invoices (or give number)." },
	INVOICE_NUMBER("The invoice number shown to customers, e.g. INV-000005 (instead of invoice_id)."),
	{ 0 }
};

static const struct arg_spec update_invoice_args[] = {
	INVOICE_ID,
	CUSTOMER_ID(0, "Move the draft to this customer."),
	{ .name = "line_items", .type = ARG_OBJECT_ARRAY, .min = 1, .max = 100,
	  .items = line_item_fields, .description = "Replaces all lines (1-100)." },
	{ .name = "due_date", .type = ARG_DATE, .description = "New due date YYYY-MM-DD." },
	{ .name = "currency", .type = ARG_CURRENCY, .description = "New ISO 4217 currency." },
	{ .name = "memo", .type = ARG_STRING, .min = 0, .max = 2000, .description = "New memo (\"\" clears it)." },
	INVOICE_TERMS_ARGS,
	{ 0 }
};

static const struct arg_spec list_customers_args[] = {
	{ .name = "query", .type = ARG_STRING, .min = 1, .max = 200,
	  .description = "Only customers whose id, name or e-mail starts with this (any case)." },
	LIST_LIMIT("Customers"),
	LIST_CURSOR,
	{ 0 }
};

static const struct arg_spec upsert_tax_rate_args[] = {
	{ .name = "code", .type = ARG_STRING, .required = 1, .min = 1, .max = 32, .charset = CHARS_ID,
	  .description = "Your code for the rate, e.g. VAT20; lines name it as tax_code." },
	{ .name = "name", .type = ARG_STRING, .required = 1, .min = 1, .max = 200,
	  .description = "Name shown on invoices, e.g. \"VAT 20%\"." },
	{ .name = "rate_bps", .type = ARG_INTEGER, .required = 1, .min = 0, .max = 10000,
	  .description = "Rate in basis points: 2000 = 20%, 0-10000." },
	{ .name = "inclusive", .type = ARG_BOOLEAN,
	  .description = "true: line prices already contain the tax; false (default): tax is added." },
	{ .name = "category", .type = ARG_ENUM, .enum_values = "S Z E AE K G O L M",
	  .description = "VAT category (UNCL5305, BT-151): S standard, Z zero rated, E exempt, AE reverse "
	                 "charge, K intra-community, G export, O not subject to VAT, L, M; default S when "
	                 "rate_bps > 0, else Z. E, AE, K, G, O need rate_bps 0 and an exemption reason or code." },
	{ .name = "exemption_reason", .type = ARG_STRING, .min = 1, .max = 500,
	  .description = "Why no VAT is charged (BT-120), e.g. \"Reverse charge\"." },
	{ .name = "exemption_reason_code", .type = ARG_STRING, .min = 1, .max = 40, .check = codes_check_vatex,
	  .description = "VATEX code (BT-121): VATEX-EU-AE, VATEX-EU-IC, VATEX-EU-G, VATEX-EU-O, VATEX-EU-132-1I..." },
	{ 0 }
};

static const struct arg_spec no_args[] = { { 0 } };

static const struct arg_spec create_credit_note_args[] = {
	INVOICE_ID,
	{ .name = "amount_cents", .type = ARG_INTEGER, .min = 1, .max = TOOL_MAX_INVOICE_CENTS,
	  .description = "Amount to credit in minor units (or give line_items); at most the total less earlier credit notes." },
	{ .name = "line_items", .type = ARG_OBJECT_ARRAY, .min = 1, .max = 100, .items = credit_line_fields,
	  .description = "What is credited, line by line (instead of amount_cents)." },
	{ .name = "reason", .type = ARG_STRING, .required = 1, .min = 1, .max = 500,
	  .description = "Why, kept on the credit note, 1-500 characters." },
	IDEMPOTENCY_KEY,
	{ 0 }
};

static const struct arg_spec apply_credit_args[] = {
	CUSTOMER_ID(1, "The customer whose credit is spent."),
	INVOICE_ID,
	{ .name = "amount_cents", .type = ARG_INTEGER, .required = 1, .min = 1, .max = TOOL_MAX_INVOICE_CENTS,
	  .description = "Credit to spend, in minor units; at most the credit held and the amount due." },
	IDEMPOTENCY_KEY,
	{ 0 }
};

static const struct arg_spec reverse_payment_args[] = {
	{ .name = "payment_id", .type = ARG_STRING, .required = 1, .min = 1, .max = 64,
	  .charset = CHARS_UUID, .description = "The payment_id from apply_payment or get_invoice." },
	{ .name = "reason", .type = ARG_STRING, .required = 1, .min = 1, .max = 500,
	  .description = "Why (recorded in error, bounced, ...), 1-500 characters." },
	IDEMPOTENCY_KEY,
	{ 0 }
};

static const struct arg_spec invoice_id_args[] = { INVOICE_ID, { 0 } };

static const struct arg_spec void_invoice_args[] = {
	INVOICE_ID,
	{ .name = "reason", .type = ARG_STRING, .required = 1, .min = 1, .max = 500,
	  .description = "Why the invoice is voided (kept for the audit trail), 1-500 characters." },
	{ 0 }
};

static const struct arg_spec apply_payment_args[] = {
	INVOICE_ID,
	{ .name = "amount_cents", .type = ARG_INTEGER, .required = 1, .min = 1, .max = TOOL_MAX_INVOICE_CENTS,
	  .description = "Amount received, in minor units of the invoice currency; at most the amount due." },
	{ .name = "paid_at", .type = ARG_TIMESTAMP,
	  .description = "When the money arrived, RFC 3339 (2026-03-01T12:00:00Z); default now." },
	{ .name = "method", .type = ARG_STRING, .min = 1, .max = 40,
	  .description = "How it was paid, up to 40 characters: card, bank_transfer, cash, check..." },
	{ .name = "reference", .type = ARG_STRING, .min = 1, .max = 200,
	  .description = "Bank or processor reference, up to 200 characters." },
	IDEMPOTENCY_KEY,
	{ 0 }
};

static const struct arg_spec list_outstanding_args[] = {
	CUSTOMER_ID(0, "Only this customer."),
	{ .name = "currency", .type = ARG_CURRENCY, .description = "Only this ISO 4217 currency." },
	{ .name = "as_of", .type = ARG_DATE,
	  .description = "Age balances as of this date YYYY-MM-DD; default today." },
	{ .name = "limit", .type = ARG_INTEGER, .min = 1, .max = 100, .has_default = 1,
	  .default_int = 50, .description = "Customer/currency rows per page 1-100, default 50." },
	LIST_CURSOR,
	{ 0 }
};

/* One field, two names: vat_id (preferred) and tax_id (accepted alias). */
#define VAT_ID(what) \
	{ .name = "vat_id", .type = ARG_STRING, .min = 1, .max = 64, .description = what }
#define TAX_ID_ALIAS \
	{ .name = "tax_id", .type = ARG_STRING, .min = 1, .max = 64, \
	  .description = "Accepted alias of vat_id (the same field; giving both with different values is refused)." }

static const struct arg_spec upsert_customer_args[] = {
	CUSTOMER_ID(1, "Your identifier for the customer, 1-64 of [A-Za-z0-9_.:-]."),
	{ .name = "name", .type = ARG_STRING, .required = 1, .min = 1, .max = 200,
	  .description = "Name shown on statements, 1-200 characters." },
	{ .name = "email", .type = ARG_STRING, .min = 3, .max = 254, .charset = CHARS_EMAIL,
	  .description = "Billing e-mail address." },
	ADDRESS_ARG,
	VAT_ID("The customer's VAT number (BT-48; with an address object: prefixed by its country, EL for Greece)."),
	TAX_ID_ALIAS,
	LEGAL_ID_ARG("BT-47"),
	ELECTRONIC_ADDRESS_ARG("BT-49"),
	BUYER_REFERENCE_ARG("Default buyer reference (BT-10) of this customer's invoices, e.g. a Leitweg-ID."),
	{ 0 }
};

static const struct arg_spec get_customer_args[] = {
	CUSTOMER_ID(1, "The customer to read."),
	{ 0 }
};

static const struct arg_spec upsert_business_profile_args[] = {
	{ .name = "legal_name", .type = ARG_STRING, .required = 1, .min = 1, .max = 200,
	  .description = "The seller's legal name, printed on statements and invoices (the PDF's author)." },
	ADDRESS_ARG,
	VAT_ID("The seller's VAT number (BT-31; with an address object: prefixed by its country, EL for "
	       "Greece) or other tax identifier, printed on every document."),
	TAX_ID_ALIAS,
	LEGAL_ID_ARG("BT-30"),
	ELECTRONIC_ADDRESS_ARG("BT-34"),
	{ .name = "iban", .type = ARG_STRING, .min = 15, .max = 34, .check = codes_check_iban,
	  .description = "Account to pay into (BT-84), an IBAN without spaces (its check digits are verified)." },
	{ .name = "bic", .type = ARG_STRING, .min = 8, .max = 11, .check = codes_check_bic,
	  .description = "The account's bank (BT-86), a BIC of 8 or 11 characters." },
	{ .name = "contact_name", .type = ARG_STRING, .min = 1, .max = 200,
	  .description = "Seller contact person or department (BT-41)." },
	{ .name = "email", .type = ARG_STRING, .min = 3, .max = 254, .charset = CHARS_EMAIL,
	  .description = "Contact e-mail address for billing questions." },
	{ .name = "phone", .type = ARG_STRING, .min = 1, .max = 64, .description = "Contact telephone." },
	{ .name = "payment_instructions", .type = ARG_STRING, .min = 1, .max = 1000,
	  .description = "How to pay (bank account, IBAN, reference to quote), printed on the remittance slip." },
	{ .name = "paper_size", .type = ARG_ENUM, .enum_values = "A4 Letter", .default_str = "A4",
	  .description = "Paper size of the PDFs: A4 (default) or Letter." },
	{ .name = "default_currency", .type = ARG_CURRENCY,
	  .description = "ISO 4217 code create_invoice uses when it is given no currency; without it, USD." },
	{ 0 }
};

#define INLINE_ARG \
	{ .name = "inline", .type = ARG_BOOLEAN, \
	  .description = "Also return the PDF itself as an embedded resource (base64), when it is under " \
	                 "the server's inline cap (over it: the resource_link, pdf.inline false and a note); " \
	                 "default false (a resource_link to read instead)." }

static const struct arg_spec get_statement_args[] = {
	CUSTOMER_ID(1, "The customer the statement is for."),
	{ .name = "currency", .type = ARG_CURRENCY,
	  .description = "ISO 4217 code; may be omitted when the customer has invoices in one currency only." },
	{ .name = "period_start", .type = ARG_DATE,
	  .description = "First day of the period YYYY-MM-DD; default the first day of period_end's month." },
	{ .name = "period_end", .type = ARG_DATE,
	  .description = "Statement date YYYY-MM-DD (everything is as of this day); default today (UTC)." },
	{ .name = "type", .type = ARG_ENUM, .enum_values = "activity open_item", .default_str = "activity",
	  .description = "activity: every document of the period with the balance brought forward; "
	                 "open_item: only invoices still open at the statement date." },
	INLINE_ARG,
	{ 0 }
};

static const struct arg_spec get_invoice_pdf_args[] = { INVOICE_ID, INLINE_ARG, { 0 } };

static const struct arg_spec get_einvoice_args[] = {
	{ .name = "invoice_id", .type = ARG_STRING, .min = 1, .max = 64, .charset = CHARS_UUID,
	  .description = "The invoice (sent, paid or void: a draft has no number yet); or give credit_note_id." },
	{ .name = "credit_note_id", .type = ARG_STRING, .min = 1, .max = 64, .charset = CHARS_UUID,
	  .description = "The credit note (a UBL CreditNote / CII type 381 citing its invoice); or give invoice_id." },
	{ .name = "syntax", .type = ARG_ENUM, .enum_values = "ubl cii", .default_str = "ubl",
	  .description = "ubl: OASIS UBL 2.1 (default); cii: UN/CEFACT CII D16B (the XML of a Factur-X/ZUGFeRD PDF)." },
	{ .name = "profile", .type = ARG_ENUM, .enum_values = "en16931 peppol", .default_str = "en16931",
	  .description = "en16931: the European standard's core (default); peppol: Peppol BIS Billing 3.0 (ubl only)." },
	{ 0 }
};

static const struct arg_spec get_credit_note_pdf_args[] = {
	{ .name = "credit_note_id", .type = ARG_STRING, .required = 1, .min = 1, .max = 64,
	  .charset = CHARS_UUID,
	  .description = "The credit_note_id from create_credit_note or get_invoice's credit_notes." },
	INLINE_ARG,
	{ 0 }
};

/* The caller and the request: every write's first three parameters. */
#define WRITER "@tenant", "@subject", "@request_id"

static const struct tool_def tool_table[] = {
	{
		.name = "create_invoice",
		.title = "Create invoice",
		.description = "Create a draft invoice for a customer from line items (unit price in "
		               "minor units times quantity, optional discount_bps and tax_code). Returns "
		               "invoice_id and totals (subtotal, discount, tax, total); customer_known false "
		               "means the customer_id was never saved (see hint). Use list_invoices to find "
		               "existing invoices before creating a duplicate.",
		.scope = "invoices:write",
		.args = create_invoice_args,
		.output_schema = "{\"type\":\"object\",\"properties\":{" INVOICE_PROPS ","
			"\"line_items\":" LINE_ITEMS_SCHEMA ",\"customer_known\":{\"type\":\"boolean\"},"
			"\"hint\":" TS "},\"required\":[" INVOICE_REQUIRED ",\"line_items\",\"customer_known\"]}",
		.stmt = { .params = { WRITER, "customer_id", "currency", "due_date", "memo", "line_items",
		                      "idempotency_key", "@fingerprint", "@require_known_customer" } },
		.prepare = tool_create_invoice,
	},
	{
		.name = "list_invoices",
		.title = "List invoices",
		.description = "Find invoices, newest first (or by due date), filtered by any of "
		               "customer_id, status (overdue = sent and past due with an amount due), "
		               "number, currency, issue and due date ranges and total. Pages of up to 100; "
		               "pass next_cursor back as cursor with the same filters (null at the end).",
		.scope = "invoices:read",
		.read_only = 1,
		.idempotent = 1,
		.args = list_invoices_args,
		.output_schema = "{\"type\":\"object\",\"properties\":{\"invoices\":{\"type\":\"array\","
			"\"items\":" INVOICE_SCHEMA "},\"next_cursor\":" NTS "},"
			"\"required\":[\"invoices\",\"next_cursor\"]}",
		.stmt = { .sql = "SELECT (r->'invoices')::text, r->'next'->>'key', r->'next'->>'id'"
		                 " FROM mcp_find_invoices($1, $2::jsonb, $3::int, $4, $5::uuid) AS r",
		          .params = { "@tenant", "@except limit cursor", "limit", "%after_ts", "%after_id" }, .ncols = 3 },
		.prepare = tool_list_invoices,
		.finish = tool_list_invoices_finish,
	},
	{
		.name = "get_invoice",
		.title = "Get invoice",
		.description = "Everything about one invoice, by invoice_id or by number (INV-000005): "
		               "status, line items with tax and discount, tax breakdown, payments (and "
		               "reversals), credit notes, credit applied, total_cents, amount_due_cents and "
		               "dates. Use list_invoices to find one.",
		.scope = "invoices:read",
		.read_only = 1,
		.idempotent = 1,
		.args = get_invoice_args,
		.output_schema = FULL_INVOICE_SCHEMA,
		.stmt = { .sql = "SELECT mcp_get_invoice_by($1, $2::uuid, $3)::text",
		          .params = { "@tenant", "invoice_id", "number" } },
		.prepare = tool_get_invoice,
	},
	{
		.name = "send_invoice",
		.title = "Send invoice",
		.description = "Mark a draft invoice as sent: assigns the tenant's next invoice number "
		               "(INV-000001, no gaps) and issued_at. Sending an already sent invoice "
		               "returns it unchanged; one totalling 0 is paid at once. Payments can be "
		               "applied only after sending.",
		.scope = "invoices:write",
		.idempotent = 1,
		.args = invoice_id_args,
		.output_schema = FULL_INVOICE_SCHEMA,
		.stmt = { .params = { WRITER, "invoice_id" }, .lock_key = "invoice_id" },
	},
	{
		.name = "apply_payment",
		.title = "Apply payment",
		.description = "Record money received against a sent (or overdue) invoice. amount_cents "
		               "must be > 0 and <= amount_due_cents (see get_invoice); the invoice becomes "
		               "paid when nothing remains. Pass an idempotency_key so a retry never pays twice.",
		.scope = "payments:write",
		.args = apply_payment_args,
		.output_schema = "{\"type\":\"object\",\"properties\":{\"payment\":{\"type\":\"object\","
			"\"properties\":{" PAYMENT_PROPS ",\"invoice_id\":" TS ",\"currency\":" TS "}},"
			"\"invoice_id\":" TS ",\"status\":" TS ",\"amount_paid_cents\":" INT ","
			"\"amount_due_cents\":" INT ",\"warnings\":" WARNINGS "},\"required\":[\"payment\",\"invoice_id\",\"status\","
			"\"amount_paid_cents\",\"amount_due_cents\"]}",
		.stmt = { .params = { WRITER, "invoice_id", "amount_cents", "paid_at", "method", "reference",
		                      "idempotency_key", "@fingerprint" }, .lock_key = "invoice_id" },
		.prepare = tool_apply_payment,
	},
	{
		.name = "void_invoice",
		.title = "Void invoice",
		.description = "Cancel a draft or sent invoice that has no payments, keeping it (and its "
		               "number) for the record with the reason. Paid or partly paid invoices "
		               "cannot be voided; voiding a void invoice again is refused and changes nothing.",
		.scope = "invoices:write",
		.destructive = 1,
		.idempotent = 1,
		.args = void_invoice_args,
		.output_schema = FULL_INVOICE_SCHEMA,
		.stmt = { .params = { WRITER, "invoice_id", "reason" }, .lock_key = "invoice_id" },
	},
	{
		.name = "list_outstanding_balances",
		.title = "Outstanding balances",
		.description = "What customers owe, per customer and currency: outstanding_cents, "
		               "overdue_cents, invoice_count, oldest_due_date and aging buckets (current, "
		               "1-30, 31-60, 61-90, over 90 days past due as of as_of), plus totals per "
		               "currency. Currencies are never mixed.",
		.scope = "invoices:read",
		.read_only = 1,
		.idempotent = 1,
		.args = list_outstanding_args,
		.output_schema = "{\"type\":\"object\",\"properties\":{\"as_of\":" TS ",\"balances\":"
			"{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"customer_id\":" TS ","
			"\"currency\":" TS ",\"outstanding_cents\":" INT ",\"overdue_cents\":" INT ","
			"\"invoice_count\":" INT ",\"oldest_due_date\":" TS "," AGING_PROPS "}}},"
			"\"totals\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
			"\"currency\":" TS ",\"outstanding_cents\":" INT ",\"overdue_cents\":" INT ","
			"\"invoice_count\":" INT "}}},\"next_cursor\":" NTS "},"
			"\"required\":[\"as_of\",\"balances\",\"totals\",\"next_cursor\"]}",
		.stmt = { .sql = "SELECT (r - 'next')::text, r->'next'->>'currency', r->'next'->>'customer_id'"
		                 " FROM mcp_list_outstanding($1, $2, $3, $4::date, $5::int, $6, $7) AS r",
		          .params = { "@tenant", "customer_id", "currency", "as_of", "limit", "%after_customer",
		                      "%after_currency" }, .heavy = 1, .ncols = 3 },
		.prepare = tool_list_outstanding_balances,
		.finish = tool_list_outstanding_balances_finish,
	},
	{
		.name = "upsert_customer",
		.title = "Save customer",
		.description = "Create or update a customer's details (name, email, address, vat_id) used "
		               "on statements and invoices. Invoices may reference a customer_id before it "
		               "has details.",
		.scope = "invoices:write",
		.idempotent = 1,
		.args = upsert_customer_args,
		.output_schema = "{\"type\":\"object\",\"properties\":{" CUSTOMER_PROPS
			"\"created\":{\"type\":\"boolean\"},\"created_at\":" TS ",\"updated_at\":" TS "},"
			"\"required\":[\"customer_id\",\"name\",\"created\"]}",
		.stmt = { .params = { WRITER, "customer_id", "name", "email", "address:text", "vat_id|tax_id",
		                      /* an address object and the e-invoice fields */
		                      "@except customer_id name email vat_id tax_id" } },
		.prepare = tool_upsert_customer,
	},
	{
		.name = "get_customer",
		.title = "Get customer",
		.description = "A customer's details, invoice counts and balances per currency "
		               "(outstanding and credit held). A customer_id used on invoices but never "
		               "saved with upsert_customer answers with has_details false.",
		.scope = "invoices:read",
		.read_only = 1,
		.idempotent = 1,
		.args = get_customer_args,
		.output_schema = "{\"type\":\"object\",\"properties\":{" CUSTOMER_PROPS
			"\"has_details\":{\"type\":\"boolean\"},\"invoice_count\":" INT ","
			"\"open_invoice_count\":" INT ",\"balances\":" BALANCES_SCHEMA "},"
			"\"required\":[\"customer_id\",\"has_details\","
			"\"invoice_count\"]}",
		.stmt = { .sql = "SELECT mcp_get_customer($1, $2)::text", .params = { "@tenant", "customer_id" } },
	},
	{
		.name = "list_customers",
		.title = "List customers",
		.description = "Saved customers by customer_id, optionally only those whose id, name or "
		               "e-mail starts with query (any case), each with outstanding balance and "
		               "credit per currency. Pages of up to 100; pass next_cursor back as cursor.",
		.scope = "invoices:read",
		.read_only = 1,
		.idempotent = 1,
		.args = list_customers_args,
		.output_schema = "{\"type\":\"object\",\"properties\":{\"customers\":{\"type\":\"array\","
			"\"items\":{\"type\":\"object\",\"properties\":{" CUSTOMER_PROPS "\"balances\":" BALANCES_SCHEMA "}}},"
			"\"next_cursor\":" NTS "},\"required\":[\"customers\",\"next_cursor\"]}",
		.stmt = { .sql = "SELECT (r->'customers')::text, r->>'next' FROM mcp_list_customers($1, $2, $3::int, $4) AS r",
		          .params = { "@tenant", "query", "limit", "%after_id" }, .ncols = 2 },
		.prepare = tool_list_customers,
		.finish = tool_list_customers_finish,
	},
	{
		.name = "update_invoice",
		.title = "Update draft invoice",
		.description = "Change a draft invoice: replace its line items, or set due_date, memo, "
		               "currency or customer_id (only what is given changes). Sent invoices never "
		               "change: correct them with create_credit_note.",
		.scope = "invoices:write",
		.idempotent = 1,
		.args = update_invoice_args,
		.output_schema = FULL_INVOICE_SCHEMA,
		.stmt = { .params = { WRITER, "invoice_id", "customer_id", "currency", "due_date", "memo", "line_items",
		                      /* the e-invoice terms: buyer_reference, purchase_order, ... */
		                      "@except invoice_id customer_id line_items due_date currency memo" },
		          .lock_key = "invoice_id" },
		.prepare = tool_update_invoice,
	},
	{
		.name = "create_credit_note",
		.title = "Create credit note",
		.description = "Credit a sent, overdue or paid invoice by amount_cents or line_items, with "
		               "a reason; numbered CN-000001 per tenant, immutable. At most the invoice "
		               "total less earlier credit notes. The part up to the amount due reduces it; "
		               "the rest (money already paid) becomes the customer's credit in that currency, "
		               "spendable with apply_credit.",
		.scope = "invoices:write",
		.args = create_credit_note_args,
		.output_schema = "{\"type\":\"object\",\"properties\":{\"credit_note\":" CREDIT_NOTE_SCHEMA ","
			"\"invoice\":" INVOICE_SCHEMA ",\"customer_credit_cents\":" INT "},"
			"\"required\":[\"credit_note\",\"invoice\",\"customer_credit_cents\"]}",
		.stmt = { .params = { WRITER, "invoice_id", "amount_cents", "line_items", "reason", "idempotency_key",
		                      "@fingerprint" }, .lock_key = "invoice_id" },
		.prepare = tool_create_credit_note,
	},
	{
		.name = "apply_credit",
		.title = "Apply customer credit",
		.description = "Spend a customer's credit (from credit notes on paid invoices) on one of "
		               "their open invoices in the same currency; at most the credit held and the "
		               "amount due. See get_customer or list_customers for credit_cents.",
		.scope = "payments:write",
		.args = apply_credit_args,
		.output_schema = "{\"type\":\"object\",\"properties\":{\"application\":{\"type\":\"object\"},"
			"\"invoice\":" INVOICE_SCHEMA ",\"customer_credit_cents\":" INT "},"
			"\"required\":[\"application\",\"invoice\",\"customer_credit_cents\"]}",
		.stmt = { .params = { WRITER, "invoice_id", "customer_id", "amount_cents", "idempotency_key",
		                      "@fingerprint" }, .lock_key = "invoice_id" },
	},
	{
		.name = "reverse_payment",
		.title = "Reverse payment",
		.description = "Undo a payment recorded in error or bounced: adds a reversal row (the "
		               "payment stays on record), the amount is due again and a paid invoice "
		               "reopens (sent or overdue). A payment is reversed at most once.",
		.scope = "payments:write",
		.destructive = 1,
		.args = reverse_payment_args,
		.output_schema = "{\"type\":\"object\",\"properties\":{\"reversal\":{\"type\":\"object\"},"
			"\"invoice\":" INVOICE_SCHEMA "},\"required\":[\"reversal\",\"invoice\"]}",
		.stmt = { .params = { WRITER, "payment_id", "reason", "idempotency_key", "@fingerprint" } },
	},
	{
		.name = "upsert_tax_rate",
		.title = "Save tax rate",
		.description = "Create or change a tax rate (code, name, rate_bps, inclusive) that "
		               "invoice lines name as tax_code. Changing a rate affects invoices created "
		               "or updated afterwards only; sent invoices keep the rate they were priced with.",
		.scope = "invoices:write",
		.idempotent = 1,
		.args = upsert_tax_rate_args,
		.output_schema = "{\"type\":\"object\",\"properties\":{" TAX_RATE_PROPS ","
			"\"created\":{\"type\":\"boolean\"}},\"required\":[\"code\",\"rate_bps\",\"created\"]}",
		.stmt = { .params = { WRITER, "code", "name", "rate_bps", "inclusive", "category", "exemption_reason",
		                      "exemption_reason_code" } },
	},
	{
		.name = "list_tax_rates",
		.title = "List tax rates",
		.description = "The tenant's tax rates by code.",
		.scope = "invoices:read",
		.read_only = 1,
		.idempotent = 1,
		.args = no_args,
		.output_schema = "{\"type\":\"object\",\"properties\":{\"tax_rates\":{\"type\":\"array\","
			"\"items\":{\"type\":\"object\",\"properties\":{" TAX_RATE_PROPS "}}}},"
			"\"required\":[\"tax_rates\"]}",
		.stmt = { .sql = "SELECT mcp_list_tax_rates($1)::text", .params = { "@tenant" } },
	},
	{
		.name = "upsert_business_profile",
		.title = "Save business profile",
		.description = "Create or replace the seller details printed on statements, invoice and "
		               "credit note PDFs: legal name, address, VAT id (vat_id; tax_id is an alias), "
		               "contact, payment instructions, paper size (A4 or Letter), and the "
		               "default_currency of new invoices. One profile per tenant.",
		.scope = "invoices:write",
		.idempotent = 1,
		.args = upsert_business_profile_args,
		.output_schema = "{\"type\":\"object\",\"properties\":{" PROFILE_PROPS ","
			"\"created\":{\"type\":\"boolean\"}},\"required\":[\"legal_name\",\"paper_size\",\"created\"]}",
		.stmt = { .params = { WRITER, "legal_name", "address:text", "vat_id|tax_id", "email", "phone",
		                      "payment_instructions", "paper_size", "default_currency",
		                      /* an address object and the e-invoice fields */
		                      "@except legal_name vat_id tax_id email phone payment_instructions paper_size "
		                      "default_currency" } },
		.prepare = tool_upsert_business_profile,
	},
	{
		.name = "get_business_profile",
		.title = "Get business profile",
		.description = "The seller details printed on statements and invoice PDFs (see "
		               "upsert_business_profile); NOT_FOUND until one is saved.",
		.scope = "invoices:read",
		.read_only = 1,
		.idempotent = 1,
		.args = no_args,
		.output_schema = "{\"type\":\"object\",\"properties\":{" PROFILE_PROPS "},"
			"\"required\":[\"legal_name\",\"paper_size\"]}",
		.stmt = { .sql = "SELECT mcp_get_business_profile($1)::text", .params = { "@tenant" } },
	},
	{
		.name = "get_statement",
		.title = "Customer statement",
		.description = "A customer's statement in one currency as of period_end: opening balance + "
		               "invoiced - payments + reversals - credit notes = closing balance, overdue, "
		               "lines (activity: with running balance; open_item: open invoices with "
		               "original, paid, credited, open) and aging buckets (current, 1-30, 31-60, "
		               "61-90, over 90 days past due at the statement date), all in "
		               "structuredContent, plus the statement as a PDF (a resource_link; with "
		               "inline true also embedded). Payments dated after period_end do not count.",
		.scope = "invoices:read",
		.read_only = 1,
		.idempotent = 1,
		.args = get_statement_args,
		.output_schema = STATEMENT_SCHEMA,
		.stmt = { .sql = "SELECT r::text, r->>'currency', r->>'period_end', r->>'period_start'"
		                 " FROM mcp_statement($1, $2, $3, $4::date, $5::date, $6) AS r",
		          .params = { "@tenant", "customer_id", "currency", "period_start", "period_end", "type" },
		          .heavy = 1, .ncols = 4 },
		.prepare = tool_get_statement,
		.finish = tool_get_statement_finish,
		.document = DOC_STATEMENT,
	},
	{
		.name = "get_invoice_pdf",
		.title = "Invoice PDF",
		.description = "One invoice as a PDF tax invoice (seller and buyer with VAT ids, number, "
		               "dates, lines with unit price, discount and VAT rate, subtotal, discounts, "
		               "net, VAT per rate, total, every payment, reversal, credit note and credit "
		               "applied, amount due): structuredContent as get_invoice plus the printed "
		               "figures (net_cents, vat_summary, settlements: total + their amounts = "
		               "amount due) and a resource_link to the PDF; with inline true the PDF is "
		               "also embedded. When the invoice has every EN 16931 business term the PDF "
		               "is Factur-X (PDF/A-3b, the CII XML embedded as factur-x.xml): facturx "
		               "true; else facturx false and facturx_missing names each missing term "
		               "and the argument that fills it.",
		.scope = "invoices:read",
		.read_only = 1,
		.idempotent = 1,
		.args = get_invoice_pdf_args,
		.output_schema = INVOICE_DOCUMENT_SCHEMA,
		.stmt = { .name = "get_invoice_document",
		          /* with the document's e-invoice source: its Factur-X XML is embedded */
		          .sql = "SELECT r::text, r->>'currency', r->>'invoice_id',"
		                 " mcp_einvoice_source($1, (r->>'invoice_id')::uuid, NULL)::text"
		                 " FROM mcp_invoice_document($1, $2::uuid) AS r",
		          .params = { "@tenant", "invoice_id" }, .heavy = 1, .ncols = 4 },
		.finish = tool_get_invoice_pdf_finish,
		.document = DOC_INVOICE,
	},
	{
		.name = "get_credit_note_pdf",
		.title = "Credit note PDF",
		.description = "One credit note as a PDF document (seller, customer, number, date, the "
		               "invoice it credits, lines, amount, the part applied to the invoice and the "
		               "part that became customer credit) plus the same data in "
		               "structuredContent and a resource_link; with inline true the PDF is also "
		               "embedded. Factur-X like get_invoice_pdf (facturx, facturx_missing).",
		.scope = "invoices:read",
		.read_only = 1,
		.idempotent = 1,
		.args = get_credit_note_pdf_args,
		.output_schema = CREDIT_NOTE_DOCUMENT_SCHEMA,
		.stmt = { .name = "get_credit_note_document",
		          .sql = "SELECT r::text, r->>'currency', r->>'credit_note_id',"
		                 " mcp_einvoice_source($1, NULL, (r->>'credit_note_id')::uuid)::text"
		                 " FROM mcp_credit_note_document($1, $2::uuid) AS r",
		          .params = { "@tenant", "credit_note_id" }, .heavy = 1, .ncols = 4 },
		.finish = tool_get_credit_note_pdf_finish,
		.document = DOC_CREDIT_NOTE,
	},
	{
		.name = "get_einvoice",
		.title = "E-invoice (EN 16931 XML)",
		.description = "One sent invoice or credit note as a structured e-invoice under the European "
		               "standard EN 16931: UBL 2.1 (the EN 16931 core or Peppol BIS Billing 3.0) or "
		               "UN/CEFACT CII, the whole XML embedded (application/xml) and also at uri "
		               "(resources/read). INVALID_STATE names every business term still missing "
		               "(BT number and the tool argument that fills it), e.g. the seller's VAT id.",
		.scope = "invoices:read",
		.read_only = 1,
		.idempotent = 1,
		.args = get_einvoice_args,
		.output_schema = "{\"type\":\"object\",\"properties\":{\"document_id\":" TS ",\"type_code\":"
			"{\"enum\":[\"380\",\"381\"]},\"syntax\":{\"enum\":[\"ubl\",\"cii\"]},\"profile\":"
			"{\"enum\":[\"en16931\",\"peppol\"]},\"bytes\":" INT ",\"sha256\":" TS ",\"uri\":" TS "},"
			"\"required\":[\"document_id\",\"type_code\",\"syntax\",\"profile\",\"bytes\",\"sha256\",\"uri\"]}",
		.stmt = { .name = "einvoice_source",
		          /* an invoice's or a credit note's (the other NULL); contract:
		           * docs/receivables.md "E-invoicing data" */
		          .sql = "SELECT mcp_einvoice_source($1, $2::uuid, $3::uuid)::text",
		          .params = { "@tenant", "invoice_id", "credit_note_id" } },
		.prepare = tool_get_einvoice,
		.finish = tool_get_einvoice_finish,
	},
};
#define NTOOLS (sizeof(tool_table) / sizeof(tool_table[0]))

_Static_assert(NTOOLS <= TOOLS_MAX, "more tools than a tools/list cache mask holds");

size_t tools_count(void)
{
	return NTOOLS;
}

const struct tool_def *tools_at(size_t i)
{
	return i < NTOOLS ? &tool_table[i] : NULL;
}

const struct tool_def *tools_find(const char *name)
{
	for (size_t i = 0; i < NTOOLS; i++)
		if (strcmp(tool_table[i].name, name) == 0)
			return &tool_table[i];
	return NULL;
}
