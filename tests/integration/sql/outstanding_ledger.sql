-- outstanding_ledger.sql - list_outstanding_balances as it was before the kept
-- balances (0011_balances.sql): every open invoice of the tenant aggregated on
-- each call. Loaded by the tests (the new reader must answer exactly this for
-- every as_of) and by the bench (before/after in the same run); never by migrate.
CREATE OR REPLACE FUNCTION mcp_list_outstanding_ledger(p_tenant text, p_customer text, p_currency text, p_as_of date,
                                                p_limit int, p_after_customer text, p_after_currency text)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	result jsonb;
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
	p_as_of := COALESCE(p_as_of, current_date);
	WITH open AS (
		SELECT i.customer_id, i.currency, i.due_date,
		       i.total_cents - i.amount_paid_cents - i.credited_cents AS due,
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

