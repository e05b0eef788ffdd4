"""run.py - `make test-cluster`: two mcp-invoiced hosts behind HAProxy on one
PostgreSQL, each in its own Linux network namespace, joined by veth pairs
to a bridge in a switch namespace (addresses 10.250.0.0/24 exist only
inside these namespaces; the machine's own network is not touched).

  client ns ──┐
  lb ns (HAProxy, systemd/cluster/haproxy.cfg) ──┤ bridge ├── h1 ns, h2 ns (mcp-invoiced)
  db ns (PostgreSQL) ──┘

An agent workload runs through HAProxy while host 1's master is killed
with SIGKILL and started again, then host 2 reloads with SIGHUP. Checked:
HAProxy takes host 1 out and back in by its health check, agents see only
retryable errors, every acknowledged write is in the database exactly once,
and both hosts shared the load. Needs root and `ip netns`; otherwise it
says why and exits 77 (skipped), which `make test` reports.

`run.py --measure RATE` instead offers RATE calls/s through HAProxy to both
hosts for 10 s (no failures injected) and reports the rate achieved and
the answer latencies: the check of the scaling model at a rate both hosts
can sustain.
"""
import csv
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "bin", "mcp-invoiced")
NET = "10.250.0"
HOSTS = {"mcpi-lb": 2, "mcpi-db": 10, "mcpi-h1": 11, "mcpi-h2": 12, "mcpi-cl": 50}
SWITCH = "mcpi-sw"
LB = f"{NET}.2"
PGPORT = 5432
procs = []


def sh(*cmd, check=True, **kw):
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True, timeout=120, **kw)


def in_ns(ns, *cmd):
    return ["ip", "netns", "exec", ns] + list(cmd)


def skip(why):
    print(f"SKIP test-cluster: {why}")
    sys.exit(77)


def netns_up():
    if os.getuid() != 0:
        skip("needs root (ip netns, veth)")
    if not shutil.which("ip") or not shutil.which("haproxy"):
        skip("needs iproute2 and haproxy (tests/deps.sh installs them)")
    netns_down()
    probe = sh("ip", "netns", "add", SWITCH, check=False)
    if probe.returncode != 0:
        skip("cannot create network namespaces here: " + probe.stderr.strip())
    sh("ip", "-n", SWITCH, "link", "add", "br0", "type", "bridge")
    sh("ip", "-n", SWITCH, "link", "set", "br0", "up")
    for ns, last in HOSTS.items():
        short = ns.split("-")[1]
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", "p-" + short,
           "netns", SWITCH)
        sh("ip", "-n", SWITCH, "link", "set", "p-" + short, "master", "br0", "up")
        sh("ip", "-n", ns, "addr", "add", f"{NET}.{last}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")


def netns_down():
    for ns in list(HOSTS) + [SWITCH]:
        sh("ip", "netns", "del", ns, check=False)


def wait_port(ns, host, port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = subprocess.run(in_ns(ns, "python3", "-c", f"import socket; socket.create_connection(('{host}', {port}), 1)"),
                           capture_output=True)
        if r.returncode == 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"{host}:{port} not reachable from {ns}")


def start(name, cmd, log):
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    p.name = name
    procs.append(p)
    return p


def haproxy_status(sock_path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(sock_path)
    s.sendall(b"show stat\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    rows = csv.DictReader(io.StringIO(data.decode().lstrip("# ")))
    return {r["svname"]: r for r in rows if r["pxname"] == "mcp_hosts"}


def wait_status(sock_path, server, want, timeout=15):
    deadline = time.time() + timeout
    seen = None
    while time.time() < deadline:
        seen = haproxy_status(sock_path).get(server, {}).get("status")
        if seen and seen.startswith(want):
            return time.time()
        time.sleep(0.1)
    raise AssertionError(f"HAProxy never marked {server} {want} (last: {seen})")


def main():
    d = tempfile.mkdtemp(prefix="mcpi-cluster-")
    os.chmod(d, 0o755)
    pgbin = sorted(os.listdir("/usr/lib/postgresql"))[-1]
    pg_ctl = f"/usr/lib/postgresql/{pgbin}/bin/pg_ctl"
    logs = open(os.path.join(d, "cluster.log"), "ab")
    netns_up()
    try:
        # PostgreSQL: set up and migrated on a Unix socket, then restarted in
        # the database namespace listening on its veth address too.
        sh("sh", os.path.join(ROOT, "tests", "devenv.sh"), "setup", d, "55490", f"{LB}:443", cwd=ROOT,
           env=dict(os.environ, PG_FSYNC="on", MCPI_BIN=BIN))
        sh("sh", os.path.join(ROOT, "tests", "devenv.sh"), "stop", d)
        with open(os.path.join(d, "pg", "pg_hba.conf"), "a") as f:
            f.write(f"host all all {NET}.0/24 trust\n")
        sh(*in_ns("mcpi-db", "runuser", "-u", "postgres", "--", pg_ctl, "-D", f"{d}/pg", "-l",
                  f"{d}/pg/server.log", "-w", "-t", "60", "-o",
                  f"-c listen_addresses={NET}.10 -c unix_socket_directories={d}/sock -p {PGPORT} "
                  "-c max_connections=100", "start"))
        # One certificate for the name clients use (the balancer's address).
        sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
           "-days", "2", "-keyout", f"{d}/lb.key", "-out", f"{d}/lb.crt", "-subj", "/CN=mcpi-lb",
           "-addext", f"subjectAltName=IP:{LB}")
        base = open(os.path.join(d, "mcp-invoiced.conf")).read()
        hosts = {}
        for ns in ("mcpi-h1", "mcpi-h2"):
            conf = os.path.join(d, ns + ".conf")
            with open(conf, "w") as f:
                f.write(base + f"listen = {NET}.{HOSTS[ns]}:8443\ntls_cert = {d}/lb.crt\ntls_key = {d}/lb.key\n"
                        f"database_url = host={NET}.10 port={PGPORT} dbname=invoices user=mcp_invoiced_app\n"
                        "workers = 1\ncluster_hosts = 2\nrate_limit_rps = 100000\nrate_limit_burst = 100000\n"
                        "max_inflight = 256\nlog_level = warn\nshutdown_timeout_s = 5\n")
            hosts[ns] = conf
        servers = {ns: start(ns, in_ns(ns, BIN, "serve", "--config", conf), logs) for ns, conf in hosts.items()}
        for ns in hosts:
            wait_port("mcpi-cl", f"{NET}.{HOSTS[ns]}", 8443)
        # HAProxy with the shipped configuration, addresses replaced.
        cfg = open(os.path.join(ROOT, "systemd", "cluster", "haproxy.cfg")).read()
        cfg = (cfg.replace("10.0.0.2:443", f"{LB}:443").replace("10.0.0.11", f"{NET}.11")
               .replace("10.0.0.12", f"{NET}.12").replace("/run/haproxy/mcp-invoiced.sock", f"{d}/haproxy.sock"))
        with open(os.path.join(d, "haproxy.cfg"), "w") as f:
            f.write(cfg)
        start("haproxy", in_ns("mcpi-lb", "haproxy", "-db", "-f", f"{d}/haproxy.cfg"), logs)
        sock = f"{d}/haproxy.sock"
        deadline = time.time() + 10
        while not os.path.exists(sock) and time.time() < deadline:
            time.sleep(0.1)
        wait_status(sock, "host1", "UP")
        wait_status(sock, "host2", "UP")

        measure = float(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[1] == "--measure" else 0.0
        token = sh(BIN, "token", "--config", hosts["mcpi-h1"], "--sub", "cluster-agent", "--tenant", "cluster",
                   "--ttl", "3600").stdout.strip()
        out = os.path.join(d, "agents.json")
        agents_py = os.path.join(ROOT, "tests", "cluster", "agents.py")
        url = f"https://{LB}:443/mcp"
        if measure:
            agents = start("agents", in_ns("mcpi-cl", sys.executable, agents_py, url, f"{d}/lb.crt", token,
                                           "10", "16", out, str(measure)), logs)
            agents.wait(timeout=120)
            seen = json.load(open(out))
            lat = sorted(seen["latencies"])
            assert not seen["fatal"] and lat, seen["fatal"][:5]
            sessions = {k: int(v["stot"]) for k, v in haproxy_status(sock).items() if k.startswith("host")}
            print(f"measure: offered {measure:.0f}/s through HAProxy to 2 hosts for 10 s: achieved "
                  f"{len(lat) / 10:.0f}/s, p50 {lat[len(lat) // 2] * 1000:.1f} ms, p99 "
                  f"{lat[int(len(lat) * 0.99)] * 1000:.1f} ms; connections per host {sessions}; "
                  f"retryable outcomes {seen['errors'] or 'none'}")
            return 0
        agents = start("agents", in_ns("mcpi-cl", sys.executable, agents_py, url, f"{d}/lb.crt", token,
                                       "14", "8", out), logs)
        time.sleep(3)
        t_kill = time.time()
        servers["mcpi-h1"].send_signal(signal.SIGKILL)
        servers["mcpi-h1"].wait()
        t_down = wait_status(sock, "host1", "DOWN")
        time.sleep(1)
        servers["mcpi-h1"] = start("mcpi-h1", in_ns("mcpi-h1", BIN, "serve", "--config", hosts["mcpi-h1"]), logs)
        t_up = wait_status(sock, "host1", "UP")
        time.sleep(1)
        servers["mcpi-h2"].send_signal(signal.SIGHUP)
        agents.wait(timeout=120)
        seen = json.load(open(out))
        acked = seen["acked"]
        assert not seen["fatal"], f"agents saw non-retryable outcomes: {seen['fatal'][:5]}"
        psql = ["runuser", "-u", "postgres", "--", f"/usr/lib/postgresql/{pgbin}/bin/psql", "-X", "-At", "-h",
                f"{d}/sock", "-p", str(PGPORT), "-d", "invoices", "-c"]
        in_db = set(sh(*psql, "SELECT invoice_id FROM invoices WHERE tenant_id = 'cluster'").stdout.split())
        stored, rows = len(in_db & set(acked.values())), len(in_db)
        keys = int(sh(*psql, "SELECT count(*) FROM idempotency_keys WHERE tenant_id = 'cluster'").stdout)
        assert len(acked) > 100, f"too little work done: {len(acked)} acknowledged"
        assert stored == len(acked), f"acknowledged {len(acked)}, found {stored}"
        assert rows == keys, f"{rows} invoices for {keys} idempotency keys: a retry wrote twice"
        assert len(set(acked.values())) == len(acked), "two keys acknowledged with one invoice"
        for ns, p in servers.items():
            assert p.poll() is None, f"{ns} exited"
        sessions = {k: int(v["stot"]) for k, v in haproxy_status(sock).items() if k.startswith("host")}
        assert all(n > 0 for n in sessions.values()) and len(sessions) == 2, f"sessions per host: {sessions}"
        print(f"test-cluster: {len(acked)} invoices acknowledged through HAProxy, all stored once "
              f"({rows} rows, {keys} keys); host1 killed: marked DOWN after {t_down - t_kill:.1f} s, "
              f"UP {t_up - t_kill:.1f} s after the kill; host2 reloaded; retryable outcomes seen: "
              f"{seen['errors'] or 'none'}; connections per host {sessions}")
        print("1 passed, 0 failed")
        return 0
    except (AssertionError, OSError, subprocess.SubprocessError) as e:
        detail = getattr(e, "stderr", "") or ""
        print(f"FAIL test-cluster: {e} {detail[-2000:]}")
        print("0 passed, 1 failed")
        return 1
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        sh(*in_ns("mcpi-db", "runuser", "-u", "postgres", "--", pg_ctl, "-D", f"{d}/pg", "-m", "fast", "-w",
                  "stop"), check=False)
        netns_down()


if __name__ == "__main__":
    sys.exit(main())
