-- 0003_amount_limits.sql - the most one invoice may total: 10^15 - 1 minor
-- units (the server refuses larger invoices with INVALID_INPUT first). Sums
-- over invoices are computed in numeric, so with this bound no total,
-- balance or aging bucket can wrap. NOT VALID: enforced for every new or
-- changed row without failing the migration on data written before it.
ALTER TABLE invoices ADD CONSTRAINT invoices_total_limit
	CHECK (total_cents <= 999999999999999) NOT VALID;
ALTER TABLE payments ADD CONSTRAINT payments_amount_limit
	CHECK (amount_cents <= 999999999999999) NOT VALID;
