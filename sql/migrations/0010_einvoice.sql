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

-- An electronic address (BT-34, BT-49): {scheme: an EAS code, id}.
CREATE FUNCTION mcp_electronic_address_valid(a jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT a IS NULL OR (jsonb_typeof(a) = 'object'
		AND (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(a) k) = ARRAY['id', 'scheme']
		AND (a->>'scheme') ~ '^([0-9]{4}|[A-Z]{2})$' AND char_length(a->>'id') BETWEEN 1 AND 200)
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

-- ---- the e-invoice source ----

-- One line of an e-invoice before its document is summed: unit amount and
-- quantity as billed, the line's discount, the VAT an inclusive amount
-- contains (0 for exclusive), and its VAT category snapshot.
CREATE TYPE mcp_ei_line AS (
	pos int, description text, quantity bigint, unit_code text, amount bigint, discount bigint,
	contained bigint, inclusive boolean, category text, rate_bps int, reason text, reason_code text);
