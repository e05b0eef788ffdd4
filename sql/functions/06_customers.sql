-- 06_customers.sql - customers: addresses, their JSON with balances and
-- invoices, upsert, get, list and the closest names.

-- The stored form of a validated address object (tools: address given
-- as an object): exactly these five keys, absent ones null; NULL for
-- anything that is not an object (a text address).
CREATE OR REPLACE FUNCTION mcp_postal_address(a jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN jsonb_typeof(a) = 'object' THEN jsonb_build_object('lines', a->'lines',
		'city', a->'city', 'postal_code', COALESCE(a->'postal_code', 'null'),
		'country_code', a->'country_code', 'region', COALESCE(a->'region', 'null')) END
$$;

-- The address as printed on statements and PDFs when only the structured
-- form was given: the lines, "postal code city", the region, the country.
CREATE OR REPLACE FUNCTION mcp_postal_address_text(a jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN a IS NOT NULL THEN concat_ws(E'\n',
		(SELECT string_agg(e, E'\n' ORDER BY n) FROM jsonb_array_elements_text(a->'lines') WITH ORDINALITY x(e, n)),
		concat_ws(' ', a->>'postal_code', a->>'city'), a->>'region', a->>'country_code') END
$$;

CREATE OR REPLACE FUNCTION mcp_customer_json(p_tenant text, p_customer text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT jsonb_build_object('customer_id', p_customer, 'name', c.name, 'email', c.email,
	                          'address', c.address, 'vat_id', c.vat_id, 'tax_id', c.vat_id)
	  FROM (SELECT 1) one
	  LEFT JOIN customers c ON c.tenant_id = p_tenant AND c.customer_id = p_customer);
END $$;

-- What one customer owes and holds, per currency.
CREATE OR REPLACE FUNCTION mcp_customer_balances(p_tenant text, p_customer text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT COALESCE(jsonb_agg(jsonb_build_object('currency', cur,
		'outstanding_cents', COALESCE(o.due, 0), 'open_invoice_count', COALESCE(o.n, 0),
		'credit_cents', COALESCE(cr.balance, 0)) ORDER BY cur), '[]')
	  -- the kept balances (0011_balances.sql), per currency
	  FROM (SELECT currency AS cur, b.due, b.n FROM mcp_open_by_currency(p_tenant, p_customer) b) o
	  FULL JOIN (SELECT currency AS cur, balance_cents AS balance FROM customer_credits
	              WHERE tenant_id = p_tenant AND customer_id = p_customer AND balance_cents > 0) cr
	 USING (cur));
END $$;

-- list_invoices of one customer, newest first, no other filter: the page
-- an agent asks for most. Static SQL with a generic plan, so it is planned
-- once per session (the dynamic SQL of mcp_find_invoices costs about 0.5
-- ms of planning a call), and a plan that holds whatever the statistics
-- say or said when it was made: with sequential scans, bitmap scans and
-- sorts off, the only plans left are ordered index scans, and
-- invoices_by_customer, the one index that binds both the tenant and the
-- customer, costs least of them at any table size (README "Database").
CREATE OR REPLACE FUNCTION mcp_customer_invoices(p_tenant text, p_customer text, p_limit int, p_after_key text,
                                      p_after_id uuid)
RETURNS jsonb LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_bitmapscan = off
SET enable_sort = off AS $$
DECLARE
	result jsonb;
BEGIN
	WITH page AS (
		SELECT i AS inv, i.created_at AS c, i.invoice_id AS id,
		       row_number() OVER (ORDER BY i.created_at DESC, i.invoice_id DESC) AS rn
		  FROM invoices i
		 WHERE i.tenant_id = p_tenant AND i.customer_id = p_customer
		   AND (i.created_at, i.invoice_id) <
		       (COALESCE(timestamptz 'epoch' + p_after_key::bigint * interval '1 microsecond', 'infinity'),
		        COALESCE(p_after_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
		 ORDER BY i.created_at DESC, i.invoice_id DESC LIMIT p_limit + 1)
	SELECT jsonb_build_object(
		'invoices', COALESCE(jsonb_agg(mcp_invoice_json(inv) ORDER BY rn) FILTER (WHERE rn <= p_limit), '[]'),
		'next', CASE WHEN count(*) > p_limit THEN
			(SELECT jsonb_build_object('key', (extract(epoch FROM p.c) * 1000000)::bigint::text, 'id', p.id)
			   FROM page p WHERE p.rn = p_limit) END)
	  INTO result FROM page;
	RETURN result;
END $$;

CREATE OR REPLACE FUNCTION mcp_upsert_customer(p_tenant text, p_subject text, p_request text, p_customer text,
                                    p_name text, p_email text, p_address text, p_vat_id text,
                                    p_einvoice jsonb)
RETURNS jsonb LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
	c customers;
	created boolean;
	-- p_einvoice: the e-invoice fields (0010_einvoice.sql), address as an object
	postal jsonb := mcp_postal_address(p_einvoice->'address');
BEGIN
	PERFORM mcp_as_tenant(p_tenant);
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

CREATE OR REPLACE FUNCTION mcp_get_customer(p_tenant text, p_customer text)
RETURNS jsonb LANGUAGE plpgsql STABLE SET enable_seqscan = off AS $$
DECLARE
	c customers;
	stats jsonb;
BEGIN
	PERFORM mcp_as_tenant(p_tenant);
	SELECT * INTO c FROM customers WHERE tenant_id = p_tenant AND customer_id = p_customer;
	SELECT jsonb_build_object('invoice_count', count(*),
	                          'open_invoice_count', count(*) FILTER (WHERE status = 'sent'),
	                          'balances', mcp_customer_balances(p_tenant, p_customer))
	  INTO stats FROM invoices WHERE tenant_id = p_tenant AND customer_id = p_customer;
	IF c.customer_id IS NULL THEN
		IF (stats->>'invoice_count')::int = 0 THEN
			RAISE EXCEPTION 'no customer % for this tenant; create one with upsert_customer (list_customers searches saved ones)',
				p_customer USING ERRCODE = 'MI404', DETAIL = 'customer_id';
		END IF;
		RETURN jsonb_build_object('customer_id', p_customer, 'name', NULL, 'email', NULL,
		                          'address', NULL, 'has_details', false) || stats;
	END IF;
	RETURN jsonb_build_object('customer_id', c.customer_id, 'name', c.name, 'email', c.email,
	                          'address', c.address, 'vat_id', c.vat_id, 'tax_id', c.vat_id,
	                          'has_details', true,
	                          'created_at', mcp_ts(c.created_at), 'updated_at', mcp_ts(c.updated_at))
	       || mcp_customer_einvoice_json(c) || stats;
END $$;

-- Saved customers whose id, name or e-mail starts with p_query (any case),
-- by customer_id, keyset-paginated, each with balances per currency. With
-- a query, the matches are gathered through the three search indexes and
-- then sorted (walking customer_id order could pass most of the table).
-- A prefix p is the byte range [p, p || U+10FFFF).
CREATE OR REPLACE FUNCTION mcp_list_customers(p_tenant text, p_query text, p_limit int, p_after text)
RETURNS jsonb LANGUAGE plpgsql STABLE SET enable_seqscan = off AS $$
DECLARE
	after text := CASE WHEN p_after IS NOT NULL THEN ' AND c.customer_id > $4' ELSE '' END;
	w text;  -- which customers the page is drawn from
	result jsonb;
BEGIN
	PERFORM mcp_as_tenant(p_tenant);
	IF p_query IS NULL THEN
		w := 'c.tenant_id = $1' || after;
	ELSE
		-- The page's ids from three index-only range scans (the search
		-- indexes include customer_id), then the rows of the page alone.
		SELECT 'c.tenant_id = $1 AND c.customer_id IN (SELECT customer_id FROM ('
		       || string_agg(format('SELECT c.customer_id FROM customers c WHERE c.tenant_id = $1'
		                            ' AND c.%1$I ~>=~ $2 AND c.%1$I ~<~ $5 %2$s', col, after), ' UNION ')
		       || ') u ORDER BY customer_id LIMIT $3 + 1)'
		  INTO w FROM unnest(ARRAY['search_id', 'search_name', 'search_email']) col;
	END IF;
	EXECUTE format($q$
		WITH page AS (
			SELECT c.*, row_number() OVER (ORDER BY c.customer_id) AS n
			  FROM customers c WHERE %s ORDER BY c.customer_id LIMIT $3 + 1)
		SELECT jsonb_build_object(
			'customers', COALESCE(jsonb_agg(jsonb_build_object(
				'customer_id', customer_id, 'name', name, 'email', email, 'address', address,
				'balances', mcp_customer_balances($1, customer_id)) ORDER BY n) FILTER (WHERE n <= $3), '[]'),
			'next', CASE WHEN count(*) > $3 THEN (SELECT p.customer_id FROM page p WHERE p.n = $3) END)
		  FROM page $q$, w)
	  INTO result USING p_tenant, lower(p_query), p_limit, p_after, lower(p_query) || chr(1114111);
	RETURN result;
END $$;

-- The closest saved customer ids to p_customer (by edit distance), for messages.
CREATE OR REPLACE FUNCTION mcp_closest_customers(p_tenant text, p_customer text) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT COALESCE(string_agg(customer_id, ', ' ORDER BY d, customer_id), 'none saved yet')
	  FROM (SELECT customer_id, levenshtein(lower(left(customer_id, 64)), lower(p_customer)) AS d
	          FROM customers WHERE tenant_id = p_tenant
	         ORDER BY 2, 1 LIMIT 3) c
$$;
