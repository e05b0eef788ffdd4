"""The worker's database connection: deadline -> TIMEOUT, a lost
connection noticed in the event loop and replaced, reads re-run
transparently, unexpected errors -> INTERNAL. Writes in flight when a
connection dies: see test_async.py."""
import threading
import time

from harness import PGPORT, Client, access_line, expect, wait_for

# Over TCP, as a deployment with a separate database host has it.
SERVER = dict(workers=1, extra={"request_timeout_ms": 2000,
                                "database_url": f"postgresql://mcp_invoiced_app@127.0.0.1:{PGPORT}/invoices"})


def app_waiting_on_lock(env):
    return env.psql("SELECT string_agg(pid::text, ',') FROM pg_stat_activity "
                    "WHERE usename = 'mcp_invoiced_app' AND wait_event_type = 'Lock'")


def test_slow_statement_times_out(env):
    holder = env.hold_lock("invoices", 120)  # released below; the duration is a hang guard
    try:
        env.wait_lock_held("invoices")
        c = Client(env, env.token(), timeout=30)
        st, hdrs, b = c.call("list_invoices", {"customer_id": "slow"})
        waiting = app_waiting_on_lock(env)
    finally:
        env.release_lock("invoices")
        holder.wait(timeout=30)
    sc = b["result"]["structuredContent"]
    expect(st == 200 and b["result"]["isError"], b)
    expect(sc["error"]["code"] == "TIMEOUT" and sc["error"]["retryable"] is True, sc)
    # Answered at its deadline by the server's own clock: not before, and
    # not long after (the client's clock would also count the machine's load).
    took = access_line(env, hdrs["x-request-id"])["duration_us"] / 1e6
    expect(2.0 <= took < 3.0, f"TIMEOUT after {took:.3f}s, the deadline is 2 s")
    # The read outlived its deadline while running: it was stopped there
    # (its segment's statement_timeout is the time left to its deadline),
    # not left to wait for the lock.
    expect(waiting == "", f"statements {waiting} still waiting for the lock after TIMEOUT")
    err, sc = c.tool("list_invoices", {"customer_id": "slow"})
    expect(not err, "the connection is usable after a timeout")


def kill_app_backends(env):
    env.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'mcp_invoiced_app'")


def test_lost_connection_reads_retry_transparently(env):
    """The connection dies while a read is in flight on it (the read waits
    on a lock, its backend is terminated): the read is re-run on a new
    connection and answered as if nothing had happened."""
    tenant = "lost-read"
    c = Client(env, env.token(tenant=tenant), timeout=30)
    made = c.tool("create_invoice", {"customer_id": "lr", "line_items": [{"description": "x", "amount_cents": 5}]})
    expect(not made[0], made)
    connected = env.server.logs().count("database connected")
    holder = env.hold_lock("invoices", 120)  # released below; the duration is a hang guard
    result = {}
    try:
        env.wait_lock_held("invoices")
        t = threading.Thread(target=lambda: result.update(r=c.tool("list_invoices", {"customer_id": "lr"})))
        t.start()
        wait_for(lambda: app_waiting_on_lock(env) != "", what="the read waiting on the lock")
        victim = app_waiting_on_lock(env)
        env.psql(f"SELECT pg_terminate_backend({victim})")
    finally:
        env.release_lock("invoices")
        holder.wait(timeout=30)
    t.join(timeout=30)
    err, sc = result["r"]
    expect(not err, ("the read was re-run on a new connection", sc))
    expect([i["invoice_id"] for i in sc["invoices"]] == [made[1]["invoice_id"]], sc)
    expect(env.server.logs().count("database connected") > connected, "a new connection was made")
    expect(victim not in app_waiting_on_lock(env).split(","), "the terminated backend is gone")


def test_lost_connection_is_noticed_and_writes_go_on_a_new_one(env):
    c = Client(env, env.token())
    args = {"customer_id": "lost", "line_items": [{"description": "x", "amount_cents": 1}]}
    expect(not c.tool("create_invoice", args)[0])
    before = env.psql("SELECT count(*) FROM invoices WHERE customer_id = 'lost'")
    lost = env.server.logs().count("database connection lost")
    kill_app_backends(env)
    wait_for(lambda: env.server.logs().count("database connection lost") > lost,
             what="the worker to see the loss")
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
