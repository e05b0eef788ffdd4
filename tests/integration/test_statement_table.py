"""The statement table (`mcp-invoiced statements`, worker/db/statements.c)
against the migrated schema: every statement calls a function that exists
in pg_proc with the number of arguments the statement passes, and the
server's role may execute it. A migration that renames a function or
changes its arity fails here by name, not as a worker that will not start."""
import re
import subprocess

from harness import RELEASE_BIN, expect


def called_function(sql):
    """The first mcp_ function the statement calls and its argument count
    (commas at the call's own depth)."""
    m = re.search(r"\b(mcp_\w+)\(", sql)
    if not m:
        return None, 0
    depth, args, i = 1, 0, m.end()
    if sql[i] == ")":
        return m.group(1), 0
    args = 1
    while depth:
        ch = sql[i]
        depth += ch == "("
        depth -= ch == ")"
        args += ch == "," and depth == 1
        i += 1
    return m.group(1), args


def test_every_statement_calls_a_function_of_that_arity(env):
    lines = subprocess.run([RELEASE_BIN, "statements"], capture_output=True, text=True, check=True,
                           timeout=30).stdout.splitlines()
    expect(len(lines) >= 20, lines)
    checked = []
    for line in lines:
        name, sql = line.split("\t", 1)
        fn, nargs = called_function(sql)
        if fn is None:
            expect("set_config(" in sql, (name, sql))  # the lead statements set timeouts only
            continue
        arities = env.psql(f"SELECT string_agg(pronargs::text, ',') FROM pg_proc WHERE proname = '{fn}'")
        expect(arities and str(nargs) in arities.split(","),
               f"{name}: {fn} takes {arities or 'no such function'}, the statement passes {nargs}")
        may = env.psql(f"SELECT bool_or(has_function_privilege('mcp_invoiced_app', oid, 'EXECUTE')) "
                       f"FROM pg_proc WHERE proname = '{fn}' AND pronargs = {nargs}")
        expect(may == "t", f"{name}: mcp_invoiced_app may not execute {fn}")
        checked.append(f"{fn}/{nargs}")
    print(f"    {len(checked)} statements checked against pg_proc")
