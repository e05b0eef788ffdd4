"""Reads that cost their answer, not the tenant: the same reads against a
tenant with 1,000 sent invoices (100 customers) and one with 50,000 (1,000
customers), loaded with SQL as the tools would have written them
(tests/integration/sql/grow_tenant.sql, shared with bench/growth.sh). Each
read's database time per call, from the server's own per-tool histogram
(mcpi_mcp_db_seconds), may be at most GROWTH times its time at 1,000
invoices, plus SLACK_MS (the noise of sub-millisecond reads on a shared
2-core machine: a read that costs the tenant's invoices grows by tens of
milliseconds here). The old all-invoices balances query grew 13-15x from
1,000 to 100,000 invoices (issue 28)."""
import os
import subprocess
import time

from harness import PGPORT, ROOT, Client, expect
from test_domain import new_tenant, ok

SERVER = dict(workers=1, extra={"rate_limit_rps": 100000, "rate_limit_burst": 100000,
                                "max_inflight": 512, "max_connections_per_ip": 0})
GROWTH = 2.0
SLACK_MS = 0.5
CALLS = 15
ROUNDS = 3

GROW_SQL = os.path.join(ROOT, "tests/integration/sql/grow_tenant.sql")


def load(env, tenant, n, customers):
    pgbin = sorted(os.listdir("/usr/lib/postgresql"))[-1]
    subprocess.run([f"/usr/lib/postgresql/{pgbin}/bin/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                    "-h", os.path.join(env.dir, "sock"), "-p", str(PGPORT), "-U", "postgres", "-d", "invoices",
                    "-v", f"t={tenant}", "-v", f"n={n}", "-v", f"customers={customers}", "-f", GROW_SQL],
                   check=True, capture_output=True, timeout=300)


def db_time(env, tool):
    m = env.server.metrics()
    key = f'method="tools/call",tool="{tool}"'
    return m.get(f"mcpi_mcp_db_seconds_sum{{{key}}}", 0.0), m.get(f"mcpi_mcp_db_seconds_count{{{key}}}", 0.0)


def cost(env, c, tool, args):
    """The cheapest of ROUNDS rounds of CALLS calls, in ms of database time a call."""
    best = None
    for _ in range(ROUNDS):
        s0, n0 = db_time(env, tool)
        for _ in range(CALLS):
            ok(c, tool, args)
        s1, n1 = db_time(env, tool)
        expect(n1 - n0 == CALLS, (tool, n1 - n0))
        ms = (s1 - s0) * 1000 / CALLS
        best = ms if best is None else min(best, ms)
    return best


READS = [
    ("list_outstanding_balances", {"limit": 50}),
    ("list_outstanding_balances", {"customer_id": "cust-00007"}),
    ("list_outstanding_balances", {"currency": "EUR", "limit": 50}),
    ("list_invoices", {"customer_id": "cust-00007", "limit": 20}),
    ("list_invoices", {"status": "overdue", "limit": 20}),
    ("get_invoice", {"number": "INV-0000500"}),
    ("get_customer", {"customer_id": "cust-00007"}),
    ("list_customers", {"limit": 20}),
]


def test_reads_cost_at_most_twice_as_much_at_50000_invoices_as_at_1000(env):
    small, big = new_tenant(), new_tenant()
    t0 = time.time()
    load(env, small, 1000, 100)
    load(env, big, 50000, 1000)
    loaded = time.time() - t0
    cs, cb = Client(env, env.token(tenant=small)), Client(env, env.token(tenant=big))
    for tool, args in READS:  # warm: plans made, pages cached
        ok(cs, tool, args)
        ok(cb, tool, args)
    report, over = [], []
    for tool, args in READS:
        a, b = cost(env, cs, tool, args), cost(env, cb, tool, args)
        report.append(f"{tool} {args}: {a:.3f} -> {b:.3f} ms ({b / a:.2f}x)")
        if b > GROWTH * a + SLACK_MS:
            over.append(report[-1])
    print(f"    loaded 51,000 invoices in {loaded:.0f} s; database time a call, 1,000 -> 50,000 invoices:\n      "
          + "\n      ".join(report), flush=True)
    expect(not over, f"over {GROWTH}x: {over}")
