"""SQL functions as `migrate` applies them (docs/database.md): every file of
sql/functions is re-applied on every run, so a function body or setting
changed in the database is put back by the next `migrate` (same function,
same oid), the grants are re-applied, and the tenant a tool function sets
with mcp_as_tenant lasts for its transaction only, as set_config(...,
true) does."""
import os
import subprocess

from harness import BIN, expect


def migrate(env):
    return subprocess.run([BIN, "migrate", "--config", os.path.join(env.dir, "mcp-invoiced.conf")],
                          check=True, capture_output=True, text=True, timeout=120)


def test_migrate_again_replaces_bodies_settings_and_grants(env):
    fn = "mcp_list_tax_rates(text)"
    oid = env.psql(f"SELECT '{fn}'::regprocedure::oid")
    env.psql("CREATE OR REPLACE FUNCTION mcp_list_tax_rates(p_tenant text) RETURNS jsonb"
             " LANGUAGE sql AS $$ SELECT '{\"stale\": true}'::jsonb $$")
    env.psql(f"REVOKE EXECUTE ON FUNCTION {fn} FROM mcp_invoiced_app, PUBLIC")
    expect(env.psql("SELECT mcp_list_tax_rates('t-sqlf')") == '{"stale": true}', "the stale body is in place")
    expect(env.psql(f"SELECT proconfig IS NULL FROM pg_proc WHERE oid = {oid}") == "t", "settings dropped")
    out = migrate(env)
    expect(env.psql("SELECT mcp_list_tax_rates('t-sqlf')") == '{"tax_rates": []}', out.stderr)
    expect(env.psql(f"SELECT '{fn}'::regprocedure::oid") == oid, "replaced, not dropped and created")
    config = env.psql(f"SELECT array_to_string(proconfig, ',') FROM pg_proc WHERE oid = {oid}")
    expect("enable_seqscan=off" in config, config)
    expect(env.psql(f"SELECT has_function_privilege('mcp_invoiced_app', {oid}, 'EXECUTE')") == "t",
           "the grant is re-applied")
    # The operator's functions stay the owning role's only.
    for op in ("mcp_rebuild_balances(text)", "mcp_check_balances()"):
        may = env.psql(f"SELECT has_function_privilege('mcp_invoiced_app', '{op}', 'EXECUTE')")
        expect(may == "f", f"mcp_invoiced_app may execute {op}")
    # A second run in a row changes nothing and succeeds.
    migrate(env)
    expect(env.psql(f"SELECT '{fn}'::regprocedure::oid") == oid, "a second run kept the function")
    print(f"    stale body, dropped setting and revoked grant all restored by migrate ({config})")


def test_the_tenant_is_set_for_the_calls_transaction_only(env):
    # Inside the transaction the tool function's tenant holds (its later
    # statements, and a batch's next member until it sets its own); after
    # the commit the session's own value is back.
    rows = env.psql("SELECT set_config('app.tenant_id', 'outer', false);"
                    " BEGIN; SELECT mcp_list_tax_rates('t-sqlf') IS NOT NULL;"
                    " SELECT current_setting('app.tenant_id'); COMMIT;"
                    " SELECT current_setting('app.tenant_id')").split("\n")
    expect(rows == ["outer", "t", "t-sqlf", "outer"], rows)
    print("    app.tenant_id: outer -> t-sqlf inside the call's transaction -> outer after it")
