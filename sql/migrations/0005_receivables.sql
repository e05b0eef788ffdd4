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
-- tenant_id, so they win whatever the statistics say (0009_plans.sql).
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

-- ---- JSON views ----

CREATE OR REPLACE FUNCTION mcp_invoice_json(i invoices) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'invoice_id', i.invoice_id,
		'invoice_number', i.invoice_number,
		'status', CASE WHEN i.status = 'sent' AND i.due_date < current_date
		                    AND i.total_cents - i.amount_paid_cents - i.credited_cents > 0
		               THEN 'overdue' ELSE i.status END,
		'customer_id', i.customer_id,
		'currency', i.currency,
		'subtotal_cents', i.subtotal_cents,
		'discount_cents', i.discount_cents,
		'tax_cents', i.tax_cents,
		'tax_breakdown', i.tax_breakdown,
		'total_cents', i.total_cents,
		'amount_paid_cents', i.amount_paid_cents,
		'amount_reversed_cents', i.reversed_cents,
		'credited_cents', i.credited_cents,
		'credit_notes_cents', i.credit_notes_cents,
		'amount_due_cents', CASE WHEN i.status = 'void' THEN 0
		                         ELSE i.total_cents - i.amount_paid_cents - i.credited_cents END,
		'due_date', to_char(i.due_date, 'YYYY-MM-DD'),
		'memo', i.memo,
		'issued_at', mcp_ts(i.issued_at),
		'created_at', mcp_ts(i.created_at))
$$;

-- PL/pgSQL: it reads columns 0010_einvoice.sql adds (bound when called).
CREATE FUNCTION mcp_line_json(l invoice_line_items) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('description', l.description, 'amount_cents', l.amount_cents,
		'quantity', l.quantity, 'unit_code', l.unit_code, 'subtotal_cents', l.amount_cents::numeric * l.quantity,
		'discount_bps', l.discount_bps, 'discount_cents', l.discount_cents,
		'tax_code', l.tax_code, 'tax_rate_bps', l.tax_rate_bps, 'tax_inclusive', l.tax_inclusive,
		'tax_category', l.tax_category, 'tax_cents', l.tax_cents, 'line_total_cents', l.line_total_cents);
END $$;

-- An invoice's e-invoice terms (0010_einvoice.sql) and its rounding (BT-114).
CREATE FUNCTION mcp_invoice_terms_json(i invoices) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('buyer_reference', i.buyer_reference, 'purchase_order', i.purchase_order,
		'delivery_date', to_char(i.delivery_date, 'YYYY-MM-DD'), 'payment_terms', i.payment_terms,
		'rounding_cents', i.rounding_cents);
END $$;

CREATE FUNCTION mcp_credit_note_json(n credit_notes) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('credit_note_id', n.credit_note_id,
		'credit_note_number', n.credit_note_number, 'invoice_id', n.invoice_id,
		'customer_id', n.customer_id, 'currency', n.currency, 'amount_cents', n.amount_cents,
		'applied_to_invoice_cents', n.applied_cents, 'customer_credit_cents', n.customer_credit_cents,
		'reason', n.reason, 'line_items', n.line_items, 'created_at', mcp_ts(n.created_at))
$$;

CREATE OR REPLACE FUNCTION mcp_invoice_full(i invoices) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN mcp_invoice_json(i) || mcp_invoice_terms_json(i) || jsonb_build_object(
		'void_reason', i.void_reason,
		'voided_at', mcp_ts(i.voided_at),
		'line_items', COALESCE((SELECT jsonb_agg(mcp_line_json(l) ORDER BY l.position)
			FROM invoice_line_items l WHERE l.invoice_id = i.invoice_id AND l.tenant_id = i.tenant_id), '[]'),
		'payments', COALESCE((SELECT jsonb_agg(jsonb_build_object(
				'payment_id', p.payment_id, 'amount_cents', p.amount_cents, 'paid_at', mcp_ts(p.paid_at),
				'method', p.method, 'reference', p.reference,
				'reversed', r.reversal_id IS NOT NULL,
				'reversal', CASE WHEN r.reversal_id IS NOT NULL THEN jsonb_build_object(
					'reversal_id', r.reversal_id, 'reason', r.reason, 'reversed_at', mcp_ts(r.created_at)) END)
				ORDER BY p.created_at)
			FROM payments p LEFT JOIN payment_reversals r ON r.payment_id = p.payment_id
			WHERE p.invoice_id = i.invoice_id AND p.tenant_id = i.tenant_id), '[]'),
		'credit_notes', COALESCE((SELECT jsonb_agg(mcp_credit_note_json(n) ORDER BY n.created_at)
			FROM credit_notes n WHERE n.invoice_id = i.invoice_id AND n.tenant_id = i.tenant_id), '[]'),
		'credits_applied', COALESCE((SELECT jsonb_agg(jsonb_build_object(
				'application_id', a.application_id, 'amount_cents', a.amount_cents,
				'applied_at', mcp_ts(a.created_at)) ORDER BY a.created_at)
			FROM credit_applications a WHERE a.invoice_id = i.invoice_id AND a.tenant_id = i.tenant_id), '[]'));
END $$;

-- What one customer owes and holds, per currency.
CREATE FUNCTION mcp_customer_balances(p_tenant text, p_customer text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT COALESCE(jsonb_agg(jsonb_build_object('currency', cur,
		'outstanding_cents', COALESCE(o.due, 0), 'open_invoice_count', COALESCE(o.n, 0),
		'credit_cents', COALESCE(cr.balance, 0)) ORDER BY cur), '[]')
	  -- the kept balances (0011_balances.sql), per currency
	  FROM (SELECT currency AS cur, b.due, b.n FROM mcp_open_by_currency(p_tenant, p_customer) b) o
	  FULL JOIN (SELECT currency AS cur, balance_cents AS balance FROM customer_credits
	              WHERE tenant_id = p_tenant AND customer_id = p_customer AND balance_cents > 0) cr
	 USING (cur));
END $$;

-- The status an issued invoice has after its amounts moved.
CREATE FUNCTION mcp_settled_status(i invoices) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN i.total_cents - i.amount_paid_cents - i.credited_cents = 0 THEN 'paid' ELSE 'sent' END
$$;

-- ---- pricing ----

-- Prices validated items (description, amount_cents, quantity,
-- discount_bps?, tax_code?, unit_code?) by the rule above, as line rows without an
-- invoice_id (the caller sets it). An unknown tax_code is INVALID_INPUT.
CREATE FUNCTION mcp_price_lines(p_tenant text, p_items jsonb) RETURNS SETOF invoice_line_items
LANGUAGE plpgsql STABLE AS $$
DECLARE
	item record;
	rate tax_rates;
	v_code text;
	v_gross numeric;
	v_disc numeric;
	v_net numeric;
	v_tax numeric;
	v_bps int;
	line invoice_line_items;
BEGIN
	FOR item IN SELECT e, (n - 1)::int AS pos FROM jsonb_array_elements(p_items) WITH ORDINALITY AS o(e, n)
	            ORDER BY n LOOP
		v_code := item.e->>'tax_code';
		rate := NULL;
		IF v_code IS NOT NULL THEN
			SELECT * INTO rate FROM tax_rates t WHERE t.tenant_id = p_tenant AND t.code = v_code;
			IF NOT FOUND THEN
				RAISE EXCEPTION 'line_items[%].tax_code: no tax rate "%" for this tenant (known: %); create it with upsert_tax_rate',
					item.pos, v_code,
					COALESCE((SELECT string_agg(code, ', ' ORDER BY code) FROM tax_rates WHERE tenant_id = p_tenant), 'none')
					USING ERRCODE = 'MI400', DETAIL = format('line_items[%s].tax_code', item.pos);
			END IF;
		END IF;
		v_gross := (item.e->>'amount_cents')::numeric * (item.e->>'quantity')::numeric;
		v_bps := COALESCE((item.e->>'discount_bps')::int, 0);
		v_disc := round(v_gross * v_bps / 10000);
		v_net := v_gross - v_disc;
		v_tax := CASE WHEN rate.code IS NULL THEN 0
		              WHEN rate.inclusive THEN round(v_net * rate.rate_bps / (10000 + rate.rate_bps))
		              ELSE round(v_net * rate.rate_bps / 10000) END;
		line := ROW(NULL, item.pos, p_tenant, item.e->>'description', (item.e->>'amount_cents')::bigint,
		            (item.e->>'quantity')::int, 0, v_bps, v_disc::bigint, rate.code, rate.rate_bps,
		            COALESCE(rate.inclusive, false), v_tax::bigint);
		line.line_total_cents := (v_net + CASE WHEN rate.inclusive THEN 0 ELSE v_tax END)::bigint;
		line.unit_code := COALESCE(item.e->>'unit_code', 'C62');
		line.tax_category := rate.category;
		line.tax_exemption_reason := rate.exemption_reason;
		line.tax_exemption_code := rate.exemption_reason_code;
		RETURN NEXT line;
	END LOOP;
END $$;

-- An invoice's totals from its priced lines (document-level VAT, see
-- 0010_einvoice.sql): per VAT category and rate, tax = round(sum of the
-- lines' net x rate); each tax code's entry in the breakdown gets its
-- share (floor of its exact share, the group's remaining units one each to
-- the largest fractions), so the entries add up to the group's tax. total
-- = the lines after discount + the exclusive entries' tax; rounding (BT-114)
-- = the VAT the inclusive lines contain less their entries' tax.
CREATE FUNCTION mcp_line_totals(p_lines invoice_line_items[], OUT subtotal bigint, OUT discount bigint,
                                OUT tax bigint, OUT total bigint, OUT breakdown jsonb, OUT rounding bigint)
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	SELECT COALESCE(sum(amount_cents::numeric * quantity), 0), COALESCE(sum(discount_cents), 0),
	       COALESCE(sum(amount_cents::numeric * quantity - discount_cents), 0)
	  INTO subtotal, discount, total
	  FROM unnest(p_lines);
	WITH c AS (
		SELECT tax_code, tax_rate_bps AS r, tax_inclusive AS incl, tax_category AS cat,
		       sum(amount_cents::numeric * quantity - discount_cents
		           - CASE WHEN tax_inclusive THEN tax_cents ELSE 0 END) AS taxable,
		       sum(CASE WHEN tax_inclusive THEN tax_cents ELSE 0 END) AS contained
		  FROM unnest(p_lines) WHERE tax_code IS NOT NULL GROUP BY 1, 2, 3, 4),
	s AS (
		SELECT c.*, floor(taxable * r / 10000) AS fl,
		       round(sum(taxable) OVER g * r / 10000) - sum(floor(taxable * r / 10000)) OVER g AS extra,
		       row_number() OVER (PARTITION BY cat, r ORDER BY taxable * r / 10000 - floor(taxable * r / 10000) DESC,
		                                                        tax_code, incl) AS rk
		  FROM c WINDOW g AS (PARTITION BY cat, r)),
	a AS (SELECT s.*, fl + CASE WHEN rk <= extra THEN 1 ELSE 0 END AS t FROM s)
	SELECT COALESCE(sum(t), 0), total + COALESCE(sum(t) FILTER (WHERE NOT incl), 0),
	       COALESCE(sum(contained - t) FILTER (WHERE incl), 0),
	       COALESCE(jsonb_agg(jsonb_build_object('tax_code', tax_code, 'rate_bps', r, 'inclusive', incl,
	                                             'category', cat, 'taxable_cents', taxable, 'tax_cents', t)
	                          ORDER BY tax_code, r, incl), '[]')
	  INTO tax, total, rounding, breakdown
	  FROM a;
END $$;

CREATE FUNCTION mcp_insert_lines(p_invoice uuid, p_lines invoice_line_items[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO invoice_line_items
	SELECT p_invoice, l.position, l.tenant_id, l.description, l.amount_cents, l.quantity,
	       l.line_total_cents, l.discount_bps, l.discount_cents, l.tax_code, l.tax_rate_bps,
	       l.tax_inclusive, l.tax_cents, l.unit_code, l.tax_category, l.tax_exemption_reason,
	       l.tax_exemption_code
	  FROM unnest(p_lines) l;
END $$;

-- ---- tools: invoices ----

-- Replaced by the versions below (create_invoice gains require_known_customer;
-- list_invoices and get_invoice by mcp_find_invoices and mcp_get_invoice_by).
DROP FUNCTION mcp_create_invoice(text, text, text, text, text, date, text, jsonb, text, jsonb);
DROP FUNCTION mcp_list_invoices(text, text, text, int, bigint, uuid);
DROP FUNCTION mcp_get_invoice(text, uuid);

-- The closest saved customer ids to p_customer (by edit distance), for messages.
CREATE FUNCTION mcp_closest_customers(p_tenant text, p_customer text) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT COALESCE(string_agg(customer_id, ', ' ORDER BY d, customer_id), 'none saved yet')
	  FROM (SELECT customer_id, levenshtein(lower(left(customer_id, 64)), lower(p_customer)) AS d
	          FROM customers WHERE tenant_id = p_tenant
	         ORDER BY 2, 1 LIMIT 3) c
$$;

CREATE FUNCTION mcp_create_invoice(p_tenant text, p_subject text, p_request text,
                                   p_customer text, p_currency text, p_due_date date,
                                   p_memo text, p_items jsonb, p_key text, p_args jsonb,
                                   p_require_known boolean)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	inv invoices;
	lines invoice_line_items[];
	known boolean;
	result jsonb;
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
	result := mcp_idempotency_claim(p_tenant, 'create_invoice', p_key, p_args);
	IF result IS NOT NULL THEN
		RETURN result;
	END IF;
	known := EXISTS (SELECT 1 FROM customers WHERE tenant_id = p_tenant AND customer_id = p_customer);
	IF NOT known AND p_require_known THEN
		RAISE EXCEPTION 'customer_id "%" is not a saved customer (require_known_customer is on); closest: %; save it with upsert_customer first',
			p_customer, mcp_closest_customers(p_tenant, p_customer)
			USING ERRCODE = 'MI400', DETAIL = 'customer_id';
	END IF;
	-- Priced first, so the invoice row is written once, with its totals.
	lines := ARRAY(SELECT l FROM mcp_price_lines(p_tenant, p_items) l);
	-- The e-invoice terms (0010) come from the arguments themselves.
	INSERT INTO invoices (tenant_id, customer_id, currency, subtotal_cents, discount_cents, tax_cents,
	                      total_cents, tax_breakdown, rounding_cents, due_date, memo, buyer_reference,
	                      purchase_order, delivery_date, payment_terms)
	-- Without a currency: the tenant's default_currency (business profile,
	-- 0006), else USD.
	SELECT p_tenant, p_customer,
	       COALESCE(p_currency, (SELECT b.default_currency FROM business_profiles b WHERE b.tenant_id = p_tenant),
	                'USD'),
	       t.subtotal, t.discount, t.tax, t.total, t.breakdown, t.rounding,
	       COALESCE(p_due_date, current_date + 30), p_memo, p_args->>'buyer_reference',
	       p_args->>'purchase_order', (p_args->>'delivery_date')::date, p_args->>'payment_terms'
	  FROM mcp_line_totals(lines) t
	RETURNING * INTO inv;
	PERFORM mcp_insert_lines(inv.invoice_id, lines);
	result := mcp_invoice_json(inv) || mcp_invoice_terms_json(inv) || jsonb_build_object('line_items',
		(SELECT jsonb_agg(mcp_line_json(l) ORDER BY l.position) FROM unnest(lines) l),
		'customer_known', known);
	-- The hint stays cheap: the closest saved ids (an edit-distance scan of
	-- the tenant's customers) are only looked up for the refusal above.
	IF NOT known THEN
		result := result || jsonb_build_object('hint', format(
			'no customer "%s" has been saved; if this is a new customer call upsert_customer, '
			'otherwise check the id (list_customers with query finds saved ones)', p_customer));
	END IF;
	PERFORM mcp_idempotency_store(p_tenant, 'create_invoice', p_key, result);
	PERFORM mcp_audit(p_tenant, p_subject, 'create_invoice', inv.invoice_id::text, p_request);
	RETURN result;
END $$;

CREATE FUNCTION mcp_get_invoice_by(p_tenant text, p_invoice uuid, p_number text)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	inv invoices;
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
	IF p_invoice IS NOT NULL THEN
		RETURN mcp_invoice_full(mcp_invoice_or_404(p_tenant, p_invoice, false));
	END IF;
	SELECT * INTO inv FROM invoices WHERE tenant_id = p_tenant AND invoice_number = p_number;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no invoice numbered % for this tenant; use list_invoices to find one', p_number
			USING ERRCODE = 'MI404', DETAIL = 'number';
	END IF;
	RETURN mcp_invoice_full(inv);
END $$;

-- list_invoices of one customer, newest first, no other filter: the page
-- an agent asks for most. Static SQL with a generic plan, so it is planned
-- once per session (the dynamic SQL of mcp_find_invoices costs about 0.5
-- ms of planning a call), and a plan that holds whatever the statistics
-- say or said when it was made: with sequential scans, bitmap scans and
-- sorts off, the only plans left are ordered index scans, and
-- invoices_by_customer, the one index that binds both the tenant and the
-- customer, costs least of them at any table size (README "Database").
CREATE FUNCTION mcp_customer_invoices(p_tenant text, p_customer text, p_limit int, p_after_key text,
                                      p_after_id uuid)
RETURNS jsonb LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_bitmapscan = off
SET enable_sort = off AS $$
DECLARE
	result jsonb;
BEGIN
	WITH page AS (
		SELECT i AS inv, i.created_at AS c, i.invoice_id AS id,
		       row_number() OVER (ORDER BY i.created_at DESC, i.invoice_id DESC) AS rn
		  FROM invoices i
		 WHERE i.tenant_id = p_tenant AND i.customer_id = p_customer
		   AND (i.created_at, i.invoice_id) <
		       (COALESCE(timestamptz 'epoch' + p_after_key::bigint * interval '1 microsecond', 'infinity'),
		        COALESCE(p_after_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
		 ORDER BY i.created_at DESC, i.invoice_id DESC LIMIT p_limit + 1)
	SELECT jsonb_build_object(
		'invoices', COALESCE(jsonb_agg(mcp_invoice_json(inv) ORDER BY rn) FILTER (WHERE rn <= p_limit), '[]'),
		'next', CASE WHEN count(*) > p_limit THEN
			(SELECT jsonb_build_object('key', (extract(epoch FROM p.c) * 1000000)::bigint::text, 'id', p.id)
			   FROM page p WHERE p.rn = p_limit) END)
	  INTO result FROM page;
	RETURN result;
END $$;

-- list_invoices over every filter. The WHERE clause holds only the filters
-- given, so each call is planned for its own values. Newest first is
-- (created_at DESC, invoice_id DESC); by due date (due_date, created_at,
-- invoice_id); both are index orders. A range filter on a column the sort
-- does not follow could make "walk the sort index until a page is found"
-- read most of the table when the matches lie far down it, so the page's ids
-- are found first by a plan of its own (see README "Receivables reads at
-- scale") and then the page is fetched by id:
--   * issue-date range, newest first: an invoice is never issued before it
--     was created (invoices_issued_after_created), so with c the earliest
--     creation among the latest-issued page of matches, no match issued
--     before c can be newer than any of that page: the page lies among the
--     matches issued from c on;
--   * due-date range of under 400 days, newest first: the newest page of
--     each due day (invoices_by_tenant_due), merged;
--   * other ranges: up to 2,000 matches through the range's own index,
--     sorted; when there are more (the matches are dense), the next 1,000
--     rows in sort order, and only if they hold no full page every match's
--     sort keys from the range index, sorted.
-- p_filter is the validated arguments object.
CREATE FUNCTION mcp_find_invoices(p_tenant text, p_filter jsonb, p_limit int, p_after_key text,
                                  p_after_id uuid)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	w text := 'i.tenant_id = $1';
	keyset text := '';
	by_due boolean := p_filter->>'sort' = 'due_date';
	ord text;
	unordered text;
	keyexpr text;
	ids uuid[];
	n bigint;
	result jsonb;
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
	IF NOT by_due AND p_filter ? 'customer_id' AND p_filter - 'sort' - 'customer_id' = '{}' THEN
		RETURN mcp_customer_invoices(p_tenant, p_filter->>'customer_id', p_limit, p_after_key, p_after_id);
	END IF;
	IF p_filter ? 'customer_id' THEN w := w || ' AND i.customer_id = ($2->>''customer_id'')'; END IF;
	IF p_filter ? 'number' THEN w := w || ' AND i.invoice_number = ($2->>''number'')'; END IF;
	IF p_filter ? 'currency' THEN w := w || ' AND i.currency = ($2->>''currency'')::char(3)'; END IF;
	IF p_filter ? 'issued_from' THEN
		w := w || ' AND i.issued_at >= (($2->>''issued_from'')::date::timestamp AT TIME ZONE ''UTC'')';
	END IF;
	IF p_filter ? 'issued_to' THEN
		w := w || ' AND i.issued_at < ((($2->>''issued_to'')::date + 1)::timestamp AT TIME ZONE ''UTC'')';
	END IF;
	IF p_filter ? 'due_from' THEN w := w || ' AND i.due_date >= ($2->>''due_from'')::date'; END IF;
	IF p_filter ? 'due_to' THEN w := w || ' AND i.due_date <= ($2->>''due_to'')::date'; END IF;
	IF p_filter ? 'min_total_cents' THEN
		w := w || ' AND i.total_cents >= ($2->>''min_total_cents'')::bigint';
	END IF;
	IF p_filter ? 'max_total_cents' THEN
		w := w || ' AND i.total_cents <= ($2->>''max_total_cents'')::bigint';
	END IF;
	-- A sent invoice always has something due (invoices_paid_iff_nothing_due).
	CASE p_filter->>'status'
	WHEN 'overdue' THEN
		w := w || ' AND i.status = ''sent'' AND i.due_date < current_date';
	WHEN 'sent' THEN
		w := w || ' AND i.status = ''sent'' AND i.due_date >= current_date';
	ELSE
		IF p_filter ? 'status' THEN w := w || ' AND i.status = ($2->>''status'')'; END IF;
	END CASE;
	-- Positions (cursor keys) are digits: microseconds since the epoch, or
	-- for by due date YYYYMMDD followed by them.
	IF by_due THEN
		ord := 'i.due_date, i.created_at, i.invoice_id';
		unordered := '(i.due_date + 0), (i.created_at + interval ''0 s''), i.invoice_id';
		keyexpr := 'to_char(i.due_date, ''YYYYMMDD'') || (extract(epoch FROM i.created_at) * 1000000)::bigint';
		IF length(p_after_key) <= 8 THEN
			RAISE EXCEPTION 'cursor is from an earlier version of list_invoices; omit it to start from the first page'
				USING ERRCODE = 'MI400', DETAIL = 'cursor';
		ELSIF p_after_key IS NOT NULL THEN
			keyset := ' AND (i.due_date, i.created_at, i.invoice_id) > (to_date(left($3, 8), ''YYYYMMDD''),'
			          ' timestamptz ''epoch'' + substr($3, 9)::bigint * interval ''1 microsecond'', $4)';
		END IF;
	ELSE
		ord := 'i.created_at DESC, i.invoice_id DESC';
		unordered := '(i.created_at + interval ''0 s'') DESC, i.invoice_id DESC';
		keyexpr := '(extract(epoch FROM i.created_at) * 1000000)::bigint::text';
		IF p_after_key IS NOT NULL THEN
			keyset := ' AND (i.created_at, i.invoice_id) < '
			          '(timestamptz ''epoch'' + $3::bigint * interval ''1 microsecond'', $4)';
		END IF;
	END IF;
	IF NOT by_due AND p_filter ?| ARRAY['issued_from', 'issued_to'] THEN
		EXECUTE format($q$
			SELECT array(SELECT i.invoice_id FROM invoices i WHERE %1$s %2$s AND i.issued_at >=
			                    (SELECT min(c) FROM (SELECT i.created_at AS c FROM invoices i WHERE %1$s %2$s
			                                          ORDER BY i.issued_at DESC LIMIT $5 + 1) latest)
			              ORDER BY %3$s LIMIT $5 + 1) $q$, w, keyset, unordered)
		  INTO ids USING p_tenant, p_filter, p_after_key, p_after_id, p_limit;
		w := 'i.tenant_id = $1 AND i.invoice_id = ANY($6)';  -- the page is exactly these
	ELSIF NOT by_due AND p_filter ? 'due_from' AND p_filter ? 'due_to'
	      AND (p_filter->>'due_to')::date - (p_filter->>'due_from')::date < 400 THEN
		EXECUTE format($q$
			SELECT array(SELECT x.id
			  FROM generate_series(0, ($2->>'due_to')::date - ($2->>'due_from')::date) d(n),
			    LATERAL (SELECT i.invoice_id AS id, i.created_at AS c FROM invoices i
			              WHERE %1$s AND i.due_date = ($2->>'due_from')::date + d.n %2$s
			              ORDER BY %3$s LIMIT $5 + 1) x
			  ORDER BY x.c DESC, x.id DESC LIMIT $5 + 1) $q$, w, keyset, ord)
		  INTO ids USING p_tenant, p_filter, p_after_key, p_after_id, p_limit;
		w := 'i.tenant_id = $1 AND i.invoice_id = ANY($6)';
	ELSIF p_filter ?| ARRAY['issued_from', 'issued_to', 'min_total_cents', 'max_total_cents']
	   OR (NOT by_due AND p_filter ?| ARRAY['due_from', 'due_to']) THEN
		EXECUTE format($q$
			SELECT count(*), (array_agg(i.invoice_id ORDER BY %3$s))[1:$5 + 1] FROM (
				SELECT i.invoice_id, i.created_at, i.due_date FROM invoices i WHERE %1$s %2$s LIMIT 2001) i $q$,
			w, keyset, ord)
		  INTO n, ids USING p_tenant, p_filter, p_after_key, p_after_id, p_limit;
		IF n > 2000 THEN
			EXECUTE format($q$
				SELECT array_agg(id ORDER BY rn) FILTER (WHERE ok AND hits <= $5 + 1), count(*) FROM (
					SELECT id, ok, rn, count(*) FILTER (WHERE ok) OVER (ORDER BY rn) AS hits FROM (
						SELECT i.invoice_id AS id, COALESCE(%1$s, false) AS ok,
						       row_number() OVER (ORDER BY %2$s) AS rn
						  FROM invoices i WHERE i.tenant_id = $1 %3$s ORDER BY %2$s LIMIT 1000) s) t $q$,
				w, ord, keyset)
			  INTO ids, n USING p_tenant, p_filter, p_after_key, p_after_id, p_limit;
			IF n = 1000 AND COALESCE(cardinality(ids), 0) <= p_limit THEN
				EXECUTE format('SELECT array(SELECT i.invoice_id FROM invoices i WHERE %s %s ORDER BY %s LIMIT $5 + 1)',
				               w, keyset, unordered)
				  INTO ids USING p_tenant, p_filter, p_after_key, p_after_id, p_limit;
			END IF;
		END IF;
		w := 'i.tenant_id = $1 AND i.invoice_id = ANY($6)';
	END IF;
	EXECUTE format($q$
		WITH page AS (
			SELECT i AS inv, %2$s AS k, i.invoice_id AS id, row_number() OVER (ORDER BY %1$s) AS n
			  FROM invoices i WHERE %3$s %4$s ORDER BY %1$s LIMIT $5 + 1)
		SELECT jsonb_build_object(
			'invoices', COALESCE(jsonb_agg(mcp_invoice_json(inv) ORDER BY n) FILTER (WHERE n <= $5), '[]'),
			'next', CASE WHEN count(*) > $5 THEN
				(SELECT jsonb_build_object('key', p.k, 'id', p.id) FROM page p WHERE p.n = $5) END)
		  FROM page $q$, ord, keyexpr, w, keyset)
	  INTO result USING p_tenant, p_filter, p_after_key, p_after_id, p_limit, ids;
	RETURN result;
END $$;

CREATE FUNCTION mcp_update_invoice(p_tenant text, p_subject text, p_request text, p_invoice uuid,
                                   p_customer text, p_currency text, p_due_date date, p_memo text,
                                   p_items jsonb, p_terms jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	inv invoices;
	lines invoice_line_items[];
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
	inv := mcp_invoice_or_404(p_tenant, p_invoice, true);
	IF inv.status = 'void' THEN
		RAISE EXCEPTION 'invoice % is void and cannot change; create a new invoice instead', p_invoice
			USING ERRCODE = 'MI422', DETAIL = 'invoice_id';
	ELSIF inv.status <> 'draft' THEN
		RAISE EXCEPTION 'invoice % (%) has been sent and is immutable; to correct it issue a credit note with create_credit_note (and create a new invoice if something is still owed)',
			inv.invoice_number, p_invoice USING ERRCODE = 'MI422', DETAIL = 'invoice_id';
	END IF;
	UPDATE invoices SET customer_id = COALESCE(p_customer, customer_id),
	                    currency = COALESCE(p_currency, currency),
	                    due_date = COALESCE(p_due_date, due_date),
	                    memo = COALESCE(p_memo, memo),
	                    buyer_reference = COALESCE(p_terms->>'buyer_reference', buyer_reference),
	                    purchase_order = COALESCE(p_terms->>'purchase_order', purchase_order),
	                    delivery_date = COALESCE((p_terms->>'delivery_date')::date, delivery_date),
	                    payment_terms = COALESCE(p_terms->>'payment_terms', payment_terms)
	 WHERE invoice_id = p_invoice RETURNING * INTO inv;
	IF p_items IS NOT NULL THEN
		lines := ARRAY(SELECT l FROM mcp_price_lines(p_tenant, p_items) l);
		DELETE FROM invoice_line_items WHERE invoice_id = p_invoice;
		PERFORM mcp_insert_lines(p_invoice, lines);
		UPDATE invoices SET (subtotal_cents, discount_cents, tax_cents, total_cents, tax_breakdown,
		                     rounding_cents) =
		       (SELECT subtotal, discount, tax, total, breakdown, rounding FROM mcp_line_totals(lines))
		 WHERE invoice_id = p_invoice RETURNING * INTO inv;
	END IF;
	PERFORM mcp_audit(p_tenant, p_subject, 'update_invoice', p_invoice::text, p_request);
	RETURN mcp_invoice_full(inv);
END $$;

-- Sending an invoice with nothing to pay (total 0) makes it paid at once.
CREATE OR REPLACE FUNCTION mcp_send_invoice(p_tenant text, p_subject text, p_request text, p_invoice uuid)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	inv invoices;
	num bigint;
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
	inv := mcp_invoice_or_404(p_tenant, p_invoice, true);
	IF inv.status IN ('sent', 'paid') THEN
		RETURN mcp_invoice_full(inv);  -- already sent: unchanged
	END IF;
	IF inv.status = 'void' THEN
		RAISE EXCEPTION 'invoice % is void and cannot be sent', p_invoice
			USING ERRCODE = 'MI422', DETAIL = 'invoice_id';
	END IF;
	-- The counter row lock serializes a tenant's sends; a rollback undoes the
	-- increment, so numbers have no gaps.
	INSERT INTO invoice_counters AS c (tenant_id, last_number) VALUES (p_tenant, 1)
	ON CONFLICT (tenant_id) DO UPDATE SET last_number = c.last_number + 1
	RETURNING last_number INTO num;
	UPDATE invoices SET status = mcp_settled_status(inv), invoice_number = 'INV-' || lpad(num::text, 6, '0'),
	                    issued_at = greatest(clock_timestamp(), inv.created_at)  -- a clock stepped back
	 WHERE invoice_id = p_invoice RETURNING * INTO inv;
	PERFORM mcp_audit(p_tenant, p_subject, 'send_invoice', p_invoice::text, p_request);
	-- Accepted, but said: the agent may have meant another date.
	IF inv.due_date < current_date THEN
		RETURN mcp_invoice_full(inv) || jsonb_build_object('warnings', jsonb_build_array(format(
			'due_date %s had already passed when the invoice was sent: it is overdue at once '
			'(update_invoice cannot change a sent invoice; void it and create another if that was not meant)',
			inv.due_date)));
	END IF;
	RETURN mcp_invoice_full(inv);
END $$;

-- Amounts now include credits: what is due is total - paid - credited.
CREATE OR REPLACE FUNCTION mcp_apply_payment(p_tenant text, p_subject text, p_request text, p_invoice uuid,
                                             p_amount bigint, p_paid_at timestamptz, p_method text,
                                             p_reference text, p_key text, p_args jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	inv invoices;
	pay payments;
	due bigint;
	result jsonb;
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
	result := mcp_idempotency_claim(p_tenant, 'apply_payment', p_key, p_args);
	IF result IS NOT NULL THEN
		RETURN result;
	END IF;
	-- The row lock makes racing payments take turns: none can overpay.
	inv := mcp_invoice_or_404(p_tenant, p_invoice, true);
	IF inv.status = 'draft' THEN
		RAISE EXCEPTION 'invoice % is a draft; send it with send_invoice before recording payments', p_invoice
			USING ERRCODE = 'MI422', DETAIL = 'invoice_id';
	ELSIF inv.status = 'paid' THEN
		RAISE EXCEPTION 'invoice % is already paid in full (% %); nothing is due',
			p_invoice, inv.total_cents, inv.currency USING ERRCODE = 'MI422', DETAIL = 'invoice_id';
	ELSIF inv.status = 'void' THEN
		RAISE EXCEPTION 'invoice % is void; payments cannot be applied', p_invoice
			USING ERRCODE = 'MI422', DETAIL = 'invoice_id';
	END IF;
	due := inv.total_cents - inv.amount_paid_cents - inv.credited_cents;
	IF p_amount > due THEN
		RAISE EXCEPTION 'amount_cents must be <= the amount due of % (% minor units), got %',
			due, inv.currency, p_amount USING ERRCODE = 'MI400', DETAIL = 'amount_cents';
	END IF;
	INSERT INTO payments (tenant_id, invoice_id, amount_cents, currency, paid_at, method, reference)
	VALUES (p_tenant, p_invoice, p_amount, inv.currency, COALESCE(p_paid_at, clock_timestamp()),
	        p_method, p_reference)
	RETURNING * INTO pay;
	inv.amount_paid_cents := inv.amount_paid_cents + p_amount;
	UPDATE invoices SET amount_paid_cents = inv.amount_paid_cents, status = mcp_settled_status(inv)
	 WHERE invoice_id = p_invoice RETURNING * INTO inv;
	result := jsonb_build_object(
		'payment', jsonb_build_object('payment_id', pay.payment_id, 'invoice_id', pay.invoice_id,
		                              'amount_cents', pay.amount_cents, 'currency', pay.currency,
		                              'paid_at', mcp_ts(pay.paid_at), 'method', pay.method,
		                              'reference', pay.reference),
		'invoice_id', inv.invoice_id,
		'status', mcp_invoice_json(inv)->'status',
		'amount_paid_cents', inv.amount_paid_cents,
		'amount_due_cents', inv.total_cents - inv.amount_paid_cents - inv.credited_cents);
	-- Accepted, but said: a statement counts the payment from the day the
	-- invoice was sent, never before.
	IF pay.paid_at < inv.issued_at THEN
		result := result || jsonb_build_object('warnings', jsonb_build_array(format(
			'paid_at %s is before the invoice was sent (%s): statements count the payment from the day '
			'the invoice was sent', mcp_ts(pay.paid_at), mcp_ts(inv.issued_at))));
	END IF;
	PERFORM mcp_idempotency_store(p_tenant, 'apply_payment', p_key, result);
	PERFORM mcp_audit(p_tenant, p_subject, 'apply_payment', pay.payment_id::text, p_request);
	RETURN result;
END $$;

CREATE OR REPLACE FUNCTION mcp_void_invoice(p_tenant text, p_subject text, p_request text, p_invoice uuid,
                                            p_reason text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	inv invoices;
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
	inv := mcp_invoice_or_404(p_tenant, p_invoice, true);
	IF inv.status = 'void' THEN
		RAISE EXCEPTION 'invoice % is already void (voided at %, reason: %); nothing to do',
			p_invoice, mcp_ts(inv.voided_at), inv.void_reason USING ERRCODE = 'MI422', DETAIL = 'invoice_id';
	END IF;
	IF inv.status = 'paid' OR inv.amount_paid_cents > 0 THEN
		RAISE EXCEPTION 'invoice % has payments (% of % paid) and cannot be voided',
			p_invoice, inv.amount_paid_cents, inv.total_cents USING ERRCODE = 'MI422', DETAIL = 'invoice_id';
	END IF;
	IF inv.credit_notes_cents > 0 OR inv.credited_cents > 0 THEN
		RAISE EXCEPTION 'invoice % has credit notes or applied credit and cannot be voided; credit the rest with create_credit_note',
			p_invoice USING ERRCODE = 'MI422', DETAIL = 'invoice_id';
	END IF;
	UPDATE invoices SET status = 'void', voided_at = clock_timestamp(), void_reason = p_reason
	 WHERE invoice_id = p_invoice RETURNING * INTO inv;
	PERFORM mcp_audit(p_tenant, p_subject, 'void_invoice', p_invoice::text, p_request);
	RETURN mcp_invoice_full(inv);
END $$;

CREATE OR REPLACE FUNCTION mcp_list_outstanding(p_tenant text, p_customer text, p_currency text, p_as_of date,
                                                p_limit int, p_after_customer text, p_after_currency text)
RETURNS jsonb LANGUAGE plpgsql STABLE
-- One generic plan, made whatever the statistics say (as for
-- mcp_customer_invoices): ordered index walks only, never a sort of a
-- tenant's rows (a fresh table's statistics otherwise chose a bitmap scan
-- and a sort of all 50,000 rows for each step of the walk: 1.6 s a page).
-- No JIT: the disabled plans' costs push the plan over jit_above_cost, and
-- compiling it took 2.8 s a call.
SET plan_cache_mode = force_generic_plan SET enable_bitmapscan = off SET enable_sort = off
SET jit = off AS $$
DECLARE
	-- where the page starts (a row comparison with these is an index bound)
	after_customer text := COALESCE(p_after_customer, '');
	after_currency char(3) := COALESCE(p_after_currency, '');
	result jsonb;
BEGIN
	-- From the kept balances (0011_balances.sql): the page's customers are
	-- found by one index descent each, then their open amounts per due
	-- date (folded sums plus deltas not yet folded) are aged as of p_as_of.
	-- A pending delta can empty a customer, so the walk takes as many extra
	-- customers as there are pending keys. Tenant totals come from the
	-- per-due-date sums, or with p_customer from that customer's rows.
	PERFORM set_config('app.tenant_id', p_tenant, true);
	p_as_of := COALESCE(p_as_of, current_date);
	WITH RECURSIVE pend AS (
		SELECT d.customer_id, d.currency, d.due_date, d.due_cents, d.invoice_count FROM balance_deltas d
		 WHERE d.tenant_id = p_tenant AND (p_customer IS NULL OR d.customer_id = p_customer)
		   AND (p_currency IS NULL OR d.currency = p_currency)),
	walk AS (
		(SELECT b.customer_id, b.currency FROM open_balances b
		  WHERE b.tenant_id = p_tenant AND (p_currency IS NULL OR b.currency = p_currency)
		    AND (b.customer_id, b.currency) > (after_customer, after_currency)
		  ORDER BY b.customer_id, b.currency LIMIT 1)
		UNION ALL
		SELECT nx.customer_id, nx.currency FROM walk w, LATERAL (
			SELECT b.customer_id, b.currency FROM open_balances b
			 WHERE b.tenant_id = p_tenant AND (p_currency IS NULL OR b.currency = p_currency)
			   AND (b.customer_id, b.currency) > (w.customer_id, w.currency)
			 ORDER BY b.customer_id, b.currency LIMIT 1) nx),
	cand AS (
		(SELECT * FROM walk WHERE p_customer IS NULL LIMIT p_limit + 1 + (SELECT count(*) FROM pend))
		UNION
		SELECT DISTINCT b.customer_id, b.currency FROM open_balances b
		 WHERE p_customer IS NOT NULL AND b.tenant_id = p_tenant AND b.customer_id = p_customer
		   AND (p_currency IS NULL OR b.currency = p_currency)
		UNION
		SELECT p.customer_id, p.currency FROM pend p
		 WHERE p_customer IS NOT NULL
		    OR (p.customer_id, p.currency) > (after_customer, after_currency)),
	-- Each candidate aged on its own, its rows (folded sums, pending
	-- deltas) summed as they come: sums are linear, and only the oldest
	-- due date needs the rows netted per date, when a delta is pending.
	per AS (
		SELECT c.customer_id, c.currency, a.*,
		       CASE WHEN NOT EXISTS (SELECT 1 FROM pend p WHERE p.customer_id = c.customer_id
		                                                 AND p.currency = c.currency)
		            THEN a.first_due
		            ELSE (SELECT min(x.due_date) FROM (
		                    SELECT b.due_date, b.invoice_count FROM open_balances b
		                     WHERE b.tenant_id = p_tenant AND b.customer_id = c.customer_id AND b.currency = c.currency
		                    UNION ALL
		                    SELECT p.due_date, p.invoice_count FROM pend p
		                     WHERE p.customer_id = c.customer_id AND p.currency = c.currency) x
		                  GROUP BY x.due_date HAVING sum(x.invoice_count) > 0 ORDER BY 1 LIMIT 1) END AS oldest
		  FROM cand c, LATERAL (
			SELECT sum(r.due_cents) AS outstanding, sum(r.due_cents) FILTER (WHERE r.days > 0) AS overdue,
			       sum(r.invoice_count) AS n, min(r.due_date) AS first_due,
			       sum(r.due_cents) FILTER (WHERE r.days <= 0) AS b0,
			       sum(r.due_cents) FILTER (WHERE r.days BETWEEN 1 AND 30) AS b1,
			       sum(r.due_cents) FILTER (WHERE r.days BETWEEN 31 AND 60) AS b2,
			       sum(r.due_cents) FILTER (WHERE r.days BETWEEN 61 AND 90) AS b3,
			       sum(r.due_cents) FILTER (WHERE r.days > 90) AS b4
			  FROM (SELECT b.due_date, b.due_cents, b.invoice_count, p_as_of - b.due_date AS days
			          FROM open_balances b
			         WHERE b.tenant_id = p_tenant AND b.customer_id = c.customer_id AND b.currency = c.currency
			        UNION ALL
			        SELECT p.due_date, p.due_cents, p.invoice_count, p_as_of - p.due_date FROM pend p
			         WHERE p.customer_id = c.customer_id AND p.currency = c.currency) r) a
		 WHERE a.n > 0),
	page AS (
		SELECT * FROM per
		 WHERE p_after_customer IS NULL OR (customer_id, currency) > (p_after_customer, p_after_currency)
		 ORDER BY customer_id, currency LIMIT p_limit + 1),
	numbered AS (SELECT page.*, row_number() OVER (ORDER BY customer_id, currency) AS rn FROM page),
	-- A due date whose rows net to no invoice nets to no amount either,
	-- so the totals sum the rows without grouping them by date first.
	tenant_totals AS (
		SELECT t.currency, sum(t.due) AS o, COALESCE(sum(t.due) FILTER (WHERE t.due_date < p_as_of), 0) AS od,
		       sum(t.n) AS n
		  FROM (SELECT o.currency, o.due_date, o.due_cents AS due, o.invoice_count AS n FROM open_totals o
		         WHERE o.tenant_id = p_tenant AND p_customer IS NULL
		           AND (p_currency IS NULL OR o.currency = p_currency)
		        UNION ALL
		        SELECT p.currency, p.due_date, p.due_cents, p.invoice_count FROM pend p WHERE p_customer IS NULL) t
		 GROUP BY t.currency HAVING sum(t.n) > 0
		UNION ALL  -- one customer's: from its rows, all of them candidates
		SELECT currency, sum(outstanding), COALESCE(sum(overdue), 0), sum(n)
		  FROM per WHERE p_customer IS NOT NULL GROUP BY currency)
	SELECT jsonb_build_object(
		'as_of', to_char(p_as_of, 'YYYY-MM-DD'),
		'balances', COALESCE((SELECT jsonb_agg(jsonb_build_object(
			'customer_id', customer_id, 'currency', currency,
			'outstanding_cents', outstanding, 'overdue_cents', COALESCE(overdue, 0),
			'invoice_count', n, 'oldest_due_date', to_char(oldest, 'YYYY-MM-DD'),
			'current', COALESCE(b0, 0), 'days_1_30', COALESCE(b1, 0),
			'days_31_60', COALESCE(b2, 0), 'days_61_90', COALESCE(b3, 0),
			'days_over_90', COALESCE(b4, 0)) ORDER BY rn)
			FROM numbered WHERE rn <= p_limit), '[]'),
		'totals', COALESCE((SELECT jsonb_agg(jsonb_build_object(
			'currency', currency, 'outstanding_cents', o, 'overdue_cents', od, 'invoice_count', n)
			ORDER BY currency) FROM tenant_totals), '[]'),
		'next', (SELECT jsonb_build_object('customer_id', customer_id, 'currency', currency)
		           FROM numbered WHERE rn = p_limit AND (SELECT count(*) FROM numbered) > p_limit))
	  INTO result;
	RETURN result;
END $$;

-- ---- tools: customers ----

CREATE OR REPLACE FUNCTION mcp_get_customer(p_tenant text, p_customer text)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	c customers;
	stats jsonb;
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
	SELECT * INTO c FROM customers WHERE tenant_id = p_tenant AND customer_id = p_customer;
	SELECT jsonb_build_object('invoice_count', count(*),
	                          'open_invoice_count', count(*) FILTER (WHERE status = 'sent'),
	                          'balances', mcp_customer_balances(p_tenant, p_customer))
	  INTO stats FROM invoices WHERE tenant_id = p_tenant AND customer_id = p_customer;
	IF c.customer_id IS NULL THEN
		IF (stats->>'invoice_count')::int = 0 THEN
			RAISE EXCEPTION 'no customer % for this tenant; create one with upsert_customer (list_customers searches saved ones)',
				p_customer USING ERRCODE = 'MI404', DETAIL = 'customer_id';
		END IF;
		RETURN jsonb_build_object('customer_id', p_customer, 'name', NULL, 'email', NULL,
		                          'address', NULL, 'has_details', false) || stats;
	END IF;
	RETURN jsonb_build_object('customer_id', c.customer_id, 'name', c.name, 'email', c.email,
	                          'address', c.address, 'vat_id', c.vat_id, 'tax_id', c.vat_id,
	                          'has_details', true,
	                          'created_at', mcp_ts(c.created_at), 'updated_at', mcp_ts(c.updated_at))
	       || mcp_customer_einvoice_json(c) || stats;
END $$;

-- Saved customers whose id, name or e-mail starts with p_query (any case),
-- by customer_id, keyset-paginated, each with balances per currency. With
-- a query, the matches are gathered through the three search indexes and
-- then sorted (walking customer_id order could pass most of the table).
-- A prefix p is the byte range [p, p || U+10FFFF).
CREATE FUNCTION mcp_list_customers(p_tenant text, p_query text, p_limit int, p_after text)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	after text := CASE WHEN p_after IS NOT NULL THEN ' AND c.customer_id > $4' ELSE '' END;
	w text;  -- which customers the page is drawn from
	result jsonb;
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
	IF p_query IS NULL THEN
		w := 'c.tenant_id = $1' || after;
	ELSE
		-- The page's ids from three index-only range scans (the search
		-- indexes include customer_id), then the rows of the page alone.
		SELECT 'c.tenant_id = $1 AND c.customer_id IN (SELECT customer_id FROM ('
		       || string_agg(format('SELECT c.customer_id FROM customers c WHERE c.tenant_id = $1'
		                            ' AND c.%1$I ~>=~ $2 AND c.%1$I ~<~ $5 %2$s', col, after), ' UNION ')
		       || ') u ORDER BY customer_id LIMIT $3 + 1)'
		  INTO w FROM unnest(ARRAY['search_id', 'search_name', 'search_email']) col;
	END IF;
	EXECUTE format($q$
		WITH page AS (
			SELECT c.*, row_number() OVER (ORDER BY c.customer_id) AS n
			  FROM customers c WHERE %s ORDER BY c.customer_id LIMIT $3 + 1)
		SELECT jsonb_build_object(
			'customers', COALESCE(jsonb_agg(jsonb_build_object(
				'customer_id', customer_id, 'name', name, 'email', email, 'address', address,
				'balances', mcp_customer_balances($1, customer_id)) ORDER BY n) FILTER (WHERE n <= $3), '[]'),
			'next', CASE WHEN count(*) > $3 THEN (SELECT p.customer_id FROM page p WHERE p.n = $3) END)
		  FROM page $q$, w)
	  INTO result USING p_tenant, lower(p_query), p_limit, p_after, lower(p_query) || chr(1114111);
	RETURN result;
END $$;

-- ---- tools: tax rates ----

CREATE FUNCTION mcp_tax_rate_json(t tax_rates) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('code', t.code, 'name', t.name, 'rate_bps', t.rate_bps,
	                          'inclusive', t.inclusive, 'category', t.category,
	                          'exemption_reason', t.exemption_reason,
	                          'exemption_reason_code', t.exemption_reason_code,
	                          'created_at', mcp_ts(t.created_at), 'updated_at', mcp_ts(t.updated_at));
END $$;

CREATE FUNCTION mcp_upsert_tax_rate(p_tenant text, p_subject text, p_request text, p_code text,
                                    p_name text, p_rate_bps int, p_inclusive boolean, p_category text,
                                    p_reason text, p_reason_code text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	t tax_rates;
	created boolean;
	category text := COALESCE(p_category, CASE WHEN p_rate_bps > 0 THEN 'S' ELSE 'Z' END);
	why text := mcp_tax_category_error(category, p_rate_bps, p_reason, p_reason_code);
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
	-- The category's rules (0010_einvoice.sql), refused naming the argument.
	IF why IS NOT NULL THEN
		RAISE EXCEPTION '%', why USING ERRCODE = 'MI400', DETAIL = split_part(why, ':', 1);
	END IF;
	INSERT INTO tax_rates AS r (tenant_id, code, name, rate_bps, inclusive, category, exemption_reason,
	                            exemption_reason_code)
	VALUES (p_tenant, p_code, p_name, p_rate_bps, p_inclusive, category, p_reason, p_reason_code)
	ON CONFLICT (tenant_id, code) DO UPDATE
	   SET name = EXCLUDED.name, rate_bps = EXCLUDED.rate_bps, inclusive = EXCLUDED.inclusive,
	       category = EXCLUDED.category, exemption_reason = EXCLUDED.exemption_reason,
	       exemption_reason_code = EXCLUDED.exemption_reason_code, updated_at = clock_timestamp()
	RETURNING (xmax = 0) INTO created;
	SELECT * INTO t FROM tax_rates WHERE tenant_id = p_tenant AND code = p_code;
	PERFORM mcp_audit(p_tenant, p_subject, 'upsert_tax_rate', p_code, p_request);
	RETURN mcp_tax_rate_json(t) || jsonb_build_object('created', created);
END $$;

CREATE FUNCTION mcp_list_tax_rates(p_tenant text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
	RETURN jsonb_build_object('tax_rates', COALESCE((SELECT jsonb_agg(mcp_tax_rate_json(t) ORDER BY t.code)
		FROM tax_rates t WHERE t.tenant_id = p_tenant), '[]'));
END $$;

-- ---- tools: credit notes, customer credit, reversals ----

CREATE FUNCTION mcp_create_credit_note(p_tenant text, p_subject text, p_request text, p_invoice uuid,
                                       p_amount bigint, p_lines jsonb, p_reason text, p_key text,
                                       p_args jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	inv invoices;
	note credit_notes;
	amount bigint := p_amount;
	room bigint;
	applied bigint;
	num bigint;
	result jsonb;
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
	result := mcp_idempotency_claim(p_tenant, 'create_credit_note', p_key, p_args);
	IF result IS NOT NULL THEN
		RETURN result;
	END IF;
	-- The invoice row lock makes racing credit notes, payments and
	-- reversals on one invoice take turns.
	inv := mcp_invoice_or_404(p_tenant, p_invoice, true);
	IF inv.status = 'draft' THEN
		RAISE EXCEPTION 'invoice % is a draft: change it with update_invoice instead of crediting it', p_invoice
			USING ERRCODE = 'MI422', DETAIL = 'invoice_id';
	ELSIF inv.status = 'void' THEN
		RAISE EXCEPTION 'invoice % is void: nothing to credit', p_invoice
			USING ERRCODE = 'MI422', DETAIL = 'invoice_id';
	END IF;
	IF p_lines IS NOT NULL THEN
		SELECT sum((e->>'amount_cents')::numeric * (e->>'quantity')::numeric) INTO amount
		  FROM jsonb_array_elements(p_lines) e;
	END IF;
	room := inv.total_cents - inv.credit_notes_cents;
	IF amount > room THEN
		RAISE EXCEPTION '% must be <= % % (the invoice total % less earlier credit notes %), got %',
			CASE WHEN p_lines IS NULL THEN 'amount_cents' ELSE 'the line items'' total' END,
			room, inv.currency, inv.total_cents, inv.credit_notes_cents, amount
			USING ERRCODE = 'MI400', DETAIL = CASE WHEN p_lines IS NULL THEN 'amount_cents' ELSE 'line_items' END;
	END IF;
	IF amount <= 0 THEN
		RAISE EXCEPTION 'a credit note must credit more than 0, got %', amount
			USING ERRCODE = 'MI400', DETAIL = 'line_items';
	END IF;
	applied := least(amount, inv.total_cents - inv.amount_paid_cents - inv.credited_cents);
	INSERT INTO credit_note_counters AS c (tenant_id, last_number) VALUES (p_tenant, 1)
	ON CONFLICT (tenant_id) DO UPDATE SET last_number = c.last_number + 1
	RETURNING last_number INTO num;
	INSERT INTO credit_notes (tenant_id, credit_note_number, invoice_id, customer_id, currency,
	                          amount_cents, applied_cents, customer_credit_cents, reason, line_items)
	VALUES (p_tenant, 'CN-' || lpad(num::text, 6, '0'), p_invoice, inv.customer_id, inv.currency,
	        amount, applied, amount - applied, p_reason,
	        CASE WHEN p_lines IS NOT NULL THEN mcp_credit_lines(p_tenant, p_invoice, p_lines) END)
	RETURNING * INTO note;
	inv.credited_cents := inv.credited_cents + applied;
	UPDATE invoices SET credited_cents = inv.credited_cents,
	                    credit_notes_cents = credit_notes_cents + amount,
	                    status = mcp_settled_status(inv)
	 WHERE invoice_id = p_invoice RETURNING * INTO inv;
	IF amount > applied THEN
		INSERT INTO customer_credits AS cc (tenant_id, customer_id, currency, balance_cents)
		VALUES (p_tenant, inv.customer_id, inv.currency, amount - applied)
		ON CONFLICT (tenant_id, customer_id, currency)
		DO UPDATE SET balance_cents = cc.balance_cents + EXCLUDED.balance_cents;
	END IF;
	result := jsonb_build_object('credit_note', mcp_credit_note_json(note),
		'invoice', mcp_invoice_json(inv),
		'customer_credit_cents', COALESCE((SELECT balance_cents FROM customer_credits
			WHERE tenant_id = p_tenant AND customer_id = inv.customer_id AND currency = inv.currency), 0));
	PERFORM mcp_idempotency_store(p_tenant, 'create_credit_note', p_key, result);
	PERFORM mcp_audit(p_tenant, p_subject, 'create_credit_note', note.credit_note_id::text, p_request);
	RETURN result;
END $$;

CREATE FUNCTION mcp_apply_credit(p_tenant text, p_subject text, p_request text, p_invoice uuid,
                                 p_customer text, p_amount bigint, p_key text, p_args jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	inv invoices;
	app credit_applications;
	due bigint;
	balance bigint;
	result jsonb;
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
	result := mcp_idempotency_claim(p_tenant, 'apply_credit', p_key, p_args);
	IF result IS NOT NULL THEN
		RETURN result;
	END IF;
	-- Lock order everywhere: the invoice, then the customer's credit row.
	inv := mcp_invoice_or_404(p_tenant, p_invoice, true);
	IF inv.customer_id <> p_customer THEN
		RAISE EXCEPTION 'invoice % belongs to customer %, not %; credit is spent only on the same customer''s invoices',
			p_invoice, inv.customer_id, p_customer USING ERRCODE = 'MI400', DETAIL = 'invoice_id';
	END IF;
	IF inv.status <> 'sent' THEN
		RAISE EXCEPTION 'invoice % is %; credit can be applied only to an open (sent or overdue) invoice',
			p_invoice, inv.status USING ERRCODE = 'MI422', DETAIL = 'invoice_id';
	END IF;
	due := inv.total_cents - inv.amount_paid_cents - inv.credited_cents;
	IF p_amount > due THEN
		RAISE EXCEPTION 'amount_cents must be <= the amount due of % (% minor units), got %',
			due, inv.currency, p_amount USING ERRCODE = 'MI400', DETAIL = 'amount_cents';
	END IF;
	UPDATE customer_credits SET balance_cents = balance_cents - p_amount
	 WHERE tenant_id = p_tenant AND customer_id = p_customer AND currency = inv.currency
	   AND balance_cents >= p_amount
	RETURNING balance_cents INTO balance;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'customer % has only % % of credit, less than amount_cents %',
			p_customer, COALESCE((SELECT balance_cents FROM customer_credits WHERE tenant_id = p_tenant
			  AND customer_id = p_customer AND currency = inv.currency), 0), inv.currency, p_amount
			USING ERRCODE = 'MI422', DETAIL = 'amount_cents';
	END IF;
	INSERT INTO credit_applications (tenant_id, customer_id, currency, invoice_id, amount_cents)
	VALUES (p_tenant, p_customer, inv.currency, p_invoice, p_amount)
	RETURNING * INTO app;
	inv.credited_cents := inv.credited_cents + p_amount;
	UPDATE invoices SET credited_cents = inv.credited_cents, status = mcp_settled_status(inv)
	 WHERE invoice_id = p_invoice RETURNING * INTO inv;
	result := jsonb_build_object('application', jsonb_build_object(
			'application_id', app.application_id, 'customer_id', app.customer_id,
			'invoice_id', app.invoice_id, 'currency', app.currency, 'amount_cents', app.amount_cents,
			'applied_at', mcp_ts(app.created_at)),
		'invoice', mcp_invoice_json(inv), 'customer_credit_cents', balance);
	PERFORM mcp_idempotency_store(p_tenant, 'apply_credit', p_key, result);
	PERFORM mcp_audit(p_tenant, p_subject, 'apply_credit', app.application_id::text, p_request);
	RETURN result;
END $$;

CREATE FUNCTION mcp_reverse_payment(p_tenant text, p_subject text, p_request text, p_payment uuid,
                                    p_reason text, p_key text, p_args jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	pay payments;
	inv invoices;
	rev payment_reversals;
	result jsonb;
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
	result := mcp_idempotency_claim(p_tenant, 'reverse_payment', p_key, p_args);
	IF result IS NOT NULL THEN
		RETURN result;
	END IF;
	SELECT * INTO pay FROM payments WHERE tenant_id = p_tenant AND payment_id = p_payment;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no payment % for this tenant; get_invoice lists an invoice''s payments', p_payment
			USING ERRCODE = 'MI404', DETAIL = 'payment_id';
	END IF;
	inv := mcp_invoice_or_404(p_tenant, pay.invoice_id, true);
	SELECT * INTO rev FROM payment_reversals WHERE payment_id = p_payment;
	IF FOUND THEN
		RAISE EXCEPTION 'payment % was already reversed at % (reason: %); nothing to do',
			p_payment, mcp_ts(rev.created_at), rev.reason USING ERRCODE = 'MI422', DETAIL = 'payment_id';
	END IF;
	INSERT INTO payment_reversals (tenant_id, payment_id, invoice_id, amount_cents, currency, reason)
	VALUES (p_tenant, p_payment, pay.invoice_id, pay.amount_cents, pay.currency, p_reason)
	RETURNING * INTO rev;
	inv.amount_paid_cents := inv.amount_paid_cents - pay.amount_cents;
	UPDATE invoices SET amount_paid_cents = inv.amount_paid_cents,
	                    reversed_cents = reversed_cents + pay.amount_cents,
	                    status = mcp_settled_status(inv)
	 WHERE invoice_id = pay.invoice_id RETURNING * INTO inv;
	result := jsonb_build_object('reversal', jsonb_build_object(
			'reversal_id', rev.reversal_id, 'payment_id', rev.payment_id, 'invoice_id', rev.invoice_id,
			'amount_cents', rev.amount_cents, 'currency', rev.currency, 'reason', rev.reason,
			'reversed_at', mcp_ts(rev.created_at)),
		'invoice', mcp_invoice_json(inv));
	PERFORM mcp_idempotency_store(p_tenant, 'reverse_payment', p_key, result);
	PERFORM mcp_audit(p_tenant, p_subject, 'reverse_payment', rev.reversal_id::text, p_request);
	RETURN result;
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO mcp_invoiced_app;
