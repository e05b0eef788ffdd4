-- 04_invoices.sql - invoices: their JSON, creating, updating, sending,
-- voiding, reading one and finding many.

-- PL/pgSQL: it reads columns 0010_einvoice.sql adds (bound when called).
CREATE OR REPLACE FUNCTION mcp_line_json(l invoice_line_items) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('description', l.description, 'amount_cents', l.amount_cents,
		'quantity', l.quantity, 'unit_code', l.unit_code, 'subtotal_cents', l.amount_cents::numeric * l.quantity,
		'discount_bps', l.discount_bps, 'discount_cents', l.discount_cents,
		'tax_code', l.tax_code, 'tax_rate_bps', l.tax_rate_bps, 'tax_inclusive', l.tax_inclusive,
		'tax_category', l.tax_category, 'tax_cents', l.tax_cents, 'line_total_cents', l.line_total_cents);
END $$;

-- An invoice's e-invoice terms (0010_einvoice.sql) and its rounding (BT-114).
CREATE OR REPLACE FUNCTION mcp_invoice_terms_json(i invoices) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('buyer_reference', i.buyer_reference, 'purchase_order', i.purchase_order,
		'delivery_date', to_char(i.delivery_date, 'YYYY-MM-DD'), 'payment_terms', i.payment_terms,
		'rounding_cents', i.rounding_cents);
END $$;

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

-- One invoice of the tenant, by primary key. As the owner (row-level
-- security does not bind it) the look-up has no tenant_id condition, so no
-- index leading with tenant_id competes with the primary key: under the
-- policy, a plan cached while the table was nearly empty took
-- invoices_by_customer and read every invoice of the tenant per call (see
-- docs/database.md). The tenant, the caller's and the policy's, is compared
-- here, and the row is locked only once it is known to be the tenant's.
CREATE OR REPLACE FUNCTION mcp_invoice_or_404(p_tenant text, p_invoice uuid, p_lock boolean)
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

CREATE OR REPLACE FUNCTION mcp_create_invoice(p_tenant text, p_subject text, p_request text,
                                   p_customer text, p_currency text, p_due_date date,
                                   p_memo text, p_items jsonb, p_key text, p_args jsonb,
                                   p_require_known boolean)
RETURNS jsonb LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
	inv invoices;
	lines invoice_line_items[];
	known boolean;
	result jsonb;
BEGIN
	PERFORM mcp_as_tenant(p_tenant);
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

CREATE OR REPLACE FUNCTION mcp_update_invoice(p_tenant text, p_subject text, p_request text, p_invoice uuid,
                                   p_customer text, p_currency text, p_due_date date, p_memo text,
                                   p_items jsonb, p_terms jsonb)
RETURNS jsonb LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
	inv invoices;
	lines invoice_line_items[];
BEGIN
	PERFORM mcp_as_tenant(p_tenant);
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
RETURNS jsonb LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
	inv invoices;
	num bigint;
BEGIN
	PERFORM mcp_as_tenant(p_tenant);
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

CREATE OR REPLACE FUNCTION mcp_void_invoice(p_tenant text, p_subject text, p_request text, p_invoice uuid,
                                            p_reason text)
RETURNS jsonb LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
	inv invoices;
BEGIN
	PERFORM mcp_as_tenant(p_tenant);
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

CREATE OR REPLACE FUNCTION mcp_get_invoice_by(p_tenant text, p_invoice uuid, p_number text)
RETURNS jsonb LANGUAGE plpgsql STABLE SET enable_seqscan = off AS $$
DECLARE
	inv invoices;
BEGIN
	PERFORM mcp_as_tenant(p_tenant);
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
CREATE OR REPLACE FUNCTION mcp_find_invoices(p_tenant text, p_filter jsonb, p_limit int, p_after_key text,
                                  p_after_id uuid)
RETURNS jsonb LANGUAGE plpgsql STABLE SET enable_seqscan = off AS $$
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
	PERFORM mcp_as_tenant(p_tenant);
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
