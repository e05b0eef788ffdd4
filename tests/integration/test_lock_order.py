"""Group-commit batches and row-lock order: a worker's batch holds the row
locks of every invoice its members name until it commits, so two workers'
batches naming the same invoices in opposite orders would deadlock, were
the members not sorted by the invoice they lock (worker/db/db.c
sort_members). Where the sort cannot help (reverse_payment names a payment,
not its invoice), the 200 ms lock_timeout and the retry alone resolve the
wait. Many connections over two workers race such calls; every call must
succeed, PostgreSQL's own deadlock count tells whether a cycle ever formed,
and every figure is recomputed from the rows. Manages its own servers (the
first runs with PostgreSQL's deadlock detector looking after 20 ms)."""
import threading

from harness import Client, expect, metric_total, run_threads
from test_domain import new_tenant, ok
from test_receivables import invariants, sent_invoice

LIMITS = {"rate_limit_rps": 100000, "rate_limit_burst": 100000, "max_inflight": 512,
          "max_connections_per_ip": 0}
CLIENTS = 24
CALLS = 25


def deadlocks(env):
    """PostgreSQL's count of deadlocks it detected in the database (read
    with no server running: exited backends have flushed their counts)."""
    return int(env.psql("SELECT deadlocks FROM pg_stat_database WHERE datname = 'invoices'"))


def race(env, tok, plan):
    """CLIENTS connections, all connected before any calls, each making its
    plan(i) calls [(tool, args, key)] in order. Returns every outcome as
    (i, tool, args, error code or "ok", result)."""
    outcomes = []
    lock = threading.Lock()
    go = threading.Barrier(CLIENTS)

    def client(i):
        c = Client(env, tok, timeout=60)
        c.connect()
        go.wait()
        for tool, args in plan(i):
            err, sc = c.tool(tool, args)
            with lock:
                outcomes.append((i, tool, args, sc["error"]["code"] if err else "ok", sc))
        c.close()

    errors = run_threads(CLIENTS, client)
    expect(not errors, errors[:3])
    return outcomes


def batched(env):
    """(batches, members) the server's workers have sent so far."""
    m = env.server.metrics()
    return metric_total(m, "mcpi_db_batches_total"), metric_total(m, "mcpi_db_batch_members_total")


def test_batches_naming_invoices_in_opposite_orders_never_deadlock(env):
    # The detector looks after 20 ms (the default is 1 s, after the 200 ms
    # lock_timeout): any cycle between two batches is detected and counted
    # by PostgreSQL, however it would otherwise be resolved.
    env.psql("ALTER ROLE mcp_invoiced_app SET deadlock_timeout = '20ms'")
    try:
        before = deadlocks(env)
        env.start_server(workers=2, extra=LIMITS)
        tenant = new_tenant()
        tok = env.token(tenant=tenant)
        c = Client(env, tok)
        invs = [sent_invoice(c, f"cust-{k}", 10_000_000)["invoice_id"] for k in range(6)]
        b0, m0 = batched(env)

        def plan(i):
            # Half the clients walk the invoices forwards, half backwards,
            # each from its own starting point.
            order = invs[i % 6:] + invs[:i % 6]
            if i % 2:
                order = order[::-1]
            return [("apply_payment", {"invoice_id": order[k % 6], "amount_cents": 1 + (i * 31 + k * 7) % 50,
                                       "idempotency_key": f"lo-{i}-{k}"}) for k in range(CALLS)]

        outcomes = race(env, tok, plan)
        b1, m1 = batched(env)
        env.server.stop()
        env.server = None
        found = deadlocks(env) - before
        codes = sorted({o[3] for o in outcomes if o[3] != "ok"})
        failed = sum(1 for o in outcomes if o[3] != "ok")
        print(f"    {len(outcomes)} payments over {len(invs)} invoices from {CLIENTS} connections: "
              f"{b1 - b0:.0f} batches of {m1 - m0:.0f} members; {failed} errors {codes}; deadlocks detected {found}")
        expect(len(outcomes) == CLIENTS * CALLS, len(outcomes))
        expect(not codes, codes)
        # The race is real: batches held several members (so several
        # invoices' locks) at once.
        expect(m1 - m0 >= 1.5 * (b1 - b0), ("batches too small to hold two invoices", b1 - b0, m1 - m0))
        expect(found == 0, f"{found} deadlocks between batches")
        for iid in invs:
            acked = [o[2]["amount_cents"] for o in outcomes if o[2]["invoice_id"] == iid]
            rows = env.psql(f"SELECT count(*) || ' ' || sum(amount_cents) FROM payments WHERE invoice_id = '{iid}'")
            paid = env.psql(f"SELECT amount_paid_cents FROM invoices WHERE invoice_id = '{iid}'")
            expect(rows == f"{len(acked)} {sum(acked)}" and paid == str(sum(acked)), (iid, rows, paid, sum(acked)))
        invariants(env, tenant)
    finally:
        if env.server:
            env.server.stop()
            env.server = None
        env.psql("ALTER ROLE mcp_invoiced_app RESET deadlock_timeout")


def test_waits_the_sort_cannot_order_end_by_lock_timeout_and_retry(env):
    # reverse_payment names a payment: the sort cannot place its invoice, so
    # batches of reversals on one invoice and payments on another can wait on
    # each other in a cycle. The detector keeps its default (1 s): the 200 ms
    # lock_timeout and the retry alone must end every such wait.
    before = deadlocks(env)
    env.start_server(workers=2, extra=LIMITS)
    try:
        tenant = new_tenant()
        tok = env.token(tenant=tenant)
        c = Client(env, tok)
        invs = [sent_invoice(c, f"cust-{k}", 10_000_000)["invoice_id"] for k in range(4)]
        # One earlier payment per reversal to come, on the invoice the
        # client's plan reverses on.
        prepaid = {}

        def prepay(i):
            cl = Client(env, tok)
            for k in range(CALLS // 2 + 1):
                iid = invs[(i + k) % 4]
                p = ok(cl, "apply_payment", {"invoice_id": iid, "amount_cents": 100 + i})["payment"]
                prepaid[(i, k)] = p
            cl.close()

        errors = run_threads(CLIENTS, prepay)
        expect(not errors, errors[:3])
        b0, m0 = batched(env)

        def plan(i):
            calls = []
            for k in range(CALLS // 2 + 1):
                rev = prepaid[(i, k)]
                # A reversal on one invoice, then a payment on the one
                # opposite it: another client does the mirror image.
                other = invs[(invs.index(rev["invoice_id"]) + 2) % 4]
                calls.append(("reverse_payment", {"payment_id": rev["payment_id"], "reason": "bounced",
                                                  "idempotency_key": f"rv-{i}-{k}"}))
                calls.append(("apply_payment", {"invoice_id": other, "amount_cents": 1 + (i + k) % 9,
                                                "idempotency_key": f"py-{i}-{k}"}))
            return calls

        outcomes = race(env, tok, plan)
        b1, m1 = batched(env)
        codes = sorted({o[3] for o in outcomes if o[3] != "ok"})
        failed = sum(1 for o in outcomes if o[3] != "ok")
        print(f"    {len(outcomes)} reversals and payments from {CLIENTS} connections: {b1 - b0:.0f} batches "
              f"of {m1 - m0:.0f} members sent (members re-sent after a lock wait count again); {failed} errors {codes}")
        expect(len(outcomes) == CLIENTS * 2 * (CALLS // 2 + 1), len(outcomes))
        expect(not codes, codes)
        for iid in invs:
            pre = sum(p["amount_cents"] for p in prepaid.values() if p["invoice_id"] == iid)
            rev = sum(prepaid[(o[0], int(o[2]["idempotency_key"].split("-")[2]))]["amount_cents"]
                      for o in outcomes if o[1] == "reverse_payment"
                      and prepaid[(o[0], int(o[2]["idempotency_key"].split("-")[2]))]["invoice_id"] == iid)
            new = sum(o[2]["amount_cents"] for o in outcomes if o[1] == "apply_payment" and o[2]["invoice_id"] == iid)
            got = ok(c, "get_invoice", {"invoice_id": iid})
            expect(got["amount_paid_cents"] == pre + new - rev and got["amount_reversed_cents"] == rev,
                   (iid, pre, new, rev, got["amount_paid_cents"], got["amount_reversed_cents"]))
        invariants(env, tenant)
        env.server.stop()
        env.server = None
        # Not a claim (a backend descheduled past 1 s may meet both timers
        # at once); printed to show which mechanism ended the waits.
        print(f"    deadlocks PostgreSQL detected: {deadlocks(env) - before}")
    finally:
        if env.server:
            env.server.stop()
            env.server = None
