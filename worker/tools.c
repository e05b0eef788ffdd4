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

#include "../server/log.h"
#include "currency.h"
#include "cursor.h"
#include "strbuf.h"
#include "tool_handlers.h"
#include "utf8.h"
#include "tools.h"
#include "document.h"


static const struct arg_spec line_item_fields[] = {
	{ .name = "description", .type = ARG_STRING, .required = 1, .min = 1, .max = 500,
	  .description = "What is billed, 1-500 characters." },
	{ .name = "amount_cents", .type = ARG_INTEGER, .required = 1, .min = 0, .max = TOOL_MAX_INVOICE_CENTS,
	  .description = "Unit price in minor units of the currency (cents for USD, yen for JPY)." },
	{ .name = "quantity", .type = ARG_INTEGER, .min = 1, .max = 1000000, .has_default = 1,
	  .default_int = 1, .description = "How many units; default 1." },
	{ 0 }
};

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
	{ .name = "currency", .type = ARG_CURRENCY, .default_str = "USD",
	  .description = "ISO 4217 code, default USD. Amounts are in its minor units." },
	{ .name = "memo", .type = ARG_STRING, .min = 0, .max = 2000,
	  .description = "Free text shown on the invoice, up to 2000 characters." },
	IDEMPOTENCY_KEY,
	{ 0 }
};

static const struct arg_spec list_invoices_args[] = {
	{ .name = "customer_id", .type = ARG_STRING, .required = 1, .min = 1, .max = 64,
	  .charset = CHARS_ID, .description = "The customer whose invoices to list." },
	{ .name = "status", .type = ARG_ENUM, .enum_values = "draft sent paid overdue void",
	  .description = "Only invoices in this status; overdue = sent, past due, amount due." },
	{ .name = "limit", .type = ARG_INTEGER, .min = 1, .max = 100, .has_default = 1,
	  .default_int = 20, .description = "Page size 1-100, default 20." },
	{ .name = "cursor", .type = ARG_STRING, .min = 1, .max = 512,
	  .description = "next_cursor from the previous page; omit for the first page." },
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
	{ .name = "cursor", .type = ARG_STRING, .min = 1, .max = 512,
	  .description = "next_cursor from the previous page; omit for the first page." },
	{ 0 }
};

static const struct arg_spec upsert_customer_args[] = {
	CUSTOMER_ID(1, "Your identifier for the customer, 1-64 of [A-Za-z0-9_.:-]."),
	{ .name = "name", .type = ARG_STRING, .required = 1, .min = 1, .max = 200,
	  .description = "Name shown on statements, 1-200 characters." },
	{ .name = "email", .type = ARG_STRING, .min = 3, .max = 254, .charset = CHARS_EMAIL,
	  .description = "Billing e-mail address." },
	{ .name = "address", .type = ARG_STRING, .min = 1, .max = 1000,
	  .description = "Postal address, up to 1000 characters (newlines allowed)." },
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
	{ .name = "tax_id", .type = ARG_STRING, .min = 1, .max = 64,
	  .description = "VAT number or other tax identifier." },
	{ .name = "email", .type = ARG_STRING, .min = 3, .max = 254, .charset = CHARS_EMAIL,
	  .description = "Contact e-mail address for billing questions." },
	{ .name = "phone", .type = ARG_STRING, .min = 1, .max = 64, .description = "Contact telephone." },
	{ .name = "payment_instructions", .type = ARG_STRING, .min = 1, .max = 1000,
	  .description = "How to pay (bank account, IBAN, reference to quote), printed on the remittance slip." },
	{ .name = "paper_size", .type = ARG_ENUM, .enum_values = "A4 Letter", .default_str = "A4",
	  .description = "Paper size of the PDFs: A4 (default) or Letter." },
	{ 0 }
};

static const struct arg_spec no_args[] = { { 0 } };

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

#define TS "{\"type\":\"string\"}"
#define NTS "{\"type\":[\"string\",\"null\"]}"
#define INT "{\"type\":\"integer\"}"
#define INVOICE_PROPS \
	"\"invoice_id\":{\"type\":\"string\",\"format\":\"uuid\"}," \
	"\"invoice_number\":" NTS "," \
	"\"status\":{\"type\":\"string\",\"enum\":[\"draft\",\"sent\",\"paid\",\"overdue\",\"void\"]}," \
	"\"customer_id\":" TS ",\"currency\":" TS "," \
	"\"total_cents\":" INT ",\"amount_paid_cents\":" INT ",\"amount_due_cents\":" INT "," \
	"\"due_date\":" TS ",\"memo\":" NTS ",\"issued_at\":" NTS ",\"created_at\":" TS
#define INVOICE_REQUIRED \
	"\"invoice_id\",\"status\",\"customer_id\",\"currency\",\"total_cents\",\"due_date\",\"created_at\""
#define INVOICE_SCHEMA "{\"type\":\"object\",\"properties\":{" INVOICE_PROPS "},\"required\":[" INVOICE_REQUIRED "]}"
#define LINE_ITEMS_SCHEMA "{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{" \
	"\"description\":" TS ",\"amount_cents\":" INT ",\"quantity\":" INT "," \
	"\"line_total_cents\":" INT "},\"required\":[\"description\",\"amount_cents\"," \
	"\"quantity\",\"line_total_cents\"]}}"
#define PAYMENT_PROPS \
	"\"payment_id\":{\"type\":\"string\",\"format\":\"uuid\"},\"amount_cents\":" INT "," \
	"\"paid_at\":" TS ",\"method\":" NTS ",\"reference\":" NTS
#define FULL_INVOICE_SCHEMA "{\"type\":\"object\",\"properties\":{" INVOICE_PROPS "," \
	"\"void_reason\":" NTS ",\"voided_at\":" NTS ",\"line_items\":" LINE_ITEMS_SCHEMA "," \
	"\"payments\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{" \
	PAYMENT_PROPS "}}}},\"required\":[" INVOICE_REQUIRED ",\"line_items\",\"payments\"]}"
/* Aging buckets: amounts by days past due as of as_of. */
#define AGING_PROPS "\"current\":" INT ",\"days_1_30\":" INT ",\"days_31_60\":" INT "," \
	"\"days_61_90\":" INT ",\"days_over_90\":" INT
#define PROFILE_PROPS \
	"\"legal_name\":" TS ",\"address\":" NTS ",\"tax_id\":" NTS ",\"email\":" NTS "," \
	"\"phone\":" NTS ",\"payment_instructions\":" NTS "," \
	"\"paper_size\":{\"type\":\"string\",\"enum\":[\"A4\",\"Letter\"]},\"updated_at\":" TS
#define NINT "{\"type\":[\"integer\",\"null\"]}"
#define STATEMENT_SCHEMA "{\"type\":\"object\",\"properties\":{" \
	"\"statement_id\":" TS ",\"type\":{\"type\":\"string\",\"enum\":[\"activity\",\"open_item\"]}," \
	"\"currency\":" TS ",\"currency_exponent\":" INT ",\"statement_date\":" TS "," \
	"\"period_start\":" TS ",\"period_end\":" TS "," \
	"\"seller\":{\"type\":[\"object\",\"null\"]},\"customer\":{\"type\":\"object\"}," \
	"\"summary\":{\"type\":\"object\",\"properties\":{\"opening_balance_cents\":" INT "," \
	"\"invoiced_cents\":" INT ",\"payments_cents\":" INT ",\"closing_balance_cents\":" INT "," \
	"\"overdue_cents\":" INT ",\"amount_due_cents\":" INT "}}," \
	"\"aging\":{\"type\":\"object\",\"properties\":{" AGING_PROPS ",\"total\":" INT "}}," \
	"\"lines\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{" \
	"\"date\":" TS ",\"type\":{\"type\":\"string\",\"enum\":[\"invoice\",\"payment\",\"void\"]}," \
	"\"document\":" NTS ",\"due_date\":" NTS ",\"reference\":" NTS ",\"debit_cents\":" INT "," \
	"\"credit_cents\":" INT ",\"balance_cents\":" INT ",\"original_cents\":" INT "," \
	"\"paid_cents\":" INT ",\"open_cents\":" INT ",\"days_past_due\":" INT "}}}," \
	"\"pdf\":{\"type\":\"object\",\"properties\":{\"uri\":" TS ",\"mimeType\":" TS "," \
	"\"size\":" INT ",\"pages\":" NINT "}}}," \
	"\"required\":[\"statement_id\",\"type\",\"currency\",\"statement_date\",\"period_start\"," \
	"\"summary\",\"aging\",\"lines\"]}"
#define CUSTOMER_PROPS \
	"\"customer_id\":" TS ",\"name\":" NTS ",\"email\":" NTS ",\"address\":" NTS ","

static const struct tool_def tool_table[] = {
	{
		.name = "create_invoice",
		.title = "Create invoice",
		.description = "Create a draft invoice for a customer from line items (unit price in "
		               "minor units times quantity). Returns invoice_id and totals; pass "
		               "invoice_id to the other invoice tools. Use list_invoices to find "
		               "existing invoices before creating a duplicate.",
		.scope = "invoices:write",
		.args = create_invoice_args,
		.output_schema = "{\"type\":\"object\",\"properties\":{" INVOICE_PROPS ","
			"\"line_items\":" LINE_ITEMS_SCHEMA "},\"required\":[" INVOICE_REQUIRED ",\"line_items\"]}",
		.prepare = tool_create_invoice,
	},
	{
		.name = "list_invoices",
		.title = "List invoices",
		.description = "List a customer's invoices, newest first, optionally by status "
		               "(overdue = sent and past due with an amount due). Pages of up to 100; "
		               "pass next_cursor back as cursor for the next page (null at the end).",
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
		.description = "Everything about one invoice: number, status, line items, payments, "
		               "total_cents, amount_paid_cents, amount_due_cents and dates. Use "
		               "list_invoices to find an invoice_id.",
		.scope = "invoices:read",
		.read_only = 1,
		.idempotent = 1,
		.args = invoice_id_args,
		.output_schema = FULL_INVOICE_SCHEMA,
		.prepare = tool_get_invoice,
	},
	{
		.name = "send_invoice",
		.title = "Send invoice",
		.description = "Mark a draft invoice as sent: assigns the tenant's next invoice number "
		               "(INV-000001, no gaps) and issued_at. Sending an already sent invoice "
		               "returns it unchanged. Payments can be applied only after sending.",
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
		.description = "Create or update a customer's details (name, email, address) used on "
		               "statements. Invoices may reference a customer_id before it has details.",
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
		.description = "A customer's details and invoice counts. A customer_id used on invoices "
		               "but never saved with upsert_customer answers with has_details false.",
		.scope = "invoices:read",
		.read_only = 1,
		.idempotent = 1,
		.args = get_customer_args,
		.output_schema = "{\"type\":\"object\",\"properties\":{" CUSTOMER_PROPS
			"\"has_details\":{\"type\":\"boolean\"},\"invoice_count\":" INT ","
			"\"open_invoice_count\":" INT "},\"required\":[\"customer_id\",\"has_details\","
			"\"invoice_count\"]}",
		.prepare = tool_get_customer,
	},
	{
		.name = "upsert_business_profile",
		.title = "Save business profile",
		.description = "Create or replace the seller details printed on statements and invoice "
		               "PDFs: legal name, address, tax id, contact, payment instructions, paper "
		               "size (A4 or Letter). One profile per tenant.",
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
		.description = "A customer's statement in one currency as of period_end: opening balance, "
		               "invoiced, payments, closing balance, overdue, lines (activity: with running "
		               "balance; open_item: open invoices) and aging buckets (current, 1-30, 31-60, "
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
		.description = "One invoice as a PDF document (seller, customer, number, dates, lines, "
		               "totals, payments, amount due): structuredContent as get_invoice plus a "
		               "resource_link to the PDF; with inline true the PDF is also embedded.",
		.scope = "invoices:read",
		.read_only = 1,
		.idempotent = 1,
		.args = get_invoice_pdf_args,
		.output_schema = FULL_INVOICE_SCHEMA,
		.prepare = tool_get_invoice_pdf,
		.finish = tool_get_invoice_pdf_finish,
		.document = DOC_INVOICE,
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

const char *tool_args_fingerprint(struct tool_call *call)
{
	json_object_put(call->holder);
	call->holder = json_object_new_object();
	json_object_object_foreach(call->args, key, val) {
		if (strcmp(key, "idempotency_key") != 0)
			json_object_object_add(call->holder, key, json_object_get(val));
	}
	return json_object_to_json_string_ext(call->holder, JSON_C_TO_STRING_PLAIN);
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
	size_t n = strlen(v);
	const char *p = vals;

	if (n == 0)
		return 0;
	while ((p = strstr(p, v)) != NULL) {
		if ((p == vals || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
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
				tool_error_set(err, "INVALID_INPUT", path, 0, "%s must be %s, got '%.*s'",
				               path, charset_rule(sp->charset), utf8_clip(s, len, 70), s);
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

json_object *tools_validate(const struct tool_def *def, json_object *raw, struct tool_error *err)
{
	json_object *empty = NULL, *out;

	if (!raw)
		raw = empty = json_object_new_object();
	out = validate_object(def->args, raw, "", err);
	json_object_put(empty);
	return out;
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
