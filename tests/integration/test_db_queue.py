"""How a worker's one database connection is shared when reads pile up:
a read whose deadline has passed is never sent and a statement never runs
past its deadline (so reads stuck behind a lock do not hold up the reads
after them), and reads are served fairly across tenants (one tenant's pile
of heavy reads delays another tenant's read by at most one of them)."""
import statistics
import threading
import time
import uuid

from harness import Client, expect, run_threads

SERVER = dict(workers=1, extra={"request_timeout_ms": 3000})


def test_reads_answered_timeout_are_not_run_into_a_lock(env):
    c = Client(env, env.token())
    expect(not c.tool("list_tax_rates", {})[0])
    holder = env.hold_lock("customers", 9)
    try:
        time.sleep(0.5)
        t0 = time.time()
        outcomes = []

        def blocked(i):
            err, sc = Client(env, env.token()).tool("get_customer", {"customer_id": f"locked-{i}"})
            outcomes.append((sc["error"]["code"] if err else "ok", round(time.time() - t0, 1)))

        threads = [threading.Thread(target=blocked, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # All three were answered TIMEOUT at their deadline; the lock is
        # still held for another ~5 s. An unrelated read now must not wait
        # behind a statement whose caller was already answered.
        t1 = time.time()
        err, sc = c.tool("list_tax_rates", {})
        took = time.time() - t1
        waiting = env.psql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'mcp_invoiced_app' "
                           "AND wait_event_type = 'Lock'")
        print(f"    3 reads blocked by a lock: {outcomes}; an unrelated read {took * 1000:.0f} ms later, "
              f"{waiting} statements still waiting for the lock")
        expect(all(o[0] == "TIMEOUT" and o[1] <= 3.6 for o in outcomes), outcomes)
        expect(not err and took < 0.5, (took, sc))
        expect(waiting == "0", waiting)
        expect(holder.poll() is None, "the lock was still held")
    finally:
        holder.wait()


def make_ledger(env, tenant, n):
    """n sent invoices of tenant over 500 customers, in one statement."""
    env.psql(f"INSERT INTO invoices (tenant_id, customer_id, status, currency, total_cents, due_date, "
             f"invoice_number, issued_at, created_at) SELECT '{tenant}', 'c-' || (g % 500), 'sent', 'USD', "
             f"1000 + g, current_date - (g % 90), 'LEDGER-' || g, now(), now() "
             f"FROM generate_series(1, {n}) g")


def test_one_tenants_heavy_reads_do_not_queue_another_tenants_read(env):
    heavy_tenant = "heavy-" + uuid.uuid4().hex[:6]
    make_ledger(env, heavy_tenant, 40000)
    heavy = Client(env, env.token(tenant=heavy_tenant))
    costs = []
    for _ in range(5):
        t0 = time.time()
        err, sc = heavy.tool("list_outstanding_balances", {"limit": 50})
        costs.append(time.time() - t0)
        expect(not err, sc)
    one = statistics.median(costs)
    light = Client(env, env.token(tenant="light-" + uuid.uuid4().hex[:6]))
    expect(not light.tool("list_invoices", {"customer_id": "x"})[0])
    stop = threading.Event()
    waits = []

    def pile(i):
        c = Client(env, heavy.token, timeout=30)
        while not stop.is_set():
            c.tool("list_outstanding_balances", {"limit": 50})

    threads = [threading.Thread(target=pile, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)
        for _ in range(10):
            t0 = time.time()
            err, sc = light.tool("list_invoices", {"customer_id": "x"})
            waits.append(time.time() - t0)
            expect(not err, sc)
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join()
    waits.sort()
    print(f"    one heavy read alone {one * 1000:.0f} ms; with 24 piled up, another tenant's read "
          f"median {statistics.median(waits) * 1000:.0f} ms, worst {waits[-1] * 1000:.0f} ms")
    # FIFO would put it behind ~24 heavy reads; fair: behind at most one
    # (two with timing noise), never the pile. Since issue 28 the page costs
    # a few ms, not the ledger: the pile is then ~24 x one, so the slack
    # must stay well below that (30 ms at one = 4 ms: FIFO would be ~100).
    expect(statistics.median(waits) < 2.5 * one + 0.03, (one, waits))
    expect(waits[-1] < 6 * one + 0.1, (one, waits))


def test_reads_of_many_tenants_all_get_served(env):
    # Fairness never starves anyone: 8 tenants each with 10 reads at once.
    tokens = [env.token(tenant=f"many-{i}") for i in range(8)]

    def agent(i):
        c = Client(env, tokens[i % 8])
        for _ in range(10):
            err, sc = c.tool("list_invoices", {"customer_id": "x"})
            expect(not err, sc)

    errors = run_threads(16, agent)
    expect(not errors, errors)
