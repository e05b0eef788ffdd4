-- 0011_balances.sql - open balances kept as the ledger changes, so "who owes
-- us" costs the page it answers, not every open invoice of the tenant
-- (docs/receivables.md "How balances are kept").
--
-- What is kept: for every open (status 'sent') invoice, its amount due
-- (total_cents - amount_paid_cents - credited_cents) and a count of 1, summed
--   per (tenant, customer, currency, due date)  open_balances  (pages, one customer)
--   per (tenant, currency, due date)            open_totals    (tenant totals)
-- Aging for any as_of is then a sum over due dates, and a page of customers
-- reads the due dates of the page's customers only.
--
-- How it is kept exact without new locks: a row trigger on invoices (so
-- every change that moves a balance, through any tool or any SQL, is
-- counted: send, payment, credit note, applied credit, reversal, void and
-- any future one) only INSERTs a signed delta row into balance_deltas in the
-- writer's transaction. An insert takes no row lock that another writer can
-- wait for, so two payments of different customers never wait for each
-- other here, and no lock order with the invoice locks can deadlock.
-- Deltas are folded into the two sums by each writing transaction, at its
-- first change, when it takes the tenant's fold lock with
-- pg_try_advisory_xact_lock (never waiting: a writer that does not get it
-- leaves its deltas for the next fold), so what is pending is about the
-- deltas of the transactions in flight and the last one. Folding deletes
-- the deltas its snapshot sees and adds them to the sums in one transaction,
-- so readers, who add the not yet folded deltas of what they read, see a
-- consistent figure at every instant. mcp_check_balances() recomputes all of
-- it from the invoices and lists every difference.

CREATE TABLE balance_deltas (
	tenant_id     text    NOT NULL,
	customer_id   text    NOT NULL,
	currency      char(3) NOT NULL,
	due_date      date    NOT NULL,
	due_cents     bigint  NOT NULL,
	invoice_count integer NOT NULL
);
CREATE INDEX balance_deltas_by_key ON balance_deltas (tenant_id, customer_id, currency, due_date)
	INCLUDE (due_cents, invoice_count);
-- A queue: every write adds rows and the next fold deletes them, so readers
-- would step over dead rows until a vacuum; vacuumed after every ~200.
ALTER TABLE balance_deltas SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 200);

-- No CHECK (>= 0) on the sums: PostgreSQL checks the row an INSERT ... ON
-- CONFLICT proposes (here a negative delta) before it finds the conflict.
-- The sums are numeric: 20,000 invoices at the per-invoice maximum due the
-- same day exceed a bigint (test_balances.py), and a fold that overflowed
-- would fail the write that ran it.
CREATE TABLE open_balances (
	tenant_id     text    NOT NULL,
	customer_id   text    NOT NULL,
	currency      char(3) NOT NULL,
	due_date      date    NOT NULL,
	due_cents     numeric NOT NULL,
	invoice_count bigint  NOT NULL,
	PRIMARY KEY (tenant_id, customer_id, currency, due_date) INCLUDE (due_cents, invoice_count)
);
-- Rows a fold brought to zero, found and deleted by the same fold.
CREATE INDEX open_balances_emptied ON open_balances (tenant_id) WHERE invoice_count = 0;

CREATE TABLE open_totals (
	tenant_id     text    NOT NULL,
	currency      char(3) NOT NULL,
	due_date      date    NOT NULL,
	due_cents     numeric NOT NULL,
	invoice_count bigint  NOT NULL,
	PRIMARY KEY (tenant_id, currency, due_date) INCLUDE (due_cents, invoice_count)
);
CREATE INDEX open_totals_emptied ON open_totals (tenant_id) WHERE invoice_count = 0;

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['balance_deltas', 'open_balances', 'open_totals'] LOOP
		EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON %I'
		               ' USING (tenant_id = current_setting(''app.tenant_id'', true))'
		               ' WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true))', t);
	END LOOP;
END $$;
GRANT SELECT, INSERT, UPDATE, DELETE ON balance_deltas, open_balances, open_totals TO mcp_invoiced_app;

-- Adds the tenant's visible deltas to the sums and deletes them. The caller
-- holds the tenant's fold lock (mcp_balance_fold_lock), so no other fold
-- touches these rows before this transaction ends.
CREATE FUNCTION mcp_fold_balances(p_tenant text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	WITH gone AS (
		DELETE FROM balance_deltas WHERE tenant_id = p_tenant
		RETURNING customer_id, currency, due_date, due_cents, invoice_count),
	per AS (
		SELECT customer_id, currency, due_date, sum(due_cents) AS d, sum(invoice_count) AS n
		  FROM gone GROUP BY customer_id, currency, due_date
		HAVING sum(due_cents) <> 0 OR sum(invoice_count) <> 0),
	cust AS (
		INSERT INTO open_balances AS b (tenant_id, customer_id, currency, due_date, due_cents, invoice_count)
		SELECT p_tenant, customer_id, currency, due_date, d, n FROM per
		 ORDER BY customer_id, currency, due_date
		ON CONFLICT (tenant_id, customer_id, currency, due_date) DO UPDATE
		   SET due_cents = b.due_cents + EXCLUDED.due_cents,
		       invoice_count = b.invoice_count + EXCLUDED.invoice_count
		RETURNING 1)
	INSERT INTO open_totals AS t (tenant_id, currency, due_date, due_cents, invoice_count)
	SELECT p_tenant, currency, due_date, sum(d), sum(n) FROM per
	 GROUP BY currency, due_date HAVING sum(d) <> 0 OR sum(n) <> 0
	 ORDER BY currency, due_date
	ON CONFLICT (tenant_id, currency, due_date) DO UPDATE
	   SET due_cents = t.due_cents + EXCLUDED.due_cents,
	       invoice_count = t.invoice_count + EXCLUDED.invoice_count;
	DELETE FROM open_balances WHERE tenant_id = p_tenant AND invoice_count = 0;
	DELETE FROM open_totals WHERE tenant_id = p_tenant AND invoice_count = 0;
END $$;

-- The tenant's fold lock, taken without waiting; true when this transaction holds it.
CREATE FUNCTION mcp_balance_fold_lock(p_tenant text) RETURNS boolean LANGUAGE sql AS $$
	SELECT pg_try_advisory_xact_lock(1112294996, hashtext(p_tenant))  -- class 'BALT'
$$;

-- AFTER INSERT OR UPDATE on invoices, for rows that are or were open.
CREATE FUNCTION mcp_balance_delta() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	was_open boolean := TG_OP = 'UPDATE' AND OLD.status = 'sent';
	is_open boolean := NEW.status = 'sent';
	old_due bigint := CASE WHEN was_open THEN OLD.total_cents - OLD.amount_paid_cents - OLD.credited_cents END;
	new_due bigint := CASE WHEN is_open THEN NEW.total_cents - NEW.amount_paid_cents - NEW.credited_cents END;
BEGIN
	IF was_open AND is_open AND (OLD.tenant_id, OLD.customer_id, OLD.currency, OLD.due_date)
	                            = (NEW.tenant_id, NEW.customer_id, NEW.currency, NEW.due_date) THEN
		IF new_due = old_due THEN
			RETURN NULL;
		END IF;
		INSERT INTO balance_deltas VALUES (NEW.tenant_id, NEW.customer_id, NEW.currency, NEW.due_date,
		                                   new_due - old_due, 0);
	ELSE
		IF was_open THEN
			INSERT INTO balance_deltas VALUES (OLD.tenant_id, OLD.customer_id, OLD.currency, OLD.due_date,
			                                   -old_due, -1);
		END IF;
		IF is_open THEN
			INSERT INTO balance_deltas VALUES (NEW.tenant_id, NEW.customer_id, NEW.currency, NEW.due_date,
			                                   new_due, 1);
		END IF;
	END IF;
	-- Counted for the statement-level fold of bulk statements below.
	PERFORM set_config('mcp.balance_rows',
	                   (COALESCE(NULLIF(current_setting('mcp.balance_rows', true), ''), '0')::int + 1)::text, true);
	-- Once per transaction (a bulk statement's deltas are folded at its end,
	-- below; a tool's single-row write leaves its own for the next fold).
	IF current_setting('mcp.balances_folded', true) IS DISTINCT FROM NEW.tenant_id THEN
		PERFORM set_config('mcp.balances_folded', NEW.tenant_id, true);
		IF mcp_balance_fold_lock(NEW.tenant_id) THEN
			PERFORM mcp_fold_balances(NEW.tenant_id);
		END IF;
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER invoices_balance_insert AFTER INSERT ON invoices
	FOR EACH ROW WHEN (NEW.status = 'sent') EXECUTE FUNCTION mcp_balance_delta();
CREATE TRIGGER invoices_balance_update AFTER UPDATE ON invoices
	FOR EACH ROW WHEN (OLD.status = 'sent' OR NEW.status = 'sent') EXECUTE FUNCTION mcp_balance_delta();

-- After an INSERT or UPDATE statement on invoices that moved 64 balances or
-- more (a bulk load or a mass update in SQL; a tool moves one), its own
-- deltas are folded at once, for every tenant it touched whose fold lock is
-- free: readers, who add every pending delta of what they read, would
-- otherwise add up tens of thousands until the tenant's next write (40,000
-- pending made the balances page take 2.9 s). (Not a WHEN: a statement
-- trigger's WHEN is evaluated before the statement's rows.)
CREATE FUNCTION mcp_balance_fold_bulk() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	t text;
BEGIN
	IF COALESCE(NULLIF(current_setting('mcp.balance_rows', true), ''), '0')::int < 64 THEN
		RETURN NULL;
	END IF;
	PERFORM set_config('mcp.balance_rows', '0', true);
	FOR t IN SELECT DISTINCT d.tenant_id FROM balance_deltas d LOOP
		IF mcp_balance_fold_lock(t) THEN
			PERFORM mcp_fold_balances(t);
		END IF;
	END LOOP;
	RETURN NULL;
END $$;
CREATE TRIGGER invoices_balance_fold_bulk AFTER INSERT OR UPDATE ON invoices
	FOR EACH STATEMENT EXECUTE FUNCTION mcp_balance_fold_bulk();

-- A tenant's kept balances recomputed from its invoices (after a bulk load
-- that bypassed triggers, or to repair what mcp_check_balances reported).
-- Waits for the tenant's fold lock, so no fold runs meanwhile; run by the
-- owning role.
CREATE FUNCTION mcp_rebuild_balances(p_tenant text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_advisory_xact_lock(1112294996, hashtext(p_tenant));
	DELETE FROM balance_deltas WHERE tenant_id = p_tenant;
	DELETE FROM open_balances WHERE tenant_id = p_tenant;
	DELETE FROM open_totals WHERE tenant_id = p_tenant;
	INSERT INTO open_balances (tenant_id, customer_id, currency, due_date, due_cents, invoice_count)
	SELECT tenant_id, customer_id, currency, due_date, sum(total_cents - amount_paid_cents - credited_cents), count(*)
	  FROM invoices WHERE tenant_id = p_tenant AND status = 'sent' GROUP BY 1, 2, 3, 4;
	INSERT INTO open_totals (tenant_id, currency, due_date, due_cents, invoice_count)
	SELECT tenant_id, currency, due_date, sum(due_cents), sum(invoice_count)
	  FROM open_balances WHERE tenant_id = p_tenant GROUP BY 1, 2, 3;
END $$;
REVOKE EXECUTE ON FUNCTION mcp_rebuild_balances(text) FROM PUBLIC;

-- The balances of invoices that existed before this migration.
SELECT mcp_rebuild_balances(t) FROM (SELECT DISTINCT tenant_id FROM invoices) x(t);
