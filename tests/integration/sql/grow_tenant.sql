-- grow_tenant.sql - a tenant of :n sent invoices over :customers customers,
-- written as the tools write them: saved customers, drafts with one priced
-- line, then sent and numbered (so the balance trigger counts them), the
-- invoice counter set, the deltas folded and the queue vacuumed. Invoices
-- are created over the last two years, due 30 days after; a third in EUR.
-- psql -v t=TENANT -v n=N -v customers=C -f grow_tenant.sql, as the owning
-- role or a superuser. Used by tests/integration/test_balance_growth.py and
-- bench/growth.sh.
BEGIN;
SET LOCAL app.tenant_id = :'t';
INSERT INTO customers (tenant_id, customer_id, name, email)
SELECT :'t', 'cust-' || lpad(c::text, 5, '0'), 'Customer ' || c, 'billing' || c || '@example.com'
  FROM generate_series(1, :customers) c;
CREATE TEMP TABLE grown ON COMMIT DROP AS
SELECT g, gen_random_uuid() AS id, 'cust-' || lpad((1 + g % :customers)::text, 5, '0') AS customer,
       now() - interval '730 days' * (1 - g::float8 / :n) AS created,
       CASE WHEN g % 3 = 0 THEN 'EUR' ELSE 'USD' END AS currency, 1000 + (g * 37) % 90000 AS amount
  FROM generate_series(1, :n) g;
INSERT INTO invoices (invoice_id, tenant_id, customer_id, currency, subtotal_cents, total_cents, due_date,
                      created_at)
SELECT id, :'t', customer, currency, amount, amount, (created + interval '30 days')::date, created FROM grown;
INSERT INTO invoice_line_items (invoice_id, position, tenant_id, description, amount_cents, quantity,
                                line_total_cents)
SELECT id, 0, :'t', 'Work', amount, 1, amount FROM grown;
UPDATE invoices i SET status = 'sent', invoice_number = 'INV-' || lpad(g.g::text, 7, '0'),
                      issued_at = g.created + interval '1 hour'
  FROM grown g WHERE i.invoice_id = g.id;
INSERT INTO invoice_counters (tenant_id, last_number) VALUES (:'t', :n);
SELECT mcp_fold_balances(:'t');
COMMIT;
VACUUM balance_deltas;
