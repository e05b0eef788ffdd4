"""Through PgBouncer (Debian's 1.18) in transaction mode, where named
prepared statements do not work: with database_statements = unnamed the
server's pipelined reads and group-committed writes run through a pool of
two server connections shared by three workers, and money stays exact."""
import os
import shutil
import socket
import subprocess
import threading
import time

from harness import PGPORT, Client, Skip, expect, run_threads

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_pgbouncer(env, port):
    ini = os.path.join(env.dir, "pgbouncer.ini")
    with open(ini, "w") as f:
        f.write(f"""[databases]
invoices = host={env.dir}/sock port={PGPORT} dbname=invoices user=mcp_invoiced_app
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = 2
max_client_conn = 50
ignore_startup_parameters = extra_float_digits,options
logfile = {env.dir}/pgbouncer.log
""")
    os.chmod(ini, 0o644)
    log = os.path.join(env.dir, "pgbouncer.log")
    open(log, "a").close()
    shutil.chown(log, "postgres")
    cmd = [PGBOUNCER, ini]
    if os.getuid() == 0:  # PgBouncer refuses to run as root
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("pgbouncer did not start: " + open(log).read()[-2000:])


def test_through_pgbouncer_transaction_mode_with_unnamed_statements(env):
    if not os.path.exists(PGBOUNCER):
        raise Skip("pgbouncer is not installed (tests/deps.sh installs it)")
    port = free_port()
    bouncer = start_pgbouncer(env, port)
    try:
        srv = env.start_server(workers=3, extra={
            "database_url": f"host=127.0.0.1 port={port} dbname=invoices user=mcp_invoiced_app",
            "database_statements": "unnamed"})
        tok = env.token(tenant="bouncer")
        c = Client(env, tok)
        err, inv = c.tool("create_invoice", {"customer_id": "pool", "line_items": [
            {"description": "x", "amount_cents": 100000}]})
        expect(not err, inv)
        err, sent = c.tool("send_invoice", {"invoice_id": inv["invoice_id"]})
        expect(not err and sent["invoice_number"].startswith("INV-"), sent)
        created, lock = [], threading.Lock()

        def agent(i):
            a = Client(env, tok)
            for k in range(10):
                e, r = a.tool("create_invoice", {"customer_id": f"pool-{i}", "line_items": [
                    {"description": "y", "amount_cents": 10 + k}], "idempotency_key": f"b-{i}-{k}"})
                expect(not e, r)
                e, p = a.tool("apply_payment", {"invoice_id": inv["invoice_id"], "amount_cents": 7,
                                                "idempotency_key": f"p-{i}-{k}"})
                expect(not e, p)
                e, listed = a.tool("list_invoices", {"customer_id": f"pool-{i}"})
                expect(not e and len(listed["invoices"]) == k + 1, listed)
                with lock:
                    created.append(r["invoice_id"])

        errors = run_threads(12, agent)
        expect(not errors, errors)
        expect(len(set(created)) == 120, len(set(created)))
        err, got = c.tool("get_invoice", {"invoice_id": inv["invoice_id"]})
        expect(got["amount_paid_cents"] == 12 * 10 * 7 and len(got["payments"]) == 120, got)
        paid = env.psql(f"SELECT sum(amount_cents) FROM payments WHERE invoice_id = '{inv['invoice_id']}'")
        expect(int(paid) == 840, paid)
        prompt = c.rpc("prompts/get", {"name": "collect_overdue", "arguments": {"customer_id": "pool"}})
        expect(prompt[0] == 200 and "result" in prompt[2], prompt)
        pooled = env.psql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'mcp_invoiced_app'")
        print(f"    3 workers through PgBouncer (transaction mode, {pooled} server connections): "
              f"120 creates, 120 payments, 120 lists, totals exact")
        expect(int(pooled) <= 2, f"at most the pool's 2 server connections, saw {pooled}")
        expect(srv.metrics()["mcpi_workers_ready"] == 3, "all workers up")
    finally:
        if env.server:
            rc = env.server.stop()
            env.server = None
            expect(rc == 0, f"server exit {rc}")
        bouncer.terminate()
        bouncer.wait(timeout=10)
