"""Plans that hold from the first request: a new database, statistics taken
when it was nearly empty (as autovacuum's first ANALYZE does) and never
again, one server session that writes 20,000 invoices. list_invoices,
get_invoice, apply_payment and create_invoice must each cost, per call,
at most a fixed multiple of what they cost at the start, measured as
database time inside their SQL functions (pg_stat_user_functions), so a
plan that walks a tenant's invoices, or session state that makes the
same statement dearer after the write path ran, fails here."""
import json
import os
import socket
import ssl
import subprocess
import time

import harness
from harness import Client, Server, expect, run_threads
from test_domain import new_tenant, ok

INVOICES = 20000
WRITERS = 16
ROUNDS = 3
CALLS = 30
# Per call, end over start. A 20,000-invoice tenant changes nothing an
# index-driven plan reads (btree depth aside); noise on a shared machine is
# well under this, a plan walking the tenant's invoices is far over it.
MAX_GROWTH = 3.0
# The tool each SQL function serves.
FUNCTIONS = {"list_invoices": "mcp_find_invoices", "get_invoice": "mcp_get_invoice_by",
             "apply_payment": "mcp_try_apply_payment", "create_invoice": "mcp_try_create_invoice"}
LINES = [{"description": "Work", "amount_cents": 1000, "quantity": 2}]


def psql(env, db, sql):
    pgbin = sorted(os.listdir("/usr/lib/postgresql"))[-1]
    out = subprocess.run(
        [f"/usr/lib/postgresql/{pgbin}/bin/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
         "-h", os.path.join(env.dir, "sock"), "-p", str(harness.PGPORT), "-U", "postgres", "-d", db,
         "-c", sql], check=True, capture_output=True, text=True, timeout=120)
    return out.stdout.strip()


def fresh_database(env, db):
    """A new database migrated by the server binary, with function timing on
    and autovacuum off (its statistics stay what the test made them)."""
    psql(env, "postgres", f"DROP DATABASE IF EXISTS {db}")
    psql(env, "postgres", f"CREATE DATABASE {db} OWNER mcp_invoiced_owner")
    psql(env, db, "REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT USAGE ON SCHEMA public TO "
                  "mcp_invoiced_app; ALTER SCHEMA public OWNER TO mcp_invoiced_owner")
    psql(env, "postgres", f"ALTER DATABASE {db} SET track_functions = 'pl'")
    conf = env.base_conf.replace("dbname=invoices", f"dbname={db}") + "workers = 1\n" + \
        "rate_limit_rps = 100000\nrate_limit_burst = 100000\nmax_inflight = 512\n" + \
        "max_connections_per_ip = 0\n"
    path = os.path.join(env.dir, f"{db}.conf")
    with open(path, "w") as f:
        f.write(conf)
    subprocess.run([harness.BIN, "migrate", "--config", path], check=True, capture_output=True,
                   timeout=120)
    psql(env, db, "DO $$DECLARE t text; BEGIN FOR t IN SELECT tablename FROM pg_tables "
                  "WHERE schemaname = 'public' LOOP EXECUTE format('ALTER TABLE %I SET "
                  "(autovacuum_enabled = off)', t); END LOOP; END $$")
    return path


def create_many(env, token, customers):
    """create_invoice for each customer in turn over one keep-alive
    connection, with as little client work per call as possible (the
    server, not the client, should be what is busy)."""
    ctx = ssl.create_default_context(cafile=env.cafile)
    sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", harness.PORT)),
                           server_hostname="127.0.0.1")
    buf = b""
    try:
        for cust in customers:
            body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
                "name": "create_invoice", "arguments": {"customer_id": cust, "line_items": LINES}}}).encode()
            sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         b"Accept: application/json, text/event-stream\r\nAuthorization: Bearer "
                         + token.encode() + b"\r\nContent-Length: " + str(len(body)).encode()
                         + b"\r\n\r\n" + body)
            while b"\r\n\r\n" not in buf:
                buf += sock.recv(65536)
            head, buf = buf.split(b"\r\n\r\n", 1)
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            while len(buf) < length:
                buf += sock.recv(65536)
            answer, buf = buf[:length], buf[length:]
            expect(head.startswith(b"HTTP/1.1 200") and b'"isError":true' not in answer,
                   (head[:200], answer[:300]))
    finally:
        sock.close()


def function_times(env, db):
    """{function: (calls, total ms)} as the server's session last reported them."""
    rows = psql(env, db, "SELECT funcname, calls, total_time FROM pg_stat_user_functions "
                         "WHERE funcname IN (%s)" % ", ".join(f"'{f}'" for f in FUNCTIONS.values()))
    out = {}
    for line in rows.splitlines():
        name, calls, total = line.split("|")
        out[name] = (int(calls), float(total))
    return out


def flushed_times(env, db, c):
    """Function times including every call made so far: a backend reports
    its counters at the end of a transaction at most once a second, so wait
    past that and make one more (cheap) call."""
    time.sleep(1.1)
    ok(c, "list_tax_rates", {})
    time.sleep(0.2)
    return function_times(env, db)


def cost_per_call(env, db, c, calls):
    """The cheapest of ROUNDS rounds, in ms of database time per call, for each tool:
    calls[tool]() makes one call."""
    best = {}
    for _ in range(ROUNDS):
        before = flushed_times(env, db, c)
        for tool, call in calls.items():
            for _ in range(CALLS):
                call()
        after = flushed_times(env, db, c)
        for tool, fn in FUNCTIONS.items():
            n = after[fn][0] - before.get(fn, (0, 0.0))[0]
            ms = (after[fn][1] - before.get(fn, (0, 0.0))[1]) / n
            expect(n == CALLS, (tool, n))
            best[tool] = min(best.get(tool, ms), ms)
    return best


def test_costs_per_call_hold_from_an_empty_database_to_20000_invoices(env):
    db = f"mcpi_fresh_{os.getpid()}"
    path = fresh_database(env, db)
    server = Server(env, path)
    env.server = server
    try:
        server.wait_ready()
        tenant = new_tenant()
        token = env.token(tenant=tenant)
        c = Client(env, token)
        # A customer whose page of 20 is full from the start, an invoice to
        # read, one to pay.
        for _ in range(25):
            ok(c, "create_invoice", {"customer_id": "c_list", "line_items": LINES})
        read_id = ok(c, "create_invoice", {"customer_id": "c_read", "line_items": LINES})["invoice_id"]
        ok(c, "send_invoice", {"invoice_id": read_id})
        pay_id = ok(c, "create_invoice", {"customer_id": "c_pay", "line_items": [
            {"description": "Retainer", "amount_cents": 10 ** 12, "quantity": 1}]})["invoice_id"]
        ok(c, "send_invoice", {"invoice_id": pay_id})
        for i in range(30):
            ok(c, "create_invoice", {"customer_id": f"c{i}", "line_items": LINES})
        # Statistics of a nearly empty database, as autovacuum's first
        # ANALYZE leaves them (it runs after about 50 rows).
        psql(env, db, "ANALYZE")
        calls = {
            "list_invoices": lambda: ok(c, "list_invoices", {"customer_id": "c_list", "limit": 20}),
            "get_invoice": lambda: ok(c, "get_invoice", {"invoice_id": read_id}),
            "apply_payment": lambda: ok(c, "apply_payment", {"invoice_id": pay_id, "amount_cents": 1}),
            "create_invoice": lambda: ok(c, "create_invoice", {"customer_id": "c_new", "line_items": LINES}),
        }
        start = cost_per_call(env, db, c, calls)

        # 20,000 invoices from concurrent clients (group-committed batches),
        # one in a hundred for the listed customer.
        per = INVOICES // WRITERS

        def write(i):
            create_many(env, token, ["c_list" if k % 100 == 0 else f"c{(i * per + k) % 500}"
                                     for k in range(per)])

        t0 = time.time()
        errors = run_threads(WRITERS, write)
        expect(not errors, errors[:3])
        written = time.time() - t0
        count = int(psql(env, db, f"SELECT count(*) FROM invoices WHERE tenant_id = '{tenant}'"))
        expect(count >= INVOICES, count)

        end = cost_per_call(env, db, c, calls)
        report = ", ".join(f"{t} {start[t]:.3f} -> {end[t]:.3f} ms" for t in FUNCTIONS)
        print(f"    database time per call, start -> after {count} invoices ({written:.0f} s to "
              f"write): {report}", flush=True)
        for tool in FUNCTIONS:
            expect(end[tool] <= MAX_GROWTH * start[tool],
                   f"{tool}: {start[tool]:.3f} ms a call at the start, {end[tool]:.3f} ms after "
                   f"{count} invoices (over {MAX_GROWTH}x): {report}")
    finally:
        env.server = None
        server.stop()
        psql(env, "postgres", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
