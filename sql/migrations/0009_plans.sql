-- 0009_plans.sql - plans that hold from the first request (README
-- "Database": plans that hold on day one).
--
-- A session keeps the plans of its PL/pgSQL statements, of triggers and of
-- PostgreSQL's own foreign-key checks, and after five calls a generic plan
-- chosen for the table as it was then. Autovacuum first analyzes a table
-- after about 50 rows: a look-up by key planned then is a sequential scan
-- (two pages cost less than an index descent), and the session goes on
-- using it while the table grows to thousands of pages, until the next
-- ANALYZE invalidates it. Measured (test_fresh_plans.py): create_invoice's
-- foreign-key check and draft-only trigger each read all 20,000 invoices
-- of the table, 0.56 -> 2.7 ms a call; get_invoice 0.17 -> 2.2 ms,
-- apply_payment 0.43 -> 5.6 ms.
--
-- Every statement the server runs is index-driven, so every tool function
-- (each read in worker/db.c's statement table, and each write inside its
-- mcp_try_ wrapper, so pgbench calling it directly plans alike) plans
-- without sequential scans, whatever the statistics say; nested functions,
-- triggers and foreign-key checks planned inside inherit the setting. Cost:
-- a setting saved and restored per call, about 2 us.
DO $$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT p.oid FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
	          WHERE n.nspname = 'public'
	            AND p.proname IN ('mcp_create_invoice', 'mcp_update_invoice', 'mcp_send_invoice',
	                              'mcp_void_invoice', 'mcp_apply_payment', 'mcp_upsert_customer',
	                              'mcp_upsert_tax_rate', 'mcp_create_credit_note', 'mcp_apply_credit',
	                              'mcp_reverse_payment', 'mcp_upsert_business_profile',
	                              'mcp_find_invoices', 'mcp_get_invoice_by', 'mcp_list_customers',
	                              'mcp_list_tax_rates', 'mcp_list_outstanding', 'mcp_get_customer',
	                              'mcp_prompt_overdue', 'mcp_prompt_candidates', 'mcp_complete',
	                              'mcp_get_business_profile', 'mcp_statement', 'mcp_invoice_document',
	                              'mcp_credit_note_document', 'mcp_expire_idempotency_keys') LOOP
		EXECUTE format('ALTER FUNCTION %s SET enable_seqscan = off', f);
	END LOOP;
END $$;
