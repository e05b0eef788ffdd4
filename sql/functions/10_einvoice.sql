-- 10_einvoice.sql - the source of an EN 16931 e-invoice: one JSON document
-- with seller, buyer, lines, VAT breakdown and totals
-- (docs/receivables.md#e-invoicing-data).

-- What get_customer and upsert_customer add for e-invoices.
CREATE OR REPLACE FUNCTION mcp_customer_einvoice_json(c customers) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('postal_address', c.postal_address, 'legal_id', c.legal_id,
	                          'electronic_address', c.electronic_address,
	                          'buyer_reference', c.buyer_reference)
$$;

-- A net unit price in major units as text: exact when the division ends
-- within 7 more decimals than the currency has, else rounded to them.
CREATE OR REPLACE FUNCTION mcp_ei_price(p_minor numeric, p_quantity bigint, p_exp int) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN p_quantity = 0 THEN '0' ELSE
		rtrim(rtrim(round(p_minor / p_quantity / 10::numeric ^ p_exp, p_exp + 7)::text, '0'), '.') END
$$;

-- The seller's and buyer's parties of the contract.
CREATE OR REPLACE FUNCTION mcp_ei_seller(p_tenant text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	b business_profiles;
BEGIN
	SELECT * INTO b FROM business_profiles WHERE tenant_id = p_tenant;
	RETURN jsonb_build_object('legal_name', b.legal_name, 'address', b.postal_address, 'vat_id', b.tax_id,
		'legal_id', b.legal_id, 'electronic_address', b.electronic_address, 'iban', b.iban, 'bic', b.bic,
		'contact_name', b.contact_name, 'email', b.email, 'phone', b.phone,
		'payment_instructions', b.payment_instructions);
END $$;

CREATE OR REPLACE FUNCTION mcp_ei_buyer(p_tenant text, p_customer text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	c customers;
BEGIN
	SELECT * INTO c FROM customers WHERE tenant_id = p_tenant AND customer_id = p_customer;
	RETURN jsonb_build_object('customer_id', p_customer, 'name', c.name, 'address', c.postal_address,
		'vat_id', c.vat_id, 'legal_id', c.legal_id, 'electronic_address', c.electronic_address,
		'email', c.email);
END $$;

-- A credit note's lines: its line_items as stored (priced when it was
-- created, see mcp_credit_lines), or, for one given by amount alone, the
-- amount split over the invoice's VAT groups in proportion to what each
-- billed (floor of each share, the remainder on the largest group), one
-- line per group described by the reason. Credit amounts are tax-inclusive.
CREATE OR REPLACE FUNCTION mcp_ei_credit_lines(n credit_notes) RETURNS mcp_ei_line[]
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

-- The lines, VAT breakdown and totals of a document from its lines
-- (contract: docs/receivables.md). billed is what the document bills (the
-- invoice's total, the credit note's amount), paid what was settled.
-- A line's net (BT-131) is amount x quantity - discount - contained VAT;
-- its allowance (BT-136) the discount, net of VAT for an inclusive line;
-- its net price (BT-146) is (net + allowance) / quantity in major units,
-- exact (a short fraction) or to 7 more decimals, so that
-- round(quantity x price) - allowance = net (Peppol R120) holds.
CREATE OR REPLACE FUNCTION mcp_ei_document(p_lines mcp_ei_line[], p_exp int, p_billed bigint, p_paid bigint)
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

-- Everything an EN 16931 invoice (p_invoice) or credit note
-- (p_credit_note) says, for the XML writer (worker); NULL when not found.
-- Invariant (tests/integration/test_einvoice_data.py): tax_inclusive_minor
-- + rounding_minor = the invoice's total_cents (the note's amount_cents),
-- payable_minor = the invoice's amount due.
CREATE OR REPLACE FUNCTION mcp_einvoice_source(p_tenant text, p_invoice uuid, p_credit_note uuid)
RETURNS jsonb LANGUAGE plpgsql STABLE SET enable_seqscan = off AS $$
DECLARE
	inv invoices;
	n credit_notes;
	c customers;
	head jsonb;
BEGIN
	PERFORM mcp_as_tenant(p_tenant);
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
