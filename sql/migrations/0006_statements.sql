-- 0006_statements.sql - the seller's business profile and customer
-- statements computed as of a period end (plus the data of one invoice
-- document). Read by the PDF tools; the renderer process never touches the
-- database: the worker sends it what these functions return.
--
-- Dates: an invoice counts from the UTC date it was sent (issued_at), a
-- payment from the UTC date of paid_at, but never before its invoice's
-- date (a back-dated payment cannot precede the debt it settles). Void
-- invoices count nowhere: voiding is allowed only without payments, so a
-- void invoice never changed what the customer owes; it is listed as a
-- zero line on the date it was voided. Drafts are not on statements.

CREATE TABLE business_profiles (
	tenant_id            text        PRIMARY KEY,
	legal_name           text        NOT NULL CHECK (char_length(legal_name) BETWEEN 1 AND 200),
	address              text        CHECK (char_length(address) <= 1000),
	tax_id               text        CHECK (char_length(tax_id) <= 64),  -- the VAT id (tools: vat_id, alias tax_id)
	email                text        CHECK (char_length(email) <= 254),
	phone                text        CHECK (char_length(phone) <= 64),
	payment_instructions text        CHECK (char_length(payment_instructions) <= 1000),
	paper_size           text        NOT NULL DEFAULT 'A4' CHECK (paper_size IN ('A4', 'Letter')),
	-- create_invoice without a currency uses it (USD when NULL).
	default_currency     char(3)     CHECK (default_currency ~ '^[A-Z]{3}$'),
	created_at           timestamptz NOT NULL DEFAULT clock_timestamp(),
	updated_at           timestamptz NOT NULL DEFAULT clock_timestamp()
);
ALTER TABLE business_profiles ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON business_profiles
	USING (tenant_id = current_setting('app.tenant_id', true))
	WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT, INSERT, UPDATE ON business_profiles TO mcp_invoiced_app;
