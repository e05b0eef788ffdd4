-- 03_pricing.sql - money: pricing line items with their tax rates, line and
-- invoice totals, the settled status, and the tax rate tools.

-- Prices validated items (description, amount_cents, quantity,
-- discount_bps?, tax_code?, unit_code?) by the rule above, as line rows without an
-- invoice_id (the caller sets it). An unknown tax_code is INVALID_INPUT.
CREATE OR REPLACE FUNCTION mcp_price_lines(p_tenant text, p_items jsonb) RETURNS SETOF invoice_line_items
LANGUAGE plpgsql STABLE AS $$
DECLARE
	item record;
	rate tax_rates;
	v_code text;
	v_gross numeric;
	v_disc numeric;
	v_net numeric;
	v_tax numeric;
	v_bps int;
	line invoice_line_items;
BEGIN
	FOR item IN SELECT e, (n - 1)::int AS pos FROM jsonb_array_elements(p_items) WITH ORDINALITY AS o(e, n)
	            ORDER BY n LOOP
		v_code := item.e->>'tax_code';
		rate := NULL;
		IF v_code IS NOT NULL THEN
			SELECT * INTO rate FROM tax_rates t WHERE t.tenant_id = p_tenant AND t.code = v_code;
			IF NOT FOUND THEN
				RAISE EXCEPTION 'line_items[%].tax_code: no tax rate "%" for this tenant (known: %); create it with upsert_tax_rate',
					item.pos, v_code,
					COALESCE((SELECT string_agg(code, ', ' ORDER BY code) FROM tax_rates WHERE tenant_id = p_tenant), 'none')
					USING ERRCODE = 'MI400', DETAIL = format('line_items[%s].tax_code', item.pos);
			END IF;
		END IF;
		v_gross := (item.e->>'amount_cents')::numeric * (item.e->>'quantity')::numeric;
		v_bps := COALESCE((item.e->>'discount_bps')::int, 0);
		v_disc := round(v_gross * v_bps / 10000);
		v_net := v_gross - v_disc;
		v_tax := CASE WHEN rate.code IS NULL THEN 0
		              WHEN rate.inclusive THEN round(v_net * rate.rate_bps / (10000 + rate.rate_bps))
		              ELSE round(v_net * rate.rate_bps / 10000) END;
		line := ROW(NULL, item.pos, p_tenant, item.e->>'description', (item.e->>'amount_cents')::bigint,
		            (item.e->>'quantity')::int, 0, v_bps, v_disc::bigint, rate.code, rate.rate_bps,
		            COALESCE(rate.inclusive, false), v_tax::bigint);
		line.line_total_cents := (v_net + CASE WHEN rate.inclusive THEN 0 ELSE v_tax END)::bigint;
		line.unit_code := COALESCE(item.e->>'unit_code', 'C62');
		line.tax_category := rate.category;
		line.tax_exemption_reason := rate.exemption_reason;
		line.tax_exemption_code := rate.exemption_reason_code;
		RETURN NEXT line;
	END LOOP;
END $$;

-- An invoice's totals from its priced lines (document-level VAT, see
-- 0010_einvoice.sql): per VAT category and rate, tax = round(sum of the
-- lines' net x rate); each tax code's entry in the breakdown gets its
-- share (floor of its exact share, the group's remaining units one each to
-- the largest fractions), so the entries add up to the group's tax. total
-- = the lines after discount + the exclusive entries' tax; rounding (BT-114)
-- = the VAT the inclusive lines contain less their entries' tax.
CREATE OR REPLACE FUNCTION mcp_line_totals(p_lines invoice_line_items[], OUT subtotal bigint, OUT discount bigint,
                                OUT tax bigint, OUT total bigint, OUT breakdown jsonb, OUT rounding bigint)
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	SELECT COALESCE(sum(amount_cents::numeric * quantity), 0), COALESCE(sum(discount_cents), 0),
	       COALESCE(sum(amount_cents::numeric * quantity - discount_cents), 0)
	  INTO subtotal, discount, total
	  FROM unnest(p_lines);
	WITH c AS (
		SELECT tax_code, tax_rate_bps AS r, tax_inclusive AS incl, tax_category AS cat,
		       sum(amount_cents::numeric * quantity - discount_cents
		           - CASE WHEN tax_inclusive THEN tax_cents ELSE 0 END) AS taxable,
		       sum(CASE WHEN tax_inclusive THEN tax_cents ELSE 0 END) AS contained
		  FROM unnest(p_lines) WHERE tax_code IS NOT NULL GROUP BY 1, 2, 3, 4),
	s AS (
		SELECT c.*, floor(taxable * r / 10000) AS fl,
		       round(sum(taxable) OVER g * r / 10000) - sum(floor(taxable * r / 10000)) OVER g AS extra,
		       row_number() OVER (PARTITION BY cat, r ORDER BY taxable * r / 10000 - floor(taxable * r / 10000) DESC,
		                                                        tax_code, incl) AS rk
		  FROM c WINDOW g AS (PARTITION BY cat, r)),
	a AS (SELECT s.*, fl + CASE WHEN rk <= extra THEN 1 ELSE 0 END AS t FROM s)
	SELECT COALESCE(sum(t), 0), total + COALESCE(sum(t) FILTER (WHERE NOT incl), 0),
	       COALESCE(sum(contained - t) FILTER (WHERE incl), 0),
	       COALESCE(jsonb_agg(jsonb_build_object('tax_code', tax_code, 'rate_bps', r, 'inclusive', incl,
	                                             'category', cat, 'taxable_cents', taxable, 'tax_cents', t)
	                          ORDER BY tax_code, r, incl), '[]')
	  INTO tax, total, rounding, breakdown
	  FROM a;
END $$;

CREATE OR REPLACE FUNCTION mcp_insert_lines(p_invoice uuid, p_lines invoice_line_items[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO invoice_line_items
	SELECT p_invoice, l.position, l.tenant_id, l.description, l.amount_cents, l.quantity,
	       l.line_total_cents, l.discount_bps, l.discount_cents, l.tax_code, l.tax_rate_bps,
	       l.tax_inclusive, l.tax_cents, l.unit_code, l.tax_category, l.tax_exemption_reason,
	       l.tax_exemption_code
	  FROM unnest(p_lines) l;
END $$;

-- The status an issued invoice has after its amounts moved.
CREATE OR REPLACE FUNCTION mcp_settled_status(i invoices) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN i.total_cents - i.amount_paid_cents - i.credited_cents = 0 THEN 'paid' ELSE 'sent' END
$$;

CREATE OR REPLACE FUNCTION mcp_tax_rate_json(t tax_rates) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('code', t.code, 'name', t.name, 'rate_bps', t.rate_bps,
	                          'inclusive', t.inclusive, 'category', t.category,
	                          'exemption_reason', t.exemption_reason,
	                          'exemption_reason_code', t.exemption_reason_code,
	                          'created_at', mcp_ts(t.created_at), 'updated_at', mcp_ts(t.updated_at));
END $$;

CREATE OR REPLACE FUNCTION mcp_upsert_tax_rate(p_tenant text, p_subject text, p_request text, p_code text,
                                    p_name text, p_rate_bps int, p_inclusive boolean, p_category text,
                                    p_reason text, p_reason_code text)
RETURNS jsonb LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
	t tax_rates;
	created boolean;
	category text := COALESCE(p_category, CASE WHEN p_rate_bps > 0 THEN 'S' ELSE 'Z' END);
	why text := mcp_tax_category_error(category, p_rate_bps, p_reason, p_reason_code);
BEGIN
	PERFORM mcp_as_tenant(p_tenant);
	-- The category's rules (0010_einvoice.sql), refused naming the argument.
	IF why IS NOT NULL THEN
		RAISE EXCEPTION '%', why USING ERRCODE = 'MI400', DETAIL = split_part(why, ':', 1);
	END IF;
	INSERT INTO tax_rates AS r (tenant_id, code, name, rate_bps, inclusive, category, exemption_reason,
	                            exemption_reason_code)
	VALUES (p_tenant, p_code, p_name, p_rate_bps, p_inclusive, category, p_reason, p_reason_code)
	ON CONFLICT (tenant_id, code) DO UPDATE
	   SET name = EXCLUDED.name, rate_bps = EXCLUDED.rate_bps, inclusive = EXCLUDED.inclusive,
	       category = EXCLUDED.category, exemption_reason = EXCLUDED.exemption_reason,
	       exemption_reason_code = EXCLUDED.exemption_reason_code, updated_at = clock_timestamp()
	RETURNING (xmax = 0) INTO created;
	SELECT * INTO t FROM tax_rates WHERE tenant_id = p_tenant AND code = p_code;
	PERFORM mcp_audit(p_tenant, p_subject, 'upsert_tax_rate', p_code, p_request);
	RETURN mcp_tax_rate_json(t) || jsonb_build_object('created', created);
END $$;

CREATE OR REPLACE FUNCTION mcp_list_tax_rates(p_tenant text) RETURNS jsonb LANGUAGE plpgsql STABLE SET enable_seqscan = off AS $$
BEGIN
	PERFORM mcp_as_tenant(p_tenant);
	RETURN jsonb_build_object('tax_rates', COALESCE((SELECT jsonb_agg(mcp_tax_rate_json(t) ORDER BY t.code)
		FROM tax_rates t WHERE t.tenant_id = p_tenant), '[]'));
END $$;
