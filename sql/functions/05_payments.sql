-- 05_payments.sql - payments applied to invoices and their reversals.

-- Amounts now include credits: what is due is total - paid - credited.
CREATE OR REPLACE FUNCTION mcp_apply_payment(p_tenant text, p_subject text, p_request text, p_invoice uuid,
                                             p_amount bigint, p_paid_at timestamptz, p_method text,
                                             p_reference text, p_key text, p_args jsonb)
RETURNS jsonb LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
	inv invoices;
	pay payments;
	due bigint;
	result jsonb;
BEGIN
	PERFORM mcp_as_tenant(p_tenant);
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

CREATE OR REPLACE FUNCTION mcp_reverse_payment(p_tenant text, p_subject text, p_request text, p_payment uuid,
                                    p_reason text, p_key text, p_args jsonb)
RETURNS jsonb LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
	pay payments;
	inv invoices;
	rev payment_reversals;
	result jsonb;
BEGIN
	PERFORM mcp_as_tenant(p_tenant);
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
