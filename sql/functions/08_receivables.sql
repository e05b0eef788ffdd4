-- 08_receivables.sql - receivables: outstanding balances read from the
-- kept sums (0011_balances.sql) and the operator's check of those sums.

-- One customer's open amount and open invoice count per currency: its
-- folded rows plus its pending deltas (sums are linear, so no netting per
-- due date is needed). A currency with no open invoice has no row.
CREATE OR REPLACE FUNCTION mcp_open_by_currency(p_tenant text, p_customer text)
RETURNS TABLE (currency char(3), due numeric, n numeric)
LANGUAGE sql STABLE AS $$
	SELECT x.currency, sum(x.due_cents), sum(x.invoice_count)
	  FROM (SELECT b.currency, b.due_cents, b.invoice_count FROM open_balances b
	         WHERE b.tenant_id = p_tenant AND b.customer_id = p_customer
	        UNION ALL
	        SELECT d.currency, d.due_cents, d.invoice_count FROM balance_deltas d
	         WHERE d.tenant_id = p_tenant AND d.customer_id = p_customer) x
	 GROUP BY 1 HAVING sum(x.invoice_count) > 0
$$;

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
SET jit = off SET enable_seqscan = off AS $$
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
	PERFORM mcp_as_tenant(p_tenant);
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

-- Every difference between what is kept and what the invoices say: one row
-- per (tenant, customer or '*' for the tenant totals, currency, due date)
-- whose kept sum or count (folded plus pending deltas) differs from the
-- open invoices'. Empty when all is exact. Run by the owning role (sees
-- every tenant): `mcp-invoiced check-balances`.
CREATE OR REPLACE FUNCTION mcp_check_balances()
RETURNS TABLE (tenant_id text, customer_id text, currency char(3), due_date date,
               kept_cents numeric, kept_count numeric, ledger_cents numeric, ledger_count numeric)
LANGUAGE sql STABLE AS $$
	WITH ledger AS (
		SELECT i.tenant_id, i.customer_id, i.currency, i.due_date,
		       sum(i.total_cents - i.amount_paid_cents - i.credited_cents) AS d, count(*)::numeric AS n
		  FROM invoices i WHERE i.status = 'sent' GROUP BY 1, 2, 3, 4),
	kept AS (
		SELECT k.tenant_id, k.customer_id, k.currency, k.due_date, sum(k.due_cents) AS d, sum(k.invoice_count) AS n
		  FROM (SELECT b.tenant_id, b.customer_id, b.currency, b.due_date, b.due_cents, b.invoice_count
		          FROM open_balances b
		        UNION ALL
		        SELECT x.tenant_id, x.customer_id, x.currency, x.due_date, x.due_cents, x.invoice_count
		          FROM balance_deltas x) k
		 GROUP BY 1, 2, 3, 4),
	kept_totals AS (
		SELECT k.tenant_id, k.currency, k.due_date, sum(k.due_cents) AS d, sum(k.invoice_count) AS n
		  FROM (SELECT t.tenant_id, t.currency, t.due_date, t.due_cents, t.invoice_count FROM open_totals t
		        UNION ALL
		        SELECT x.tenant_id, x.currency, x.due_date, x.due_cents, x.invoice_count FROM balance_deltas x) k
		 GROUP BY 1, 2, 3),
	ledger_totals AS (
		SELECT l.tenant_id, l.currency, l.due_date, sum(l.d) AS d, sum(l.n) AS n FROM ledger l GROUP BY 1, 2, 3)
	SELECT tenant_id, customer_id, currency, due_date, COALESCE(k.d, 0), COALESCE(k.n, 0),
	       COALESCE(l.d, 0), COALESCE(l.n, 0)
	  FROM kept k FULL JOIN ledger l USING (tenant_id, customer_id, currency, due_date)
	 WHERE (COALESCE(k.d, 0), COALESCE(k.n, 0)) IS DISTINCT FROM (COALESCE(l.d, 0), COALESCE(l.n, 0))
	UNION ALL
	SELECT tenant_id, '*', currency, due_date, COALESCE(k.d, 0), COALESCE(k.n, 0),
	       COALESCE(l.d, 0), COALESCE(l.n, 0)
	  FROM kept_totals k FULL JOIN ledger_totals l USING (tenant_id, currency, due_date)
	 WHERE (COALESCE(k.d, 0), COALESCE(k.n, 0)) IS DISTINCT FROM (COALESCE(l.d, 0), COALESCE(l.n, 0))
	 ORDER BY 1, 2, 3, 4
$$;
