-- 0008_prompts_completions.sql - the indexes behind MCP prompts and
-- argument completion (their functions: sql/functions/11_prompts.sql).

-- Prefix look-ups in any database collation: text_pattern_ops orders by
-- bytes, so "customer_id LIKE 'ab%'" and the loose index scan of mcp_complete are
-- index range scans whatever the cluster's locale.
-- The invoice indexes that serve equality look-ups take text_pattern_ops
-- (its = is the same equality), so no second index is kept for prefixes:
-- every index on invoices is written on each create, send and payment.
CREATE INDEX customers_id_prefix ON customers (tenant_id, customer_id text_pattern_ops);
DROP INDEX invoices_by_customer;
CREATE INDEX invoices_by_customer ON invoices (tenant_id, customer_id text_pattern_ops, created_at DESC, invoice_id DESC);
ALTER TABLE invoices DROP CONSTRAINT invoices_tenant_id_invoice_number_key;
CREATE UNIQUE INDEX invoices_number ON invoices (tenant_id, invoice_number text_pattern_ops)
	WHERE invoice_number IS NOT NULL;
