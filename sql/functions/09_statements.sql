-- 09_statements.sql - the business profile, customer statements and the
-- document data of invoices and credit notes (rendered by the renderer).

-- PL/pgSQL: it reads the e-invoice columns of 0010_einvoice.sql.
CREATE OR REPLACE FUNCTION mcp_business_profile_json(b business_profiles) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN CASE WHEN b.tenant_id IS NULL THEN NULL ELSE jsonb_build_object(
		'legal_name', b.legal_name, 'address', b.address, 'vat_id', b.tax_id, 'tax_id', b.tax_id,
		'email', b.email, 'phone', b.phone, 'payment_instructions', b.payment_instructions,
		'paper_size', b.paper_size, 'default_currency', b.default_currency,
		'postal_address', b.postal_address, 'legal_id', b.legal_id,
		'electronic_address', b.electronic_address, 'iban', b.iban, 'bic', b.bic,
		'contact_name', b.contact_name, 'updated_at', mcp_ts(b.updated_at)) END;
END $$;

CREATE OR REPLACE FUNCTION mcp_upsert_business_profile(p_tenant text, p_subject text, p_request text,
                                            p_legal_name text, p_address text, p_tax_id text,
                                            p_email text, p_phone text, p_instructions text,
                                            p_paper text, p_default_currency text, p_einvoice jsonb)
RETURNS jsonb LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
	b business_profiles;
	created boolean;
	-- p_einvoice: the e-invoice fields (0010_einvoice.sql), address as an object
	postal jsonb := mcp_postal_address(p_einvoice->'address');
BEGIN
	PERFORM mcp_as_tenant(p_tenant);
	INSERT INTO business_profiles AS t (tenant_id, legal_name, address, tax_id, email, phone,
	                                    payment_instructions, paper_size, default_currency,
	                                    postal_address, legal_id, electronic_address, iban, bic,
	                                    contact_name)
	VALUES (p_tenant, p_legal_name, COALESCE(p_address, mcp_postal_address_text(postal)), p_tax_id,
	        p_email, p_phone, p_instructions, COALESCE(p_paper, 'A4'), p_default_currency, postal,
	        p_einvoice->>'legal_id', p_einvoice->'electronic_address', p_einvoice->>'iban',
	        p_einvoice->>'bic', p_einvoice->>'contact_name')
	ON CONFLICT (tenant_id) DO UPDATE
	   SET legal_name = EXCLUDED.legal_name, address = EXCLUDED.address, tax_id = EXCLUDED.tax_id,
	       email = EXCLUDED.email, phone = EXCLUDED.phone,
	       payment_instructions = EXCLUDED.payment_instructions, paper_size = EXCLUDED.paper_size,
	       default_currency = EXCLUDED.default_currency, postal_address = EXCLUDED.postal_address,
	       legal_id = EXCLUDED.legal_id, electronic_address = EXCLUDED.electronic_address,
	       iban = EXCLUDED.iban, bic = EXCLUDED.bic, contact_name = EXCLUDED.contact_name,
	       updated_at = clock_timestamp()
	RETURNING (xmax = 0) INTO created;
	SELECT * INTO b FROM business_profiles WHERE tenant_id = p_tenant;
	PERFORM mcp_audit(p_tenant, p_subject, 'upsert_business_profile', p_tenant, p_request);
	RETURN mcp_business_profile_json(b) || jsonb_build_object('created', created);
END $$;

CREATE OR REPLACE FUNCTION mcp_get_business_profile(p_tenant text)
RETURNS jsonb LANGUAGE plpgsql STABLE SET enable_seqscan = off AS $$
DECLARE
	b business_profiles;
BEGIN
	PERFORM mcp_as_tenant(p_tenant);
	SELECT * INTO b FROM business_profiles WHERE tenant_id = p_tenant;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'this tenant has no business profile yet; save one with upsert_business_profile'
			USING ERRCODE = 'MI404';
	END IF;
	RETURN mcp_business_profile_json(b);
END $$;

-- One customer's statement in one currency for [p_start, p_end], as of
-- p_end. p_type: 'activity' (every document of the period, balance brought
-- forward, running balance) or 'open_item' (documents open at p_end).
-- Payment reversals put their amount back, credit notes take theirs off
-- (the part applied to the invoice and the part that became customer
-- credit), customer credit spent on an invoice moves without changing the
-- balance. Invariants (tests/integration/test_statements.py): opening +
-- invoiced + reversals - payments - credit notes = closing = aging total
-- (the invoices' open amounts less unapplied customer credit); nothing
-- dated after p_end counts; void invoices change no figure. On one day,
-- invoices come first, then payments, reversals and credit notes in the
-- order they were recorded.
CREATE OR REPLACE FUNCTION mcp_statement(p_tenant text, p_customer text, p_currency text, p_start date,
                              p_end date, p_type text)
RETURNS jsonb LANGUAGE plpgsql STABLE SET enable_seqscan = off AS $$
DECLARE
	currencies text[];
	cur text := p_currency;
	result jsonb;
BEGIN
	PERFORM mcp_as_tenant(p_tenant);
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
		SELECT l.*, COALESCE(s.paid, 0) - COALESCE(s.back, 0) AS paid, COALESCE(s.credited, 0) AS credited,
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
				'paid_cents', paid, 'credited_cents', credited, 'open_cents', open,
				'days_past_due', GREATEST(days, 0))
				ORDER BY issued, created_at, invoice_id) FROM open_at WHERE open > 0), '[]')
		ELSE
			COALESCE((SELECT jsonb_agg(jsonb_build_object(
				'date', to_char(d, 'YYYY-MM-DD'), 'type', type, 'document', doc,
				'due_date', to_char(due_date, 'YYYY-MM-DD'), 'reference', ref,
				'debit_cents', debit, 'credit_cents', credit, 'balance_cents', bal) ORDER BY n)
				FROM running), '[]')
		END)
	  INTO result;
	-- The PDF renderer takes at most 32 MiB of document data: a statement
	-- over 30 MB is refused here, saying what to narrow, never sent to fail.
	IF pg_column_size(result) > 8388608 AND octet_length(result::text) > 31457280 THEN
		RAISE EXCEPTION 'the statement for % to % is % bytes of data (% lines), over the 31457280 a statement may have; narrow the period (period_start, period_end)',
			p_start, p_end, octet_length(result::text), jsonb_array_length(result->'lines')
			USING ERRCODE = 'MI400', DETAIL = 'period_start';
	END IF;
	RETURN result;
END $$;

-- One invoice as a document (a tax invoice): everything get_invoice shows
-- plus the seller and the customer, and the figures the page prints, each
-- from the rows (the renderer adds nothing up):
--   line_items[].net_cents   quantity x unit price less the line's discount
--                            (for a tax-inclusive line the tax is in it)
--   net_cents                subtotal - discounts = the sum of the lines' net_cents
--   tax_added_cents          the exclusive rates' VAT: net + tax_added = total
--   vat_summary              per rate (and one row for untaxed lines): rate,
--                            inclusive, taxable amount, VAT, the rate's name
--                            (an exemption's reason when the rate is 0)
--   settlements              in date order, each with the signed amount it
--                            moves the amount due by: payments (-), their
--                            reversals (+), credit notes (- the part applied
--                            to this invoice; credit_note_cents is the note's
--                            whole amount, customer_credit_cents the part that
--                            became customer credit), customer credit applied (-);
--                            total + sum(amount_cents) = amount_due_cents
--                            (tests/integration/test_pdf.py)
CREATE OR REPLACE FUNCTION mcp_invoice_document(p_tenant text, p_invoice uuid)
RETURNS jsonb LANGUAGE plpgsql STABLE SET enable_seqscan = off AS $$
DECLARE
	inv invoices;
BEGIN
	PERFORM mcp_as_tenant(p_tenant);
	inv := mcp_invoice_or_404(p_tenant, p_invoice, false);
	RETURN mcp_invoice_full(inv) || jsonb_build_object(
		'document_date', to_char(COALESCE(inv.issued_at, inv.created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
		'seller', (SELECT mcp_business_profile_json(b) FROM business_profiles b WHERE b.tenant_id = p_tenant),
		'customer', mcp_customer_json(p_tenant, inv.customer_id),
		'line_items', COALESCE((SELECT jsonb_agg(mcp_line_json(l) || jsonb_build_object(
				'net_cents', l.amount_cents::numeric * l.quantity - l.discount_cents) ORDER BY l.position)
			FROM invoice_line_items l WHERE l.invoice_id = inv.invoice_id AND l.tenant_id = p_tenant), '[]'),
		'net_cents', inv.subtotal_cents - inv.discount_cents,
		'tax_added_cents', (SELECT COALESCE(sum((e->>'tax_cents')::bigint), 0)
		                      FROM jsonb_array_elements(inv.tax_breakdown) e
		                     WHERE NOT (e->>'inclusive')::boolean),
		'vat_summary', COALESCE((SELECT jsonb_agg(jsonb_build_object(
				'tax_code', v.tax_code, 'rate_bps', v.tax_rate_bps, 'inclusive', v.tax_inclusive,
				'name', (SELECT t.name FROM tax_rates t WHERE t.tenant_id = p_tenant AND t.code = v.tax_code),
				'taxable_cents', v.taxable, 'tax_cents', v.tax)
				ORDER BY v.tax_code IS NULL, v.tax_rate_bps DESC, v.tax_code)
			-- taxed: the invoice's breakdown (document-level VAT, 0005's
			-- mcp_line_totals); untaxed lines: one row
			FROM (SELECT e->>'tax_code' AS tax_code, (e->>'rate_bps')::int AS tax_rate_bps,
			             (e->>'inclusive')::boolean AS tax_inclusive, (e->>'tax_cents')::bigint AS tax,
			             (e->>'taxable_cents')::bigint AS taxable
			        FROM jsonb_array_elements(inv.tax_breakdown) e
			      UNION ALL
			      SELECT NULL, NULL, false, 0, sum(l.amount_cents::numeric * l.quantity - l.discount_cents)
			        FROM invoice_line_items l WHERE l.invoice_id = inv.invoice_id AND l.tenant_id = p_tenant
			         AND l.tax_code IS NULL HAVING count(*) > 0) v), '[]'),
		'settlements', COALESCE((SELECT jsonb_agg(jsonb_build_object(
				'kind', m.kind, 'date', to_char(m.at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 'document', m.doc,
				'reference', m.ref, 'amount_cents', m.amount, 'payment_date', m.paid,
				'credit_note_cents', m.whole, 'customer_credit_cents', m.to_credit) ORDER BY m.at, m.k, m.id)
			FROM (SELECT 'payment' AS kind, p.paid_at AS at, 0 AS k, p.payment_id::text AS id, NULL::text AS doc,
			             NULLIF(concat_ws(' ', p.method, p.reference), '') AS ref, -p.amount_cents AS amount,
			             NULL::text AS paid, NULL::bigint AS whole, NULL::bigint AS to_credit
			        FROM payments p WHERE p.invoice_id = inv.invoice_id AND p.tenant_id = p_tenant
			      UNION ALL
			      SELECT 'reversal', r.created_at, 1, r.reversal_id::text, NULL, r.reason, r.amount_cents,
			             to_char(p.paid_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), NULL, NULL
			        FROM payment_reversals r JOIN payments p ON p.payment_id = r.payment_id
			       WHERE r.invoice_id = inv.invoice_id AND r.tenant_id = p_tenant
			      UNION ALL
			      SELECT 'credit_note', n.created_at, 2, n.credit_note_id::text, n.credit_note_number, n.reason,
			             -n.applied_cents, NULL, n.amount_cents, n.customer_credit_cents
			        FROM credit_notes n WHERE n.invoice_id = inv.invoice_id AND n.tenant_id = p_tenant
			      UNION ALL
			      SELECT 'credit_applied', a.created_at, 3, a.application_id::text, NULL, NULL, -a.amount_cents,
			             NULL, NULL, NULL
			        FROM credit_applications a WHERE a.invoice_id = inv.invoice_id AND a.tenant_id = p_tenant) m),
			'[]'));
END $$;

-- One credit note as a document: the note (mcp_credit_note_json), the
-- invoice it credits (number, date, total), the seller and the customer,
-- and its lines with each line's amount (unit amount x quantity, as
-- credited: tax included, no tax is computed on a credit note); a note
-- given by amount_cents alone is one line, its reason.
CREATE OR REPLACE FUNCTION mcp_credit_note_document(p_tenant text, p_note uuid)
RETURNS jsonb LANGUAGE plpgsql STABLE SET enable_seqscan = off AS $$
DECLARE
	n credit_notes;
	inv invoices;
BEGIN
	PERFORM mcp_as_tenant(p_tenant);
	SELECT * INTO n FROM credit_notes WHERE tenant_id = p_tenant AND credit_note_id = p_note;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no credit note % for this tenant; get_invoice lists an invoice''s credit notes', p_note
			USING ERRCODE = 'MI404', DETAIL = 'credit_note_id';
	END IF;
	inv := mcp_invoice_or_404(p_tenant, n.invoice_id, false);
	RETURN mcp_credit_note_json(n) || jsonb_build_object(
		'document_date', to_char(n.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
		'invoice_number', inv.invoice_number,
		'invoice_date', to_char(inv.issued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
		'invoice_total_cents', inv.total_cents,
		'line_items', CASE WHEN n.line_items IS NULL
			THEN jsonb_build_array(jsonb_build_object('description', n.reason, 'amount_cents', n.amount_cents,
			                                          'quantity', 1, 'line_total_cents', n.amount_cents))
			ELSE (SELECT jsonb_agg(e || jsonb_build_object('line_total_cents',
			                       (e->>'amount_cents')::numeric * (e->>'quantity')::numeric) ORDER BY o)
			        FROM jsonb_array_elements(n.line_items) WITH ORDINALITY AS x(e, o)) END,
		'seller', (SELECT mcp_business_profile_json(b) FROM business_profiles b WHERE b.tenant_id = p_tenant),
		'customer', mcp_customer_json(p_tenant, n.customer_id));
END $$;
