"""The worker's database connection: statement timeout -> TIMEOUT,
connection loss -> transparent retry for reads, DATABASE_UNAVAILABLE
(retryable) for writes, then automatic reconnection."""
import os
import subprocess
import time

from harness import PGPORT, Client, expect

SERVER = dict(workers=1, extra={"request_timeout_ms": 700})


def test_slow_statement_times_out(env):
    pgbin = sorted(os.listdir("/usr/lib/postgresql"))[-1]
    holder = subprocess.Popen(
        [f"/usr/lib/postgresql/{pgbin}/bin/psql", "-X", "-q", "-h", os.path.join(env.dir, "sock"),
         "-p", str(PGPORT), "-U", "postgres", "-d", "invoices", "-c",
         "BEGIN; LOCK TABLE invoices IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(2); COMMIT;"],
        stdout=subprocess.DEVNULL)
    time.sleep(0.4)
    c = Client(env, env.token())
    t0 = time.time()
    err, sc = c.tool("list_invoices", {"customer_id": "slow"})
    took = time.time() - t0
    holder.wait()
    expect(err and sc["error"]["code"] == "TIMEOUT" and sc["error"]["retryable"] is True, sc)
    expect(0.6 < took < 1.8, took)
    err, sc = c.tool("list_invoices", {"customer_id": "slow"})
    expect(not err, "the connection is usable after a timeout")


def kill_app_backends(env):
    env.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'mcp_invoiced_app'")
    time.sleep(0.2)


def test_lost_connection_reads_retry_transparently(env):
    c = Client(env, env.token())
    expect(not c.tool("list_invoices", {"customer_id": "x"})[0])
    kill_app_backends(env)
    err, sc = c.tool("list_invoices", {"customer_id": "x"})
    expect(not err, sc)


def test_lost_connection_write_is_retryable_then_recovers(env):
    c = Client(env, env.token())
    args = {"customer_id": "lost", "line_items": [{"description": "x", "amount_cents": 1}]}
    expect(not c.tool("create_invoice", args)[0])
    kill_app_backends(env)
    err, sc = c.tool("create_invoice", args)
    expect(err and sc["error"]["code"] == "DATABASE_UNAVAILABLE" and sc["error"]["retryable"], sc)
    deadline = time.time() + 5
    while True:
        err, sc = c.tool("create_invoice", args)
        if not err or time.time() > deadline:
            break
        time.sleep(0.1)
    expect(not err, sc)
    expect("database connected" in env.server.logs(), "reconnected")


def test_unexpected_database_error_is_internal(env):
    c = Client(env, env.token())
    env.psql("REVOKE SELECT ON customers FROM mcp_invoiced_app")
    try:
        err, sc = c.tool("get_customer", {"customer_id": "anyone"})
    finally:
        env.psql("GRANT SELECT ON customers TO mcp_invoiced_app")
    expect(err and sc["error"]["code"] == "INTERNAL" and sc["error"]["retryable"] is False, sc)
    expect("42501" in sc["error"]["message"] and "customers" not in sc["error"]["message"], sc)
    expect("unexpected database error 42501" in env.server.logs(), "logged for the operator")
