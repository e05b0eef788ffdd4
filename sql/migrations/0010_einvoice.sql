-- 0010_einvoice.sql - the data an EN 16931 e-invoice needs (issue 22) and
-- the one read that hands it to the XML writer: mcp_einvoice_source, the
-- contract in docs/receivables.md ("E-invoicing data"). Every field is
-- optional: an invoice without them is still an invoice, the XML writer
-- names what is missing.
--
-- Money (0005's mcp_line_totals): VAT is computed per document, per VAT
-- category and rate (EN 16931 BR-CO-17, BR-S-08/09): tax = round(sum of
-- the lines' net amounts x rate), half away from zero. A tax-inclusive
-- line's net is its billed amount less the VAT it contains (rounded per
-- line); the customer is billed the sum of the inclusive lines, and the
-- difference to net + document VAT is the rounding amount (BT-114,
-- invoices.rounding_cents). Credit notes are priced the same way, as
-- tax-inclusive amounts (they credit what was billed).

-- ---- code lists the database checks itself ----

-- ISO 4217 minor units (server/lib/currency.c holds the same table; the
-- codes not listed have 2).
CREATE FUNCTION mcp_currency_exponent(p_currency text) RETURNS int LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN p_currency IN ('BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG',
	                                'RWF', 'UGX', 'UYI', 'VND', 'VUV', 'XAF', 'XOF', 'XPF') THEN 0
	            WHEN p_currency IN ('BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND') THEN 3
	            WHEN p_currency IN ('CLF', 'UYW') THEN 4 ELSE 2 END
$$;

-- IBAN check digits (ISO 13616, ISO 7064 mod 97-10): letters become
-- 10..35, the first four characters move to the end, the number mod 97
-- must be 1.
CREATE FUNCTION mcp_iban_valid(p_iban text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	s text;
	r int := 0;
	ch int;
BEGIN
	IF p_iban IS NULL THEN
		RETURN true;
	END IF;
	IF p_iban !~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$' THEN
		RETURN false;
	END IF;
	s := substr(p_iban, 5) || substr(p_iban, 1, 4);
	FOR i IN 1 .. length(s) LOOP
		ch := ascii(substr(s, i, 1));
		IF ch >= 65 THEN
			r := (r * 100 + ch - 55) % 97;
		ELSE
			r := (r * 10 + ch - 48) % 97;
		END IF;
	END LOOP;
	RETURN r = 1;
END $$;

-- A postal address as the tools store it: {lines: 1-3 strings, city,
-- postal_code (null where the country has none), country_code (ISO 3166-1
-- alpha-2), region (or null)}; nothing else.
CREATE FUNCTION mcp_postal_address_valid(a jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT a IS NULL OR (jsonb_typeof(a) = 'object'
		AND (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(a) k)
		    = ARRAY['city', 'country_code', 'lines', 'postal_code', 'region']
		AND jsonb_typeof(a->'lines') = 'array' AND jsonb_array_length(a->'lines') BETWEEN 1 AND 3
		AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(a->'lines') e
		                 WHERE jsonb_typeof(e) <> 'string' OR char_length(e #>> '{}') NOT BETWEEN 1 AND 200)
		AND char_length(a->>'city') BETWEEN 1 AND 200
		AND (a->'postal_code' = 'null' OR char_length(a->>'postal_code') BETWEEN 1 AND 32)
		AND (a->>'country_code') ~ '^[A-Z0-9]{2}$'
		AND (a->'region' = 'null' OR char_length(a->>'region') BETWEEN 1 AND 200))
$$;

-- The stored form of a validated address object (tools: address given
-- as an object): exactly these five keys, absent ones null; NULL for
-- anything that is not an object (a text address).
CREATE FUNCTION mcp_postal_address(a jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN jsonb_typeof(a) = 'object' THEN jsonb_build_object('lines', a->'lines',
		'city', a->'city', 'postal_code', COALESCE(a->'postal_code', 'null'),
		'country_code', a->'country_code', 'region', COALESCE(a->'region', 'null')) END
$$;

-- An electronic address (BT-34, BT-49): {scheme: an EAS code, id}.
CREATE FUNCTION mcp_electronic_address_valid(a jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT a IS NULL OR (jsonb_typeof(a) = 'object'
		AND (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(a) k) = ARRAY['id', 'scheme']
		AND (a->>'scheme') ~ '^([0-9]{4}|[A-Z]{2})$' AND char_length(a->>'id') BETWEEN 1 AND 200)
$$;

-- The address as printed on statements and PDFs when only the structured
-- form was given: the lines, "postal code city", the region, the country.
CREATE FUNCTION mcp_postal_address_text(a jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN a IS NOT NULL THEN concat_ws(E'\n',
		(SELECT string_agg(e, E'\n' ORDER BY n) FROM jsonb_array_elements_text(a->'lines') WITH ORDINALITY x(e, n)),
		concat_ws(' ', a->>'postal_code', a->>'city'), a->>'region', a->>'country_code') END
$$;

-- The rules of a VAT category (UNCL5305) for a saved tax rate, from the
-- EN 16931 rules BR-S-05/10, BR-Z-05/10, BR-E-05/10, BR-AE-05/10,
-- BR-IC-05/10, BR-G-05/10, BR-O-05/10: NULL when the rate keeps them,
-- else why not (the tool's error names the argument first).
CREATE FUNCTION mcp_tax_category_error(p_category text, p_rate int, p_reason text, p_code text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE
		WHEN p_category NOT IN ('S', 'Z', 'E', 'AE', 'K', 'G', 'O', 'L', 'M') THEN
			'category: must be one of S, Z, E, AE, K, G, O, L, M (UNCL5305)'
		WHEN p_category = 'S' AND p_rate = 0 THEN
			'rate_bps: category S (standard rated) needs a rate above 0 (BR-S-05); a rate of 0 is Z, E, AE, K, G or O'
		WHEN p_category IN ('S', 'Z') AND (p_reason IS NOT NULL OR p_code IS NOT NULL) THEN
			format('%s: category %s has no exemption reason (BR-%s-10); remove exemption_reason and exemption_reason_code',
			       CASE WHEN p_reason IS NOT NULL THEN 'exemption_reason' ELSE 'exemption_reason_code' END,
			       p_category, p_category)
		WHEN p_category IN ('Z', 'E', 'AE', 'K', 'G', 'O') AND p_rate <> 0 THEN
			format('rate_bps: category %s must have a rate of 0 (BR-%s-05), got %s', p_category,
			       CASE p_category WHEN 'K' THEN 'IC' ELSE p_category END, p_rate)
		WHEN p_category IN ('E', 'AE', 'K', 'G', 'O') AND p_reason IS NULL AND p_code IS NULL THEN
			format('exemption_reason: category %s needs an exemption_reason (BT-120) or exemption_reason_code (BT-121, e.g. %s) (BR-%s-10)',
			       p_category, CASE p_category WHEN 'AE' THEN 'VATEX-EU-AE' WHEN 'K' THEN 'VATEX-EU-IC'
			                                   WHEN 'G' THEN 'VATEX-EU-G' WHEN 'O' THEN 'VATEX-EU-O'
			                                   ELSE 'VATEX-EU-132-1I' END,
			       CASE p_category WHEN 'K' THEN 'IC' ELSE p_category END)
		WHEN p_code IS NOT NULL AND p_category IN ('AE', 'K', 'G', 'O')
		     AND p_code NOT IN (CASE p_category WHEN 'AE' THEN 'VATEX-EU-AE' WHEN 'K' THEN 'VATEX-EU-IC'
		                                        WHEN 'G' THEN 'VATEX-EU-G' ELSE 'VATEX-EU-O' END,
		                        CASE WHEN p_category = 'AE' THEN 'VATEX-FR-AE' ELSE '' END) THEN
			format('exemption_reason_code: category %s means %s, its code is %s; got %s', p_category,
			       CASE p_category WHEN 'AE' THEN 'reverse charge' WHEN 'K' THEN 'intra-community supply'
			                       WHEN 'G' THEN 'export outside the EU' ELSE 'not subject to VAT' END,
			       CASE p_category WHEN 'AE' THEN 'VATEX-EU-AE (or VATEX-FR-AE)' WHEN 'K' THEN 'VATEX-EU-IC'
			                       WHEN 'G' THEN 'VATEX-EU-G' ELSE 'VATEX-EU-O' END, p_code)
		WHEN p_code IN ('VATEX-EU-AE', 'VATEX-FR-AE', 'VATEX-EU-IC', 'VATEX-EU-G', 'VATEX-EU-O')
		     AND p_category NOT IN ('AE', 'K', 'G', 'O') THEN
			format('exemption_reason_code: %s is the code of category %s, not %s', p_code,
			       CASE p_code WHEN 'VATEX-EU-IC' THEN 'K' WHEN 'VATEX-EU-G' THEN 'G' WHEN 'VATEX-EU-O' THEN 'O'
			                   ELSE 'AE' END, p_category)
		END
$$;

-- ---- seller, buyer, tax rates, lines, invoices ----

ALTER TABLE business_profiles
	ADD COLUMN postal_address     jsonb CHECK (mcp_postal_address_valid(postal_address)),  -- BG-5
	ADD COLUMN legal_id           text  CHECK (char_length(legal_id) BETWEEN 1 AND 100),   -- BT-30
	ADD COLUMN electronic_address jsonb CHECK (mcp_electronic_address_valid(electronic_address)), -- BT-34
	ADD COLUMN iban               text  CHECK (mcp_iban_valid(iban)),                        -- BT-84
	ADD COLUMN bic                text  CHECK (bic ~ '^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$'), -- BT-86
	ADD COLUMN contact_name       text  CHECK (char_length(contact_name) BETWEEN 1 AND 200); -- BT-41

ALTER TABLE customers
	ADD COLUMN postal_address     jsonb CHECK (mcp_postal_address_valid(postal_address)),  -- BG-8
	ADD COLUMN legal_id           text  CHECK (char_length(legal_id) BETWEEN 1 AND 100),   -- BT-47
	ADD COLUMN electronic_address jsonb CHECK (mcp_electronic_address_valid(electronic_address)), -- BT-49
	ADD COLUMN buyer_reference    text  CHECK (char_length(buyer_reference) BETWEEN 1 AND 200); -- BT-10

ALTER TABLE tax_rates
	ADD COLUMN category              text,                                                   -- BT-151/118
	ADD COLUMN exemption_reason      text CHECK (char_length(exemption_reason) BETWEEN 1 AND 500), -- BT-120
	ADD COLUMN exemption_reason_code text CHECK (exemption_reason_code ~ '^VATEX-[A-Z0-9-]{1,40}$'); -- BT-121
UPDATE tax_rates SET category = CASE WHEN rate_bps > 0 THEN 'S' ELSE 'Z' END;
ALTER TABLE tax_rates ALTER COLUMN category SET NOT NULL,
	ADD CONSTRAINT tax_rates_category_rules
		CHECK (mcp_tax_category_error(category, rate_bps, exemption_reason, exemption_reason_code) IS NULL);

-- A line keeps what its tax rate said when it was priced (a rate may
-- change later; a sent invoice does not).
ALTER TABLE invoice_line_items
	ADD COLUMN unit_code             text NOT NULL DEFAULT 'C62' CHECK (unit_code ~ '^[A-Z0-9]{1,3}$'), -- BT-130
	ADD COLUMN tax_category          text,
	ADD COLUMN tax_exemption_reason  text,
	ADD COLUMN tax_exemption_code    text,
	-- (the category's full rules are checked on the rate, tax_rates_category_rules:
	-- evaluating them per line cost 15 us a line, measured)
	ADD CONSTRAINT line_items_category CHECK ((tax_code IS NULL) = (tax_category IS NULL) AND
		tax_category IN ('S', 'Z', 'E', 'AE', 'K', 'G', 'O', 'L', 'M'));


ALTER TABLE invoices
	ADD COLUMN buyer_reference text CHECK (char_length(buyer_reference) BETWEEN 1 AND 200),  -- BT-10
	ADD COLUMN purchase_order  text CHECK (char_length(purchase_order) BETWEEN 1 AND 200),   -- BT-13
	ADD COLUMN delivery_date   date,                                                         -- BT-72
	ADD COLUMN payment_terms   text CHECK (char_length(payment_terms) BETWEEN 1 AND 1000),   -- BT-20
	-- BT-114: what the inclusive lines bill less their net and document VAT
	ADD COLUMN rounding_cents  bigint NOT NULL DEFAULT 0;

-- The document-level VAT rule on an invoice row (its tax_breakdown, one
-- entry per tax code, rate and inclusiveness, each with its category):
-- per category and rate the entries' tax sums to round(taxable x rate);
-- tax_cents is their sum; with taxed lines, the total is the lines'
-- amounts after discount plus the exclusive entries' tax (rows without a
-- breakdown, written before it existed or by tests, keep any total);
-- rounding_cents is 0 without inclusive entries.
CREATE FUNCTION mcp_document_vat_ok(b jsonb, tax bigint, total bigint, subtotal bigint, discount bigint,
                                    rounding bigint)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	ok boolean;
BEGIN
	IF b = '[]' THEN
		RETURN tax = 0 AND rounding = 0;
	END IF;
	SELECT bool_and(g.t = round(g.taxable * g.r / 10000)) AND sum(g.t) = tax
	       AND total = subtotal - discount + sum(g.excl) AND (rounding = 0 OR bool_or(g.incl))
	  INTO ok
	  FROM (SELECT (e->>'rate_bps')::int AS r, sum((e->>'tax_cents')::numeric) AS t,
	               sum((e->>'taxable_cents')::numeric) AS taxable,
	               COALESCE(sum((e->>'tax_cents')::numeric) FILTER (WHERE NOT (e->>'inclusive')::boolean), 0) AS excl,
	               bool_or((e->>'inclusive')::boolean) AS incl
	          FROM jsonb_array_elements(b) e GROUP BY e->>'category', (e->>'rate_bps')::int) g;
	RETURN COALESCE(ok, false);
END $$;

-- A trigger rather than a CHECK: it runs only when the figures it reads
-- change (create_invoice, update_invoice), not on every payment, sending
-- or credit that updates the row (the check costs about 40 us; measured).
CREATE FUNCTION mcp_invoices_document_vat() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NOT mcp_document_vat_ok(NEW.tax_breakdown, NEW.tax_cents, NEW.total_cents, NEW.subtotal_cents,
	                           NEW.discount_cents, NEW.rounding_cents) THEN
		RAISE EXCEPTION 'invoice % violates invoices_document_vat: its VAT is not round(taxable x rate) per category and rate, or its total or rounding does not follow from it',
			NEW.invoice_id USING ERRCODE = 'check_violation';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER invoices_document_vat
	BEFORE INSERT OR UPDATE OF tax_breakdown, tax_cents, total_cents, subtotal_cents, discount_cents,
	                           rounding_cents ON invoices
	FOR EACH ROW EXECUTE FUNCTION mcp_invoices_document_vat();

-- What get_customer and upsert_customer add for e-invoices.
CREATE FUNCTION mcp_customer_einvoice_json(c customers) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('postal_address', c.postal_address, 'legal_id', c.legal_id,
	                          'electronic_address', c.electronic_address,
	                          'buyer_reference', c.buyer_reference)
$$;

-- ---- the e-invoice source ----

-- One line of an e-invoice before its document is summed: unit amount and
-- quantity as billed, the line's discount, the VAT an inclusive amount
-- contains (0 for exclusive), and its VAT category snapshot.
CREATE TYPE mcp_ei_line AS (
	pos int, description text, quantity bigint, unit_code text, amount bigint, discount bigint,
	contained bigint, inclusive boolean, category text, rate_bps int, reason text, reason_code text);

-- The lines, VAT breakdown and totals of a document from its lines
-- (contract: docs/receivables.md). billed is what the document bills (the
-- invoice's total, the credit note's amount), paid what was settled.
-- A line's net (BT-131) is amount x quantity - discount - contained VAT;
-- its allowance (BT-136) the discount, net of VAT for an inclusive line;
-- its net price (BT-146) is (net + allowance) / quantity in major units,
-- exact (a short fraction) or to 7 more decimals, so that
-- round(quantity x price) - allowance = net (Peppol R120) holds.
CREATE FUNCTION mcp_ei_document(p_lines mcp_ei_line[], p_exp int, p_billed bigint, p_paid bigint)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	lines jsonb;
	tax jsonb;
	net numeric;
	vat numeric;
BEGIN
	WITH l AS (
		SELECT x.*, x.amount::numeric * x.quantity - x.discount - x.contained AS net_minor,
		       CASE WHEN x.inclusive AND x.rate_bps > 0
		            THEN round(x.discount::numeric * 10000 / (10000 + x.rate_bps)) ELSE x.discount END AS allow
		  FROM unnest(p_lines) x)
	SELECT COALESCE(jsonb_agg(jsonb_build_object('position', pos, 'description', description,
	           'quantity', quantity, 'unit_code', unit_code,
	           'price', mcp_ei_price(net_minor + allow, quantity, p_exp),
	           'allowance_minor', allow, 'net_minor', net_minor, 'category', category,
	           'rate_bps', CASE WHEN category IS NOT NULL THEN rate_bps END) ORDER BY pos), '[]'),
	       COALESCE(sum(net_minor), 0)
	  INTO lines, net FROM l;
	WITH g AS (
		SELECT x.category, x.rate_bps,
		       sum(x.amount::numeric * x.quantity - x.discount - x.contained) AS taxable,
		       string_agg(DISTINCT x.reason, '; ') AS reason, min(x.reason_code) AS code
		  FROM unnest(p_lines) x WHERE x.category IS NOT NULL GROUP BY 1, 2)
	SELECT COALESCE(jsonb_agg(jsonb_build_object('category', category, 'rate_bps', rate_bps,
	           'taxable_minor', taxable, 'tax_minor', round(taxable * rate_bps / 10000),
	           'exemption_reason', reason, 'exemption_reason_code', code) ORDER BY category, rate_bps), '[]'),
	       COALESCE(sum(round(taxable * rate_bps / 10000)), 0)
	  INTO tax, vat FROM g;
	RETURN jsonb_build_object('lines', lines, 'tax', tax, 'totals', jsonb_build_object(
		'line_net_minor', net, 'tax_exclusive_minor', net, 'tax_minor', vat,
		'tax_inclusive_minor', net + vat, 'rounding_minor', p_billed - net - vat,
		'paid_minor', p_paid, 'payable_minor', p_billed - p_paid));
END $$;

-- A net unit price in major units as text: exact when the division ends
-- within 7 more decimals than the currency has, else rounded to them.
CREATE FUNCTION mcp_ei_price(p_minor numeric, p_quantity bigint, p_exp int) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN p_quantity = 0 THEN '0' ELSE
		rtrim(rtrim(round(p_minor / p_quantity / 10::numeric ^ p_exp, p_exp + 7)::text, '0'), '.') END
$$;

-- A credit note's lines: its line_items as stored (priced when it was
-- created, see mcp_credit_lines), or, for one given by amount alone, the
-- amount split over the invoice's VAT groups in proportion to what each
-- billed (floor of each share, the remainder on the largest group), one
-- line per group described by the reason. Credit amounts are tax-inclusive.
CREATE FUNCTION mcp_ei_credit_lines(n credit_notes) RETURNS mcp_ei_line[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF n.line_items IS NOT NULL THEN
		RETURN ARRAY(SELECT ROW((o - 1)::int, e->>'description', (e->>'quantity')::bigint,
		                        COALESCE(e->>'unit_code', 'C62'), (e->>'amount_cents')::bigint, 0,
		                        COALESCE((e->>'contained_cents')::bigint, 0), true, e->>'tax_category',
		                        (e->>'tax_rate_bps')::int, e->>'tax_exemption_reason',
		                        e->>'tax_exemption_code')::mcp_ei_line
		               FROM jsonb_array_elements(n.line_items) WITH ORDINALITY AS x(e, o) ORDER BY o);
	END IF;
	RETURN ARRAY(
		WITH g AS (
			SELECT tax_category AS cat, tax_rate_bps AS r, min(tax_exemption_reason) AS reason,
			       min(tax_exemption_code) AS code, sum(line_total_cents) AS billed, min(position) AS first
			  FROM invoice_line_items WHERE invoice_id = n.invoice_id AND tenant_id = n.tenant_id
			 GROUP BY 1, 2),
		s AS (
			SELECT g.*, floor(n.amount_cents::numeric * billed / NULLIF(sum(billed) OVER (), 0)) AS share,
			       row_number() OVER (ORDER BY billed DESC, first) AS rk FROM g),
		a AS (
			SELECT s.*, share + CASE WHEN rk = 1 THEN n.amount_cents - sum(share) OVER () ELSE 0 END AS amt
			  FROM s)
		SELECT ROW((row_number() OVER (ORDER BY first) - 1)::int, n.reason, 1, 'C62', amt::bigint, 0,
		           CASE WHEN cat IS NULL THEN 0 ELSE round(amt * r / (10000 + r)) END::bigint, true,
		           cat, r, reason, code)::mcp_ei_line
		  FROM a WHERE amt > 0 ORDER BY first);
END $$;

-- Credit note line_items as stored: each line with its unit_code and, when
-- taxed, the VAT it contains and its rate's snapshot. A line names its
-- tax_code, or takes the invoice's when the invoice has exactly one; a
-- code the invoice used keeps the invoice's rate, another is the tenant's
-- current rate (unknown: INVALID_INPUT).
CREATE FUNCTION mcp_credit_lines(p_tenant text, p_invoice uuid, p_lines jsonb) RETURNS jsonb
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

-- The seller's and buyer's parties of the contract.
CREATE FUNCTION mcp_ei_seller(p_tenant text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	b business_profiles;
BEGIN
	SELECT * INTO b FROM business_profiles WHERE tenant_id = p_tenant;
	RETURN jsonb_build_object('legal_name', b.legal_name, 'address', b.postal_address, 'vat_id', b.tax_id,
		'legal_id', b.legal_id, 'electronic_address', b.electronic_address, 'iban', b.iban, 'bic', b.bic,
		'contact_name', b.contact_name, 'email', b.email, 'phone', b.phone,
		'payment_instructions', b.payment_instructions);
END $$;

CREATE FUNCTION mcp_ei_buyer(p_tenant text, p_customer text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	c customers;
BEGIN
	SELECT * INTO c FROM customers WHERE tenant_id = p_tenant AND customer_id = p_customer;
	RETURN jsonb_build_object('customer_id', p_customer, 'name', c.name, 'address', c.postal_address,
		'vat_id', c.vat_id, 'legal_id', c.legal_id, 'electronic_address', c.electronic_address,
		'email', c.email);
END $$;

-- Everything an EN 16931 invoice (p_invoice) or credit note
-- (p_credit_note) says, for the XML writer (worker); NULL when not found.
-- Invariant (tests/integration/test_einvoice_data.py): tax_inclusive_minor
-- + rounding_minor = the invoice's total_cents (the note's amount_cents),
-- payable_minor = the invoice's amount due.
CREATE FUNCTION mcp_einvoice_source(p_tenant text, p_invoice uuid, p_credit_note uuid)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	inv invoices;
	n credit_notes;
	c customers;
	head jsonb;
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant, true);
	IF p_credit_note IS NOT NULL THEN
		SELECT * INTO n FROM credit_notes WHERE tenant_id = p_tenant AND credit_note_id = p_credit_note;
		IF NOT FOUND THEN
			RETURN NULL;
		END IF;
		p_invoice := n.invoice_id;
	END IF;
	SELECT * INTO inv FROM invoices WHERE tenant_id = p_tenant AND invoice_id = p_invoice;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	SELECT * INTO c FROM customers WHERE tenant_id = p_tenant AND customer_id = inv.customer_id;
	head := jsonb_build_object('status', inv.status, 'currency', inv.currency,
		'exponent', mcp_currency_exponent(inv.currency),
		'buyer_reference', COALESCE(inv.buyer_reference, c.buyer_reference),
		'purchase_order', inv.purchase_order,
		'seller', mcp_ei_seller(p_tenant), 'buyer', mcp_ei_buyer(p_tenant, inv.customer_id));
	IF n.credit_note_id IS NOT NULL THEN
		RETURN head || jsonb_build_object('kind', 'credit_note', 'id', n.credit_note_id,
			'number', n.credit_note_number,
			'issue_date', to_char(n.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 'due_date', NULL,
			'note', n.reason, 'delivery_date', to_char(inv.delivery_date, 'YYYY-MM-DD'), 'payment_terms', NULL,
			'preceding_invoice', jsonb_build_object('number', inv.invoice_number,
				'issue_date', to_char(inv.issued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')))
			|| mcp_ei_document(mcp_ei_credit_lines(n), mcp_currency_exponent(inv.currency), n.amount_cents, 0);
	END IF;
	RETURN head || jsonb_build_object('kind', 'invoice', 'id', inv.invoice_id, 'number', inv.invoice_number,
		'issue_date', to_char(inv.issued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
		'due_date', to_char(inv.due_date, 'YYYY-MM-DD'), 'note', inv.memo,
		'delivery_date', to_char(inv.delivery_date, 'YYYY-MM-DD'), 'payment_terms', inv.payment_terms,
		'preceding_invoice', NULL)
		|| mcp_ei_document(ARRAY(
			SELECT ROW(l.position, l.description, l.quantity, l.unit_code, l.amount_cents, l.discount_cents,
			           CASE WHEN l.tax_inclusive THEN l.tax_cents ELSE 0 END, l.tax_inclusive, l.tax_category,
			           l.tax_rate_bps, l.tax_exemption_reason, l.tax_exemption_code)::mcp_ei_line
			  FROM invoice_line_items l WHERE l.invoice_id = inv.invoice_id AND l.tenant_id = p_tenant
			 ORDER BY l.position), mcp_currency_exponent(inv.currency), inv.total_cents,
			CASE WHEN inv.status = 'void' THEN inv.total_cents
			     ELSE inv.amount_paid_cents + inv.credited_cents END);
END $$;
ALTER FUNCTION mcp_einvoice_source(text, uuid, uuid) SET enable_seqscan = off;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO mcp_invoiced_app;
