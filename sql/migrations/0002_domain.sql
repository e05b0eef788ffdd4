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

-- ---- helpers ----

CREATE FUNCTION mcp_ts(t timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

CREATE FUNCTION mcp_audit(p_tenant text, p_subject text, p_tool text, p_object text, p_request text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO audit_log (tenant_id, subject, tool, object_id, request_id)
	VALUES (p_tenant, p_subject, p_tool, p_object, p_request);
END $$;

-- Claims (tenant, tool, key) for this transaction. Returns the stored
-- response of an earlier identical call, NULL when this call is the first,
-- and raises CONFLICT when the key was used with other arguments. A
-- concurrent first call holding the key makes this wait for its outcome.
CREATE FUNCTION mcp_idempotency_claim(p_tenant text, p_tool text, p_key text, p_args jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	h bytea := sha256(convert_to(p_args::text, 'UTF8'));
	prior idempotency_keys;
BEGIN
	IF p_key IS NULL THEN
		RETURN NULL;
	END IF;
	INSERT INTO idempotency_keys (tenant_id, tool, key, request_hash)
	VALUES (p_tenant, p_tool, p_key, h)
	ON CONFLICT DO NOTHING;
	IF FOUND THEN
		RETURN NULL;
	END IF;
	SELECT * INTO prior FROM idempotency_keys
	 WHERE tenant_id = p_tenant AND tool = p_tool AND key = p_key;
	IF prior.request_hash <> h THEN
		RAISE EXCEPTION 'idempotency_key "%" was already used with different arguments for %; use a new key for a new request',
			p_key, p_tool USING ERRCODE = 'MI409', DETAIL = 'idempotency_key';
	END IF;
	RETURN prior.response || '{"idempotent_replay": true}';
END $$;

CREATE FUNCTION mcp_idempotency_store(p_tenant text, p_tool text, p_key text, p_response jsonb)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF p_key IS NOT NULL THEN
		UPDATE idempotency_keys SET response = p_response
		 WHERE tenant_id = p_tenant AND tool = p_tool AND key = p_key;
	END IF;
END $$;

-- Keys are kept 7 days (the contract promises at least 24 hours).
CREATE FUNCTION mcp_expire_idempotency_keys() RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
	WITH gone AS (DELETE FROM idempotency_keys WHERE created_at < now() - interval '7 days' RETURNING 1)
	SELECT count(*) FROM gone
$$;

-- One invoice of the tenant, by primary key. As the owner (row-level
-- security does not bind it) the look-up has no tenant_id condition, so no
-- index leading with tenant_id competes with the primary key: under the
-- policy, a plan cached while the table was nearly empty took
-- invoices_by_customer and read every invoice of the tenant per call (see
-- 0009_plans.sql). The tenant, the caller's and the policy's, is compared
-- here, and the row is locked only once it is known to be the tenant's.
CREATE FUNCTION mcp_invoice_or_404(p_tenant text, p_invoice uuid, p_lock boolean)
RETURNS invoices LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
	inv invoices;
BEGIN
	SELECT * INTO inv FROM invoices WHERE invoice_id = p_invoice;
	IF NOT FOUND OR inv.tenant_id IS DISTINCT FROM p_tenant
	   OR inv.tenant_id IS DISTINCT FROM current_setting('app.tenant_id', true) THEN
		RAISE EXCEPTION 'no invoice % for this tenant; use list_invoices to find an invoice_id', p_invoice
			USING ERRCODE = 'MI404', DETAIL = 'invoice_id';
	END IF;
	IF p_lock THEN
		SELECT * INTO inv FROM invoices WHERE invoice_id = p_invoice FOR UPDATE;
	END IF;
	RETURN inv;
END $$;

-- Everything about one invoice: summary, line items, payments.
CREATE FUNCTION mcp_invoice_full(i invoices) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT mcp_invoice_json(i) || jsonb_build_object(
		'void_reason', i.void_reason,
		'voided_at', mcp_ts(i.voided_at),
		'line_items', COALESCE((SELECT jsonb_agg(jsonb_build_object(
				'description', l.description, 'amount_cents', l.amount_cents,
				'quantity', l.quantity, 'line_total_cents', l.line_total_cents) ORDER BY l.position)
			FROM invoice_line_items l WHERE l.invoice_id = i.invoice_id AND l.tenant_id = i.tenant_id), '[]'),
		'payments', COALESCE((SELECT jsonb_agg(jsonb_build_object(
				'payment_id', p.payment_id, 'amount_cents', p.amount_cents, 'paid_at', mcp_ts(p.paid_at),
				'method', p.method, 'reference', p.reference) ORDER BY p.created_at)
			FROM payments p WHERE p.invoice_id = i.invoice_id AND p.tenant_id = i.tenant_id), '[]'))
$$;

-- ---- tools ----

DROP FUNCTION mcp_create_invoice(text, text, text, date, text, jsonb);

CREATE FUNCTION mcp_create_invoice(p_tenant text, p_subject text, p_request text,
                                   p_customer text, p_currency text, p_due_date date,
                                   p_memo text, p_items jsonb, p_key text, p_args jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	inv invoices;
	result jsonb;
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
	result := mcp_idempotency_claim(p_tenant, 'create_invoice', p_key, p_args);
	IF result IS NOT NULL THEN
		RETURN result;
	END IF;
	INSERT INTO invoices (tenant_id, customer_id, currency, total_cents, due_date, memo)
	SELECT p_tenant, p_customer, p_currency,
	       COALESCE(sum((e->>'amount_cents')::bigint * (e->>'quantity')::bigint), 0),
	       COALESCE(p_due_date, current_date + 30), p_memo
	  FROM jsonb_array_elements(p_items) e
	RETURNING * INTO inv;
	INSERT INTO invoice_line_items (invoice_id, position, tenant_id, description,
	                                amount_cents, quantity, line_total_cents)
	SELECT inv.invoice_id, (o.n - 1)::int, p_tenant, o.e->>'description',
	       (o.e->>'amount_cents')::bigint, (o.e->>'quantity')::int,
	       (o.e->>'amount_cents')::bigint * (o.e->>'quantity')::int
	  FROM jsonb_array_elements(p_items) WITH ORDINALITY AS o(e, n);
	result := mcp_invoice_json(inv) || jsonb_build_object('line_items',
		(SELECT jsonb_agg(jsonb_build_object('description', e->>'description',
		                                     'amount_cents', (e->>'amount_cents')::bigint,
		                                     'quantity', (e->>'quantity')::int,
		                                     'line_total_cents', (e->>'amount_cents')::bigint * (e->>'quantity')::int)
		                  ORDER BY n)
		   FROM jsonb_array_elements(p_items) WITH ORDINALITY AS o(e, n)));
	PERFORM mcp_idempotency_store(p_tenant, 'create_invoice', p_key, result);
	PERFORM mcp_audit(p_tenant, p_subject, 'create_invoice', inv.invoice_id::text, p_request);
	RETURN result;
END $$;

CREATE FUNCTION mcp_get_invoice(p_tenant text, p_invoice uuid)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
	RETURN mcp_invoice_full(mcp_invoice_or_404(p_tenant, p_invoice, false));
END $$;

CREATE FUNCTION mcp_send_invoice(p_tenant text, p_subject text, p_request text, p_invoice uuid)
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
	UPDATE invoices SET status = 'sent', invoice_number = 'INV-' || lpad(num::text, 6, '0'),
	                    issued_at = clock_timestamp()
	 WHERE invoice_id = p_invoice RETURNING * INTO inv;
	PERFORM mcp_audit(p_tenant, p_subject, 'send_invoice', p_invoice::text, p_request);
	RETURN mcp_invoice_full(inv);
END $$;

CREATE FUNCTION mcp_apply_payment(p_tenant text, p_subject text, p_request text, p_invoice uuid,
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
	due := inv.total_cents - inv.amount_paid_cents;
	IF p_amount > due THEN
		RAISE EXCEPTION 'amount_cents must be <= the amount due of % (% minor units), got %',
			due, inv.currency, p_amount USING ERRCODE = 'MI400', DETAIL = 'amount_cents';
	END IF;
	INSERT INTO payments (tenant_id, invoice_id, amount_cents, currency, paid_at, method, reference)
	VALUES (p_tenant, p_invoice, p_amount, inv.currency, COALESCE(p_paid_at, clock_timestamp()),
	        p_method, p_reference)
	RETURNING * INTO pay;
	UPDATE invoices SET amount_paid_cents = amount_paid_cents + p_amount,
	                    status = CASE WHEN amount_paid_cents + p_amount = total_cents THEN 'paid' ELSE status END
	 WHERE invoice_id = p_invoice RETURNING * INTO inv;
	result := jsonb_build_object(
		'payment', jsonb_build_object('payment_id', pay.payment_id, 'invoice_id', pay.invoice_id,
		                              'amount_cents', pay.amount_cents, 'currency', pay.currency,
		                              'paid_at', mcp_ts(pay.paid_at), 'method', pay.method,
		                              'reference', pay.reference),
		'invoice_id', inv.invoice_id,
		'status', mcp_invoice_json(inv)->'status',
		'amount_paid_cents', inv.amount_paid_cents,
		'amount_due_cents', inv.total_cents - inv.amount_paid_cents);
	PERFORM mcp_idempotency_store(p_tenant, 'apply_payment', p_key, result);
	PERFORM mcp_audit(p_tenant, p_subject, 'apply_payment', pay.payment_id::text, p_request);
	RETURN result;
END $$;

CREATE FUNCTION mcp_void_invoice(p_tenant text, p_subject text, p_request text, p_invoice uuid,
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
	UPDATE invoices SET status = 'void', voided_at = clock_timestamp(), void_reason = p_reason
	 WHERE invoice_id = p_invoice RETURNING * INTO inv;
	PERFORM mcp_audit(p_tenant, p_subject, 'void_invoice', p_invoice::text, p_request);
	RETURN mcp_invoice_full(inv);
END $$;

-- Per customer and currency: what is owed, what is overdue, and aging by
-- days past due as of p_as_of; plus totals per currency over the whole
-- filter (not only the page). Keyset-paginated on (customer_id, currency).
CREATE FUNCTION mcp_list_outstanding(p_tenant text, p_customer text, p_currency text, p_as_of date,
                                     p_limit int, p_after_customer text, p_after_currency text)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	result jsonb;
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
	p_as_of := COALESCE(p_as_of, current_date);
	WITH open AS (
		SELECT i.customer_id, i.currency, i.due_date, i.total_cents - i.amount_paid_cents AS due,
		       p_as_of - i.due_date AS days
		  FROM invoices i
		 WHERE i.tenant_id = p_tenant AND i.status = 'sent'
		   AND (p_customer IS NULL OR i.customer_id = p_customer)
		   AND (p_currency IS NULL OR i.currency = p_currency)),
	per AS (
		SELECT customer_id, currency,
		       sum(due) AS outstanding, sum(due) FILTER (WHERE days > 0) AS overdue,
		       count(*) AS n, min(due_date) AS oldest,
		       sum(due) FILTER (WHERE days <= 0) AS b0,
		       sum(due) FILTER (WHERE days BETWEEN 1 AND 30) AS b1,
		       sum(due) FILTER (WHERE days BETWEEN 31 AND 60) AS b2,
		       sum(due) FILTER (WHERE days BETWEEN 61 AND 90) AS b3,
		       sum(due) FILTER (WHERE days > 90) AS b4
		  FROM open GROUP BY customer_id, currency),
	page AS (
		SELECT * FROM per
		 WHERE p_after_customer IS NULL OR (customer_id, currency) > (p_after_customer, p_after_currency)
		 ORDER BY customer_id, currency LIMIT p_limit + 1),
	numbered AS (SELECT page.*, row_number() OVER (ORDER BY customer_id, currency) AS rn FROM page)
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
			ORDER BY currency) FROM (
			SELECT currency, sum(outstanding) AS o, COALESCE(sum(overdue), 0) AS od, sum(n) AS n
			  FROM per GROUP BY currency) t), '[]'),
		'next', (SELECT jsonb_build_object('customer_id', customer_id, 'currency', currency)
		           FROM numbered WHERE rn = p_limit AND (SELECT count(*) FROM numbered) > p_limit))
	  INTO result;
	RETURN result;
END $$;

CREATE FUNCTION mcp_upsert_customer(p_tenant text, p_subject text, p_request text, p_customer text,
                                    p_name text, p_email text, p_address text, p_vat_id text,
                                    p_einvoice jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	c customers;
	created boolean;
	-- p_einvoice: the e-invoice fields (0010_einvoice.sql), address as an object
	postal jsonb := mcp_postal_address(p_einvoice->'address');
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
	INSERT INTO customers AS t (tenant_id, customer_id, name, email, address, vat_id, postal_address,
	                            legal_id, electronic_address, buyer_reference)
	VALUES (p_tenant, p_customer, p_name, p_email, COALESCE(p_address, mcp_postal_address_text(postal)),
	        p_vat_id, postal, p_einvoice->>'legal_id', p_einvoice->'electronic_address',
	        p_einvoice->>'buyer_reference')
	ON CONFLICT (tenant_id, customer_id) DO UPDATE
	   SET name = EXCLUDED.name, email = EXCLUDED.email, address = EXCLUDED.address,
	       vat_id = EXCLUDED.vat_id, postal_address = EXCLUDED.postal_address,
	       legal_id = EXCLUDED.legal_id, electronic_address = EXCLUDED.electronic_address,
	       buyer_reference = EXCLUDED.buyer_reference, updated_at = clock_timestamp()
	RETURNING (xmax = 0) INTO created;
	SELECT * INTO c FROM customers WHERE tenant_id = p_tenant AND customer_id = p_customer;
	PERFORM mcp_audit(p_tenant, p_subject, 'upsert_customer', p_customer, p_request);
	RETURN jsonb_build_object('customer_id', c.customer_id, 'name', c.name, 'email', c.email,
	                          'address', c.address, 'vat_id', c.vat_id, 'tax_id', c.vat_id,
	                          'created', created,
	                          'created_at', mcp_ts(c.created_at), 'updated_at', mcp_ts(c.updated_at))
	       || mcp_customer_einvoice_json(c);
END $$;

CREATE FUNCTION mcp_get_customer(p_tenant text, p_customer text)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	c customers;
	stats jsonb;
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
	SELECT * INTO c FROM customers WHERE tenant_id = p_tenant AND customer_id = p_customer;
	SELECT jsonb_build_object('invoice_count', count(*),
	                          'open_invoice_count', count(*) FILTER (WHERE status = 'sent'))
	  INTO stats FROM invoices WHERE tenant_id = p_tenant AND customer_id = p_customer;
	IF c.customer_id IS NULL THEN
		IF (stats->>'invoice_count')::int = 0 THEN
			RAISE EXCEPTION 'no customer % for this tenant; create one with upsert_customer', p_customer
				USING ERRCODE = 'MI404', DETAIL = 'customer_id';
		END IF;
		-- Invoices may name a customer before it has details.
		RETURN jsonb_build_object('customer_id', p_customer, 'name', NULL, 'email', NULL,
		                          'address', NULL, 'has_details', false) || stats;
	END IF;
	RETURN jsonb_build_object('customer_id', c.customer_id, 'name', c.name, 'email', c.email,
	                          'address', c.address, 'has_details', true,
	                          'created_at', mcp_ts(c.created_at), 'updated_at', mcp_ts(c.updated_at)) || stats;
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO mcp_invoiced_app;
