-- Statements with the receivables domain (0005): payment reversals put
-- their amount back, credit notes take theirs off (the part applied to the
-- invoice and the part that became customer credit), customer credit spent
-- on an invoice moves without changing the balance. Invariants
-- (tests/integration/test_statements.py): opening + invoiced + reversals -
-- payments - credit notes = closing = aging total (the invoices' open
-- amounts less unapplied customer credit); nothing dated after p_end counts.
-- On one day, invoices come first, then payments, reversals and credit
-- notes in the order they were recorded.
CREATE OR REPLACE FUNCTION mcp_statement(p_tenant text, p_customer text, p_currency text, p_start date,
                              p_end date, p_type text)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	currencies text[];
	cur text := p_currency;
	result jsonb;
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
	p_end := COALESCE(p_end, current_date);
	p_start := COALESCE(p_start, date_trunc('month', p_end)::date);
	p_type := COALESCE(p_type, 'activity');
	IF p_start > p_end THEN
		RAISE EXCEPTION 'period_start % is after period_end %', p_start, p_end
			USING ERRCODE = 'MI400', DETAIL = 'period_start';
	END IF;
	SELECT array_agg(DISTINCT i.currency::text ORDER BY i.currency::text) INTO currencies
	  FROM invoices i
	 WHERE i.tenant_id = p_tenant AND i.customer_id = p_customer AND i.issued_at IS NOT NULL;
	IF currencies IS NULL AND NOT EXISTS (SELECT 1 FROM customers c
	                                       WHERE c.tenant_id = p_tenant AND c.customer_id = p_customer) THEN
		RAISE EXCEPTION 'no customer % for this tenant (no details saved, no invoice sent); see upsert_customer',
			p_customer USING ERRCODE = 'MI404', DETAIL = 'customer_id';
	END IF;
	IF cur IS NULL THEN
		IF cardinality(currencies) > 1 THEN
			RAISE EXCEPTION 'customer % has invoices in %; pass currency (a statement covers one currency)',
				p_customer, array_to_string(currencies, ', ') USING ERRCODE = 'MI400', DETAIL = 'currency';
		END IF;
		cur := COALESCE(currencies[1], 'USD');
	END IF;

	WITH inv AS (
		SELECT i.invoice_id, i.invoice_number, i.total_cents, i.due_date, i.status, i.created_at,
		       (i.issued_at AT TIME ZONE 'UTC')::date AS issued,
		       (i.voided_at AT TIME ZONE 'UTC')::date AS voided
		  FROM invoices i
		 WHERE i.tenant_id = p_tenant AND i.customer_id = p_customer AND i.currency = cur
		   AND i.issued_at IS NOT NULL),
	live AS (SELECT * FROM inv WHERE status <> 'void' AND issued <= p_end),
	pay AS (
		SELECT p.payment_id, p.amount_cents, p.method, p.reference, p.created_at, l.invoice_id,
		       l.invoice_number, GREATEST((p.paid_at AT TIME ZONE 'UTC')::date, l.issued) AS d
		  FROM payments p JOIN live l ON l.invoice_id = p.invoice_id
		 WHERE p.tenant_id = p_tenant),
	counted AS (SELECT * FROM pay WHERE d <= p_end),
	-- A reversal puts its payment's amount back (never before the payment).
	rev AS (
		SELECT r.reversal_id, r.amount_cents, r.reason, r.created_at, p.invoice_id, p.invoice_number,
		       GREATEST((r.created_at AT TIME ZONE 'UTC')::date, p.d) AS d
		  FROM payment_reversals r JOIN pay p ON p.payment_id = r.payment_id
		 WHERE r.tenant_id = p_tenant),
	rev_counted AS (SELECT * FROM rev WHERE d <= p_end),
	-- A credit note lowers the balance by its whole amount: the part applied
	-- to its invoice and the part that became customer credit.
	cn AS (
		SELECT n.credit_note_id, n.credit_note_number, n.amount_cents, n.applied_cents, n.reason,
		       n.created_at, l.invoice_id, l.invoice_number,
		       GREATEST((n.created_at AT TIME ZONE 'UTC')::date, l.issued) AS d
		  FROM credit_notes n JOIN live l ON l.invoice_id = n.invoice_id
		 WHERE n.tenant_id = p_tenant),
	cn_counted AS (SELECT * FROM cn WHERE d <= p_end),
	-- Customer credit spent on an invoice: it moves, the balance does not.
	app_counted AS (
		SELECT a.invoice_id, a.amount_cents
		  FROM credit_applications a JOIN live l ON l.invoice_id = a.invoice_id
		 WHERE a.tenant_id = p_tenant
		   AND GREATEST((a.created_at AT TIME ZONE 'UTC')::date, l.issued) <= p_end),
	per_invoice AS (
		SELECT invoice_id, sum(paid) AS paid, sum(back) AS back, sum(credited) AS credited FROM (
			SELECT invoice_id, amount_cents AS paid, 0 AS back, 0 AS credited FROM counted
			UNION ALL SELECT invoice_id, 0, amount_cents, 0 FROM rev_counted
			UNION ALL SELECT invoice_id, 0, 0, applied_cents FROM cn_counted
			UNION ALL SELECT invoice_id, 0, 0, amount_cents FROM app_counted) m
		 GROUP BY invoice_id),
	open_at AS (
		SELECT l.*, COALESCE(s.paid, 0) - COALESCE(s.back, 0) AS paid,
		       l.total_cents - COALESCE(s.paid, 0) + COALESCE(s.back, 0) - COALESCE(s.credited, 0) AS open,
		       p_end - l.due_date AS days
		  FROM live l LEFT JOIN per_invoice s ON s.invoice_id = l.invoice_id),
	-- Credit notes' customer-credit parts not yet spent at p_end.
	unapplied AS (
		SELECT (SELECT COALESCE(sum(amount_cents - applied_cents), 0) FROM cn_counted)
		     - (SELECT COALESCE(sum(amount_cents), 0) FROM app_counted) AS credit),
	sums AS (
		SELECT (SELECT COALESCE(sum(total_cents), 0) FROM live WHERE issued < p_start)
		     - (SELECT COALESCE(sum(amount_cents), 0) FROM counted WHERE d < p_start)
		     + (SELECT COALESCE(sum(amount_cents), 0) FROM rev_counted WHERE d < p_start)
		     - (SELECT COALESCE(sum(amount_cents), 0) FROM cn_counted WHERE d < p_start) AS opening,
		       (SELECT COALESCE(sum(total_cents), 0) FROM live WHERE issued >= p_start) AS invoiced,
		       (SELECT COALESCE(sum(amount_cents), 0) FROM counted WHERE d >= p_start) AS paid,
		       (SELECT COALESCE(sum(amount_cents), 0) FROM rev_counted WHERE d >= p_start) AS reversed,
		       (SELECT COALESCE(sum(amount_cents), 0) FROM cn_counted WHERE d >= p_start) AS credited),
	aging AS (
		SELECT COALESCE(sum(open) FILTER (WHERE days <= 0), 0) AS b0,
		       COALESCE(sum(open) FILTER (WHERE days BETWEEN 1 AND 30), 0) AS b1,
		       COALESCE(sum(open) FILTER (WHERE days BETWEEN 31 AND 60), 0) AS b2,
		       COALESCE(sum(open) FILTER (WHERE days BETWEEN 61 AND 90), 0) AS b3,
		       COALESCE(sum(open) FILTER (WHERE days > 90), 0) AS b4,
		       COALESCE(sum(open) FILTER (WHERE days > 0), 0) AS overdue,
		       (SELECT credit FROM unapplied) AS unapplied,
		       COALESCE(sum(open), 0) - (SELECT credit FROM unapplied) AS total
		  FROM open_at),
	activity AS (
		SELECT issued AS d, 0 AS k, created_at AS t, invoice_id::text AS tb, 'invoice' AS type,
		       invoice_number AS doc, due_date, total_cents AS debit, 0::bigint AS credit, NULL::text AS ref
		  FROM live WHERE issued >= p_start
		UNION ALL
		SELECT d, 1, created_at, payment_id::text, 'payment', invoice_number, NULL, 0, amount_cents,
		       NULLIF(concat_ws(' ', method, reference), '')
		  FROM counted WHERE d >= p_start
		UNION ALL
		SELECT voided, 2, created_at, invoice_id::text, 'void', invoice_number, due_date, 0, 0, NULL
		  FROM inv WHERE status = 'void' AND voided BETWEEN p_start AND p_end
		UNION ALL
		SELECT d, 1, created_at, reversal_id::text, 'reversal', invoice_number, NULL, amount_cents, 0,
		       reason
		  FROM rev_counted WHERE d >= p_start
		UNION ALL
		SELECT d, 1, created_at, credit_note_id::text, 'credit_note', credit_note_number, NULL, 0,
		       amount_cents, 'on ' || invoice_number || ': ' || reason
		  FROM cn_counted WHERE d >= p_start),
	running AS (
		SELECT a.*, (SELECT opening FROM sums)
		          + sum(debit - credit) OVER (ORDER BY d, k, t, tb ROWS UNBOUNDED PRECEDING) AS bal,
		       row_number() OVER (ORDER BY d, k, t, tb) AS n
		  FROM activity a)
	SELECT jsonb_build_object(
		'statement_id', 'ST-' || p_customer || '-' || cur || '-' || to_char(p_end, 'YYYYMMDD'),
		'type', p_type,
		'currency', cur,
		'statement_date', to_char(p_end, 'YYYY-MM-DD'),
		'period_start', to_char(p_start, 'YYYY-MM-DD'),
		'period_end', to_char(p_end, 'YYYY-MM-DD'),
		'seller', (SELECT mcp_business_profile_json(b) FROM business_profiles b WHERE b.tenant_id = p_tenant),
		'customer', mcp_customer_json(p_tenant, p_customer),
		'summary', (SELECT jsonb_build_object(
			'opening_balance_cents', s.opening, 'invoiced_cents', s.invoiced,
			'payments_cents', s.paid, 'reversals_cents', s.reversed, 'credit_notes_cents', s.credited,
			'closing_balance_cents', s.opening + s.invoiced + s.reversed - s.paid - s.credited,
			'unapplied_credit_cents', a.unapplied,
			'overdue_cents', a.overdue, 'amount_due_cents', a.total)
			FROM sums s, aging a),
		'aging', (SELECT jsonb_build_object('current', b0, 'days_1_30', b1, 'days_31_60', b2,
		                                    'days_61_90', b3, 'days_over_90', b4,
		                                    'unapplied_credit', -unapplied, 'total', total)
		            FROM aging),
		'lines', CASE WHEN p_type = 'open_item' THEN
			COALESCE((SELECT jsonb_agg(jsonb_build_object(
				'date', to_char(issued, 'YYYY-MM-DD'), 'type', 'invoice', 'document', invoice_number,
				'due_date', to_char(due_date, 'YYYY-MM-DD'), 'original_cents', total_cents,
				'paid_cents', paid, 'open_cents', open, 'days_past_due', GREATEST(days, 0))
				ORDER BY issued, created_at, invoice_id) FROM open_at WHERE open > 0), '[]')
		ELSE
			COALESCE((SELECT jsonb_agg(jsonb_build_object(
				'date', to_char(d, 'YYYY-MM-DD'), 'type', type, 'document', doc,
				'due_date', to_char(due_date, 'YYYY-MM-DD'), 'reference', ref,
				'debit_cents', debit, 'credit_cents', credit, 'balance_cents', bal) ORDER BY n)
				FROM running), '[]')
		END)
	  INTO result;
	RETURN result;
END $$;
