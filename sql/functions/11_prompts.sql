-- 11_prompts.sql - data for MCP prompts and argument completion.

-- collect_overdue: the customer's details (if saved) and up to p_limit
-- invoices that are overdue today, oldest due date first, each as the
-- invoice tools show it (so amounts due follow the invoice's own rules).
CREATE OR REPLACE FUNCTION mcp_prompt_overdue(p_tenant text, p_customer text, p_limit int)
RETURNS jsonb LANGUAGE plpgsql STABLE SET enable_seqscan = off AS $$
DECLARE
	result jsonb;
BEGIN
	PERFORM mcp_as_tenant(p_tenant);
	SELECT jsonb_build_object(
		'customer', (SELECT jsonb_build_object('customer_id', c.customer_id, 'name', c.name,
		                                       'email', c.email)
		               FROM customers c WHERE c.tenant_id = p_tenant AND c.customer_id = p_customer),
		'invoices', COALESCE(jsonb_agg(j ORDER BY j->>'due_date', j->>'invoice_number'), '[]'))
	  INTO result
	  FROM (SELECT j || jsonb_build_object('days_overdue', current_date - (j->>'due_date')::date) AS j
	          FROM (SELECT mcp_invoice_json(i) AS j
	                         FROM invoices i
	                        WHERE i.tenant_id = p_tenant AND i.customer_id = p_customer
	                          AND i.status = 'sent' AND i.due_date < current_date) o
	         WHERE j->>'status' = 'overdue'
	         ORDER BY j->>'due_date' LIMIT p_limit) s;
	RETURN result;
END $$;

-- reconcile_bank_payment: open invoices in p_currency that the bank line
-- may pay: the invoice its reference names (an INV- number), and those
-- whose amount due is exactly p_amount (of p_customer when given).
CREATE OR REPLACE FUNCTION mcp_prompt_candidates(p_tenant text, p_currency text, p_amount bigint,
                                      p_customer text, p_reference text, p_limit int)
RETURNS jsonb LANGUAGE plpgsql STABLE SET enable_seqscan = off AS $$
DECLARE
	named text := substring(p_reference FROM 'INV-[0-9]{6,}');
	result jsonb;
BEGIN
	PERFORM mcp_as_tenant(p_tenant);
	SELECT jsonb_build_object(
		'named', named,
		'today', to_char(current_date, 'YYYY-MM-DD'),
		'invoices', COALESCE(jsonb_agg(j ORDER BY j->>'due_date', j->>'invoice_number'), '[]'))
	  INTO result
	  FROM (SELECT j || jsonb_build_object('named_in_reference', j->>'invoice_number' = named,
	                                       'exact_amount', (j->>'amount_due_cents')::numeric = p_amount) AS j
	          FROM (SELECT mcp_invoice_json(i) AS j
	                  FROM invoices i
	                 WHERE i.tenant_id = p_tenant AND i.status = 'sent' AND i.currency = p_currency
	                   AND (p_customer IS NULL OR i.customer_id = p_customer)
	                   AND (i.invoice_number = named OR i.total_cents - i.amount_paid_cents >= p_amount)) o
	         WHERE j->>'invoice_number' = named OR (j->>'amount_due_cents')::numeric = p_amount
	         ORDER BY j->>'invoice_number' = named DESC, j->>'due_date' LIMIT p_limit) s;
	RETURN result;
END $$;

-- completion/complete: up to p_limit + 1 values of one kind starting with
-- p_prefix (the extra one tells the caller there are more), ordered.
--   customer_id     saved customers and customers named on invoices
--   invoice_number  numbered invoices (of p_customer when given)
--   invoice_id      invoice ids whose hex digits start with the prefix's
CREATE OR REPLACE FUNCTION mcp_complete(p_tenant text, p_kind text, p_prefix text, p_customer text, p_limit int)
RETURNS jsonb LANGUAGE plpgsql STABLE SET enable_seqscan = off AS $$
DECLARE
	pat text := mcp_prefix_pattern(p_prefix);
	hex text;
	result jsonb;
BEGIN
	PERFORM mcp_as_tenant(p_tenant);
	IF p_kind = 'customer_id' THEN
		-- A loose index scan over invoices (one probe per distinct customer)
		-- merged with the saved customers.
		WITH RECURSIVE seen(id) AS (
			(SELECT customer_id FROM invoices
			  WHERE tenant_id = p_tenant AND customer_id LIKE pat
			  ORDER BY customer_id USING ~<~ LIMIT 1)
			UNION ALL
			SELECT (SELECT customer_id FROM invoices
			         WHERE tenant_id = p_tenant AND customer_id LIKE pat AND customer_id ~>~ seen.id
			         ORDER BY customer_id USING ~<~ LIMIT 1)
			  FROM seen WHERE seen.id IS NOT NULL),
		ids AS (
			(SELECT id FROM seen WHERE id IS NOT NULL LIMIT p_limit + 1)
			UNION
			(SELECT customer_id FROM customers
			  WHERE tenant_id = p_tenant AND customer_id LIKE pat
			  ORDER BY customer_id USING ~<~ LIMIT p_limit + 1))
		SELECT COALESCE(jsonb_agg(id ORDER BY id COLLATE "C"), '[]') INTO result
		  FROM (SELECT id FROM ids ORDER BY id COLLATE "C" LIMIT p_limit + 1) t;
	ELSIF p_kind = 'invoice_number' THEN
		SELECT COALESCE(jsonb_agg(invoice_number ORDER BY invoice_number COLLATE "C"), '[]') INTO result
		  FROM (SELECT invoice_number FROM invoices
		         WHERE tenant_id = p_tenant AND invoice_number LIKE pat
		           AND (p_customer IS NULL OR customer_id = p_customer)
		         ORDER BY invoice_number USING ~<~ LIMIT p_limit + 1) t;
	ELSIF p_kind = 'invoice_id' THEN
		hex := lower(replace(p_prefix, '-', ''));
		IF hex !~ '^[0-9a-f]{0,32}$' THEN
			RETURN '[]';
		END IF;
		SELECT COALESCE(jsonb_agg(invoice_id::text ORDER BY invoice_id), '[]') INTO result
		  FROM (SELECT invoice_id FROM invoices
		         WHERE tenant_id = p_tenant
		           AND invoice_id BETWEEN rpad(hex, 32, '0')::uuid AND rpad(hex, 32, 'f')::uuid
		         ORDER BY invoice_id LIMIT p_limit + 1) t;
	ELSE
		RAISE EXCEPTION 'unknown completion kind %', p_kind;
	END IF;
	RETURN result;
END $$;
