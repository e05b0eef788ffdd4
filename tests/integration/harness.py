"""harness.py - start and drive the real thing for integration tests.

A private PostgreSQL cluster (tests/devenv.sh), the real server binary
(sanitizer build) on a loopback TLS port, real HTTPS clients (http.client
over ssl), and helpers to mint good and deliberately bad JWTs.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("MCPI_TEST_BIN", os.path.join(ROOT, "bin", "mcp-invoiced-san"))
RELEASE_BIN = os.path.join(ROOT, "bin", "mcp-invoiced")
PGPORT = int(os.environ.get("MCPI_TEST_PGPORT", "55439"))
PORT = int(os.environ.get("MCPI_TEST_PORT", "18643"))
LISTEN = f"127.0.0.1:{PORT}"
ISSUER = "mcp-invoiced-dev"
AUDIENCE = f"https://{LISTEN}/mcp"
ALL_SCOPES = "invoices:read invoices:write payments:write"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Env:
    """One database cluster for the whole run; servers come and go."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mcpi-test-")
        os.chmod(self.dir, 0o755)
        env = dict(os.environ, PG_FSYNC="off", PG_LISTEN="127.0.0.1", MCPI_BIN=BIN)
        try:
            subprocess.run(["sh", os.path.join(ROOT, "tests/devenv.sh"), "setup", self.dir,
                            str(PGPORT), LISTEN], check=True, env=env, cwd=ROOT, timeout=180)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            # Leave no cluster running behind a failed set-up (e.g. a bad migration).
            subprocess.run(["sh", os.path.join(ROOT, "tests/devenv.sh"), "stop", self.dir], timeout=60)
            raise
        self.base_conf = open(os.path.join(self.dir, "mcp-invoiced.conf")).read()
        self.secret = open(os.path.join(self.dir, "jwt.secret"), "rb").read().strip()
        self.cafile = os.path.join(self.dir, "tls.crt")
        self.server = None

    def psql(self, sql, user="postgres"):
        pgbin = sorted(os.listdir("/usr/lib/postgresql"))[-1]
        out = subprocess.run(
            [f"/usr/lib/postgresql/{pgbin}/bin/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
             "-h", os.path.join(self.dir, "sock"), "-p", str(PGPORT), "-U", user, "-d", "invoices",
             "-c", sql], check=True, capture_output=True, text=True, timeout=60)
        return out.stdout.strip()

    def hold_lock(self, table, seconds):
        """A psql session holding an ACCESS EXCLUSIVE lock on table for
        seconds (wait() on the returned process)."""
        pgbin = sorted(os.listdir("/usr/lib/postgresql"))[-1]
        return subprocess.Popen(
            [f"/usr/lib/postgresql/{pgbin}/bin/psql", "-X", "-q", "-h", os.path.join(self.dir, "sock"),
             "-p", str(PGPORT), "-U", "postgres", "-d", "invoices", "-c",
             f"BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep({seconds}); COMMIT;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    LOCK_HOLDER = ("SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                   "WHERE c.relname = '%s' AND l.mode = 'AccessExclusiveLock' AND l.granted")

    def wait_lock_held(self, table, timeout=30):
        """Waits until hold_lock's session holds its lock on table."""
        wait_for(lambda: self.psql(self.LOCK_HOLDER % table) != "", timeout=timeout,
                 what=f"the lock on {table}")

    def release_lock(self, table):
        """Cancels hold_lock's session: its transaction ends, the lock goes."""
        self.psql(f"SELECT pg_cancel_backend(pid) FROM ({self.LOCK_HOLDER % table}) h")

    def stop(self):
        if self.server:
            self.server.stop()
        subprocess.run(["sh", os.path.join(ROOT, "tests/devenv.sh"), "stop", self.dir],
                       timeout=60)

    # ---- tokens ----
    def token(self, sub="agent-1", tenant="acme", scope=ALL_SCOPES, ttl=3600, claims=None,
              header=None, secret=None, drop=()):
        now = int(time.time())
        c = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "tenant_id": tenant,
             "scope": scope, "iat": now, "exp": now + ttl}
        c.update(claims or {})
        for k in drop:
            c.pop(k, None)
        h = {"alg": "HS256", "typ": "JWT"}
        h.update(header or {})
        signing = b64url(json.dumps(h).encode()) + "." + b64url(json.dumps(c).encode())
        sig = hmac.new(secret or self.secret, signing.encode(), hashlib.sha256).digest()
        return signing + "." + b64url(sig)

    def start_server(self, workers=2, extra=None, wait=True, env_extra=None, binary=None):
        conf = self.base_conf + f"workers = {workers}\n"
        for k, v in (extra or {}).items():
            conf += f"{k} = {v}\n"
        path = os.path.join(self.dir, "test.conf")
        with open(path, "w") as f:
            f.write(conf)
        self.server = Server(self, path, env_extra, binary)
        self.server.workers = workers
        if wait:
            try:
                self.server.wait_ready()
            except Exception:
                self.server.stop()
                self.server = None
                raise
        return self.server


class Server:
    def __init__(self, env, conf_path, env_extra=None, binary=None, port=None):
        self.env = env
        self.port = port  # its listener, when not the default PORT
        self.conf_path = conf_path
        self.log_path = os.path.join(env.dir, "server.log")
        self.log = open(self.log_path, "ab")
        self.log_start = os.path.getsize(self.log_path)
        e = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
                 UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
        e.update(env_extra or {})
        self.workers = 1
        self.proc = subprocess.Popen([binary or BIN, "serve", "--config", conf_path], stdout=self.log,
                                     stderr=self.log, env=e)

    def logs(self):
        with open(self.log_path, "rb") as f:
            f.seek(self.log_start)
            return f.read().decode(errors="replace")

    def wait_ready(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("server exited early:\n" + self.logs()[-3000:])
            try:
                if self.metrics().get("mcpi_workers_ready", 0) >= self.workers:
                    return
            except (OSError, AssertionError, http.client.HTTPException):
                pass
            time.sleep(0.05)
        raise AssertionError("server not ready in time:\n" + self.logs()[-3000:])

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        report = sanitizer_report(self.logs())
        if report:
            raise AssertionError("sanitizer report in the server log:\n" + report)
        return self.proc.returncode

    def children(self, comm):
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True)
        pids = []
        for p in out.stdout.split():
            try:
                if open(f"/proc/{p}/comm").read().strip() == comm:
                    pids.append(int(p))
            except OSError:
                pass
        return sorted(pids)

    def worker_pids(self):
        return self.children("mcpi-worker")

    def keymgr_pids(self):
        return self.children("mcpi-keymgr")

    def renderer_pids(self):
        return self.children("mcpi-render")

    def metrics(self):
        c = Client(self.env, port=self.port)
        st, _, body = c.raw("GET", "/metrics", b"", {})
        c.close()
        assert st == 200, st
        values = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                values[k] = float(v)
        return values


class Client:
    """A keep-alive HTTPS client that speaks MCP over POST."""

    def __init__(self, env, token=None, timeout=30, port=None):
        self.env = env
        self.token = token
        self.timeout = timeout
        self.port = port or PORT
        self.ctx = ssl.create_default_context(cafile=env.cafile)
        self.conn = None

    def connect(self):
        self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx,
                                                timeout=self.timeout)
        self.conn.connect()

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def raw(self, method, path, body, headers):
        if self.conn is None:
            self.connect()
        try:
            self.conn.request(method, path, body=body, headers=headers)
            r = self.conn.getresponse()
            data = r.read()
        except (ConnectionError, http.client.HTTPException, ssl.SSLError, OSError):
            self.close()
            raise
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        if hdrs.get("connection", "").lower() == "close":
            self.close()
        return r.status, hdrs, data

    def post(self, msg, headers=None, token=None, raw_body=None):
        h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        tok = token if token is not None else self.token
        if tok:
            h["Authorization"] = "Bearer " + tok
        h.update(headers or {})
        body = raw_body if raw_body is not None else json.dumps(msg).encode()
        st, hdrs, data = self.raw("POST", "/mcp", body, h)
        parsed = json.loads(data) if data else None
        return st, hdrs, parsed

    def rpc(self, method, params=None, id=1, headers=None, token=None):
        msg = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            msg["params"] = params
        return self.post(msg, headers=headers, token=token)

    def call(self, name, args, headers=None, token=None, id=1):
        st, hdrs, body = self.rpc("tools/call", {"name": name, "arguments": args}, id=id,
                                  headers=headers, token=token)
        return st, hdrs, body

    def tool(self, name, args, **kw):
        """Calls a tool that must succeed at the HTTP and JSON-RPC level;
        returns (isError, structuredContent)."""
        st, _, body = self.call(name, args, **kw)
        assert st == 200, (st, body)
        assert "result" in body, body
        return body["result"].get("isError", False), body["result"]["structuredContent"]


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def sanitizer_report(logs):
    """The first sanitizer report in a server log (any process), or ''."""
    for marker in SANITIZER_MARKERS:
        i = logs.find(marker)
        if i >= 0:
            return logs[max(0, i - 300):i + 4000]
    return ""


def sql_fails(env, sql, fragment):
    """Runs sql as postgres; it must be refused with fragment in psql's error."""
    try:
        env.psql(sql)
    except Exception as e:  # noqa: BLE001 - psql's error text names the rule
        text = str(getattr(e, "stderr", "")) + str(e)
        expect(fragment in text, (fragment, text))
        return
    raise AssertionError(f"the database accepted: {sql}")


def access_line(env, request_id):
    """The access log entry of one request (the server's own record: its
    duration_us is timed by the worker, free of the client's scheduling)."""
    for line in env.server.logs().splitlines():
        if f'"request_id":"{request_id}"' in line and '"func":"access"' in line:
            return json.loads(line)
    raise AssertionError(f"no access log line for {request_id}")


def tool_error(sc):
    return sc["error"]


class Skip(Exception):
    """A test that cannot run here (e.g. needs root); reported as skipped."""


def wait_for(pred, timeout=15, what="condition"):
    """Polls pred until it holds; AssertionError naming what otherwise."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def worker_slot(m, pid):
    """The scoreboard slot (the label of per-worker metrics) of worker pid,
    from m (Server.metrics())."""
    for k, v in m.items():
        if k.startswith("mcpi_worker_pid{") and int(v) == pid:
            return re.search(r'slot="(\d+)"', k).group(1)
    raise AssertionError(f"no slot has worker {pid}")


def metric_total(m, name, reason=None):
    """The sum of metric name's samples in m (Server.metrics()), all
    workers' lines together; with reason, only those of that reason."""
    return sum(v for k, v in m.items() if (k == name or k.startswith(name + "{"))
               and (reason is None or f'reason="{reason}"' in k))


def expect(cond, msg=""):
    if not cond:
        raise AssertionError(msg)


def run_threads(n, fn):
    errors = []

    def wrap(i):
        try:
            fn(i)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    ts = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return errors


def worker_of(hdrs):
    return int(re.match(r"(\d+)-", hdrs["x-request-id"]).group(1))


def tls_peer_cert_der(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", PORT), timeout=5) as s:
        with ctx.wrap_socket(s) as t:
            return t.getpeercert(binary_form=True)


class Writers:
    """n agents creating invoices for customer, each key retried (same
    idempotency key, 50 ms apart) while the error is retryable, as an agent
    does, until stop(). outcomes: (start, seconds, key, "ok" or the error
    code) of every call; acked: key -> invoice_id of every success. A 429
    counts as the retryable RATE_LIMITED; an exception as a final error."""

    def __init__(self, env, token, n, customer):
        self.acked, self.outcomes = {}, []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._agent, args=(env, token, i, customer))
                         for i in range(n)]
        for t in self._threads:
            t.start()

    def _call(self, c, key, customer):
        try:
            return c.tool("create_invoice", {"customer_id": customer, "idempotency_key": key,
                                             "line_items": [{"description": "x", "amount_cents": 1}]})
        except AssertionError as e:  # not a 200: a 429 is retried
            limited = bool(e.args) and isinstance(e.args[0], tuple) and e.args[0][0] == 429
            return True, {"error": {"code": "RATE_LIMITED" if limited else repr(e)[:80], "retryable": limited}}
        except Exception as e:  # noqa: BLE001 - reported through outcomes
            c.close()
            return True, {"error": {"code": "exception " + repr(e)[:80], "retryable": False}}

    def _agent(self, env, token, i, customer):
        c = Client(env, token, timeout=10)
        n = 0
        while not self._stop.is_set():
            key = f"w{i}-{n}"
            n += 1
            while True:
                t0 = time.time()
                err, sc = self._call(c, key, customer)
                with self._lock:
                    self.outcomes.append((t0, time.time() - t0, key, "ok" if not err else sc["error"]["code"]))
                    if not err:
                        self.acked[key] = sc["invoice_id"]
                if not err or not sc["error"]["retryable"] or self._stop.is_set():
                    break
                time.sleep(0.05)

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join()

