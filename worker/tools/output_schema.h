/*
 * output_schema.h - the JSON Schema fragments (as C string literals) the
 * tool table's output schemas are built from: an invoice, its lines, a
 * payment, a credit note, balances, a profile, a statement, the printed
 * documents. Included by tools.c only; runs wherever the tool table does.
 */
#ifndef MCPI_OUTPUT_SCHEMA_H
#define MCPI_OUTPUT_SCHEMA_H

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
	"\"due_date\":" TS ",\"memo\":" NTS ",\"issued_at\":" NTS ",\"created_at\":" TS "," \
	"\"buyer_reference\":" NTS ",\"purchase_order\":" NTS ",\"delivery_date\":" NTS "," \
	"\"payment_terms\":" NTS ",\"rounding_cents\":" INT
#define INVOICE_REQUIRED \
	"\"invoice_id\",\"status\",\"customer_id\",\"currency\",\"total_cents\",\"due_date\",\"created_at\""
#define INVOICE_SCHEMA "{\"type\":\"object\",\"properties\":{" INVOICE_PROPS "},\"required\":[" INVOICE_REQUIRED "]}"
#define LINE_ITEMS_SCHEMA "{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{" \
	"\"description\":" TS ",\"amount_cents\":" INT ",\"quantity\":" INT "," \
	"\"subtotal_cents\":" INT ",\"discount_bps\":" INT ",\"discount_cents\":" INT "," \
	"\"tax_code\":" NTS ",\"tax_rate_bps\":{\"type\":[\"integer\",\"null\"]}," \
	"\"tax_inclusive\":{\"type\":\"boolean\"},\"tax_cents\":" INT "," \
	"\"unit_code\":" TS ",\"tax_category\":" NTS "," \
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
/* Present when the call succeeded but has something the agent should know. */
#define WARNINGS "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}"
#define FULL_INVOICE_SCHEMA "{\"type\":\"object\",\"properties\":{" INVOICE_PROPS ",\"warnings\":" WARNINGS "," \
	"\"void_reason\":" NTS ",\"voided_at\":" NTS ",\"line_items\":" LINE_ITEMS_SCHEMA "," \
	"\"payments\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{" \
	PAYMENT_PROPS ",\"reversed\":{\"type\":\"boolean\"}}}}," \
	"\"credit_notes\":" ARRAY_OF(CREDIT_NOTE_SCHEMA) "," \
	"\"credits_applied\":" ARRAY_OF("{\"type\":\"object\"}") "}," \
	"\"required\":[" INVOICE_REQUIRED ",\"line_items\",\"payments\"]}"
#define BALANCES_SCHEMA ARRAY_OF("{\"type\":\"object\",\"properties\":{\"currency\":" TS "," \
	"\"outstanding_cents\":" INT ",\"open_invoice_count\":" INT ",\"credit_cents\":" INT "}}")
#define TAX_RATE_PROPS "\"code\":" TS ",\"name\":" TS ",\"rate_bps\":" INT "," \
	"\"inclusive\":{\"type\":\"boolean\"},\"category\":" TS ",\"exemption_reason\":" NTS "," \
	"\"exemption_reason_code\":" NTS
/* Aging buckets: amounts by days past due as of as_of. */
#define AGING_PROPS "\"current\":" INT ",\"days_1_30\":" INT ",\"days_31_60\":" INT "," \
	"\"days_61_90\":" INT ",\"days_over_90\":" INT
/* The structured address and e-invoice identifiers of a seller or buyer. */
#define EINVOICE_PARTY_PROPS \
	"\"postal_address\":{\"anyOf\":[{\"type\":\"null\"},{\"type\":\"object\",\"properties\":{" \
	"\"lines\":{\"type\":\"array\",\"items\":" TS "},\"city\":" TS ",\"postal_code\":" NTS "," \
	"\"country_code\":" TS ",\"region\":" NTS "}}]},\"legal_id\":" NTS "," \
	"\"electronic_address\":{\"anyOf\":[{\"type\":\"null\"},{\"type\":\"object\",\"properties\":{" \
	"\"scheme\":" TS ",\"id\":" TS "}}]}"

#define PROFILE_PROPS \
	"\"legal_name\":" TS ",\"address\":" NTS ",\"vat_id\":" NTS ",\"tax_id\":" NTS "," \
	"\"email\":" NTS ",\"phone\":" NTS ",\"payment_instructions\":" NTS "," \
	"\"paper_size\":{\"type\":\"string\",\"enum\":[\"A4\",\"Letter\"]}," \
	"\"default_currency\":" NTS ",\"updated_at\":" TS "," EINVOICE_PARTY_PROPS "," \
	"\"iban\":" NTS ",\"bic\":" NTS ",\"contact_name\":" NTS
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
	"\"size\":" INT ",\"pages\":" NINT ",\"inline\":{\"type\":\"boolean\"}}}}," \
	"\"required\":[\"statement_id\",\"type\",\"currency\",\"statement_date\",\"period_start\"," \
	"\"summary\",\"aging\",\"lines\"]}"
/* Whether a document's PDF is Factur-X, and if not what it lacks. */
#define FACTURX_PROPS "\"facturx\":{\"type\":\"boolean\"},\"facturx_missing\":" \
	ARRAY_OF("{\"type\":\"object\",\"properties\":{\"term\":" NTS ",\"name\":" TS ",\"argument\":" NTS "}}")
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
	"\"pdf\":{\"type\":\"object\"}," FACTURX_PROPS "}," \
	"\"required\":[" INVOICE_REQUIRED ",\"line_items\",\"payments\",\"vat_summary\",\"settlements\"," \
	"\"facturx\"]}"
#define CREDIT_NOTE_DOCUMENT_SCHEMA "{\"type\":\"object\",\"properties\":{" \
	"\"credit_note_id\":{\"type\":\"string\",\"format\":\"uuid\"},\"credit_note_number\":" TS "," \
	"\"invoice_id\":" TS ",\"invoice_number\":" NTS ",\"invoice_date\":" NTS "," \
	"\"invoice_total_cents\":" INT ",\"customer_id\":" TS ",\"currency\":" TS "," \
	"\"currency_exponent\":" INT ",\"amount_cents\":" INT ",\"applied_to_invoice_cents\":" INT "," \
	"\"customer_credit_cents\":" INT ",\"reason\":" TS ",\"document_date\":" TS "," \
	"\"line_items\":" ARRAY_OF("{\"type\":\"object\",\"properties\":{\"description\":" TS "," \
	"\"amount_cents\":" INT ",\"quantity\":" INT ",\"line_total_cents\":" INT "}}") "," \
	"\"seller\":{\"type\":[\"object\",\"null\"]},\"customer\":{\"type\":\"object\"}," \
	"\"pdf\":{\"type\":\"object\"}," FACTURX_PROPS "}," \
	"\"required\":[\"credit_note_id\",\"credit_note_number\",\"invoice_id\",\"currency\"," \
	"\"amount_cents\",\"document_date\",\"line_items\",\"facturx\"]}"
#define CUSTOMER_PROPS \
	"\"customer_id\":" TS ",\"name\":" NTS ",\"email\":" NTS ",\"address\":" NTS "," \
	"\"vat_id\":" NTS ",\"tax_id\":" NTS "," EINVOICE_PARTY_PROPS ",\"buyer_reference\":" NTS ","

#endif
