-- 0001_invoices.sql - invoices and line items, with row-level security.
-- Applied by `mcp-invoiced migrate` as the owning role. The server connects
-- as mcp_invoiced_app, which owns nothing and is not a superuser, so the
-- policies below bind it. Every tool function (sql/functions) sets
-- app.tenant_id for its own transaction from the token's tenant with
-- mcp_as_tenant, and every query also filters on it.

-- The role the grants below name. Created here (without LOGIN) when the
-- migrating role may create roles; otherwise it must exist beforehand.
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mcp_invoiced_app') THEN
		BEGIN
			CREATE ROLE mcp_invoiced_app NOLOGIN;
		EXCEPTION WHEN insufficient_privilege THEN
			RAISE EXCEPTION 'role mcp_invoiced_app must exist before migrating (see README: Database)';
		END;
	END IF;
END $$;

CREATE TABLE invoices (
	invoice_id        uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	tenant_id         text        NOT NULL CHECK (tenant_id ~ '^[A-Za-z0-9_.:@-]{1,128}$'),
	customer_id       text        NOT NULL CHECK (customer_id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
	status            text        NOT NULL DEFAULT 'draft'
	                              CHECK (status IN ('draft', 'sent', 'paid', 'void')),
	currency          char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	total_cents       bigint      NOT NULL CHECK (total_cents >= 0),
	amount_paid_cents bigint      NOT NULL DEFAULT 0
	                              CHECK (amount_paid_cents >= 0 AND amount_paid_cents <= total_cents),
	due_date          date        NOT NULL,
	memo              text        CHECK (char_length(memo) <= 2000),
	invoice_number    text,
	issued_at         timestamptz,
	voided_at         timestamptz,
	void_reason       text,
	created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
	CHECK (status <> 'paid' OR amount_paid_cents = total_cents),
	CHECK ((status = 'draft') = (invoice_number IS NULL) OR status = 'void'),
	UNIQUE (tenant_id, invoice_number)
);

-- list_invoices: one tenant's customer, newest first, keyset-paginated.
CREATE INDEX invoices_by_customer ON invoices (tenant_id, customer_id, created_at DESC, invoice_id DESC);

CREATE TABLE invoice_line_items (
	invoice_id       uuid    NOT NULL REFERENCES invoices (invoice_id) ON DELETE CASCADE,
	position         integer NOT NULL CHECK (position >= 0),
	tenant_id        text    NOT NULL,
	description      text    NOT NULL CHECK (char_length(description) BETWEEN 1 AND 500),
	amount_cents     bigint  NOT NULL CHECK (amount_cents >= 0),
	quantity         integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000000),
	line_total_cents bigint  NOT NULL CHECK (line_total_cents = amount_cents * quantity),
	PRIMARY KEY (invoice_id, position)
);

ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoice_line_items ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invoices
	USING (tenant_id = current_setting('app.tenant_id', true))
	WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY tenant_isolation ON invoice_line_items
	USING (tenant_id = current_setting('app.tenant_id', true))
	WITH CHECK (tenant_id = current_setting('app.tenant_id', true));

GRANT SELECT, INSERT, UPDATE ON invoices, invoice_line_items TO mcp_invoiced_app;
