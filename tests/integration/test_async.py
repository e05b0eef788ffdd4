"""The asynchronous worker (issue: the worker never waits): group commit of
writes that pile up while the connection is busy, members isolated from
each other, deadlines with cancel, nothing acknowledged before its commit,
and recovery from lost connections, killed workers and a restarted
PostgreSQL. One worker, so every request shares one database connection."""
import json
import os
import signal
import subprocess
import threading
import time
import uuid

from harness import PGPORT, Client, expect, run_threads, wait_for

SERVER = dict(workers=1, extra={"request_timeout_ms": 3000, "rate_limit_rps": 100000,
                                "rate_limit_burst": 100000, "max_inflight": 512})

PGBIN = "/usr/lib/postgresql/%s/bin" % sorted(os.listdir("/usr/lib/postgresql"))[-1]


def psql_async(env, sql):
    """Runs sql in a separate psql session (returns the process)."""
    return subprocess.Popen([f"{PGBIN}/psql", "-X", "-q", "-h", os.path.join(env.dir, "sock"),
                             "-p", str(PGPORT), "-U", "postgres", "-d", "invoices", "-c", sql],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def db_stats(srv):
    m = srv.metrics()
    return {k.split("{")[0]: v for k, v in m.items() if k.startswith("mcpi_db_")}


def sent_invoice(c, amount=1000):
    err, sc = c.tool("create_invoice", {"customer_id": "async", "line_items": [
        {"description": "x", "amount_cents": amount}]})
    expect(not err, sc)
    err, sc = c.tool("send_invoice", {"invoice_id": sc["invoice_id"]})
    expect(not err, sc)
    return sc["invoice_id"]


def lock_invoice(env, invoice_id, seconds):
    holder = psql_async(env, f"BEGIN; SELECT 1 FROM invoices WHERE invoice_id = '{invoice_id}' "
                             f"FOR UPDATE; SELECT pg_sleep({seconds}); COMMIT;")
    deadline = time.time() + 5
    while time.time() < deadline:
        if env.psql("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                    "WHERE a.usename = 'postgres' AND l.locktype = 'transactionid' "
                    "AND a.query LIKE '%pg_sleep%'") != "0":
            return holder
        time.sleep(0.02)
    raise AssertionError("the row lock was not taken")


def test_writes_piled_up_go_as_one_batch_and_members_are_isolated(env):
    tenant = "t-" + uuid.uuid4().hex[:8]
    tok = env.token(tenant=tenant)
    c = Client(env, tok)
    locked = sent_invoice(c)
    draft_err, draft = c.tool("create_invoice", {"customer_id": "async", "line_items": [
        {"description": "d", "amount_cents": 5}]})
    before = db_stats(env.server)
    holder = lock_invoice(env, locked, 1.0)
    # A lone write waits for the row lock: the connection's batch is busy.
    blocked = {}
    t = threading.Thread(target=lambda: blocked.update(
        r=Client(env, tok).tool("apply_payment", {"invoice_id": locked, "amount_cents": 1})))
    t.start()
    time.sleep(0.2)
    results = {}

    def member(i):
        cc = Client(env, tok)
        if i < 20:
            results[i] = cc.tool("create_invoice", {"customer_id": "batch", "idempotency_key": f"k{i}",
                                                     "line_items": [{"description": "b", "amount_cents": i + 1}]})
        elif i == 20:
            results[i] = cc.tool("apply_payment", {"invoice_id": draft["invoice_id"], "amount_cents": 1})
        elif i == 21:
            results[i] = cc.tool("send_invoice", {"invoice_id": str(uuid.uuid4())})
        else:
            results[i] = cc.tool("upsert_customer", {"customer_id": "batch", "name": "Batch Co"})
        cc.close()

    errors = run_threads(23, member)
    t.join()
    holder.wait()
    expect(not errors, errors)
    expect(not blocked["r"][0], blocked)
    for i in range(20):
        expect(not results[i][0] and results[i][1]["total_cents"] == i + 1, results[i])
    expect(results[20][0] and results[20][1]["error"]["code"] == "INVALID_STATE", results[20])
    expect(results[21][0] and results[21][1]["error"]["code"] == "NOT_FOUND", results[21])
    expect(not results[22][0], results[22])
    after = db_stats(env.server)
    batches = after["mcpi_db_batches_total"] - before["mcpi_db_batches_total"]
    members = after["mcpi_db_batch_members_total"] - before["mcpi_db_batch_members_total"]
    # The blocked payment is tried again alone every 200 ms; the others
    # piled up behind its first try and went together.
    expect(members >= 24 and members - batches >= 20, f"{members} members in {batches} batches")
    n = env.psql(f"SELECT count(*) FROM invoices WHERE tenant_id = '{tenant}' AND customer_id = 'batch'")
    expect(n == "20", n)


def release_row_lock(env):
    """Cancels lock_invoice's session: its transaction ends, the lock goes."""
    env.psql("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE usename = 'postgres' "
             "AND query LIKE '%FOR UPDATE; SELECT pg_sleep%' AND pid <> pg_backend_pid()")


def app_waiting_on_lock(env):
    return env.psql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'mcp_invoiced_app' "
                    "AND wait_event_type = 'Lock'") != "0"


def test_a_write_waiting_on_a_lock_does_not_hold_up_other_writes(env):
    tenant = "t-" + uuid.uuid4().hex[:8]
    tok = env.token(tenant=tenant)
    c = Client(env, tok)
    locked = sent_invoice(c)
    holder = lock_invoice(env, locked, 60)  # released below; the duration is a hang guard
    out = {}
    try:
        t = threading.Thread(target=lambda: out.update(
            r=Client(env, tok).tool("apply_payment", {"invoice_id": locked, "amount_cents": 7})))
        t.start()
        wait_for(lambda: app_waiting_on_lock(env), what="the payment waiting on the row lock")

        def create(i):
            cc = Client(env, tok)
            err, sc = cc.tool("create_invoice", {"customer_id": "free", "line_items": [
                {"description": "x", "amount_cents": 1}]})
            expect(not err, sc)
            cc.close()

        errors = run_threads(10, create)
        # Ordering, not a clock: every other write finished while the payment still waited.
        waiting = t.is_alive()
    finally:
        release_row_lock(env)
        holder.wait(timeout=30)
    t.join(timeout=30)
    expect(not errors, errors)
    expect(waiting, "the other writes were held up until the lock went")
    err, sc = out["r"]
    expect(not err and sc["amount_paid_cents"] == 7, sc)
    n = env.psql(f"SELECT count(*) FROM payments WHERE invoice_id = '{locked}'")
    expect(n == "1", n)
    n = env.psql(f"SELECT count(*) FROM invoices WHERE tenant_id = '{tenant}' AND customer_id = 'free'")
    expect(n == "10", n)


def test_reads_and_refusals_are_not_held_behind_a_blocked_write(env):
    tok = env.token()
    c = Client(env, tok)
    locked = sent_invoice(c)
    holder = lock_invoice(env, locked, 5.0)
    out = {}

    def pay():
        t0 = time.time()
        out["r"] = Client(env, tok).tool("apply_payment", {"invoice_id": locked, "amount_cents": 1})
        out["took"] = time.time() - t0

    t = threading.Thread(target=pay)
    t.start()
    time.sleep(0.3)
    for _ in range(5):
        t0 = time.time()
        st, _, b = c.rpc("tools/list")
        expect(st == 200 and time.time() - t0 < 0.3, (st, time.time() - t0))
        t0 = time.time()
        st, _, _ = Client(env, "bad-token").rpc("ping")
        expect(st == 401 and time.time() - t0 < 0.3, (st, time.time() - t0))
    t.join()
    err, sc = out["r"]
    expect(err and sc["error"]["code"] == "TIMEOUT" and sc["error"]["retryable"], sc)
    expect(2.8 < out["took"] < 4.0, out["took"])
    # Its tries gave up on the lock (lock_timeout) without holding the
    # connection: it serves again at once, and the payment did not happen.
    t0 = time.time()
    err, sc = c.tool("get_invoice", {"invoice_id": locked})
    expect(not err and time.time() - t0 < 1.0 and sc["amount_paid_cents"] == 0, (time.time() - t0, sc))
    holder.wait()


def test_commit_killed_mid_flight_reports_no_success(env):
    tenant = "t-" + uuid.uuid4().hex[:8]
    tok = env.token(tenant=tenant)
    c = Client(env, tok)
    locked = sent_invoice(c)
    holder = lock_invoice(env, locked, 5.0)
    out = {}
    t = threading.Thread(target=lambda: out.update(r=Client(env, tok).tool(
        "apply_payment", {"invoice_id": locked, "amount_cents": 1, "idempotency_key": "pay-1"})))
    t.start()
    time.sleep(0.3)
    env.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'mcp_invoiced_app'")
    t.join()
    err, sc = out["r"]
    expect(err and sc["error"]["retryable"] and sc["error"]["code"] == "DATABASE_UNAVAILABLE", sc)
    holder.kill()
    holder.wait()
    time.sleep(0.2)
    # The retry with the same key pays exactly once; the server reconnected by itself.
    for _ in range(2):
        deadline = time.time() + 5
        while True:
            err, sc = c.tool("apply_payment", {"invoice_id": locked, "amount_cents": 1, "idempotency_key": "pay-1"})
            if not err or time.time() > deadline:
                break
            time.sleep(0.1)
        expect(not err, sc)
    n = env.psql(f"SELECT count(*) FROM payments WHERE invoice_id = '{locked}'")
    expect(n == "1", n)


def test_kill9_with_a_batch_in_flight_loses_no_acknowledged_write(env):
    tenant = "t-" + uuid.uuid4().hex[:8]
    tok = env.token(tenant=tenant)
    acked = {}
    failed = set()
    stop = threading.Event()
    lock = threading.Lock()

    def load(i):
        c = Client(env, tok, timeout=10)
        n = 0
        while not stop.is_set():
            key = f"w{i}-{n}"
            n += 1
            try:
                err, sc = c.tool("create_invoice", {"customer_id": "k9", "idempotency_key": key,
                                                    "line_items": [{"description": "x", "amount_cents": 1}]})
                with lock:
                    if err:
                        failed.add(key)
                    else:
                        acked[key] = sc["invoice_id"]
            except Exception:  # noqa: BLE001 - the connection died with the worker
                with lock:
                    failed.add(key)
                c.close()
                time.sleep(0.05)

    threads = [threading.Thread(target=load, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    victim = env.server.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join()
    expect(acked and failed, (len(acked), len(failed)))
    ids = env.psql(f"SELECT string_agg(invoice_id::text, ',') FROM invoices WHERE tenant_id = '{tenant}'")
    stored = set(ids.split(","))
    missing = [k for k, v in acked.items() if v not in stored]
    expect(not missing, f"acknowledged but not stored: {missing[:5]}")
    c = Client(env, tok)
    for key in sorted(failed):
        err, sc = c.tool("create_invoice", {"customer_id": "k9", "idempotency_key": key,
                                            "line_items": [{"description": "x", "amount_cents": 1}]})
        expect(not err, sc)
    per_key = env.psql(f"SELECT count(*) FROM idempotency_keys WHERE tenant_id = '{tenant}'")
    total = env.psql(f"SELECT count(*) FROM invoices WHERE tenant_id = '{tenant}'")
    expect(per_key == total == str(len(acked) + len(failed)), (per_key, total, len(acked), len(failed)))


def test_postgres_restart_under_load_recovers(env):
    tok = env.token()
    c = Client(env, tok)
    err, sc = c.tool("list_invoices", {"customer_id": "r"})
    expect(not err, sc)
    codes = []
    stop = threading.Event()

    def load(i):
        cc = Client(env, tok, timeout=10)
        while not stop.is_set():
            try:
                err, sc = cc.tool("list_invoices", {"customer_id": "r"})
                codes.append("ok" if not err else sc["error"]["code"] + (":r" if sc["error"]["retryable"] else ""))
            except Exception:  # noqa: BLE001
                codes.append("exception")
                cc.close()
            time.sleep(0.01)

    threads = [threading.Thread(target=load, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    pgdir = os.path.join(env.dir, "pg")
    cmd = [f"{PGBIN}/pg_ctl", "-D", pgdir, "-l", os.path.join(pgdir, "server.log"), "-m", "fast", "-w",
           "restart"]
    if os.getuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    deadline = time.time() + 10
    while time.time() < deadline and (not codes or codes[-1] != "ok"):
        time.sleep(0.1)
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join()
    bad = [x for x in codes if x not in ("ok", "DATABASE_UNAVAILABLE:r", "TIMEOUT:r")]
    expect(not bad, set(bad))
    expect(codes[-1] == "ok" and "ok" in codes[:10], codes[-5:])
    expect(not c.tool("list_invoices", {"customer_id": "r"})[0], "recovered without a server restart")


def test_client_gone_while_its_request_waits(env):
    import socket
    import ssl
    import struct
    from harness import PORT
    tok = env.token()
    c = Client(env, tok)
    locked = sent_invoice(c)
    holder = lock_invoice(env, locked, 1.5)
    ctx = ssl.create_default_context(cafile=env.cafile)
    raw = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "apply_payment", "arguments": {"invoice_id": locked, "amount_cents": 1}}}).encode()
    s.sendall(b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer " +
              tok.encode() + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    time.sleep(0.3)
    # Reset the connection while the request waits on the row lock: the
    # worker drops the request at once instead of spinning on the hang-up.
    def cpu_s(pid):
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    worker = env.server.worker_pids()[0]
    before = cpu_s(worker)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    holder.wait()
    expect(cpu_s(worker) - before < 0.4, f"worker CPU while the client was gone: {cpu_s(worker) - before:.2f}s")
    deadline = time.time() + 5
    while time.time() < deadline and env.server.metrics().get("mcpi_inflight", 1) != 0:
        time.sleep(0.05)
    expect(env.server.metrics()["mcpi_inflight"] == 0, env.server.metrics())
    err, sc = c.tool("get_invoice", {"invoice_id": locked})
    expect(not err, sc)
