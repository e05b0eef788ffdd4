-- 0001_invoices.sql - invoices and line items, with row-level security.
-- Applied by `mcp-invoiced migrate` as the owning role. The server connects
-- as mcp_invoiced_app, which owns nothing and is not a superuser, so the
-- policies below bind it. Every function sets app.tenant_id for its own
-- transaction from the token's tenant, and every query also filters on it.

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

-- The JSON shape of one invoice summary, shared by every tool.
CREATE FUNCTION mcp_invoice_json(i invoices) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'invoice_id', i.invoice_id,
		'invoice_number', i.invoice_number,
		'status', CASE WHEN i.status = 'sent' AND i.due_date < current_date
		                    AND i.amount_paid_cents < i.total_cents
		               THEN 'overdue' ELSE i.status END,
		'customer_id', i.customer_id,
		'currency', i.currency,
		'total_cents', i.total_cents,
		'amount_paid_cents', i.amount_paid_cents,
		'amount_due_cents', CASE WHEN i.status = 'void' THEN 0
		                         ELSE i.total_cents - i.amount_paid_cents END,
		'due_date', to_char(i.due_date, 'YYYY-MM-DD'),
		'memo', i.memo,
		'issued_at', to_char(i.issued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'created_at', to_char(i.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
$$;

-- create_invoice: one statement, one transaction. p_items is a JSON array of
-- {description, amount_cents, quantity} already validated by the server.
CREATE FUNCTION mcp_create_invoice(p_tenant text, p_customer text, p_currency text,
                                   p_due_date date, p_memo text, p_items jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	inv invoices;
	items jsonb;
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
	INSERT INTO invoices (tenant_id, customer_id, currency, total_cents, due_date, memo)
	SELECT p_tenant, p_customer, p_currency,
	       COALESCE(sum((e->>'amount_cents')::bigint * (e->>'quantity')::bigint), 0),
	       COALESCE(p_due_date, current_date + 30), p_memo
	  FROM jsonb_array_elements(p_items) e
	RETURNING * INTO inv;

	WITH ins AS (
		INSERT INTO invoice_line_items (invoice_id, position, tenant_id, description,
		                                amount_cents, quantity, line_total_cents)
		SELECT inv.invoice_id, (o.n - 1)::int, p_tenant, o.e->>'description',
		       (o.e->>'amount_cents')::bigint, (o.e->>'quantity')::int,
		       (o.e->>'amount_cents')::bigint * (o.e->>'quantity')::int
		  FROM jsonb_array_elements(p_items) WITH ORDINALITY AS o(e, n)
		RETURNING *)
	SELECT jsonb_agg(jsonb_build_object('description', description,
	                                    'amount_cents', amount_cents,
	                                    'quantity', quantity,
	                                    'line_total_cents', line_total_cents)
	                 ORDER BY position)
	  INTO items FROM ins;
	RETURN mcp_invoice_json(inv) || jsonb_build_object('line_items', items);
END $$;

-- list_invoices: newest first after the (created_at, invoice_id) keyset.
-- Returns {"invoices": [...], "next": {"ts": microseconds, "id": uuid} | null}.
-- "overdue" is derived (sent, past due, amount due); "sent" excludes it.
CREATE FUNCTION mcp_list_invoices(p_tenant text, p_customer text, p_status text,
                                  p_limit int, p_after_us bigint, p_after_id uuid)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	result jsonb;
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
	WITH page AS (
		SELECT i AS inv, i.created_at, i.invoice_id,
		       row_number() OVER (ORDER BY i.created_at DESC, i.invoice_id DESC) AS n
		  FROM invoices i
		 WHERE i.tenant_id = p_tenant AND i.customer_id = p_customer
		   AND (p_after_us IS NULL OR (i.created_at, i.invoice_id) <
		        (timestamptz 'epoch' + p_after_us * interval '1 microsecond', p_after_id))
		   AND (p_status IS NULL
		        OR (p_status = 'overdue' AND i.status = 'sent' AND i.due_date < current_date
		            AND i.amount_paid_cents < i.total_cents)
		        OR (p_status = 'sent' AND i.status = 'sent'
		            AND NOT (i.due_date < current_date AND i.amount_paid_cents < i.total_cents))
		        OR (p_status NOT IN ('overdue', 'sent') AND i.status = p_status))
		 ORDER BY i.created_at DESC, i.invoice_id DESC
		 LIMIT p_limit + 1)
	SELECT jsonb_build_object(
		'invoices', COALESCE(jsonb_agg(mcp_invoice_json(inv) ORDER BY n) FILTER (WHERE n <= p_limit), '[]'),
		'next', CASE WHEN count(*) > p_limit THEN jsonb_build_object(
		    'ts', (SELECT (extract(epoch FROM p.created_at) * 1000000)::bigint FROM page p WHERE p.n = p_limit),
		    'id', (SELECT p.invoice_id FROM page p WHERE p.n = p_limit)) END)
	  INTO result FROM page;
	RETURN result;
END $$;

GRANT EXECUTE ON FUNCTION mcp_invoice_json(invoices), mcp_create_invoice(text, text, text, date, text, jsonb),
	mcp_list_invoices(text, text, text, int, bigint, uuid) TO mcp_invoiced_app;
