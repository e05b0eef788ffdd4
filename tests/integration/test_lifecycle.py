"""Process lifecycle: kill -9 of a worker under load, graceful SIGTERM,
SIGHUP reload (configuration and TLS certificate, bad config refused),
start-up failure, and the systemd notify protocol."""
import datetime
import os
import re
import ssl
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid

from harness import PGPORT, PORT, Client, Skip, expect, tls_peer_cert_der, wait_for, worker_of

ITEM = [{"description": "x", "amount_cents": 1}]


def stop_clean(env):
    rc = env.server.stop()
    env.server = None
    expect(rc == 0, f"exit status {rc}")


def test_killed_worker_is_replaced_and_others_unaffected(env):
    srv = env.start_server(workers=4, extra={"rate_limit_rps": 1000000,
                                             "rate_limit_burst": 1000000})
    try:
        tok = env.token()
        clients = [Client(env, tok) for _ in range(12)]
        owner = {}
        for i, c in enumerate(clients):
            st, h, _ = c.rpc("ping")
            owner[i] = worker_of(h)
        victim = owner[0]
        others = [i for i in owner if owner[i] != victim]
        expect(others, "connections spread over several workers")
        stop = threading.Event()
        failures = {i: 0 for i in owner}
        counts = {i: 0 for i in owner}
        statuses = []

        def load(i):
            c = clients[i]
            while not stop.is_set():
                try:
                    st, h, b = c.call("list_invoices", {"customer_id": "kill9"})
                    if st != 200 or "result" not in b or b["result"].get("isError") is not False:
                        failures[i] += 1
                        statuses.append((st, b))
                    counts[i] += 1
                except Exception:  # noqa: BLE001 - counted, then reconnect
                    failures[i] += 1
                    c.close()
                    time.sleep(0.01)

        ts = [threading.Thread(target=load, args=(i,)) for i in owner]
        for t in ts:
            t.start()
        wait_for(lambda: all(counts[i] >= 10 for i in owner), what="every connection served before the kill")
        before = set(srv.worker_pids())
        os.kill(victim, signal.SIGKILL)
        # A generous ceiling (a hang guard); the claim is judged on the
        # master's own clock below.
        wait_for(lambda: victim not in srv.worker_pids() and len(srv.worker_pids()) == 4 and
                 srv.metrics().get("mcpi_workers_ready") == 4, timeout=20, what="a replacement worker")
        # Load goes on: every connection on a survivor is served 10 more times.
        after_kill = dict(counts)
        wait_for(lambda: all(counts[i] >= after_kill[i] + 10 for i in others), timeout=30,
                 what="the survivors serving after the kill")
        stop.set()
        for t in ts:
            t.join()
        reaped = log_time(srv, rf'"worker {victim} died')
        started = log_time(srv, r'"worker \d+ started in slot', after=reaped)
        expect(started - reaped < 1.0, f"the master started a replacement {started - reaped:.3f}s after "
                                       f"reaping the killed worker")
        print(f"    worker {victim} killed; replacement started {(started - reaped) * 1000:.0f} ms after "
              f"the master reaped it")
        expect(before - {victim} <= set(srv.worker_pids()), "other workers kept running")
        for i in others:
            expect(failures[i] == 0, f"connection {i} on a surviving worker saw {failures[i]} errors: {statuses[:5]}")
            expect(counts[i] > 10, counts)
        wait_for(lambda: srv.metrics()["mcpi_inflight"] == 0, what="in-flight back to 0")
    finally:
        stop_clean(env)


def log_time(srv, pattern, after=0.0):
    """The time (seconds since the epoch, from the line's own "ts") of the
    first server log line matching pattern at or after after."""
    for line in srv.logs().splitlines():
        if re.search(pattern, line):
            m = re.search(r'"ts":"([^"]+)Z"', line)
            t = datetime.datetime.fromisoformat(m.group(1)).replace(tzinfo=datetime.timezone.utc).timestamp()
            if t >= after:
                return t
    raise AssertionError(f"no log line matching {pattern}")


def invoices_of(env, tenant):
    return set(env.psql(f"SELECT invoice_id FROM invoices WHERE tenant_id = '{tenant}'").split())


def test_sigterm_finishes_inflight_requests_and_exits_0(env):
    srv = env.start_server(workers=2, extra={"shutdown_timeout_s": 10})
    tenant = "sigterm-" + uuid.uuid4().hex[:8]
    tok = env.token(tenant=tenant)
    holder = env.hold_lock("invoices", 120)  # released below; the duration is a hang guard
    results = []
    try:
        env.wait_lock_held("invoices")

        def one(i):
            c = Client(env, tok)
            st, _, b = c.call("create_invoice", {"customer_id": "sigterm", "line_items": ITEM})
            results.append((st, b["result"]["isError"], b["result"]["structuredContent"].get("invoice_id")))

        ts = [threading.Thread(target=one, args=(i,)) for i in range(6)]
        for t in ts:
            t.start()
        wait_for(lambda: srv.metrics()["mcpi_inflight"] == 6, what="six creates in flight")
        t0 = time.time()
        srv.signal(signal.SIGTERM)

        def refused():
            try:
                socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
                return False
            except OSError:
                return True
        wait_for(refused, what="the listener closed after SIGTERM")
        expect(srv.proc.poll() is None, "still draining while the creates wait")
        env.release_lock("invoices")
        for t in ts:
            t.join(timeout=30)
        srv.proc.wait(timeout=30)
        rc = srv.stop()  # exited: reads the log for sanitizer reports (LeakSanitizer runs at exit)
        env.server = None
    finally:
        env.release_lock("invoices")
        holder.wait(timeout=30)
    expect([r[:2] for r in results] == [(200, False)] * 6, results)
    made = {r[2] for r in results}
    expect(len(made) == 6 and made == invoices_of(env, tenant), (made, invoices_of(env, tenant)))
    expect(rc == 0, rc)
    print(f"    6 in-flight creates finished and are in the database; exit 0 after {time.time() - t0:.1f}s")


def test_sigterm_drops_stragglers_after_shutdown_timeout(env):
    """A request still running shutdown_timeout_s after SIGTERM does not
    keep the server: its worker gives up on it (the client gets no answer)
    and exits; a worker that cannot even do that (stopped) is killed by the
    master. Both times the server exits 0, about shutdown_timeout_s after
    the signal by its own clock."""
    srv = env.start_server(workers=1, extra={"shutdown_timeout_s": 1, "request_timeout_ms": 60000})
    tok = env.token(tenant="straggler")
    holder = env.hold_lock("invoices", 120)  # released below; the duration is a hang guard
    result = {}
    try:
        env.wait_lock_held("invoices")

        def create(_):
            try:
                result["answer"] = Client(env, tok, timeout=60).call(
                    "create_invoice", {"customer_id": "straggler", "line_items": ITEM})
            except Exception as e:  # noqa: BLE001 - the expected outcome
                result["error"] = repr(e)

        t = threading.Thread(target=create, args=(0,))
        t.start()
        wait_for(lambda: srv.metrics()["mcpi_inflight"] == 1, what="the create in flight")
        srv.signal(signal.SIGTERM)
        srv.proc.wait(timeout=30)
        t.join(timeout=30)
        env.server = None
        rc = srv.stop()
    finally:
        env.release_lock("invoices")
        holder.wait(timeout=30)
    expect("answer" not in result and "error" in result, f"the straggler was answered: {result}")
    sigterm = log_time(srv, r'"stopping \(')
    gave_up = log_time(srv, r'"exiting: 1 connections left"')
    dropped = gave_up - sigterm
    expect(0.9 <= dropped < 5, f"gave up {dropped:.2f}s after SIGTERM (shutdown_timeout_s 1)")
    expect(rc == 0, rc)

    srv = env.start_server(workers=1, extra={"shutdown_timeout_s": 1})
    victim = srv.worker_pids()[0]
    os.kill(victim, signal.SIGSTOP)
    try:
        srv.signal(signal.SIGTERM)
        srv.proc.wait(timeout=30)
    finally:
        env.server = None
        rc = srv.stop()
    sigterm = log_time(srv, r'"stopping \(')
    killed = log_time(srv, rf'"worker {victim} did not stop in time; killing it"')
    # The master gives workers 2 s beyond shutdown_timeout_s to give up by themselves.
    expect(2.9 <= killed - sigterm < 6, f"killed {killed - sigterm:.2f}s after SIGTERM (shutdown_timeout_s 1)")
    expect(rc == 0, rc)
    print(f"    straggler dropped {dropped:.2f}s and stopped worker killed {killed - sigterm:.2f}s "
          f"after SIGTERM; exit 0")


def test_sighup_reloads_config_and_certificate(env):
    srv = env.start_server(workers=2, extra={"rate_limit_rps": 1000})
    try:
        tok = env.token()
        old_pids = set(srv.worker_pids())
        old_cert = tls_peer_cert_der(env.cafile)
        keep = Client(env, tok)
        expect(keep.rpc("ping")[0] == 200)
        # New certificate and a new rate in the same file.
        d = env.dir
        shutil.copy(os.path.join(d, "tls.crt"), os.path.join(d, "tls.crt.orig"))
        shutil.copy(os.path.join(d, "tls.key"), os.path.join(d, "tls.key.orig"))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "30", "-keyout",
                        os.path.join(d, "tls.key"), "-out", os.path.join(d, "tls.crt"), "-subj",
                        "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True)
        with open(srv.conf_path, "a") as f:
            f.write("rate_limit_rps = 5\nrate_limit_burst = 5\n")
        srv.signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline:
            pids = set(srv.worker_pids())
            if pids and not (pids & old_pids) and srv.metrics().get("mcpi_workers_ready") == 2:
                break
            time.sleep(0.05)
        new_pids = set(srv.worker_pids())
        expect(new_pids and not (new_pids & old_pids), (old_pids, new_pids))
        expect(tls_peer_cert_der(os.path.join(d, "tls.crt")) != old_cert, "new certificate served")
        c = Client(env, tok)
        codes = [c.rpc("ping")[0] for _ in range(20)]
        expect(429 in codes, f"new rate applies: {codes}")
        # The old, idle keep-alive connection is closed by its draining
        # worker (an orderly TLS close, then EOF), not left dangling.
        sock = keep.conn.sock
        sock.settimeout(5)
        try:
            data = sock.recv(1)
        except (ConnectionResetError, ssl.SSLError):
            data = b""
        expect(data == b"", data)
    finally:
        shutil.copy(os.path.join(env.dir, "tls.crt.orig"), os.path.join(env.dir, "tls.crt"))
        shutil.copy(os.path.join(env.dir, "tls.key.orig"), os.path.join(env.dir, "tls.key"))
        stop_clean(env)


def wait_new_generation(srv, old_pids, workers, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        pids = set(srv.worker_pids())
        if "reload complete" in srv.logs() and pids and not (pids & old_pids) and \
                len(pids) == workers and srv.metrics().get("mcpi_workers_ready") == workers:
            return pids
        time.sleep(0.05)
    raise AssertionError("no new generation:\n" + srv.logs()[-2000:])


def answers_by_worker(env, tok, n=16, body=None):
    """Status of one request on each of n connections held open together
    (so the master spreads them over the workers), by worker pid."""
    seen = {}
    clients = [Client(env, tok) for _ in range(n)]
    for c in clients:
        if body is None:
            st, h, _ = c.rpc("ping")
        else:
            st, h, _ = c.post(None, raw_body=body)
        seen.setdefault(worker_of(h), set()).add(st)
    for c in clients:
        c.close()
    return seen


def test_sighup_rotates_the_jwt_key_in_every_new_worker(env):
    path = os.path.join(env.dir, "jwt.secret")
    shutil.copy(path, path + ".orig")
    srv = env.start_server(workers=2)
    try:
        old_tok = env.token()
        expect(set().union(*answers_by_worker(env, old_tok).values()) == {200})
        # A cursor sealed under the old secret (the cursor key derives from it).
        oc = Client(env, old_tok)
        for i in range(3):
            oc.tool("create_invoice", {"customer_id": "rotate-cursor", "line_items": ITEM})
        err, page = oc.tool("list_invoices", {"customer_id": "rotate-cursor", "limit": 2})
        expect(not err and page["next_cursor"], page)
        old_cursor = page["next_cursor"]
        old_pids = set(srv.worker_pids())
        new_secret = os.urandom(24).hex().encode()
        with open(path, "wb") as f:
            f.write(new_secret + b"\n")
        with open(srv.conf_path, "a") as f:
            f.write("max_body_bytes = 4096\n")
        srv.signal(signal.SIGHUP)
        new_pids = wait_new_generation(srv, old_pids, 2)
        new_tok = env.token(secret=new_secret)
        big = b'{"jsonrpc":"2.0","id":1,"method":"ping","pad":"' + b"x" * 5000 + b'"}'

        def check(pids):
            ok = answers_by_worker(env, new_tok)
            expect(set(ok) == pids, f"both new workers answered: {ok} vs {pids}")
            expect(all(v == {200} for v in ok.values()), f"new key accepted everywhere: {ok}")
            old = answers_by_worker(env, old_tok)
            expect(all(v == {401} for v in old.values()), f"old key refused everywhere: {old}")
            limits = answers_by_worker(env, new_tok, n=8, body=big)
            expect(all(v == {413} for v in limits.values()), f"new max_body_bytes: {limits}")

        check(new_pids)
        # The old cursor is refused after the rotation; a fresh one works.
        nc = Client(env, new_tok)
        err, sc = nc.tool("list_invoices", {"customer_id": "rotate-cursor", "limit": 2, "cursor": old_cursor})
        expect(err and sc["error"]["code"] == "INVALID_INPUT" and sc["error"].get("field") == "cursor", sc)
        err, page = nc.tool("list_invoices", {"customer_id": "rotate-cursor", "limit": 2})
        err2, rest = nc.tool("list_invoices", {"customer_id": "rotate-cursor", "limit": 2, "cursor": page["next_cursor"]})
        expect(not err and not err2 and len(page["invoices"]) == 2 and len(rest["invoices"]) >= 1, (page, rest))
        # A worker started later (a replacement) agrees with its siblings.
        victim = sorted(new_pids)[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.time() + 10
        while time.time() < deadline:
            pids = set(srv.worker_pids())
            if victim not in pids and len(pids) == 2 and srv.metrics().get("mcpi_workers_ready") == 2:
                break
            time.sleep(0.05)
        check(set(srv.worker_pids()))
    finally:
        shutil.copy(path + ".orig", path)
        stop_clean(env)


def test_sighup_with_bad_config_keeps_serving(env):
    srv = env.start_server(workers=2)
    try:
        tok = env.token()
        pids = set(srv.worker_pids())
        with open(srv.conf_path, "a") as f:
            f.write("rate_limit_rps = fast\n")
        srv.signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in srv.logs(), what="the reload refused")
        expect(set(srv.worker_pids()) == pids, "workers not replaced")
        expect(Client(env, tok).rpc("ping")[0] == 200, "still serving")
        logs = srv.logs()
        expect("reload refused" in logs and "rate_limit_rps must be an integer" in logs, logs[-800:])
    finally:
        stop_clean(env)


def test_repeated_startup_failure_stops_the_server(env):
    conf_extra = {"database_url": f"host={env.dir}/sock port={PGPORT} dbname=nosuchdb user=nobody"}
    srv = env.start_server(workers=1, extra=conf_extra, wait=False)
    srv.proc.wait(timeout=30)
    logs = srv.logs()
    env.server = None
    rc = srv.stop()  # reads the log for sanitizer reports
    expect(rc == 1, rc)
    expect("failed to start 5 times in a row" in logs, logs[-1500:])


def test_systemd_notify_protocol(env):
    sock_path = os.path.join(env.dir, "notify.sock")
    if os.path.exists(sock_path):
        os.unlink(sock_path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock_path)
    s.settimeout(15)
    got = []

    def recv_until(word):
        while True:
            msg = s.recv(4096).decode()
            got.append(msg)
            if word in msg:
                return

    srv = env.start_server(workers=2, wait=False,
                           env_extra={"NOTIFY_SOCKET": sock_path, "WATCHDOG_USEC": "400000"})
    srv.workers = 2
    recv_until("READY=1")
    ready_workers = srv.metrics().get("mcpi_workers_ready")
    expect(ready_workers == 2, f"READY=1 only after workers are up ({ready_workers})")
    recv_until("WATCHDOG=1")
    srv.signal(signal.SIGHUP)
    recv_until("RELOADING=1")
    recv_until("READY=1")
    srv.signal(signal.SIGTERM)
    recv_until("STOPPING=1")
    srv.proc.wait(timeout=15)
    env.server = None
    expect(srv.stop() == 0, "exit 0, no sanitizer report")
    s.close()
    expect(any("MONOTONIC_USEC=" in m for m in got), got)


def test_privileges_dropped_and_processes_not_dumpable(env):
    if os.geteuid() != 0:
        raise Skip("this test needs root (CI runs as root)")
    srv = env.start_server(workers=2, extra={"user": "nobody"})
    try:
        import pwd
        nobody = pwd.getpwnam("nobody").pw_uid
        expect(len(srv.renderer_pids()) == 1, srv.renderer_pids())
        expect(len(srv.keymgr_pids()) == 1, srv.keymgr_pids())
        for pid in [srv.proc.pid] + srv.worker_pids() + srv.keymgr_pids() + srv.renderer_pids():
            status = open(f"/proc/{pid}/status").read()
            uids = [int(x) for x in status.split("Uid:")[1].split("\n")[0].split()]
            expect(uids == [nobody] * 4, (pid, uids))
            # A non-dumpable process's /proc files belong to root, not to its user.
            expect(os.stat(f"/proc/{pid}/environ").st_uid == 0, pid)
        # The renderer (its own binary) also forbids itself new privileges
        # and started with an empty environment.
        rstatus = open(f"/proc/{srv.renderer_pids()[0]}/status").read()
        expect("NoNewPrivs:\t1" in rstatus, rstatus)
        expect(open(f"/proc/{srv.renderer_pids()[0]}/environ", "rb").read() == b"", "renderer environment")
        err, sc = Client(env, env.token()).tool("list_invoices", {"customer_id": "x"})
        expect(not err, sc)
    finally:
        stop_clean(env)


def test_saturated_workers_leave_connections_in_the_backlog(env):
    srv = env.start_server(workers=1, extra={"worker_connections": 2})
    try:
        tok = env.token()
        held = [Client(env, tok), Client(env, tok)]
        for c in held:
            expect(c.rpc("ping")[0] == 200)
        # A third connection is queued by the kernel, not accepted: its TLS
        # handshake cannot complete while both slots are taken.
        waiting = Client(env, tok, timeout=1.5)
        try:
            waiting.connect()
            raise AssertionError("a third connection was served while the worker was full")
        except (TimeoutError, OSError):
            waiting.close()
        held[0].close()
        # Waits in the kernel's queue until the worker has let the closed
        # one go; the timeout is a hang guard.
        late = Client(env, tok, timeout=30)
        expect(late.rpc("ping")[0] == 200, "served once a slot was free")
        held[1].close()
        late.close()
    finally:
        stop_clean(env)


def test_sighup_with_mismatched_key_keeps_serving(env):
    srv = env.start_server(workers=1)
    try:
        pids = set(srv.worker_pids())
        d = env.dir
        other = os.path.join(d, "other.key")
        subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-out", other], check=True, capture_output=True)
        with open(srv.conf_path, "a") as f:
            f.write(f"tls_key = {other}\n")
        srv.signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in srv.logs(), what="the reload's verdict")
        expect(set(srv.worker_pids()) == pids, "workers not replaced")
        expect(Client(env, env.token()).rpc("ping")[0] == 200, "still serving")
        logs = srv.logs()
        expect("does not match the certificate" in logs and "reload refused" in logs, logs[-1500:])
    finally:
        stop_clean(env)


def test_warns_when_the_database_role_bypasses_rls(env):
    owner_url = f"host={env.dir}/sock port={PGPORT} dbname=invoices user=mcp_invoiced_owner"
    srv = env.start_server(workers=1, extra={"database_url": owner_url})
    try:
        expect("bypasses row-level security" in srv.logs(), srv.logs()[-1500:])
    finally:
        stop_clean(env)
    srv = env.start_server(workers=1)
    try:
        expect("bypasses row-level security" not in srv.logs(), "the app role is bound by RLS")
    finally:
        stop_clean(env)


def test_database_outage_at_start_is_survived(env):
    devenv = [os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "devenv.sh")]
    subprocess.run(["sh", *devenv, "stop", env.dir], check=True, timeout=60)
    try:
        srv = env.start_server(workers=2)
        c = Client(env, env.token())
        expect(c.rpc("tools/list", {})[0] == 200, "serves what needs no database")
        err, sc = c.tool("list_invoices", {"customer_id": "outage"})
        expect(err and sc["error"]["code"] == "DATABASE_UNAVAILABLE" and sc["error"]["retryable"], sc)
        expect("database unavailable at start-up" in srv.logs(), srv.logs()[-1500:])
        up = [v for k, v in srv.metrics().items() if k.startswith("mcpi_database_up")]
        expect(up == [0.0, 0.0], up)
    finally:
        from harness import BIN, LISTEN, PGPORT as port
        subprocess.run(["sh", *devenv, "setup", env.dir, str(port), LISTEN], check=True, timeout=120,
                       env=dict(os.environ, PG_FSYNC="off", MCPI_BIN=BIN), capture_output=True)
    try:
        deadline = time.time() + 10
        while True:
            err, sc = c.tool("list_invoices", {"customer_id": "outage"})
            if not err or time.time() > deadline:
                break
            time.sleep(0.2)
        expect(not err, ("recovered once the database is back", sc))
        up = [v for k, v in env.server.metrics().items() if k.startswith("mcpi_database_up")]
        expect(1.0 in up, up)
    finally:
        stop_clean(env)


def test_sighup_lets_old_workers_finish_inflight_requests(env):
    srv = env.start_server(workers=1)
    try:
        tok = env.token()
        old = set(srv.worker_pids())
        holder = env.hold_lock("invoices", 120)  # released below; the duration is a hang guard
        env.wait_lock_held("invoices")
        result = {}

        def create(_):
            c = Client(env, tok)
            st, h, b = c.call("create_invoice", {"customer_id": "reload", "line_items": ITEM})
            result["status"], result["worker"] = st, worker_of(h)
            result["isError"] = b["result"]["isError"]

        t = threading.Thread(target=create, args=(0,))
        t.start()
        wait_for(lambda: srv.metrics()["mcpi_inflight"] == 1, what="the create in flight")
        srv.signal(signal.SIGHUP)
        wait_for(lambda: "reload complete" in srv.logs(), what="the new generation")
        expect(t.is_alive(), "the create still waits on the lock after the reload")
        env.release_lock("invoices")
        t.join(timeout=20)
        holder.wait(timeout=30)
        expect(result.get("status") == 200 and result.get("isError") is False, result)
        expect(result["worker"] in old, "answered by the worker of the old generation")
        wait_for(lambda: not (set(srv.worker_pids()) & old), what="the old worker to exit after finishing")
        expect(Client(env, tok).rpc("ping")[0] == 200, "the new generation serves")
    finally:
        stop_clean(env)
