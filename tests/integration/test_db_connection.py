"""The worker's database connection over TCP, as every deployment with a
separate database host has it: a connection the server drops (DBA,
failover, idle_session_timeout, a restarted PgBouncer) is replaced at once,
idle or under write load; one that goes silent (a host gone, a network
partition: here the backend is stopped with SIGSTOP) is given up one
second past its statement's deadline and replaced. Every call is answered
within two seconds of the loss, and nothing acknowledged is lost."""
import os
import signal
import time
import uuid

from harness import PGPORT, Client, Writers, expect, metric_total, wait_for

SERVER = dict(workers=2, extra={
    "database_url": f"postgresql://mcp_invoiced_app@127.0.0.1:{PGPORT}/invoices",
    "request_timeout_ms": 3000, "rate_limit_rps": 100000, "rate_limit_burst": 100000})


def app_backends(env):
    pids = env.psql("SELECT string_agg(pid::text, ',') FROM pg_stat_activity "
                    "WHERE usename = 'mcp_invoiced_app' AND backend_type = 'client backend'")
    return [int(p) for p in pids.split(",") if p]


def terminate_app_backends(env):
    env.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'mcp_invoiced_app'")


def databases_up(env):
    return metric_total(env.server.metrics(), "mcpi_database_up")


def test_dropped_tcp_connection_is_replaced_at_once(env):
    c = Client(env, env.token(), timeout=10)
    for _ in range(2):
        expect(not c.tool("list_invoices", {"customer_id": "tcp"})[0])
    wait_for(lambda: databases_up(env) == 2, 5, "both workers connected")
    connected = env.server.logs().count("database connected")
    t_loss = time.time()
    terminate_app_backends(env)
    worst = 0.0
    for _ in range(6):
        t0 = time.time()
        err, sc = c.tool("list_invoices", {"customer_id": "tcp"})
        worst = max(worst, time.time() - t0)
        expect(not err, sc)
    wait_for(lambda: env.server.logs().count("database connected") >= connected + 2, 1.0,
             "both workers reconnected within 1 s")
    print(f"    both workers reconnected {1000 * (time.time() - t_loss):.0f} ms after the loss "
          f"(at most); slowest call after it {1000 * worst:.0f} ms")
    expect(worst < 2.0, worst)
    expect(databases_up(env) == 2, "both connections up")


def test_dropped_tcp_connection_under_write_load_loses_nothing(env):
    tenant = "tcp-" + uuid.uuid4().hex[:8]
    writers = Writers(env, env.token(tenant=tenant), 16, "load")
    time.sleep(1.5)
    before = len(writers.acked)
    terminate_app_backends(env)
    time.sleep(2.0)
    after_loss = len(writers.acked) - before
    writers.stop()
    acked = writers.acked
    outcomes = [o[3] for o in writers.outcomes]
    slow = [o for o in writers.outcomes if o[1] > 2.0]
    errors = sorted({o for o in outcomes if o != "ok"})
    print(f"    16 writers: {len(acked)} acknowledged, {before} before the loss and {after_loss} in the "
          f"2 s after it; errors seen: {errors or 'none'}")
    expect(not slow, f"calls answered after more than 2 s: {slow[:5]}")
    expect(after_loss > 50, f"writes went on after the loss: {after_loss}")
    expect(set(errors) <= {"DATABASE_UNAVAILABLE", "RATE_LIMITED"}, errors)
    ids = env.psql(f"SELECT string_agg(invoice_id::text, ',') FROM invoices WHERE tenant_id = '{tenant}'")
    stored = set(ids.split(","))
    missing = [k for k, v in acked.items() if v not in stored]
    expect(not missing, f"acknowledged but not stored: {missing[:5]}")
    per_key = env.psql(f"SELECT count(*) FROM idempotency_keys WHERE tenant_id = '{tenant}'")
    expect(int(per_key) == len(stored) == len(acked), (per_key, len(stored), len(acked)))


def test_silent_connection_is_given_up_and_replaced(env):
    c = Client(env, env.token(), timeout=15)
    for _ in range(4):
        expect(not c.tool("list_invoices", {"customer_id": "silent"})[0])
    wait_for(lambda: databases_up(env) == 2, 5, "both workers connected")
    stopped = app_backends(env)
    expect(len(stopped) == 2, stopped)
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.time()
        outcomes = []
        while time.time() - t0 < 12:
            t1 = time.time()
            err, sc = c.tool("list_invoices", {"customer_id": "silent"})
            took = time.time() - t1
            outcomes.append((round(t1 - t0, 1), "ok" if not err else sc["error"]["code"], round(took, 1)))
            expect(took < 3.6, outcomes)
            if not err:
                break
        recovered = time.time() - t0
        print(f"    both backends stopped: calls answered {outcomes}; served again after {recovered:.1f} s")
        expect(outcomes[-1][1] == "ok", outcomes)
        # deadline 3 s + 1 s grace, then a new connection
        expect(recovered < 4.8, recovered)
        expect("no answer" in env.server.logs(), "the silent connection was named in the log")
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
