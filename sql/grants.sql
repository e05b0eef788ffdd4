-- grants.sql - what the server's role may run, applied by `migrate` on
-- every run after sql/functions and the mcp_try_* members
-- (server/migrate.c). Tables are granted by the migration that creates
-- them; functions here, so a function added to sql/functions is granted
-- without a migration. The operator's functions (recomputing and checking
-- the kept balances) are the owning role's only.
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO mcp_invoiced_app;
REVOKE EXECUTE ON FUNCTION mcp_rebuild_balances(text), mcp_check_balances() FROM PUBLIC, mcp_invoiced_app;
