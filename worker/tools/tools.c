/*
 * tools.c - the tool table and the machinery it drives: argument validation
 * with messages that name the field and the rule, the tools/list JSON and the
 * README table. Runs in workers; tools_markdown also in the CLI.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/auth/cursor.h"
#include "server/lib/currency.h"
#include "server/lib/log.h"
#include "server/lib/strbuf.h"
#include "server/lib/utf8.h"
#include "server/proto/entry.h"
#include "worker/tools/document.h"
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

static const struct arg_spec line_item_fields[] = {
	LINE_DESCRIPTION,
	LINE_AMOUNT,
	LINE_QUANTITY,
	{ .name = "discount_bps", .type = ARG_INTEGER, .min = 0, .max = 10000,
	  .description = "Discount on this line in basis points (1000 = 10%), 0-10000; default none." },
	{ .name = "tax_code", .type = ARG_STRING, .min = 1, .max = 32, .charset = CHARS_ID,
	  .description = "A tax rate's code from upsert_tax_rate/list_tax_rates; default untaxed." },
	{ 0 }
};

static const struct arg_spec credit_line_fields[] = { LINE_DESCRIPTION, LINE_AMOUNT, LINE_QUANTITY, { 0 } };

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
	{ .name = "address", .type = ARG_STRING, .min = 1, .max = 1000,
	  .description = "Postal address, up to 1000 characters (newlines allowed)." },
	VAT_ID("The customer's VAT number (printed on invoices as the buyer's VAT id)."),
	TAX_ID_ALIAS,
	{ 0 }
};

static const struct arg_spec get_customer_args[] = {
	CUSTOMER_ID(1, "The customer to read."),
	{ 0 }
};

static const struct arg_spec upsert_business_profile_args[] = {
	{ .name = "legal_name", .type = ARG_STRING, .required = 1, .min = 1, .max = 200,
	  .description = "The seller's legal name, printed on statements and invoices (the PDF's author)." },
	{ .name = "address", .type = ARG_STRING, .min = 1, .max = 1000,
	  .description = "Postal address, up to 1000 characters (newlines allowed)." },
	VAT_ID("The seller's VAT number or other tax identifier, printed on every document."),
	TAX_ID_ALIAS,
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
	                 "the server's inline cap; default false (a resource_link to read instead)." }

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

static const struct arg_spec get_credit_note_pdf_args[] = {
	{ .name = "credit_note_id", .type = ARG_STRING, .required = 1, .min = 1, .max = 64,
	  .charset = CHARS_UUID,
	  .description = "The credit_note_id from create_credit_note or get_invoice's credit_notes." },
	INLINE_ARG,
	{ 0 }
};

#define TS "{\"type\":\"string\"}"
#define NTS "{\"type\":[\"string\",\"null\"]}"
#define INT "{\"type\":\"integer\"}"
#define INVOICE_PROPS \
	"\"invoice_id\":{\"type\":\"string\",\"format\":\"uuid\"}," \
	"\"invoice_number\":" NTS "," \
	"\"status\":{\"type\":\"string\",\"enum\":[\"draft\",\"sent\",\"paid\",\"overdue\",\"void\"]}," \
	"\"customer_id\":" TS ",\"currency\":" TS "," \
	"\"subtotal_cents\":" INT ",\"discount_cents\":" INT ",\"tax_cents\":" INT "," \
	"\"tax_breakdown\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{" \
	"\"tax_code\":" TS ",\"rate_bps\":" INT ",\"inclusive\":{\"type\":\"boolean\"}," \
	"\"taxable_cents\":" INT ",\"tax_cents\":" INT "}}}," \
	"\"total_cents\":" INT ",\"amount_paid_cents\":" INT ",\"amount_reversed_cents\":" INT "," \
	"\"credited_cents\":" INT ",\"credit_notes_cents\":" INT ",\"amount_due_cents\":" INT "," \
	"\"due_date\":" TS ",\"memo\":" NTS ",\"issued_at\":" NTS ",\"created_at\":" TS
#define INVOICE_REQUIRED \
	"\"invoice_id\",\"status\",\"customer_id\",\"currency\",\"total_cents\",\"due_date\",\"created_at\""
#define INVOICE_SCHEMA "{\"type\":\"object\",\"properties\":{" INVOICE_PROPS "},\"required\":[" INVOICE_REQUIRED "]}"
#define LINE_ITEMS_SCHEMA "{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{" \
	"\"description\":" TS ",\"amount_cents\":" INT ",\"quantity\":" INT "," \
	"\"subtotal_cents\":" INT ",\"discount_bps\":" INT ",\"discount_cents\":" INT "," \
	"\"tax_code\":" NTS ",\"tax_rate_bps\":{\"type\":[\"integer\",\"null\"]}," \
	"\"tax_inclusive\":{\"type\":\"boolean\"},\"tax_cents\":" INT "," \
	"\"line_total_cents\":" INT "},\"required\":[\"description\",\"amount_cents\"," \
	"\"quantity\",\"line_total_cents\"]}}"
#define PAYMENT_PROPS \
	"\"payment_id\":{\"type\":\"string\",\"format\":\"uuid\"},\"amount_cents\":" INT "," \
	"\"paid_at\":" TS ",\"method\":" NTS ",\"reference\":" NTS
#define CREDIT_NOTE_SCHEMA "{\"type\":\"object\",\"properties\":{" \
	"\"credit_note_id\":{\"type\":\"string\",\"format\":\"uuid\"},\"credit_note_number\":" TS "," \
	"\"invoice_id\":" TS ",\"customer_id\":" TS ",\"currency\":" TS ",\"amount_cents\":" INT "," \
	"\"applied_to_invoice_cents\":" INT ",\"customer_credit_cents\":" INT ",\"reason\":" TS "," \
	"\"created_at\":" TS "}}"
#define ARRAY_OF(items) "{\"type\":\"array\",\"items\":" items "}"
#define FULL_INVOICE_SCHEMA "{\"type\":\"object\",\"properties\":{" INVOICE_PROPS "," \
	"\"void_reason\":" NTS ",\"voided_at\":" NTS ",\"line_items\":" LINE_ITEMS_SCHEMA "," \
	"\"payments\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{" \
	PAYMENT_PROPS ",\"reversed\":{\"type\":\"boolean\"}}}}," \
	"\"credit_notes\":" ARRAY_OF(CREDIT_NOTE_SCHEMA) "," \
	"\"credits_applied\":" ARRAY_OF("{\"type\":\"object\"}") "}," \
	"\"required\":[" INVOICE_REQUIRED ",\"line_items\",\"payments\"]}"
#define BALANCES_SCHEMA ARRAY_OF("{\"type\":\"object\",\"properties\":{\"currency\":" TS "," \
	"\"outstanding_cents\":" INT ",\"open_invoice_count\":" INT ",\"credit_cents\":" INT "}}")
#define TAX_RATE_PROPS "\"code\":" TS ",\"name\":" TS ",\"rate_bps\":" INT "," \
	"\"inclusive\":{\"type\":\"boolean\"}"
/* Aging buckets: amounts by days past due as of as_of. */
#define AGING_PROPS "\"current\":" INT ",\"days_1_30\":" INT ",\"days_31_60\":" INT "," \
	"\"days_61_90\":" INT ",\"days_over_90\":" INT
#define PROFILE_PROPS \
	"\"legal_name\":" TS ",\"address\":" NTS ",\"vat_id\":" NTS ",\"tax_id\":" NTS "," \
	"\"email\":" NTS ",\"phone\":" NTS ",\"payment_instructions\":" NTS "," \
	"\"paper_size\":{\"type\":\"string\",\"enum\":[\"A4\",\"Letter\"]}," \
	"\"default_currency\":" NTS ",\"updated_at\":" TS
#define NINT "{\"type\":[\"integer\",\"null\"]}"
#define STATEMENT_SCHEMA "{\"type\":\"object\",\"properties\":{" \
	"\"statement_id\":" TS ",\"type\":{\"type\":\"string\",\"enum\":[\"activity\",\"open_item\"]}," \
	"\"currency\":" TS ",\"currency_exponent\":" INT ",\"statement_date\":" TS "," \
	"\"period_start\":" TS ",\"period_end\":" TS "," \
	"\"seller\":{\"type\":[\"object\",\"null\"]},\"customer\":{\"type\":\"object\"}," \
	"\"summary\":{\"type\":\"object\",\"properties\":{\"opening_balance_cents\":" INT "," \
	"\"invoiced_cents\":" INT ",\"payments_cents\":" INT ",\"reversals_cents\":" INT "," \
	"\"credit_notes_cents\":" INT ",\"closing_balance_cents\":" INT ",\"unapplied_credit_cents\":" INT "," \
	"\"overdue_cents\":" INT ",\"amount_due_cents\":" INT "}}," \
	"\"aging\":{\"type\":\"object\",\"properties\":{" AGING_PROPS ",\"total\":" INT "}}," \
	"\"lines\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{" \
	"\"date\":" TS ",\"type\":{\"type\":\"string\",\"enum\":[\"invoice\",\"payment\",\"void\"," \
	"\"reversal\",\"credit_note\"]}," \
	"\"document\":" NTS ",\"due_date\":" NTS ",\"reference\":" NTS ",\"debit_cents\":" INT "," \
	"\"credit_cents\":" INT ",\"balance_cents\":" INT ",\"original_cents\":" INT "," \
	"\"paid_cents\":" INT ",\"credited_cents\":" INT ",\"open_cents\":" INT ",\"days_past_due\":" INT "}}}," \
	"\"pdf\":{\"type\":\"object\",\"properties\":{\"uri\":" TS ",\"mimeType\":" TS "," \
	"\"size\":" INT ",\"pages\":" NINT "}}}," \
	"\"required\":[\"statement_id\",\"type\",\"currency\",\"statement_date\",\"period_start\"," \
	"\"summary\",\"aging\",\"lines\"]}"
/* What get_invoice_pdf adds to FULL_INVOICE_SCHEMA: the printed figures. */
#define INVOICE_DOCUMENT_SCHEMA "{\"type\":\"object\",\"properties\":{" INVOICE_PROPS "," \
	"\"void_reason\":" NTS ",\"voided_at\":" NTS ",\"line_items\":" LINE_ITEMS_SCHEMA "," \
	"\"payments\":" ARRAY_OF("{\"type\":\"object\"}") ",\"credit_notes\":" ARRAY_OF(CREDIT_NOTE_SCHEMA) "," \
	"\"credits_applied\":" ARRAY_OF("{\"type\":\"object\"}") ",\"document_date\":" TS "," \
	"\"currency_exponent\":" INT ",\"net_cents\":" INT ",\"tax_added_cents\":" INT "," \
	"\"vat_summary\":" ARRAY_OF("{\"type\":\"object\",\"properties\":{\"tax_code\":" NTS "," \
	"\"rate_bps\":" NINT ",\"inclusive\":{\"type\":[\"boolean\",\"null\"]},\"name\":" NTS "," \
	"\"taxable_cents\":" INT ",\"tax_cents\":" INT "}}") "," \
	"\"settlements\":" ARRAY_OF("{\"type\":\"object\",\"properties\":{\"kind\":{\"type\":\"string\"," \
	"\"enum\":[\"payment\",\"reversal\",\"credit_note\",\"credit_applied\"]},\"date\":" TS "," \
	"\"document\":" NTS ",\"reference\":" NTS ",\"amount_cents\":" INT "}}") "," \
	"\"seller\":{\"type\":[\"object\",\"null\"]},\"customer\":{\"type\":\"object\"}," \
	"\"pdf\":{\"type\":\"object\"}}," \
	"\"required\":[" INVOICE_REQUIRED ",\"line_items\",\"payments\",\"vat_summary\",\"settlements\"]}"
#define CREDIT_NOTE_DOCUMENT_SCHEMA "{\"type\":\"object\",\"properties\":{" \
	"\"credit_note_id\":{\"type\":\"string\",\"format\":\"uuid\"},\"credit_note_number\":" TS "," \
	"\"invoice_id\":" TS ",\"invoice_number\":" NTS ",\"invoice_date\":" NTS "," \
	"\"invoice_total_cents\":" INT ",\"customer_id\":" TS ",\"currency\":" TS "," \
	"\"currency_exponent\":" INT ",\"amount_cents\":" INT ",\"applied_to_invoice_cents\":" INT "," \
	"\"customer_credit_cents\":" INT ",\"reason\":" TS ",\"document_date\":" TS "," \
	"\"line_items\":" ARRAY_OF("{\"type\":\"object\",\"properties\":{\"description\":" TS "," \
	"\"amount_cents\":" INT ",\"quantity\":" INT ",\"line_total_cents\":" INT "}}") "," \
	"\"seller\":{\"type\":[\"object\",\"null\"]},\"customer\":{\"type\":\"object\"}," \
	"\"pdf\":{\"type\":\"object\"}}," \
	"\"required\":[\"credit_note_id\",\"credit_note_number\",\"invoice_id\",\"currency\"," \
	"\"amount_cents\",\"document_date\",\"line_items\"]}"
#define CUSTOMER_PROPS \
	"\"customer_id\":" TS ",\"name\":" NTS ",\"email\":" NTS ",\"address\":" NTS "," \
	"\"vat_id\":" NTS ",\"tax_id\":" NTS ","

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
		.prepare = tool_send_invoice,
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
			"\"amount_due_cents\":" INT "},\"required\":[\"payment\",\"invoice_id\",\"status\","
			"\"amount_paid_cents\",\"amount_due_cents\"]}",
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
		.prepare = tool_void_invoice,
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
		.prepare = tool_get_customer,
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
		.prepare = tool_apply_credit,
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
		.prepare = tool_reverse_payment,
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
		.prepare = tool_upsert_tax_rate,
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
		.prepare = tool_list_tax_rates,
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
		.prepare = tool_get_business_profile,
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
		               "also embedded.",
		.scope = "invoices:read",
		.read_only = 1,
		.idempotent = 1,
		.args = get_invoice_pdf_args,
		.output_schema = INVOICE_DOCUMENT_SCHEMA,
		.prepare = tool_get_invoice_pdf,
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
		               "embedded.",
		.scope = "invoices:read",
		.read_only = 1,
		.idempotent = 1,
		.args = get_credit_note_pdf_args,
		.output_schema = CREDIT_NOTE_DOCUMENT_SCHEMA,
		.prepare = tool_get_credit_note_pdf,
		.finish = tool_get_credit_note_pdf_finish,
		.document = DOC_CREDIT_NOTE,
	},
};
#define NTOOLS (sizeof(tool_table) / sizeof(tool_table[0]))

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

/* ---- helpers for handlers ---- */

/* Is name one of the space-separated words in list? */
static int word_in(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

const char *tool_args_except(struct tool_call *call, const char *skip)
{
	json_object_put(call->holder);
	call->holder = json_object_new_object();
	json_object_object_foreach(call->args, key, val) {
		if (!word_in(skip, key))
			json_object_object_add(call->holder, key, json_object_get(val));
	}
	return json_object_to_json_string_ext(call->holder, JSON_C_TO_STRING_PLAIN);
}

int tool_arg_alias(struct tool_call *call, const char *preferred, const char *alias, const char **value,
                   struct tool_error *err)
{
	const char *a = json_get_string(call->args, preferred), *b = json_get_string(call->args, alias);

	if (a && b && strcmp(a, b) != 0) {
		tool_error_set(err, "INVALID_INPUT", alias, 0,
		               "%s is an alias of %s (one field): give one of them, or both with the same value",
		               alias, preferred);
		return -1;
	}
	*value = a ? a : b;
	return 0;
}

const char *tool_args_fingerprint(struct tool_call *call)
{
	return tool_args_except(call, "idempotency_key");
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static long long days_from_civil(long long y, long long m, long long d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

long long tool_timestamp_epoch(const char *s)
{
	long long t = days_from_civil(atoi(s), atoi(s + 5), atoi(s + 8)) * 86400 +
	              atoi(s + 11) * 3600 + atoi(s + 14) * 60 + atoi(s + 17);
	const char *zone = s + 19;

	if (*zone == '.')
		while (*++zone >= '0' && *zone <= '9')
			;
	if (*zone == '+' || *zone == '-') {
		long long off = atoi(zone + 1) * 3600 + atoi(zone + 4) * 60;
		t += *zone == '+' ? -off : off;
	}
	return t;
}

void tool_call_cleanup(struct tool_call *call)
{
	json_object_put(call->holder);
	call->holder = NULL;
}

int tool_finish(const struct tool_def *def, struct tool_call *call, char *const *cols,
                char **result, struct tool_error *err)
{
	if (def->finish)
		return def->finish(call, cols, result, err);
	if (!cols[0]) {
		tool_error_set(err, "INTERNAL", NULL, 0, "the database returned no value");
		return -1;
	}
	if (!(*result = strdup(cols[0])))
		fatal("out of memory");
	return 0;
}

char *tool_page_result(struct tool_call *call, const char *key, const char *items,
                       const char *a, const char *b)
{
	struct strbuf out;

	strbuf_init(&out, (items ? strlen(items) : 2) + 400);
	strbuf_puts(&out, "{\"");
	strbuf_puts(&out, key);
	strbuf_puts(&out, "\":");
	strbuf_puts(&out, items ? items : "[]");
	tool_put_next_cursor(&out, call->cursor_key, call->scope, a, b);
	strbuf_puts(&out, "}");
	return strbuf_take(&out, NULL);
}

void tool_put_next_cursor(struct strbuf *out, const struct cursor_key *ck, const char *scope,
                          const char *a, const char *b)
{
	char position[CURSOR_POSITION_MAX], cursor[CURSOR_MAX + 1];

	strbuf_puts(out, ",\"next_cursor\":");
	if (!a || !b) {
		strbuf_puts(out, "null");
		return;
	}
	snprintf(position, sizeof(position), "%s:%s", a, b);
	cursor_encode(ck, scope, position, cursor);
	strbuf_json_string(out, cursor, strlen(cursor));
}

/* ---- validation ---- */

static const char *json_type_word(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null: return "null";
	case json_type_boolean: return "boolean";
	case json_type_double: return "a number with a fraction";
	case json_type_int: return "an integer";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "unknown";
}

static int enum_has(const char *vals, const char *v)
{
	return *v && word_in(vals, v);
}

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int valid_date(const char *s)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return 0;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	/* 9998 at most, so that no offset moves a timestamp past year 9999. */
	if (y < 2000 || y > 9998 || m < 1 || m > 12 || d < 1)
		return 0;
	return d <= mdays[m - 1] + (m == 2 && is_leap(y));
}

/* RFC 3339: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM). */
static int valid_timestamp(const char *s)
{
	char date[11];
	size_t i = 19;

	if (strlen(s) < 20 || (s[10] != 'T' && s[10] != 't'))
		return 0;
	memcpy(date, s, 10);
	date[10] = '\0';
	if (!valid_date(date))
		return 0;
	if (s[13] != ':' || s[16] != ':')
		return 0;
	for (int k = 11; k < 19; k++)
		if (k != 13 && k != 16 && (s[k] < '0' || s[k] > '9'))
			return 0;
	if (atoi(s + 11) > 23 || atoi(s + 14) > 59 || atoi(s + 17) > 59)
		return 0;
	if (s[i] == '.') {
		size_t start = ++i;
		while (s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start || i - start > 9)
			return 0;
	}
	if ((s[i] == 'Z' || s[i] == 'z') && s[i + 1] == '\0')
		return 1;
	if ((s[i] == '+' || s[i] == '-') && strlen(s + i) == 6 && s[i + 3] == ':' &&
	    s[i + 1] >= '0' && s[i + 1] <= '9' && s[i + 2] >= '0' && s[i + 2] <= '9' &&
	    s[i + 4] >= '0' && s[i + 4] <= '9' && s[i + 5] >= '0' && s[i + 5] <= '9')
		/* Real offsets run from -12:00 to +14:00 (PostgreSQL refuses
		 * beyond 15:59): at most 14:00 either way. */
		return atoi(s + i + 4) <= 59 && atoi(s + i + 1) * 60 + atoi(s + i + 4) <= 14 * 60;
	return 0;
}

static int valid_email(const char *s)
{
	const char *at = strchr(s, '@');

	if (!at || at == s || strchr(at + 1, '@') || !strchr(at + 1, '.') || at[1] == '.' ||
	    s[strlen(s) - 1] == '.')
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f || strchr("<>()[],;\\\"", *s))
			return 0;
	return 1;
}

static int charset_ok(enum arg_charset cs, const char *s)
{
	if (cs == CHARS_EMAIL)
		return valid_email(s);
	if (cs == CHARS_ID) {
		for (; *s; s++)
			if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			      (*s >= '0' && *s <= '9') || strchr("_.:-", *s)))
				return 0;
	} else if (cs == CHARS_UUID) {
		if (strlen(s) != 36)
			return 0;
		for (int i = 0; i < 36; i++) {
			char c = s[i];
			if (i == 8 || i == 13 || i == 18 || i == 23) {
				if (c != '-')
					return 0;
			} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			             (c >= 'A' && c <= 'F'))) {
				return 0;
			}
		}
	}
	return 1;
}

static const char *charset_rule(enum arg_charset cs)
{
	return cs == CHARS_ID ? "only the characters [A-Za-z0-9_.:-]"
	     : cs == CHARS_EMAIL ? "an e-mail address like billing@example.com"
	                         : "a UUID like 5f0c2a3e-8b1d-4c6e-9f00-1a2b3c4d5e6f";
}

static json_object *validate_object(const struct arg_spec *specs, json_object *obj,
                                    const char *prefix, struct tool_error *err);

/* Validates one value; returns a new reference to the normalized value. */
static json_object *validate_value(const struct arg_spec *sp, json_object *v,
                                   const char *path, struct tool_error *err)
{
	const char *s;
	size_t len;
	long chars;

	switch (sp->type) {
	case ARG_STRING:
	case ARG_ENUM:
	case ARG_DATE:
	case ARG_TIMESTAMP:
	case ARG_CURRENCY:
		if (!json_object_is_type(v, json_type_string)) {
			tool_error_set(err, "INVALID_INPUT", path, 0, "%s must be a string, got %s",
			               path, json_type_word(v));
			return NULL;
		}
		s = json_object_get_string(v);
		len = (size_t)json_object_get_string_len(v);
		if (strlen(s) != len) {
			tool_error_set(err, "INVALID_INPUT", path, 0, "%s must not contain NUL characters", path);
			return NULL;
		}
		chars = utf8_length(s, len);
		if (chars < 0) {
			tool_error_set(err, "INVALID_INPUT", path, 0, "%s is not valid UTF-8", path);
			return NULL;
		}
		if (sp->type == ARG_ENUM) {
			if (!enum_has(sp->enum_values, s)) {
				tool_error_set(err, "INVALID_INPUT", path, 0, "%s must be one of: %s; got '%.*s'",
				               path, sp->enum_values, utf8_clip(s, len, 40), s);
				return NULL;
			}
		} else if (sp->type == ARG_DATE) {
			if (!valid_date(s)) {
				tool_error_set(err, "INVALID_INPUT", path, 0,
				               "%s must be a calendar date YYYY-MM-DD from 2000-01-01 to 9998-12-31, got '%.*s'",
				               path, utf8_clip(s, len, 40), s);
				return NULL;
			}
		} else if (sp->type == ARG_TIMESTAMP) {
			if (!valid_timestamp(s)) {
				tool_error_set(err, "INVALID_INPUT", path, 0,
				               "%s must be an RFC 3339 timestamp such as 2026-03-01T12:00:00Z "
				               "(years 2000 to 9998, with Z or an offset of at most +/-14:00); got '%.*s'", path,
				               utf8_clip(s, len, 40), s);
				return NULL;
			}
		} else if (sp->type == ARG_CURRENCY) {
			if (currency_exponent(s) < 0) {
				tool_error_set(err, "INVALID_INPUT", path, 0,
				               "%s must be an ISO 4217 currency code such as USD, EUR or JPY; "
				               "got '%.*s'", path, utf8_clip(s, len, 40), s);
				return NULL;
			}
		} else {
			if (chars < sp->min || chars > sp->max) {
				tool_error_set(err, "INVALID_INPUT", path, 0,
				               "%s must be %lld-%lld characters long, got %ld", path,
				               sp->min, sp->max, chars);
				return NULL;
			}
			if (sp->charset && !charset_ok(sp->charset, s)) {
				tool_error_set(err, "INVALID_INPUT", path, 0, "%s must be %s, got '%.*s'%s",
				               path, charset_rule(sp->charset), utf8_clip(s, len, 70), s,
				               sp->charset == CHARS_UUID && strncmp(s, "INV-", 4) == 0
				               ? "; an invoice number goes in number (get_invoice, list_invoices)" : "");
				return NULL;
			}
		}
		return json_object_get(v);
	case ARG_INTEGER: {
		long long x;
		/* JSON Schema 2020-12 counts 100.0 as an integer: a number with a
		 * zero fraction, within the range, is accepted as one. */
		if (json_object_is_type(v, json_type_double)) {
			double d = json_object_get_double(v);
			if (d == floor(d) && d >= -9.0e15 && d <= 9.0e15) {
				v = json_object_new_int64((long long)d);
				x = json_object_get_int64(v);
				json_object_put(v);
				goto range;
			}
		}
		if (!json_object_is_type(v, json_type_int)) {
			tool_error_set(err, "INVALID_INPUT", path, 0, "%s must be an integer, got %s",
			               path, json_type_word(v));
			return NULL;
		}
		x = json_object_get_int64(v);
	range:
		/* json-c saturates out-of-range literals; a saturated value is out of
		 * every range we accept, so the bound checks below catch it. */
		if (x < sp->min) {
			tool_error_set(err, "INVALID_INPUT", path, 0, "%s must be an integer >= %lld, got %lld",
			               path, sp->min, x);
			return NULL;
		}
		if (x > sp->max) {
			tool_error_set(err, "INVALID_INPUT", path, 0, "%s must be an integer <= %lld, got %lld",
			               path, sp->max, x);
			return NULL;
		}
		return json_object_new_int64(x);
	}
	case ARG_BOOLEAN:
		if (!json_object_is_type(v, json_type_boolean)) {
			tool_error_set(err, "INVALID_INPUT", path, 0, "%s must be true or false, got %s",
			               path, json_type_word(v));
			return NULL;
		}
		return json_object_get(v);
	case ARG_OBJECT_ARRAY: {
		json_object *out;
		size_t n;
		if (!json_object_is_type(v, json_type_array)) {
			tool_error_set(err, "INVALID_INPUT", path, 0, "%s must be an array, got %s",
			               path, json_type_word(v));
			return NULL;
		}
		n = json_object_array_length(v);
		if ((long long)n < sp->min || (long long)n > sp->max) {
			tool_error_set(err, "INVALID_INPUT", path, 0, "%s must have %lld-%lld items, got %zu",
			               path, sp->min, sp->max, n);
			return NULL;
		}
		out = json_object_new_array_ext((int)n);
		for (size_t i = 0; i < n; i++) {
			char sub[192];
			json_object *item;
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			item = validate_object(sp->items, json_object_array_get_idx(v, i), sub, err);
			if (!item) {
				json_object_put(out);
				return NULL;
			}
			json_object_array_add(out, item);
		}
		return out;
	}
	}
	return NULL;
}

static json_object *validate_object(const struct arg_spec *specs, json_object *obj,
                                    const char *prefix, struct tool_error *err)
{
	json_object *out;
	char path[160];

	if (!json_object_is_type(obj, json_type_object)) {
		tool_error_set(err, "INVALID_INPUT", prefix, 0, "%s must be an object, got %s",
		               *prefix ? prefix : "arguments", json_type_word(obj));
		return NULL;
	}
	json_object_object_foreach(obj, key, val) {
		const struct arg_spec *sp;
		(void)val;
		for (sp = specs; sp->name; sp++)
			if (strcmp(sp->name, key) == 0)
				break;
		if (!sp->name) {
			char names[400] = "";
			size_t n = 0;
			for (sp = specs; sp->name && n < sizeof(names); sp++)
				n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", n ? ", " : "", sp->name);
			snprintf(path, sizeof(path), "%s%s%.*s", prefix, *prefix ? "." : "", utf8_clip(key, strlen(key), 60), key);
			tool_error_set(err, "INVALID_INPUT", path, 0,
			               "%s is not a known argument; expected: %s", path, names);
			return NULL;
		}
	}
	out = json_object_new_object();
	for (const struct arg_spec *sp = specs; sp->name; sp++) {
		json_object *v = NULL, *norm;
		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", sp->name);
		if (!json_object_object_get_ex(obj, sp->name, &v) || json_object_is_type(v, json_type_null)) {
			if (sp->required) {
				tool_error_set(err, "INVALID_INPUT", path, 0, "%s is required", path);
				json_object_put(out);
				return NULL;
			}
			if (sp->has_default)
				json_object_object_add(out, sp->name, json_object_new_int64(sp->default_int));
			else if (sp->default_str)
				json_object_object_add(out, sp->name, json_object_new_string(sp->default_str));
			continue;
		}
		norm = validate_value(sp, v, path, err);
		if (!norm) {
			json_object_put(out);
			return NULL;
		}
		json_object_object_add(out, sp->name, norm);
	}
	return out;
}

json_object *tools_validate_args(const struct arg_spec *specs, json_object *raw, struct tool_error *err)
{
	json_object *empty = NULL, *out;

	if (!raw)
		raw = empty = json_object_new_object();
	out = validate_object(specs, raw, "", err);
	json_object_put(empty);
	return out;
}

json_object *tools_validate(const struct tool_def *def, json_object *raw, struct tool_error *err)
{
	return tools_validate_args(def->args, raw, err);
}

/* ---- schemas ---- */

static json_object *schema_of_object(const struct arg_spec *specs);

static json_object *schema_of(const struct arg_spec *sp)
{
	json_object *s = json_object_new_object();

	switch (sp->type) {
	case ARG_STRING:
		json_object_object_add(s, "type", json_object_new_string("string"));
		json_object_object_add(s, "minLength", json_object_new_int64(sp->min));
		json_object_object_add(s, "maxLength", json_object_new_int64(sp->max));
		if (sp->charset == CHARS_ID)
			json_object_object_add(s, "pattern", json_object_new_string("^[A-Za-z0-9_.:-]+$"));
		else if (sp->charset == CHARS_UUID)
			json_object_object_add(s, "format", json_object_new_string("uuid"));
		else if (sp->charset == CHARS_EMAIL)
			json_object_object_add(s, "format", json_object_new_string("email"));
		break;
	case ARG_ENUM: {
		json_object *e = json_object_new_array();
		char buf[256], *save = NULL;
		snprintf(buf, sizeof(buf), "%s", sp->enum_values);
		for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
			json_object_array_add(e, json_object_new_string(t));
		json_object_object_add(s, "type", json_object_new_string("string"));
		json_object_object_add(s, "enum", e);
		break;
	}
	case ARG_DATE:
		json_object_object_add(s, "type", json_object_new_string("string"));
		json_object_object_add(s, "format", json_object_new_string("date"));
		break;
	case ARG_TIMESTAMP:
		json_object_object_add(s, "type", json_object_new_string("string"));
		json_object_object_add(s, "format", json_object_new_string("date-time"));
		break;
	case ARG_CURRENCY:
		json_object_object_add(s, "type", json_object_new_string("string"));
		json_object_object_add(s, "pattern", json_object_new_string("^[A-Z]{3}$"));
		break;
	case ARG_INTEGER:
		json_object_object_add(s, "type", json_object_new_string("integer"));
		json_object_object_add(s, "minimum", json_object_new_int64(sp->min));
		json_object_object_add(s, "maximum", json_object_new_int64(sp->max));
		if (sp->has_default)
			json_object_object_add(s, "default", json_object_new_int64(sp->default_int));
		break;
	case ARG_BOOLEAN:
		json_object_object_add(s, "type", json_object_new_string("boolean"));
		break;
	case ARG_OBJECT_ARRAY:
		json_object_object_add(s, "type", json_object_new_string("array"));
		json_object_object_add(s, "minItems", json_object_new_int64(sp->min));
		json_object_object_add(s, "maxItems", json_object_new_int64(sp->max));
		json_object_object_add(s, "items", schema_of_object(sp->items));
		break;
	}
	if (sp->default_str)
		json_object_object_add(s, "default", json_object_new_string(sp->default_str));
	json_object_object_add(s, "description", json_object_new_string(sp->description));
	return s;
}

static json_object *schema_of_object(const struct arg_spec *specs)
{
	json_object *s = json_object_new_object(), *props = json_object_new_object();
	json_object *req = json_object_new_array();

	for (const struct arg_spec *sp = specs; sp->name; sp++) {
		json_object_object_add(props, sp->name, schema_of(sp));
		if (sp->required)
			json_object_array_add(req, json_object_new_string(sp->name));
	}
	json_object_object_add(s, "type", json_object_new_string("object"));
	json_object_object_add(s, "properties", props);
	json_object_object_add(s, "required", req);
	json_object_object_add(s, "additionalProperties", json_object_new_boolean(0));
	return s;
}

/* The declared success schema, widened so that an error result (isError,
 * structuredContent.error) also validates: clients such as the official
 * TypeScript SDK check structuredContent against outputSchema either way. */
static json_object *output_schema_of(const struct tool_def *t)
{
	json_object *schema = json_tokener_parse(t->output_schema), *props, *req = NULL;
	json_object *any = json_object_new_array(), *ok = json_object_new_object();
	json_object *failed = json_object_new_object(), *failed_req = json_object_new_array();

	props = json_object_object_get(schema, "properties");
	json_object_object_add(props, "error", json_tokener_parse(
		"{\"type\":\"object\",\"description\":\"Present only when isError is true.\","
		"\"properties\":{\"code\":{\"type\":\"string\",\"enum\":[\"INVALID_INPUT\",\"NOT_FOUND\","
		"\"INVALID_STATE\",\"CONFLICT\",\"DATABASE_UNAVAILABLE\",\"TIMEOUT\",\"RENDERER_UNAVAILABLE\","
		"\"INTERNAL\"]},"
		"\"message\":{\"type\":\"string\"},\"field\":{\"type\":\"string\"},"
		"\"retryable\":{\"type\":\"boolean\"}},\"required\":[\"code\",\"message\",\"retryable\"]}"));
	if (json_object_object_get_ex(schema, "required", &req)) {
		json_object_object_add(ok, "required", json_object_get(req));
		json_object_object_del(schema, "required");
	}
	json_object_array_add(failed_req, json_object_new_string("error"));
	json_object_object_add(failed, "required", failed_req);
	json_object_array_add(any, ok);
	json_object_array_add(any, failed);
	json_object_object_add(schema, "anyOf", any);
	return schema;
}

/* One tool's tools/list entry. */
static json_object *tool_entry(const struct tool_def *t)
{
	json_object *o = json_object_new_object(), *ann = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(t->name));
	json_object_object_add(o, "title", json_object_new_string(t->title));
	json_object_object_add(o, "description", json_object_new_string(t->description));
	json_object_object_add(o, "inputSchema", schema_of_object(t->args));
	json_object_object_add(o, "outputSchema", output_schema_of(t));
	json_object_object_add(ann, "title", json_object_new_string(t->title));
	json_object_object_add(ann, "readOnlyHint", json_object_new_boolean(t->read_only));
	json_object_object_add(ann, "destructiveHint", json_object_new_boolean(t->destructive));
	json_object_object_add(ann, "idempotentHint", json_object_new_boolean(t->idempotent));
	json_object_object_add(ann, "openWorldHint", json_object_new_boolean(0));
	json_object_object_add(o, "annotations", ann);
	return o;
}

json_object *tools_list_json(int (*allowed)(const char *scope, const void *ctx), const void *ctx)
{
	/* Built once per set of visible tools (a token's scopes pick one of
	 * a handful) and shared. */
	static struct { unsigned long mask; json_object *list; } cache[16];
	static json_object *all[NTOOLS];
	unsigned long mask = 0;
	size_t i;

	for (i = 0; i < NTOOLS; i++)
		if (allowed(tool_table[i].scope, ctx))
			mask |= 1UL << i;
	for (i = 0; i < sizeof(cache) / sizeof(cache[0]) && cache[i].list; i++)
		if (cache[i].mask == mask)
			return cache[i].list;
	if (i == sizeof(cache) / sizeof(cache[0]))
		fatal("tools_list_json: more scope combinations than expected");
	cache[i].mask = mask;
	cache[i].list = json_object_new_array();
	for (size_t t = 0; t < NTOOLS; t++) {
		if (!(mask & (1UL << t)))
			continue;
		if (!all[t])
			all[t] = tool_entry(&tool_table[t]);
		json_object_array_add(cache[i].list, json_object_get(all[t]));
	}
	return cache[i].list;
}

static size_t append_args(char *buf, size_t cap, size_t n, const struct arg_spec *specs,
                          const char *prefix)
{
	for (const struct arg_spec *sp = specs; sp->name && n < cap; sp++) {
		n += (size_t)snprintf(buf + n, cap - n, "%s`%s%s`%s", n && buf[n - 1] != ' ' && buf[n - 1] != '(' ? ", " : "",
		                      prefix, sp->name, sp->required ? "" : "?");
		if (sp->items) {
			char sub[64];
			snprintf(sub, sizeof(sub), "%s[].", sp->name);
			n += (size_t)snprintf(buf + n, cap - n, " (");
			n = append_args(buf, cap, n, sp->items, sub);
			n += (size_t)snprintf(buf + n, cap - n, ")");
		}
	}
	return n;
}

char *tools_markdown(void)
{
	size_t cap = 16384, n = 0;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	n += (size_t)snprintf(buf, cap, "| tool | what it does | scope | arguments (`?` = optional) | hints |\n"
	                                "| --- | --- | --- | --- | --- |\n");
	for (size_t i = 0; i < NTOOLS && n < cap; i++) {
		const struct tool_def *t = &tool_table[i];
		n += (size_t)snprintf(buf + n, cap - n, "| `%s` | %s | `%s` | ", t->name, t->title, t->scope);
		n = append_args(buf, cap, n, t->args, "");
		n += (size_t)snprintf(buf + n, cap - n, " | %s%s%s |\n",
		                      t->read_only ? "read-only" : "writes",
		                      t->destructive ? ", destructive" : "",
		                      t->idempotent ? ", idempotent" : "");
	}
	return buf;
}
