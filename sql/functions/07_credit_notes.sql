-- 07_credit_notes.sql - credit notes against invoices and applying a
-- customer's credit.

-- Credit note line_items as stored: each line with its unit_code and, when
-- taxed, the VAT it contains and its rate's snapshot. A line names its
-- tax_code, or takes the invoice's when the invoice has exactly one; a
-- code the invoice used keeps the invoice's rate, another is the tenant's
-- current rate (unknown: INVALID_INPUT).
CREATE OR REPLACE FUNCTION mcp_credit_lines(p_tenant text, p_invoice uuid, p_lines jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	item record;
	only_code text;
	r record;
	out jsonb := '[]';
	gross numeric;
	e jsonb;
BEGIN
	SELECT CASE WHEN count(DISTINCT tax_code) = 1 THEN min(tax_code) END INTO only_code
	  FROM invoice_line_items WHERE invoice_id = p_invoice AND tenant_id = p_tenant AND tax_code IS NOT NULL;
	FOR item IN SELECT x.e, (x.n - 1)::int AS pos FROM jsonb_array_elements(p_lines) WITH ORDINALITY AS x(e, n)
	            ORDER BY x.n LOOP
		e := item.e || jsonb_build_object('unit_code', COALESCE(item.e->>'unit_code', 'C62'));
		r := NULL;
		IF COALESCE(item.e->>'tax_code', only_code) IS NOT NULL THEN
			SELECT l.tax_code AS code, l.tax_rate_bps AS rate, l.tax_category AS cat,
			       l.tax_exemption_reason AS reason, l.tax_exemption_code AS xcode INTO r
			  FROM invoice_line_items l WHERE l.invoice_id = p_invoice AND l.tenant_id = p_tenant
			   AND l.tax_code = COALESCE(item.e->>'tax_code', only_code) ORDER BY l.position LIMIT 1;
			IF NOT FOUND THEN
				SELECT t.code, t.rate_bps AS rate, t.category AS cat, t.exemption_reason AS reason,
				       t.exemption_reason_code AS xcode INTO r
				  FROM tax_rates t WHERE t.tenant_id = p_tenant AND t.code = item.e->>'tax_code';
				IF NOT FOUND THEN
					RAISE EXCEPTION 'line_items[%].tax_code: no tax rate "%" for this tenant; create it with upsert_tax_rate',
						item.pos, item.e->>'tax_code'
						USING ERRCODE = 'MI400', DETAIL = format('line_items[%s].tax_code', item.pos);
				END IF;
			END IF;
			gross := (item.e->>'amount_cents')::numeric * (item.e->>'quantity')::numeric;
			e := e || jsonb_build_object('tax_code', r.code, 'tax_rate_bps', r.rate, 'tax_category', r.cat,
			                             'tax_exemption_reason', r.reason, 'tax_exemption_code', r.xcode,
			                             'contained_cents', round(gross * r.rate / (10000 + r.rate)));
		END IF;
		out := out || jsonb_build_array(e);
	END LOOP;
	RETURN out;
END $$;

CREATE OR REPLACE FUNCTION mcp_credit_note_json(n credit_notes) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('credit_note_id', n.credit_note_id,
		'credit_note_number', n.credit_note_number, 'invoice_id', n.invoice_id,
		'customer_id', n.customer_id, 'currency', n.currency, 'amount_cents', n.amount_cents,
		'applied_to_invoice_cents', n.applied_cents, 'customer_credit_cents', n.customer_credit_cents,
		'reason', n.reason, 'line_items', n.line_items, 'created_at', mcp_ts(n.created_at))
$$;

CREATE OR REPLACE FUNCTION mcp_create_credit_note(p_tenant text, p_subject text, p_request text, p_invoice uuid,
                                       p_amount bigint, p_lines jsonb, p_reason text, p_key text,
                                       p_args jsonb)
RETURNS jsonb LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
	inv invoices;
	note credit_notes;
	amount bigint := p_amount;
	room bigint;
	applied bigint;
	num bigint;
	result jsonb;
BEGIN
	PERFORM mcp_as_tenant(p_tenant);
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

CREATE OR REPLACE FUNCTION mcp_apply_credit(p_tenant text, p_subject text, p_request text, p_invoice uuid,
                                 p_customer text, p_amount bigint, p_key text, p_args jsonb)
RETURNS jsonb LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
	inv invoices;
	app credit_applications;
	due bigint;
	balance bigint;
	result jsonb;
BEGIN
	PERFORM mcp_as_tenant(p_tenant);
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
