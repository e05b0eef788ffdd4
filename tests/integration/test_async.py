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

from harness import PGPORT, Client, access_line, expect, run_threads, wait_for

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
    holder = lock_invoice(env, locked, 60)  # released below; the duration is a hang guard
    # A lone write waits for the row lock: the connection's batch is busy.
    blocked = {}
    t = threading.Thread(target=lambda: blocked.update(
        r=Client(env, tok).tool("apply_payment", {"invoice_id": locked, "amount_cents": 1})))
    t.start()
    wait_for(lambda: app_waiting_on_lock(env), what="the payment waiting on the row lock")
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

    try:
        errors = run_threads(23, member)
    finally:
        release_row_lock(env)
        holder.wait(timeout=30)
    t.join(timeout=30)
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
    other = sent_invoice(c)
    holder = lock_invoice(env, locked, 60)  # released below; the duration is a hang guard
    out = {}
    t = threading.Thread(target=lambda: out.update(
        r=Client(env, tok).call("apply_payment", {"invoice_id": locked, "amount_cents": 1})))
    try:
        t.start()
        wait_for(lambda: app_waiting_on_lock(env), what="the payment waiting on the row lock")
        local, reads = [], []
        for _ in range(5):
            st, hdrs, b = c.rpc("tools/list")
            expect(st == 200, (st, b))
            local.append(hdrs["x-request-id"])
            st, hdrs, _ = Client(env, "bad-token").rpc("ping")
            expect(st == 401, st)
            local.append(hdrs["x-request-id"])
            st, hdrs, b = c.call("get_invoice", {"invoice_id": other})
            expect(st == 200 and not b["result"]["isError"], (st, b))
            reads.append(hdrs["x-request-id"])
        # Ordering: all fifteen were answered while the payment still waited
        # on the lock. By the worker's own clock: what needs no database took
        # less than one try of the write (lock_timeout, 200 ms), which a
        # worker waiting on the write would make it wait; a database read
        # queues behind the write's statement on the one connection, so it
        # waits for the end of that try at most, not for the write's
        # deadline (3 s).
        waiting = t.is_alive() and app_waiting_on_lock(env)
        took = [access_line(env, rid)["duration_us"] / 1000 for rid in local]
        read_ms = [access_line(env, rid)["duration_us"] / 1000 for rid in reads]
        t.join(timeout=30)
        # Its tries gave up on the lock (lock_timeout) without holding the
        # connection: a read right after its TIMEOUT is served as fast.
        st, hdrs, read = c.call("get_invoice", {"invoice_id": locked})
        after = access_line(env, hdrs["x-request-id"])["duration_us"] / 1000
    finally:
        release_row_lock(env)
        holder.wait(timeout=30)
    print(f"    beside the blocked write (server clock): tools/list and 401s at most {max(took):.1f} ms, "
          f"database reads {', '.join(f'{x:.0f}' for x in read_ms)} ms; a read after its TIMEOUT {after:.1f} ms")
    expect(waiting, "the reads and refusals were held up until the write ended")
    expect(max(took) < 200, took)
    expect(max(read_ms) < 200 + 100, ("a read waited longer than one try of the write", read_ms))
    st, hdrs, b = out["r"]
    sc = b["result"]["structuredContent"]
    expect(b["result"]["isError"] and sc["error"]["code"] == "TIMEOUT" and sc["error"]["retryable"], sc)
    # At its deadline (request_timeout_ms 3000) by the server's clock, not before.
    deadline = access_line(env, hdrs["x-request-id"])["duration_us"] / 1e6
    expect(3.0 <= deadline < 4.0, f"TIMEOUT after {deadline:.3f} s, the deadline is 3 s")
    expect(after < 200, after)
    expect(not read["result"]["isError"] and read["result"]["structuredContent"]["amount_paid_cents"] == 0, read)


def test_commit_killed_mid_flight_reports_no_success(env):
    tenant = "t-" + uuid.uuid4().hex[:8]
    tok = env.token(tenant=tenant)
    c = Client(env, tok)
    locked = sent_invoice(c)
    holder = lock_invoice(env, locked, 60)  # released below; the duration is a hang guard
    out = {}
    t = threading.Thread(target=lambda: out.update(r=Client(env, tok).tool(
        "apply_payment", {"invoice_id": locked, "amount_cents": 1, "idempotency_key": "pay-1"})))
    try:
        t.start()
        wait_for(lambda: app_waiting_on_lock(env), what="the payment waiting on the row lock")
        env.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'mcp_invoiced_app'")
        t.join(timeout=30)
    finally:
        release_row_lock(env)
        holder.wait(timeout=30)
    err, sc = out["r"]
    expect(err and sc["error"]["retryable"] and sc["error"]["code"] == "DATABASE_UNAVAILABLE", sc)
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
    # Writes are being acknowledged, then the worker dies mid-stream; the
    # load runs on until its replacement has acknowledged writes too.
    wait_for(lambda: len(acked) >= 50, what="writes acknowledged before the kill")
    victim = env.server.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    with lock:
        at_kill = len(acked)
    wait_for(lambda: failed and len(acked) >= at_kill + 50 and victim not in env.server.worker_pids(),
             timeout=30, what="the replacement worker acknowledging writes")
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
    wait_for(lambda: codes.count("ok") >= 10, what="reads answered before the restart")
    pgdir = os.path.join(env.dir, "pg")
    cmd = [f"{PGBIN}/pg_ctl", "-D", pgdir, "-l", os.path.join(pgdir, "server.log"), "-m", "fast", "-w",
           "restart"]
    if os.getuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    restarted = len(codes)
    # Served again: 20 reads in a row answered after the restart.
    wait_for(lambda: codes[restarted:][-20:] == ["ok"] * 20, timeout=30, what="20 reads in a row after the restart")
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
    holder = lock_invoice(env, locked, 60)  # released below; the duration is a hang guard
    try:
        ctx = ssl.create_default_context(cafile=env.cafile)
        raw = socket.create_connection(("127.0.0.1", PORT), timeout=5)
        s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "apply_payment", "arguments": {"invoice_id": locked, "amount_cents": 1}}}).encode()
        s.sendall(b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer " +
                  tok.encode() + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        wait_for(lambda: app_waiting_on_lock(env) and env.server.metrics()["mcpi_inflight"] == 1,
                 what="the payment waiting on the row lock")

        # Reset the connection while the request waits on the row lock: the
        # worker drops the request at once instead of spinning on the hang-up.
        def cpu_s(pid):
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        worker = env.server.worker_pids()[0]
        before = cpu_s(worker)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        # Its slot is freed while the lock is still held, well before the
        # request's 3 s deadline would have freed it.
        wait_for(lambda: env.server.metrics()["mcpi_inflight"] == 0, timeout=2.5,
                 what="the in-flight slot freed before the request's deadline")
        time.sleep(1.0)  # a measuring window, not a wait: a worker spinning on the hang-up burns it
        spent = cpu_s(worker) - before
    finally:
        release_row_lock(env)
        holder.wait(timeout=30)
    expect(spent < 0.4, f"worker CPU while the client was gone: {spent:.2f}s")
    err, sc = c.tool("get_invoice", {"invoice_id": locked})
    expect(not err, sc)
