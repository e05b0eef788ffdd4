"""The shared-memory limiter across worker processes: global rate, global
in-flight cap, and a burst of agents that honour Retry-After; and the
share of each host when several serve behind one balancer."""
import os
import threading
import time
import uuid

from harness import Client, PORT, Server, expect, metric_total, run_threads, wait_for, worker_slot


ADMITTED = 'mcpi_mcp_requests_total{method="tools/list",tool="",outcome="ok"}'


def paced_load(env, tok, ports, offered_rps, duration, threads):
    """Offers offered_rps tools/list calls for duration seconds from threads
    clients spread over ports; every 429 must say RATE_LIMITED and when to
    retry. Returns the statuses other than 200 and 429 (none expected); the
    servers' own access logs say what was admitted (check_rate)."""
    interval = threads / offered_rps
    other = []
    lock = threading.Lock()
    started = threading.Barrier(threads + 1)
    done = threading.Event()

    def load(i):
        c = Client(env, tok, port=ports[i % len(ports)])
        started.wait()
        nxt = time.time() + i * interval / threads
        while not done.is_set():
            now = time.time()
            if now < nxt:
                time.sleep(nxt - now)
            nxt += interval
            st, hdrs, b = c.rpc("tools/list", {})
            with lock:
                if st == 429:
                    expect(int(hdrs["retry-after"]) >= 1)
                    expect(b["error"]["data"]["code"] == "RATE_LIMITED", b)
                    expect(b["error"]["data"]["retryable"] is True, b)
                    expect(b["error"]["data"]["retry_after_ms"] >= 1, b)
                elif st != 200:
                    other.append(st)

    def clock(_):
        try:
            started.wait()
            time.sleep(duration)
        finally:
            done.set()

    errors = run_threads(threads + 1, lambda i: clock(i) if i == threads else load(i))
    expect(not errors, errors)
    return other


def decisions(logs, pids):
    """The rate limiter's decisions in the access log lines of workers pids:
    (earliest, latest, admitted) per MCP request, sorted; a request's
    decision instant lies in [earliest, latest] (the line's millisecond
    timestamp, taken as it is written, less the request's duration, which
    the worker starts timing just before it asks the limiter). A 429 is a
    refusal, a tools/list answered 200 an admission."""
    import calendar
    import json
    out = []
    for line in logs.splitlines():
        if '"msg":"request"' not in line:
            continue
        e = json.loads(line)
        if e["pid"] not in pids or (e["status"] != 429 and e.get("rpc_method") != "tools/list"):
            continue
        ts = e["ts"]
        at = calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")) + int(ts[20:23]) / 1000
        at -= e["duration_us"] / 1e6
        out.append((at, at + 0.001, e["status"] == 200))
    return sorted(out)


def bucket_bounds(events, interval, limit):
    """What GCRA (shm/limiter.c: admit at now when max(TAT, now) + interval
    - now <= limit, then TAT = max(TAT, now) + interval) allows for the
    admissions among events (decisions of one shared bucket), in
    seconds. Upper: after the first admission a, TAT >= a + interval; at
    the last one b, TAT <= b + limit; so n <= (b - a) / interval + limit /
    interval. Lower: a refusal at r means TAT > r + limit - interval, and
    TAT <= r + limit always; between the first and last refusal r1, r2 the
    bucket therefore gained n * interval + J, J the time its TAT was moved
    up to now by admissions that found it full (idle capacity, lost); so
    n > (r2 - r1 - J) / interval - 1. J is bounded from the decisions
    themselves: a lower bound of TAT (raised by each refusal, advanced by
    each admission) says how far an admission can find it behind now. Each
    instant is used at the end of its window that makes the bound safe."""
    adm = [e for e in events if e[2]]
    ref = [e for e in events if not e[2]]
    expect(len(ref) >= 2, f"{len(ref)} refusals among {len(adm)} admissions: the load never exceeded the rate")
    most = (adm[-1][1] - adm[0][0]) / interval + limit / interval
    r1, r2 = ref[0], ref[-1]
    inside = [e for e in events if e is not r1 and e is not r2 and e[1] > r1[0] and e[0] < r2[1]]
    tat_lb, lost = r1[0] + limit - interval, 0.0
    for lo, hi, admitted in inside:
        if admitted:
            lost += max(0.0, hi - tat_lb)
            tat_lb = max(tat_lb, lo) + interval
        else:
            tat_lb = max(tat_lb, lo + limit - interval)
    n_between = sum(1 for e in inside if e[2])
    least = (r2[0] - r1[1] - lost) / interval - 1
    return len(adm), most, n_between, least, lost, r2[0] - r1[1]


def check_rate(hosts, rps, burst, what):
    """The token bucket's arithmetic on each host's own decisions (its
    access log): every admission counted (the log agrees with the
    /metrics counter), at most burst + rate x the time from the first to
    the last admission, at least rate x the time from the first to the
    last refusal less the idle capacity the decisions show was lost. With
    per-worker or per-host buckets several times the rate would be
    admitted; a limiter refusing what it should admit falls below. hosts:
    [(server, its log text, how many hosts share the rate)]."""
    for srv, logs, n_hosts in hosts:
        pids = set(srv.worker_pids())
        ev = decisions(logs, pids)
        interval = 1.0 * n_hosts / rps
        limit = interval * (-(-burst // n_hosts))
        n, most, n_between, least, lost, span = bucket_bounds(ev, interval, limit)
        counted = srv.metrics().get(ADMITTED, 0)
        refused = len(ev) - n
        print(f"    {what}, host {srv.proc.pid}: {n} admitted (counter {counted:.0f}), at most {most:.1f}; "
              f"{n_between} between the first and last of {refused} refusals ({span:.2f} s, "
              f"{lost * 1000:.0f} ms idle capacity), at least {least:.1f}")
        expect(n == counted, f"the access log shows {n} admissions, the counter {counted:.0f}")
        # One request either way: the log's clocks are read microseconds
        # from the limiter's (a 1 % error in the rate is ten times that).
        expect(n <= most + 1, f"admitted {n}, at most {most:.1f} allowed")
        expect(n_between >= least - 1, f"admitted {n_between}, at least {least:.1f} expected")
        expect(refused > 0.3 * n, "the offered load exceeded the limit")


def test_rate_limit_is_global_across_four_workers(env):
    srv = env.start_server(workers=4, extra={"rate_limit_rps": 100, "rate_limit_burst": 10})
    try:
        other = paced_load(env, env.token(), [PORT], 300.0, 10.0, 8)
        expect(not other, other)
        check_rate([(srv, srv.logs(), 1)], 100, 10, "four workers")
        m = srv.metrics()
        expect(m["mcpi_inflight"] == 0, m["mcpi_inflight"])
        served = [k for k, v in m.items() if k.startswith("mcpi_requests_total") and v > 50]
        expect(len(served) == 4, f"all four workers served: {served}")
    finally:
        expect(env.server.stop() == 0, "clean exit")
        env.server = None


def create_with_retries(c, args, deadline):
    """An agent that honours Retry-After on 429/503 (using retry_after_ms)."""
    while time.time() < deadline:
        st, hdrs, b = c.call("create_invoice", args)
        if st in (429, 503):
            expect("retry-after" in hdrs, hdrs)
            time.sleep(b["error"]["data"]["retry_after_ms"] / 1000.0)
            continue
        expect(st == 200 and b["result"]["isError"] is False, (st, b))
        return b["result"]["structuredContent"]["invoice_id"]
    raise AssertionError("gave up retrying")


def test_burst_of_200_concurrent_creates_all_succeed(env):
    env.start_server(workers=2, extra={"log_level": "warn", "max_inflight": 16,
                                       "rate_limit_rps": 150, "rate_limit_burst": 50})
    try:
        tok = env.token(tenant="burst")
        cust = "burst_" + uuid.uuid4().hex[:8]
        ids = []
        lock = threading.Lock()
        go = threading.Barrier(200)  # every client connected before any sends

        def one(i):
            c = Client(env, tok, timeout=60)
            c.connect()
            go.wait()
            iid = create_with_retries(c, {"customer_id": cust, "line_items": [
                {"description": f"burst {i}", "amount_cents": 100 + i}]}, time.time() + 60)
            with lock:
                ids.append(iid)

        errs = run_threads(200, one)
        expect(not errs, errs[:5])
        expect(len(ids) == 200 and len(set(ids)) == 200, len(set(ids)))
        n = env.psql(f"SELECT count(*) FROM invoices WHERE tenant_id = 'burst' AND customer_id = '{cust}'")
        expect(n == "200", n)
        m = env.server.metrics()
        rejected = metric_total(m, "mcpi_rejected_total", "rate") + metric_total(m, "mcpi_rejected_total", "inflight")
        print(f"    200 created; {int(rejected)} requests were told to retry first")
        expect(rejected > 0, "the burst exercised the limiter")
        expect(m["mcpi_inflight"] == 0, m)
    finally:
        expect(env.server.stop() == 0, "clean exit")
        env.server = None


def test_inflight_cap_answers_503(env):
    """With the one in-flight slot held by a create blocked in the database,
    a call is answered 503; probes are not counted against the cap; the
    blocked create then completes and its invoice is in the database."""
    srv = env.start_server(workers=2, extra={"max_inflight": 1, "log_level": "warn"})
    holder = None
    try:
        tenant = "cap-" + uuid.uuid4().hex[:8]
        holder = env.hold_lock("invoices", 120)  # cancelled below; the duration is a hang guard
        env.wait_lock_held("invoices")
        tok = env.token(tenant=tenant)
        results = {}

        def slow(_):
            c = Client(env, tok, timeout=60)
            results["slow"] = c.call("create_invoice", {"customer_id": "c", "line_items": [
                {"description": "x", "amount_cents": 1}]})

        t = threading.Thread(target=slow, args=(0,))
        t.start()
        # The create holds the slot once it waits on the lock inside PostgreSQL.
        wait_for(lambda: srv.metrics()["mcpi_inflight"] == 1 and env.psql(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'") != "0",
            what="the create to wait on the lock")
        c = Client(env, tok)
        st, hdrs, b = c.rpc("tools/list", {})
        probes = [c.raw("GET", p, b"", {})[0] for p in ("/livez", "/readyz")]
        env.release_lock("invoices")
        holder.wait(timeout=30)
        holder = None
        t.join(timeout=60)
        expect(not t.is_alive(), "the blocked create finished")
        expect(st == 503, (st, b))
        expect(hdrs["retry-after"] == "1", hdrs)
        expect(b["error"]["data"] == {"code": "OVERLOADED", "retryable": True, "retry_after_ms": 100}, b)
        expect(probes == [200, 200], f"probes answered {probes} with the in-flight cap reached")
        st, _, b = results["slow"]
        expect(st == 200 and b["result"]["isError"] is False, (st, b))
        iid = b["result"]["structuredContent"]["invoice_id"]
        expect(env.psql(f"SELECT count(*) FROM invoices WHERE tenant_id = '{tenant}' "
                        f"AND invoice_id = '{iid}'") == "1", "the blocked create is in the database")
        expect(srv.metrics()["mcpi_inflight"] == 0)
    finally:
        if holder:
            env.release_lock("invoices")
            holder.wait(timeout=30)
        expect(env.server.stop() == 0, "clean exit")
        env.server = None


def test_noisy_tenant_cannot_starve_others(env):
    # 4/s with a burst of 5: in t seconds at most 5 + 4t (+1 for rounding)
    # are admitted, whatever the machine's speed.
    env.start_server(workers=2, extra={"tenant_rate_limit_rps": 4, "tenant_rate_limit_burst": 5,
                                       "log_level": "warn"})
    try:
        noisy = Client(env, env.token(tenant="noisy"))
        quiet = Client(env, env.token(tenant="quiet"))
        t0 = time.time()
        answers = [noisy.rpc("tools/list", {}) for _ in range(60)]
        took = time.time() - t0
        codes = [st for st, _, _ in answers]
        expect(took < 10 and codes.count(429) >= 60 - 6 - 4 * took, (took, codes))
        for st, hdrs, b in answers:
            if st == 429:
                expect(b["error"]["data"]["code"] == "RATE_LIMITED" and "tenant" in b["error"]["message"], b)
        quiet_codes = [quiet.rpc("tools/list", {})[0] for _ in range(5)]
        expect(quiet_codes == [200] * 5, quiet_codes)
        m = env.server.metrics()
        expect(metric_total(m, "mcpi_rejected_total", "tenant_rate") == codes.count(429), m)
    finally:
        expect(env.server.stop() == 0)
        env.server = None


def test_worker_body_budget_answers_503_and_is_released(env):
    import socket
    import ssl
    from harness import PORT
    srv = env.start_server(workers=1, extra={"max_body_bytes": 131072,
                                             "worker_body_budget_bytes": 262144})
    tok = env.token().encode()
    ctx = ssl.create_default_context(cafile=env.cafile)

    def holder(body=True):
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", srv_port), timeout=5),
                            server_hostname="127.0.0.1")
        s.sendall(b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Authorization: Bearer " + tok + b"\r\nContent-Length: 120000\r\n\r\n" +
                  (b'{"jsonrpc":"2.0","id":1,"method":"ping","p":"' + b"a" * 100000 if body else b""))
        return s

    srv_port = PORT
    socks = []
    try:
        socks = [holder(), holder()]
        pid = srv.worker_pids()[0]
        gauge = 'mcpi_body_bytes_buffered{slot="%s"}' % worker_slot(srv.metrics(), pid)
        wait_for(lambda: srv.metrics()[gauge] > 2 * 100000, what="both bodies buffered")
        third = holder(body=False)  # the head alone claims the room for its body
        socks.append(third)
        third.settimeout(5)
        data = third.recv(4096)
        expect(data.startswith(b"HTTP/1.1 503") and b"Retry-After: 1" in data and b"OVERLOADED" in data,
               data[:300])
        held = srv.metrics()[gauge]
        expect(2 * 120000 < held <= 262144, held)
        for s in socks:
            s.close()
        socks = []
        deadline = time.time() + 5
        while time.time() < deadline and srv.metrics()[gauge] > 16384 * 2:
            time.sleep(0.05)
        expect(srv.metrics()[gauge] <= 16384 * 2, srv.metrics()[gauge])
        expect(srv.metrics()['mcpi_rejected_total{slot="%s",reason="body_budget"}'
                             % worker_slot(srv.metrics(), pid)] == 1)
        c = Client(env, env.token())
        st, _, b = c.post(None, raw_body=b'{"jsonrpc":"2.0","id":1,"method":"ping","p":"' + b"b" * 100000 + b'"}')
        expect(st == 200, (st, b))
        c.close()
        # A finished keep-alive request leaves no large buffer behind.
        expect(srv.metrics()[gauge] <= 16384 * 2, srv.metrics()[gauge])
    finally:
        for s in socks:
            s.close()
        expect(env.server.stop() == 0)
        env.server = None


def test_two_hosts_together_admit_the_global_rate(env):
    """cluster_hosts = 2: two servers (own shared segments, as on two
    machines) behind one balancer each enforce half of rate_limit_rps, so
    together they admit the global rate; in-flight caps are halved too."""
    limits = {"rate_limit_rps": 100, "rate_limit_burst": 10, "max_inflight": 64, "cluster_hosts": 2}
    a = env.start_server(workers=1, extra=limits)
    port_b = PORT + 1
    conf_b = os.path.join(env.dir, "host-b.conf")
    with open(conf_b, "w") as f:
        # Its own listener; the same audience, as behind one public name.
        f.write(env.base_conf + f"listen = 127.0.0.1:{port_b}\nworkers = 1\n" +
                "".join(f"{k} = {v}\n" for k, v in limits.items()))
    b = Server(env, conf_b, port=port_b)
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                st, _, body = Client(env, port=port_b).raw("GET", "/metrics", b"", {})
                if st == 200 and b"mcpi_workers_ready 1" in body:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        other = paced_load(env, env.token(), [PORT, port_b], 300.0, 10.0, 8)
        expect(not other, sorted(set(other)))
        # Each host holds half the burst (5) and half the rate; both together the global figures.
        logs = a.logs()  # both hosts write to the one log file; each decides with its own bucket
        check_rate([(a, logs, 2), (b, logs, 2)], 100, 10, "two hosts (global 100/s)")
        expect(a.metrics()["mcpi_max_inflight"] == 32, "each host holds half the in-flight cap")
    finally:
        rc_b = b.stop()
        rc_a = env.server.stop()
        env.server = None
        expect(rc_a == 0 and rc_b == 0, f"both hosts exit cleanly: {rc_a} {rc_b}")


def test_idle_connections_hold_no_body_budget(env):
    """Idle keep-alive connections (served, or handshaken and silent) keep no
    request buffer: a worker's budget is spent on requests, not on idlers."""
    import socket
    import ssl
    from harness import PORT
    srv = env.start_server(workers=1, extra={"max_connections_per_ip": 0})
    tok = env.token().encode()
    ctx = ssl.create_default_context(cafile=env.cafile)
    body = b'{"jsonrpc":"2.0","id":1,"method":"ping"}'
    socks = []
    try:
        for i in range(60):
            s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", PORT), timeout=10),
                                server_hostname="127.0.0.1")
            socks.append(s)
            if i % 2:
                continue  # handshaken, then silent
            s.sendall(b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Authorization: Bearer " + tok + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            data = b""
            while b'"result"' not in data:
                chunk = s.recv(4096)
                expect(chunk, data)
                data += chunk
            expect(data.startswith(b"HTTP/1.1 200"), data[:200])
        time.sleep(0.3)  # the silent ones' handshakes are done server-side too
        m = srv.metrics()
        pid = srv.worker_pids()[0]
        expect(m['mcpi_connections{slot="%s"}' % worker_slot(m, pid)] >= 60, m)
        # Only the connection scraping /metrics holds a buffer now.
        held = m['mcpi_body_bytes_buffered{slot="%s"}' % worker_slot(m, pid)]
        expect(held <= 16384, f"{held:.0f} bytes buffered for 60 idle connections")
    finally:
        for s in socks:
            s.close()
        expect(env.server.stop() == 0)
        env.server = None
