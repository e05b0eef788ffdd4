-- 0005_receivables.sql - receivables an accountant can trust: finding
-- invoices and customers, editing drafts, per-line tax and discounts,
-- credit notes (gaplessly numbered CN-000001 per tenant), customer credit
-- per currency, and payment reversals. Every money rule is a CHECK
-- constraint or a trigger here, so no SQL path can break it.
--
-- Amounts on an invoice (all bigint minor units):
--   total_cents        what the invoice bills (lines after discount, plus exclusive tax)
--   amount_paid_cents  money received less reversed payments (net)
--   reversed_cents     payments reversed (informational; already out of amount_paid_cents)
--   credited_cents     credit that reduced the amount due: the unpaid part of credit
--                      notes plus customer credit spent with apply_credit
--   credit_notes_cents all credit notes issued on the invoice (<= total_cents)
--   amount due         total_cents - amount_paid_cents - credited_cents >= 0
-- i.e. due = total - paid - credited + reversed, with paid counted gross.
-- The part of a credit note above the amount due becomes customer credit
-- (customer_credits, per customer and currency, never negative).
--
-- For statements (see README "Receivables and statements"): a customer's
-- ledger is invoices (issued_at, total_cents), payments (paid_at),
-- payment_reversals (created_at, negative payment), credit_notes
-- (created_at, amount_cents) and credit_applications (created_at; moves
-- customer credit onto an invoice, no change to the net balance).

CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;

-- ---- tax rates ----

CREATE TABLE tax_rates (
	tenant_id  text        NOT NULL,
	code       text        NOT NULL CHECK (code ~ '^[A-Za-z0-9_.:-]{1,32}$'),
	name       text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
	rate_bps   integer     NOT NULL CHECK (rate_bps BETWEEN 0 AND 10000),
	inclusive  boolean     NOT NULL,
	created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	PRIMARY KEY (tenant_id, code)
);

-- ---- invoice columns ----

ALTER TABLE invoices
	ADD COLUMN subtotal_cents     bigint NOT NULL DEFAULT 0 CHECK (subtotal_cents >= 0),
	ADD COLUMN discount_cents     bigint NOT NULL DEFAULT 0 CHECK (discount_cents >= 0),
	ADD COLUMN tax_cents          bigint NOT NULL DEFAULT 0 CHECK (tax_cents >= 0),
	ADD COLUMN tax_breakdown      jsonb  NOT NULL DEFAULT '[]',
	ADD COLUMN credited_cents     bigint NOT NULL DEFAULT 0 CHECK (credited_cents >= 0),
	ADD COLUMN credit_notes_cents bigint NOT NULL DEFAULT 0 CHECK (credit_notes_cents >= 0),
	ADD COLUMN reversed_cents     bigint NOT NULL DEFAULT 0 CHECK (reversed_cents >= 0);
UPDATE invoices SET subtotal_cents = total_cents;
-- An invoice sent with nothing to pay (a total of 0) is paid: nothing is due.
UPDATE invoices SET status = 'paid' WHERE status = 'sent' AND total_cents = amount_paid_cents;

-- 0001's "paid means amount_paid_cents = total_cents" no longer holds once
-- credit notes reduce what is due; the rules below replace it.
DO $$
DECLARE
	c record;
BEGIN
	FOR c IN SELECT conname FROM pg_constraint
	          WHERE conrelid = 'invoices'::regclass AND contype = 'c'
	            AND pg_get_constraintdef(oid) LIKE '%(amount_paid_cents = total_cents)%' LOOP
		EXECUTE format('ALTER TABLE invoices DROP CONSTRAINT %I', c.conname);
	END LOOP;
	FOR c IN SELECT conname FROM pg_constraint
	          WHERE conrelid = 'invoice_line_items'::regclass AND contype = 'c'
	            AND pg_get_constraintdef(oid) LIKE '%line_total_cents = (amount_cents * quantity)%' LOOP
		EXECUTE format('ALTER TABLE invoice_line_items DROP CONSTRAINT %I', c.conname);
	END LOOP;
END $$;

ALTER TABLE invoices
	ADD CONSTRAINT invoices_amount_due_nonnegative
		CHECK (total_cents - amount_paid_cents - credited_cents >= 0),
	ADD CONSTRAINT invoices_credit_notes_within_total CHECK (credit_notes_cents <= total_cents),
	ADD CONSTRAINT invoices_credited_within_total CHECK (credited_cents <= total_cents),
	-- paid exactly when nothing is due (so sent means something is due, and
	-- overdue is sent with a due date in the past: ranges an index can serve)
	ADD CONSTRAINT invoices_paid_iff_nothing_due CHECK (
		(status <> 'paid' OR total_cents - amount_paid_cents - credited_cents = 0) AND
		(status <> 'sent' OR total_cents - amount_paid_cents - credited_cents > 0)),
	-- mcp_send_invoice never dates a sending before the creation (even if the
	-- clock stepped back); list_invoices' issue-date ranges rely on it.
	ADD CONSTRAINT invoices_issued_after_created CHECK (issued_at >= created_at);

-- ---- line items: tax and discount, priced by a rule the database checks ----

ALTER TABLE invoice_line_items
	ADD COLUMN discount_bps   integer NOT NULL DEFAULT 0 CHECK (discount_bps BETWEEN 0 AND 10000),
	ADD COLUMN discount_cents bigint  NOT NULL DEFAULT 0,
	ADD COLUMN tax_code       text,
	ADD COLUMN tax_rate_bps   integer CHECK (tax_rate_bps BETWEEN 0 AND 10000),
	ADD COLUMN tax_inclusive  boolean NOT NULL DEFAULT false,
	ADD COLUMN tax_cents      bigint  NOT NULL DEFAULT 0;

-- Per line, rounded half away from zero (numeric round) to the minor unit:
--   discount = round(amount * quantity * discount_bps / 10000)
--   net      = amount * quantity - discount
--   tax      = round(net * rate / 10000)            (exclusive: added to the line)
--            = round(net * rate / (10000 + rate))   (inclusive: contained in net)
--   line_total = net + (exclusive ? tax : 0)
-- The rule is a PL/pgSQL function so that the check's expression is one
-- call: PostgreSQL 15 rebuilds every CHECK expression from its stored text
-- for each INSERT or UPDATE statement, and this one spelled out inline was
-- a tenth of create_invoice's database time (measured).
CREATE FUNCTION mcp_line_priced(amount_cents bigint, quantity integer, discount_bps integer,
                                discount_cents bigint, tax_code text, tax_rate_bps integer,
                                tax_inclusive boolean, tax_cents bigint, line_total_cents bigint)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	gross numeric := amount_cents::numeric * quantity;
	net numeric := gross - discount_cents;
BEGIN
	RETURN (tax_code IS NULL) = (tax_rate_bps IS NULL) AND (tax_code IS NOT NULL OR NOT tax_inclusive)
	   AND discount_cents = round(gross * discount_bps / 10000)
	   AND tax_cents = CASE WHEN tax_rate_bps IS NULL THEN 0
	                        WHEN tax_inclusive THEN round(net * tax_rate_bps / (10000 + tax_rate_bps))
	                        ELSE round(net * tax_rate_bps / 10000) END
	   AND line_total_cents = net + CASE WHEN tax_inclusive THEN 0 ELSE tax_cents END;
END $$;
ALTER TABLE invoice_line_items ADD CONSTRAINT line_items_priced CHECK (
	mcp_line_priced(amount_cents, quantity, discount_bps, discount_cents, tax_code, tax_rate_bps,
	                tax_inclusive, tax_cents, line_total_cents));

-- ---- credit notes, customer credit, reversals ----

CREATE TABLE credit_note_counters (
	tenant_id   text   PRIMARY KEY,
	last_number bigint NOT NULL CHECK (last_number >= 0)
);

CREATE TABLE credit_notes (
	credit_note_id        uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	tenant_id             text        NOT NULL,
	credit_note_number    text        NOT NULL,
	invoice_id            uuid        NOT NULL REFERENCES invoices (invoice_id),
	customer_id           text        NOT NULL,
	currency              char(3)     NOT NULL,
	amount_cents          bigint      NOT NULL CHECK (amount_cents > 0 AND amount_cents <= 999999999999999),
	applied_cents         bigint      NOT NULL CHECK (applied_cents >= 0),
	customer_credit_cents bigint      NOT NULL CHECK (customer_credit_cents >= 0),
	reason                text        NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 500),
	line_items            jsonb,
	created_at            timestamptz NOT NULL DEFAULT clock_timestamp(),
	CHECK (applied_cents + customer_credit_cents = amount_cents),
	UNIQUE (tenant_id, credit_note_number)
);
-- The by-invoice indexes carry tenant_id: a look-up by invoice under the
-- policy then binds more columns of them than of any index leading with
-- tenant_id, so they win whatever the statistics say (docs/database.md "Plans that hold on day one").
CREATE INDEX credit_notes_by_invoice ON credit_notes (invoice_id, tenant_id, created_at);
CREATE INDEX credit_notes_by_customer ON credit_notes (tenant_id, customer_id, created_at);

CREATE TABLE customer_credits (
	tenant_id     text    NOT NULL,
	customer_id   text    NOT NULL,
	currency      char(3) NOT NULL,
	balance_cents bigint  NOT NULL CHECK (balance_cents >= 0),
	PRIMARY KEY (tenant_id, customer_id, currency)
);

CREATE TABLE credit_applications (
	application_id uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	tenant_id      text        NOT NULL,
	customer_id    text        NOT NULL,
	currency       char(3)     NOT NULL,
	invoice_id     uuid        NOT NULL REFERENCES invoices (invoice_id),
	amount_cents   bigint      NOT NULL CHECK (amount_cents > 0),
	created_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX credit_applications_by_invoice ON credit_applications (invoice_id, tenant_id, created_at);
CREATE INDEX credit_applications_by_customer ON credit_applications (tenant_id, customer_id, created_at);

CREATE TABLE payment_reversals (
	reversal_id  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	tenant_id    text        NOT NULL,
	payment_id   uuid        NOT NULL UNIQUE REFERENCES payments (payment_id),
	invoice_id   uuid        NOT NULL REFERENCES invoices (invoice_id),
	amount_cents bigint      NOT NULL CHECK (amount_cents > 0),
	currency     char(3)     NOT NULL,
	reason       text        NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 500),
	created_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX payment_reversals_by_invoice ON payment_reversals (invoice_id, created_at);

CREATE FUNCTION mcp_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% rows are append-only: correct them with a new row', TG_TABLE_NAME
		USING ERRCODE = 'MI422';
END $$;
CREATE TRIGGER credit_notes_append_only BEFORE UPDATE OR DELETE ON credit_notes
	FOR EACH ROW EXECUTE FUNCTION mcp_append_only();
CREATE TRIGGER credit_applications_append_only BEFORE UPDATE OR DELETE ON credit_applications
	FOR EACH ROW EXECUTE FUNCTION mcp_append_only();
CREATE TRIGGER payment_reversals_append_only BEFORE UPDATE OR DELETE ON payment_reversals
	FOR EACH ROW EXECUTE FUNCTION mcp_append_only();

-- Nothing about a sent invoice changes in place except what payments,
-- reversals and credits move (amounts and the paid/sent status) and voiding.
CREATE FUNCTION mcp_invoice_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		RAISE EXCEPTION 'invoices are never deleted; void it instead' USING ERRCODE = 'MI422';
	END IF;
	IF OLD.status = 'draft' THEN
		RETURN NEW;
	END IF;
	IF NEW.status = 'draft' OR OLD.status = 'void' OR
	   (NEW.customer_id, NEW.currency, NEW.total_cents, NEW.subtotal_cents, NEW.discount_cents,
	    NEW.tax_cents, NEW.tax_breakdown, NEW.due_date, NEW.memo, NEW.invoice_number, NEW.issued_at,
	    NEW.created_at) IS DISTINCT FROM
	   (OLD.customer_id, OLD.currency, OLD.total_cents, OLD.subtotal_cents, OLD.discount_cents,
	    OLD.tax_cents, OLD.tax_breakdown, OLD.due_date, OLD.memo, OLD.invoice_number, OLD.issued_at,
	    OLD.created_at) THEN
		RAISE EXCEPTION 'invoice % is % and can no longer change; correct it with create_credit_note',
			OLD.invoice_number, OLD.status USING ERRCODE = 'MI422', DETAIL = 'invoice_id';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER invoices_immutable_after_sending BEFORE UPDATE OR DELETE ON invoices
	FOR EACH ROW EXECUTE FUNCTION mcp_invoice_immutable();

-- A line belongs to a draft invoice of its own tenant. SECURITY DEFINER
-- (the owner is not subject to row-level security), so the look-up is by
-- primary key alone and the tenant is compared here: with a tenant_id
-- condition in the query (the caller's policy, or one written here) the
-- planner could take an index leading with tenant_id, and on a new database
-- with no statistics yet it did and kept that plan, reading every invoice
-- of the tenant per line inserted (measured: create_invoice at a quarter
-- of its rate until autovacuum first analyzed the table).
CREATE FUNCTION mcp_line_items_draft_only() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public AS $$
DECLARE
	line invoice_line_items := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
	st text;
	owner_tenant text;
BEGIN
	SELECT status, tenant_id INTO st, owner_tenant FROM invoices WHERE invoice_id = line.invoice_id;
	IF owner_tenant IS DISTINCT FROM line.tenant_id THEN
		st := NULL;
	END IF;
	IF st IS DISTINCT FROM 'draft' THEN
		RAISE EXCEPTION 'line items of a % invoice never change; correct it with create_credit_note', st
			USING ERRCODE = 'MI422', DETAIL = 'invoice_id';
	END IF;
	RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER line_items_draft_only BEFORE INSERT OR UPDATE OR DELETE ON invoice_line_items
	FOR EACH ROW EXECUTE FUNCTION mcp_line_items_draft_only();

-- ---- indexes (see README "Indexes") ----

-- Outstanding balances and per-customer balances: index-only over open invoices.
DROP INDEX invoices_open;
CREATE INDEX invoices_open ON invoices (tenant_id, customer_id, currency)
	INCLUDE (due_date, total_cents, amount_paid_cents, credited_cents) WHERE status = 'sent';
-- list_invoices without customer_id: newest first, by due date, issue date, total.
CREATE INDEX invoices_by_tenant_created ON invoices (tenant_id, created_at DESC, invoice_id DESC);
-- The range indexes carry both sort keys, so the matches of a range can be
-- sorted from the index alone (see mcp_find_invoices).
-- By due date, and (read backwards within one due day) newest first.
CREATE INDEX invoices_by_tenant_due ON invoices (tenant_id, due_date, created_at, invoice_id);
CREATE INDEX invoices_by_tenant_issued ON invoices (tenant_id, issued_at) INCLUDE (created_at, invoice_id, due_date)
	WHERE issued_at IS NOT NULL;
CREATE INDEX invoices_by_tenant_total ON invoices (tenant_id, total_cents) INCLUDE (created_at, invoice_id, due_date);
-- status sent/overdue (overdue = sent and due before today), by due date and newest first.
CREATE INDEX invoices_open_by_due ON invoices (tenant_id, due_date, created_at, invoice_id) WHERE status = 'sent';
CREATE INDEX invoices_open_by_created ON invoices (tenant_id, created_at DESC, invoice_id DESC)
	INCLUDE (due_date) WHERE status = 'sent';
-- list_customers: case-insensitive prefix search on id, name and e-mail.
-- Row-level security lets only leakproof operators into index conditions:
-- lower() is not, but the byte-wise text_pattern_ops comparisons are, so
-- the lower-case forms are stored (generated columns) and compared as ranges.
ALTER TABLE customers
	ADD COLUMN search_id    text GENERATED ALWAYS AS (lower(customer_id)) STORED,
	ADD COLUMN search_name  text GENERATED ALWAYS AS (lower(name)) STORED,
	ADD COLUMN search_email text GENERATED ALWAYS AS (lower(email)) STORED;
CREATE INDEX customers_by_search_id ON customers (tenant_id, search_id text_pattern_ops) INCLUDE (customer_id);
CREATE INDEX customers_by_search_name ON customers (tenant_id, search_name text_pattern_ops) INCLUDE (customer_id);
CREATE INDEX customers_by_search_email ON customers (tenant_id, search_email text_pattern_ops) INCLUDE (customer_id);

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['tax_rates', 'credit_note_counters', 'credit_notes', 'customer_credits',
	                         'credit_applications', 'payment_reversals'] LOOP
		EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON %I'
		               ' USING (tenant_id = current_setting(''app.tenant_id'', true))'
		               ' WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true))', t);
	END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE ON tax_rates, credit_note_counters, customer_credits TO mcp_invoiced_app;
GRANT SELECT, INSERT ON credit_notes, credit_applications, payment_reversals TO mcp_invoiced_app;
-- Replacing a draft's lines (the trigger refuses it for any other invoice).
GRANT DELETE ON invoice_line_items TO mcp_invoiced_app;
