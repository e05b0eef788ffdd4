"""Operations: /livez and /readyz (unauthenticated, never limited, not
counted; readyz 503 while PostgreSQL is down and while draining), the
/metrics exposition (promtool or a strict parser; per method, tool and
outcome; per-tool latency; database round trips; the accept and database
queues and their limits; workers, restarts, CPU and RSS per role), and the
access log's fields."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

from harness import BIN, PGPORT, PORT, Client, expect, wait_for, worker_slot

PGBIN = "/usr/lib/postgresql/%s/bin" % sorted(os.listdir("/usr/lib/postgresql"))[-1]



def promtool():
    """promtool (Debian package prometheus, installed by tests/deps.sh): the
    checks that use it fail, never skip, where it is missing."""
    path = shutil.which("promtool")
    expect(path, "promtool not found (Debian package prometheus; run tests/deps.sh)")
    return path

def get(c, path):
    st, h, body = c.raw("GET", path, b"", {})
    return st, h, json.loads(body) if h.get("content-type", "").startswith("application/json") else body


def scrape(env):
    c = Client(env)
    st, h, body = c.raw("GET", "/metrics", b"", {})
    c.close()
    expect(st == 200 and h["content-type"].startswith("text/plain; version=0.0.4"), (st, h))
    return body.decode()


def stop_server(env):
    expect(env.server.stop() == 0, "server exit status")
    env.server = None


def pg_ctl(env, *args):
    """pg_ctl on the test cluster, started with tests/devenv.sh's options."""
    opts = (f"-c listen_addresses='' -c unix_socket_directories='{env.dir}/sock' -p {PGPORT} "
            "-c fsync=off -c max_connections=300 -c shared_buffers=256MB")
    cmd = [f"{PGBIN}/pg_ctl", "-D", os.path.join(env.dir, "pg"), "-l",
           os.path.join(env.dir, "pg", "server.log"), "-w", "-t", "60", "-o", opts] + list(args)
    if os.getuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=90)


# ---- a strict reader of the Prometheus text format (0.0.4) ----

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"'
SAMPLE = re.compile(rf"^({NAME})(?:\{{((?:{LABEL})(?:,{LABEL})*)?\}})? (\S+)$")
VALUE = re.compile(r"^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|[+-]Inf|NaN)$")


def parse_exposition(text):
    """Returns {family: {"type", "help", "samples": [(name, labels, value)]}}
    or raises AssertionError naming the first violation."""
    expect(text.endswith("\n"), "the exposition ends with a newline")
    families, order, current = {}, [], None
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = f"line {n}: {line!r}"
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            kind, rest = line[2:6], line[7:]
            name, _, arg = rest.partition(" ")
            expect(re.fullmatch(NAME, name) and arg, where)
            fam = families.setdefault(name, {"type": None, "help": None, "samples": []})
            key = "help" if kind == "HELP" else "type"
            expect(fam[key] is None, f"second {kind} for {name}: {where}")
            expect(not fam["samples"], f"{kind} after samples of {name}: {where}")
            if kind == "TYPE":
                expect(arg in ("counter", "gauge", "histogram", "summary", "untyped"), where)
            fam[key] = arg
            if name != current:
                expect(name not in order, f"family {name} is not contiguous: {where}")
                order.append(name)
                current = name
            continue
        expect(not line.startswith("#") and line.strip() == line and line, where)
        m = SAMPLE.match(line)
        expect(m, f"malformed sample: {where}")
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        expect(VALUE.match(value), f"bad value: {where}")
        fam_name = name
        for suffix in ("_bucket", "_sum", "_count"):
            base = name[: -len(suffix)]
            if name.endswith(suffix) and families.get(base, {}).get("type") == "histogram":
                fam_name = base
        expect(fam_name == current, f"sample of {fam_name} outside its family: {where}")
        fam = families[fam_name]
        expect(fam["type"] and fam["help"], f"{fam_name} has no TYPE or HELP: {where}")
        pairs = re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', labels)
        keys = [k for k, _ in pairs]
        expect(len(keys) == len(set(keys)), f"repeated label: {where}")
        fam["samples"].append((name, dict(pairs), float(value)))
    for name, fam in families.items():
        if fam["type"] == "counter":
            expect(name.endswith("_total"), f"counter {name} must end in _total")
            expect(all(v >= 0 for _, _, v in fam["samples"]), name)
        if fam["type"] == "histogram":
            check_histogram(name, fam["samples"])
    return families


def check_histogram(name, samples):
    series = {}
    for sname, labels, v in samples:
        key = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
        series.setdefault(key, {"buckets": [], "sum": None, "count": None})
        if sname == name + "_bucket":
            series[key]["buckets"].append((labels["le"], v))
        elif sname == name + "_sum":
            series[key]["sum"] = v
        elif sname == name + "_count":
            series[key]["count"] = v
    for key, s in series.items():
        b = s["buckets"]
        expect(b and b[-1][0] == "+Inf", f"{name}{key}: last bucket is +Inf")
        bounds = [float(le) for le, _ in b[:-1]]
        expect(bounds == sorted(bounds), f"{name}{key}: bounds ascend")
        counts = [v for _, v in b]
        expect(counts == sorted(counts), f"{name}{key}: buckets are cumulative")
        expect(s["count"] == counts[-1] and s["sum"] is not None, f"{name}{key}: count = +Inf bucket")


def values(families, name, **want):
    """Sum of the samples called `name` (a family, or a histogram's
    _bucket/_sum/_count) whose labels include want."""
    fam = families.get(name) or families.get(re.sub(r"_(bucket|sum|count)$", "", name)) or {"samples": []}
    return sum(v for sname, labels, v in fam["samples"]
               if sname == name and all(labels.get(k) == x for k, x in want.items()))


# ---- health ----

def test_livez_and_readyz_are_open_unlimited_and_not_counted(env):
    srv = env.start_server(workers=2, extra={"rate_limit_rps": 1, "rate_limit_burst": 1,
                                             "allowed_origins": ""})
    try:
        c = Client(env)
        before = parse_exposition(scrape(env))
        for _ in range(30):
            st, h, body = get(c, "/livez")
            expect(st == 200 and body == {"status": "live"}, (st, body))
            st, h, body = get(c, "/readyz")
            expect(st == 200 and body["status"] == "ready" and body["database_up"] == 2, (st, body))
        expect("www-authenticate" not in h and "retry-after" not in h, h)
        st, h, body = c.raw("POST", "/readyz", b"{}", {"Content-Type": "application/json"})
        expect(st == 405 and h.get("allow") == "GET", (st, h))
        # The limiter (one request a second) is spent by MCP calls, not by probes.
        tok = env.token()
        codes = [Client(env, tok).rpc("ping")[0] for _ in range(3)]
        expect(429 in codes, codes)
        expect(get(c, "/readyz")[0] == 200, "still ready while limited")
        after = parse_exposition(scrape(env))
        # 3 pings and one /metrics scrape were counted; 61 probes were not.
        grew = values(after, "mcpi_requests_total") - values(before, "mcpi_requests_total")
        expect(grew == 4, grew)
        req = after["mcpi_mcp_requests_total"]
        limited = values(after, "mcpi_mcp_requests_total", method="none", outcome="RATE_LIMITED")
        expect(limited >= 1 and values(after, "mcpi_mcp_requests_total", method="ping") + limited == 3, req)
        expect(values(after, "mcpi_mcp_requests_total", method="none", outcome="metrics") -
               values(before, "mcpi_mcp_requests_total", method="none", outcome="metrics") == 1, req)
        expect(values(after, "mcpi_mcp_requests_total", outcome="other") == 0, req)
        expect(not re.search(r'outcome="(live|ready|draining|database_unavailable)"', scrape(env)), "no probe series")
        logs = srv.logs()
        expect('"outcome":"ready"' not in logs, "probes are logged at debug level only")
    finally:
        stop_server(env)


def test_readyz_is_503_while_postgres_is_down_and_recovers(env):
    srv = env.start_server(workers=2)
    try:
        c = Client(env)
        expect(get(c, "/readyz")[0] == 200)
        pg_ctl(env, "-m", "fast", "stop")
        try:
            # Idle workers notice the closed connection without any traffic.
            wait_for(lambda: get(c, "/readyz")[0] == 503, what="readyz 503")
            st, _, body = get(c, "/readyz")
            expect(body == {"status": "not_ready", "reason": "database_unavailable",
                            "workers_ready": 2, "database_up": 0}, body)
            expect(get(c, "/livez")[0] == 200, "live while the database is down")
            m = parse_exposition(scrape(env))
            expect(values(m, "mcpi_database_up") == 0, m["mcpi_database_up"])
        finally:
            pg_ctl(env, "start")
        # Workers reconnect by themselves, with no request needing them.
        wait_for(lambda: get(c, "/readyz")[0] == 200, what="readyz 200 again")
        expect(get(c, "/readyz")[2]["database_up"] >= 1)
    finally:
        stop_server(env)


def test_readyz_is_503_while_draining(env):
    srv = env.start_server(workers=1)
    try:
        c = Client(env)
        expect(get(c, "/readyz")[0] == 200)
        srv.signal(signal.SIGTERM)
        # The kept-alive connection is served during the drain grace period:
        # 200 until the worker has seen the signal, then 503 (and closed).
        deadline = time.time() + 20
        while True:
            st, h, body = get(c, "/readyz")
            if st != 200 or time.time() > deadline:
                break
        expect(st == 503 and body["reason"] == "draining", (st, body))
        expect(h.get("connection", "").lower() == "close", h)
        expect(srv.proc.wait(timeout=20) == 0)
    finally:
        stop_server(env)


# ---- metrics ----

def test_metrics_exposition_is_valid(env):
    srv = env.start_server(workers=2)
    try:
        c = Client(env, env.token())
        c.tool("upsert_customer", {"customer_id": "ops-1", "name": "Ops"})
        c.tool("get_customer", {"customer_id": "nobody-here"})
        c.call("no_such_tool", {})
        c.rpc("tools/list")
        Client(env).rpc("ping")  # 401
        text = scrape(env)
        fams = parse_exposition(text)
        p = subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=30)
        expect(p.returncode == 0, p.stdout + p.stderr)
        req = "mcpi_mcp_requests_total"
        expect(values(fams, req, method="tools/call", tool="upsert_customer", outcome="ok") == 1, fams[req])
        expect(values(fams, req, method="tools/call", tool="get_customer", outcome="NOT_FOUND") == 1)
        expect(values(fams, req, method="tools/call", tool="unknown", outcome="rpc_error_32602") == 1)
        expect(values(fams, req, method="tools/list", tool="", outcome="ok") == 1)
        expect(values(fams, req, method="none", outcome="unauthorized") == 1)
        labels = {k for _, lab, _ in fams[req]["samples"] for k in lab}
        expect(labels == {"method", "tool", "outcome"}, labels)
        every_label = {k for f in fams.values() for _, lab, _ in f["samples"] for k in lab}
        expect("acme" not in text and "agent-1" not in text and
               every_label <= {"method", "tool", "outcome", "pid", "slot", "reason", "le", "version",
                               "state", "role", "queue"}, every_label)
        dur = "mcpi_mcp_request_duration_seconds"
        expect(values(fams, dur + "_count", method="tools/call", tool="get_customer") == 1, fams[dur])
        expect(values(fams, "mcpi_db_round_trip_seconds_count") >= 2)
        expect(values(fams, "mcpi_build_info", version=re.search(r'version="([^"]+)"', text).group(1)) == 1)
        expect(values(fams, "mcpi_workers", state="ready") == 2)
        for role in ("master", "keymgr", "worker"):
            expect(values(fams, "mcpi_process_resident_memory_bytes", role=role) > 1e6, role)
            expect(values(fams, "mcpi_process_cpu_seconds_total", role=role) > 0, role)
        expect(values(fams, "mcpi_queue_limit", queue="accept") > 0, fams["mcpi_queue_limit"])
        expect(values(fams, "mcpi_queue_limit", queue="database") == 64)
    finally:
        stop_server(env)


def test_metrics_show_the_kernel_accept_queue(env):
    # One worker with room for 4 connections: the master stops accepting
    # and further clients wait in the kernel's accept queue.
    srv = env.start_server(workers=1, extra={"worker_connections": 4})
    held, queued = [], []
    try:
        for _ in range(4):
            c = Client(env)
            expect(get(c, "/livez")[0] == 200)
            held.append(c)
        for _ in range(7):
            queued.append(socket.create_connection(("127.0.0.1", PORT), timeout=5))

        def exposition():
            return parse_exposition(held[0].raw("GET", "/metrics", b"", {})[2].decode())
        # The kernel completes the handshakes at once; the gauge reads its queue.
        wait_for(lambda: values(exposition(), "mcpi_queue_depth", queue="accept") == 7,
                 what="seven connections in the accept queue")
        fams = exposition()
        depth = values(fams, "mcpi_queue_depth", queue="accept")
        limit = values(fams, "mcpi_queue_limit", queue="accept")
        somaxconn = int(open("/proc/sys/net/core/somaxconn").read())
        expect(depth == 7, fams["mcpi_queue_depth"])
        expect(limit == min(4096, somaxconn), (limit, somaxconn))
        for s in queued:
            s.close()
        for c in held:
            c.close()
        wait_for(lambda: values(parse_exposition(scrape(env)), "mcpi_queue_depth", queue="accept") == 0,
                 what="the accept queue to empty")
    finally:
        for s in queued:
            s.close()
        stop_server(env)


def test_metrics_show_requests_waiting_for_the_database(env):
    srv = env.start_server(workers=1, extra={"max_inflight": 50, "request_timeout_ms": 5000})
    holder = None
    try:
        tok = env.token()
        Client(env, tok).tool("upsert_customer", {"customer_id": "ops-q", "name": "Q"})
        holder = env.hold_lock("customers", 120)  # released below; the duration is a hang guard
        env.wait_lock_held("customers")
        errs = []
        threads = [threading.Thread(target=lambda: errs.append(
            Client(env, tok).tool("get_customer", {"customer_id": "ops-q"})[0])) for _ in range(3)]
        for t in threads:
            t.start()
        wait_for(lambda: values(parse_exposition(scrape(env)), "mcpi_queue_depth", queue="database") == 3,
                 what="three requests waiting for the database")
        fams = parse_exposition(scrape(env))
        expect(values(fams, "mcpi_queue_limit", queue="database") == 50)
        time.sleep(1.1)  # not synchronisation: the three must wait over a second
        env.release_lock("customers")
        for t in threads:
            t.join()
        expect(errs == [False] * 3, errs)
        fams = parse_exposition(scrape(env))
        expect(values(fams, "mcpi_queue_depth", queue="database") == 0)
        # The three waited over 1 s for the lock: the per-tool histogram shows it.
        over1s = values(fams, "mcpi_mcp_request_duration_seconds_bucket", tool="get_customer", le="1")
        total = values(fams, "mcpi_mcp_request_duration_seconds_count", tool="get_customer")
        expect(total - over1s == 3, (total, over1s))
    finally:
        if holder:
            env.release_lock("customers")
            holder.wait(timeout=30)
        stop_server(env)


def test_worker_restarts_are_counted(env):
    srv = env.start_server(workers=2)
    try:
        fams = parse_exposition(scrape(env))
        expect(values(fams, "mcpi_worker_restarts_total") == 0)
        os.kill(srv.worker_pids()[0], signal.SIGKILL)
        def restarted():
            try:
                return values(parse_exposition(scrape(env)), "mcpi_worker_restarts_total") == 1
            except OSError:  # handed to the worker that just died
                return False
        wait_for(restarted, what="a counted restart")
        srv.wait_ready()
        expect(values(parse_exposition(scrape(env)), "mcpi_workers", state="ready") == 2)
    finally:
        stop_server(env)


# ---- logs ----

def test_access_log_lines_carry_the_operational_fields(env):
    srv = env.start_server(workers=1)
    try:
        c = Client(env, env.token(tenant="ops-tenant"))
        _, h, _ = c.call("get_customer", {"customer_id": "nobody-here"})
        rid = h["x-request-id"]
        line = None
        deadline = time.time() + 5
        while line is None and time.time() < deadline:
            for ln in srv.logs().splitlines():
                if f'"request_id":"{rid}"' in ln:
                    line = json.loads(ln)
            time.sleep(0.05)
        expect(line, "access line for " + rid)
        for k in ("request_id", "tenant", "tool", "outcome", "status", "duration_us", "db_us",
                  "rpc_method", "http_method", "sub", "ts", "level"):
            expect(k in line, (k, line))
        expect(line["tenant"] == "ops-tenant" and line["tool"] == "get_customer" and
               line["outcome"] == "NOT_FOUND" and line["status"] == 200, line)
        expect(0 < line["db_us"] <= line["duration_us"], line)
        expect("Bearer" not in srv.logs() and "eyJ" not in srv.logs(), "no token in the logs")
    finally:
        stop_server(env)


# ---- the Grafana dashboard ----

DASHBOARD = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                         "ops", "grafana-dashboard.json")
PROMQL_WORDS = {"sum", "max", "min", "avg", "by", "without", "rate", "increase", "histogram_quantile",
                "count", "irate", "le"}


def dashboard_queries():
    dash = json.load(open(DASHBOARD))
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    exprs += [v["query"] for v in dash["templating"]["list"] if v["type"] == "query"]
    return exprs


def test_dashboard_queries_name_metrics_the_server_exports(env):
    srv = env.start_server(workers=1)
    try:
        c = Client(env, env.token())
        c.tool("get_customer", {"customer_id": "nobody-here"})
        fams = parse_exposition(scrape(env))
        exprs = dashboard_queries()
        expect(len(exprs) >= 12, exprs)
        for e in exprs:
            for m in re.finditer(r"\b(mcpi_[a-z0-9_]+)\b(\{[^}]*\})?", e):
                name, matchers = m.group(1), m.group(2) or ""
                base = re.sub(r"_(bucket|sum|count)$", "", name)
                fam = fams.get(name) or (fams.get(base) if fams.get(base, {}).get("type") == "histogram"
                                         else None)
                expect(fam, f"the dashboard queries {name}, which /metrics does not export: {e}")
                # Every label it filters on is one the metric carries.
                have = {k for _, lab, _ in fam["samples"] for k in lab} | {"instance", "job"}
                for label in re.findall(r"([a-z_]+)\s*(?:=~|!~|!=|=)", matchers):
                    expect(label in have, f"{name} has no label {label}: {e}")
            for group in re.findall(r"by \(([^)]*)\)", e):
                for label in (x.strip() for x in group.split(",")):
                    expect(label == "le" or any(label in lab for f in fams.values()
                                                for _, lab, _ in f["samples"]), f"no label {label}: {e}")
        # promtool parses every query as PromQL (Grafana's variables filled in).
        rules = {"groups": [{"name": "dashboard", "rules": [
            {"record": f"dashboard:q{i}", "expr": e.replace("$__rate_interval", "5m")
             .replace("$__range", "1h").replace("$instance", ".*")}
            for i, e in enumerate(exprs) if not e.startswith("label_values")]}]}
        expect(rules["groups"][0]["rules"], "the dashboard has queries")
        path = os.path.join(env.dir, "dashboard-rules.json")
        with open(path, "w") as f:
            json.dump(rules, f)  # JSON is YAML
        p = subprocess.run([promtool(), "check", "rules", path], capture_output=True, text=True,
                           timeout=30)
        expect(p.returncode == 0, p.stdout + p.stderr)
    finally:
        stop_server(env)


def test_metrics_listen_serves_metrics_there_only(env):
    import http.client
    import ssl
    # Another loopback address, same port: no port of another test run taken.
    metrics_addr = ("127.0.0.2", PORT)
    srv = env.start_server(workers=1, extra={"metrics_listen": "%s:%d" % metrics_addr}, wait=False)
    try:
        # The harness's readiness scrape uses /metrics on the main listener,
        # which is not served now: wait on /readyz there instead.
        def ready():
            try:
                return get(Client(env), "/readyz")[0] == 200
            except OSError:
                return False
        wait_for(ready, what="ready")
        ctx = ssl.create_default_context(cafile=env.cafile)
        ctx.check_hostname = False

        def on_metrics_listener(method, path, body=None, headers=None):
            conn = http.client.HTTPSConnection(*metrics_addr, context=ctx, timeout=10)
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            conn.close()
            return r.status, data

        st, body = on_metrics_listener("GET", "/metrics")
        expect(st == 200, st)
        fams = parse_exposition(body.decode())
        expect(values(fams, "mcpi_workers", state="ready") == 1)
        expect(on_metrics_listener("GET", "/readyz")[0] == 200)
        expect(on_metrics_listener("GET", "/livez")[0] == 200)
        # Nothing else is served there, MCP least of all.
        st, _ = on_metrics_listener("POST", "/mcp", b"{}", {"Content-Type": "application/json",
                                                             "Authorization": "Bearer " + env.token()})
        expect(st == 404, st)
        expect(on_metrics_listener("GET", "/.well-known/oauth-protected-resource")[0] == 404)
        # /metrics is served in one place: no longer on the main listener.
        c = Client(env, env.token())
        expect(c.raw("GET", "/metrics", b"", {})[0] == 404)
        expect(c.rpc("tools/list")[0] == 200)
        expect("metrics on https://127.0.0.2" in srv.logs(), srv.logs()[-1000:])
    finally:
        expect(env.server.stop() == 0)
        env.server = None


def test_metrics_listen_must_differ_from_listen(env):
    conf = os.path.join(env.dir, "same.conf")
    listen = re.search(r"^listen = (.*)$", env.base_conf, re.M).group(1)
    with open(conf, "w") as f:
        f.write(env.base_conf + f"workers = 1\nmetrics_listen = {listen}\n")
    p = subprocess.run([BIN, "check-config", "--config", conf],
                       capture_output=True, text=True, timeout=30)
    expect(p.returncode == 1 and "metrics_listen must be" in p.stderr, p.stderr)


def test_a_mistyped_environment_variable_is_refused_at_start(env):
    conf = os.path.join(env.dir, "typo.conf")
    with open(conf, "w") as f:
        f.write(env.base_conf + "workers = 1\n")
    p = subprocess.run([BIN, "check-config", "--config", conf], capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, MCP_INVOICED_WORKRES="3"))
    expect(p.returncode == 1 and "MCP_INVOICED_WORKRES names no configuration key (did you mean "
           "MCP_INVOICED_WORKERS?)" in p.stderr, (p.returncode, p.stderr))
    p = subprocess.run([BIN, "check-config", "--config", conf], capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, MCP_INVOICED_WORKERS="3"))
    expect(p.returncode == 0, p.stderr)


def test_per_worker_series_are_labelled_by_slot_and_survive_a_restart(env):
    srv = env.start_server(workers=2)
    try:
        m = srv.metrics()
        expect(not [k for k in m if 'pid="' in k], [k for k in m if 'pid="' in k][:5])
        victim = srv.worker_pids()[0]
        slot = worker_slot(m, victim)
        expect(f'mcpi_connections{{slot="{slot}"}}' in m, "per-worker gauges carry the slot")
        os.kill(victim, signal.SIGKILL)

        def replaced():
            try:
                pids = srv.worker_pids()
                return victim not in pids and len(pids) == 2 and srv.metrics().get("mcpi_workers_ready") == 2
            except (OSError, AssertionError):  # a scrape handed to the dying worker
                return False
        wait_for(replaced, what="the replacement")
        m = srv.metrics()
        replacement = [p for p in srv.worker_pids() if worker_slot(m, p) == slot]
        expect(len(replacement) == 1 and replacement[0] != victim, (slot, srv.worker_pids()))
        expect(f'mcpi_connections{{slot="{slot}"}}' in m, "the same series goes on")
    finally:
        stop_server(env)
