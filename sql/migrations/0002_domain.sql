-- 0002_domain.sql - the rest of the invoice domain: customers, payments
-- (append-only), gapless per-tenant invoice numbers, idempotency keys claimed
-- in the same transaction as the write, and an audit row for every change.
-- Every table is tenant-scoped and under row-level security.

CREATE TABLE customers (
	tenant_id   text        NOT NULL,
	customer_id text        NOT NULL CHECK (customer_id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
	name        text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
	email       text        CHECK (char_length(email) <= 254),
	address     text        CHECK (char_length(address) <= 1000),
	vat_id      text        CHECK (char_length(vat_id) <= 64),  -- VAT or other tax id (tool alias: tax_id)
	created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
	updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
	PRIMARY KEY (tenant_id, customer_id)
);

CREATE TABLE payments (
	payment_id   uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	tenant_id    text        NOT NULL,
	invoice_id   uuid        NOT NULL REFERENCES invoices (invoice_id),
	amount_cents bigint      NOT NULL CHECK (amount_cents > 0),
	currency     char(3)     NOT NULL,
	paid_at      timestamptz NOT NULL,
	method       text        CHECK (char_length(method) <= 40),
	reference    text        CHECK (char_length(reference) <= 200),
	created_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX payments_by_invoice ON payments (invoice_id, created_at);

-- Payments are append-only: no role may change or remove one.
CREATE FUNCTION mcp_payments_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'payments are append-only' USING ERRCODE = 'MI422';
END $$;
CREATE TRIGGER payments_append_only BEFORE UPDATE OR DELETE ON payments
	FOR EACH ROW EXECUTE FUNCTION mcp_payments_append_only();

CREATE TABLE invoice_counters (
	tenant_id   text   PRIMARY KEY,
	last_number bigint NOT NULL CHECK (last_number >= 0)
);

CREATE TABLE idempotency_keys (
	tenant_id    text        NOT NULL,
	tool         text        NOT NULL,
	key          text        NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
	request_hash bytea       NOT NULL,
	response     jsonb,
	created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
	PRIMARY KEY (tenant_id, tool, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

CREATE TABLE audit_log (
	audit_id    bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id   text        NOT NULL,
	subject     text        NOT NULL,
	tool        text        NOT NULL,
	object_id   text        NOT NULL,
	request_id  text        NOT NULL,
	at          timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX audit_by_object ON audit_log (tenant_id, object_id);

-- Outstanding balances read open invoices only: a partial index keeps paid,
-- void and draft invoices out of the scan entirely.
CREATE INDEX invoices_open ON invoices (tenant_id, customer_id, currency)
	INCLUDE (due_date, total_cents, amount_paid_cents) WHERE status = 'sent';

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['customers', 'payments', 'invoice_counters', 'idempotency_keys', 'audit_log'] LOOP
		EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON %I'
		               ' USING (tenant_id = current_setting(''app.tenant_id'', true))'
		               ' WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true))', t);
	END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE ON customers, invoice_counters, idempotency_keys TO mcp_invoiced_app;
GRANT SELECT, INSERT ON payments, audit_log TO mcp_invoiced_app;
