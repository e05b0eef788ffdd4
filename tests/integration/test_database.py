"""The worker's database connection: deadline -> TIMEOUT, a lost
connection noticed in the event loop and replaced, reads re-run
transparently, unexpected errors -> INTERNAL. Writes in flight when a
connection dies: see test_async.py."""
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
    waiting = env.psql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'mcp_invoiced_app' "
                       "AND wait_event_type = 'Lock'")
    holder.wait()
    expect(err and sc["error"]["code"] == "TIMEOUT" and sc["error"]["retryable"] is True, sc)
    expect(0.6 < took < 1.8, took)
    # The read outlived its deadline while running: it was stopped there
    # (its segment's statement_timeout is the time left to its deadline),
    # not left to wait for the lock.
    expect(waiting == "0", f"{waiting} statements still waiting for the lock after TIMEOUT")
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


def test_lost_connection_is_noticed_and_writes_go_on_a_new_one(env):
    c = Client(env, env.token())
    args = {"customer_id": "lost", "line_items": [{"description": "x", "amount_cents": 1}]}
    expect(not c.tool("create_invoice", args)[0])
    before = env.psql("SELECT count(*) FROM invoices WHERE customer_id = 'lost'")
    kill_app_backends(env)
    # The worker sees the connection close in its event loop, so a write
    # that comes after it is sent on a new connection, once.
    err, sc = c.tool("create_invoice", args)
    expect(not err, sc)
    expect(int(env.psql("SELECT count(*) FROM invoices WHERE customer_id = 'lost'")) == int(before) + 1)
    expect("database connection lost" in env.server.logs() and
           env.server.logs().count("database connected") >= 2, "reconnected")


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
