"""Failover: a primary and a streaming replica in synchronous replication,
both started here, and a server whose database_url is libpq multi-host
conninfo (host=a,b target_session_attrs=read-write). Under write load the
primary is killed (SIGKILL of the postmaster, as a crash) and the replica
promoted: the server serves writes again within 2 s of the promotion, and
every write it acknowledged is on the new primary."""
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid

from harness import BIN, ROOT, Writers, expect

PGBIN = "/usr/lib/postgresql/" + sorted(os.listdir("/usr/lib/postgresql"))[-1] + "/bin"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres(cmd):
    return ["runuser", "-u", "postgres", "--"] + cmd if os.getuid() == 0 else cmd


def start_primary(base, port):
    """A migrated cluster (tests/devenv.sh) that streams WAL; once the
    replica is there, every commit waits for it (make_replication_synchronous)."""
    os.makedirs(base)
    os.chmod(base, 0o755)
    env = dict(os.environ, PG_FSYNC="off", PG_LISTEN="127.0.0.1", MCPI_BIN=BIN,
               PG_OPTIONS="-c wal_level=replica -c max_wal_senders=4")
    subprocess.run(["sh", os.path.join(ROOT, "tests/devenv.sh"), "setup", base, str(port), "127.0.0.1:1"],
                   check=True, env=env, cwd=ROOT, timeout=180, stdout=subprocess.DEVNULL)


def start_replica(base, primary_port, port):
    pg = os.path.join(base, "pg")
    os.makedirs(os.path.join(base, "sock"))
    os.chmod(base, 0o755)
    if os.getuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(os.path.join(base, "sock"), "postgres")
    subprocess.run(as_postgres([f"{PGBIN}/pg_basebackup", "-h", "127.0.0.1", "-p", str(primary_port),
                                "-U", "postgres", "-D", pg, "-R", "-X", "stream", "--no-sync", "-c", "fast",
                                "-d", "application_name=replica"]),
                   check=True, timeout=120, stdout=subprocess.DEVNULL)
    subprocess.run(as_postgres([f"{PGBIN}/pg_ctl", "-D", pg, "-l", os.path.join(pg, "server.log"), "-w",
                                "-t", "60", "-o", f"-c listen_addresses=127.0.0.1 -p {port} "
                                f"-c unix_socket_directories={base}/sock -c fsync=off -c max_connections=300", "start"]),
                   check=True, timeout=90, stdout=subprocess.DEVNULL)


def psql(port, sql):
    out = subprocess.run([f"{PGBIN}/psql", "-X", "-q", "-At", "-h", "127.0.0.1", "-p", str(port),
                          "-U", "postgres", "-d", "invoices", "-c", sql],
                         check=True, capture_output=True, text=True, timeout=30)
    return out.stdout.strip()


def stop_cluster(base):
    pg = os.path.join(base, "pg")
    if os.path.exists(os.path.join(pg, "postmaster.pid")):
        subprocess.run(as_postgres([f"{PGBIN}/pg_ctl", "-D", pg, "-m", "immediate", "-w", "stop"]),
                       timeout=60, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_primary_killed_replica_promoted_writes_resume(env):
    primary, replica = os.path.join(env.dir, "fo-primary"), os.path.join(env.dir, "fo-replica")
    p1, p2 = free_port(), free_port()
    try:
        start_primary(primary, p1)
        start_replica(replica, p1, p2)
        psql(p1, "ALTER SYSTEM SET synchronous_standby_names = '*'")
        psql(p1, "SELECT pg_reload_conf()")
        deadline = time.time() + 20
        while psql(p1, "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") != "1":
            expect(time.time() < deadline, "the replica became a synchronous standby")
            time.sleep(0.1)
        srv = env.start_server(workers=2, extra={
            "database_url": f"host=127.0.0.1,127.0.0.1 port={p1},{p2} dbname=invoices "
                            f"user=mcp_invoiced_app target_session_attrs=read-write",
            "request_timeout_ms": 3000, "rate_limit_rps": 100000, "rate_limit_burst": 100000})
        tenant = "fo-" + uuid.uuid4().hex[:8]
        tok = env.token(tenant=tenant)
        writers = Writers(env, tok, 8, "fo")
        time.sleep(1.5)
        with open(os.path.join(primary, "pg", "postmaster.pid")) as f:
            postmaster = int(f.readline())
        t_kill = time.time()
        os.kill(postmaster, signal.SIGKILL)
        time.sleep(0.5)
        subprocess.run(as_postgres([f"{PGBIN}/pg_ctl", "-D", os.path.join(replica, "pg"), "-w", "promote"]),
                       check=True, timeout=60, stdout=subprocess.DEVNULL)
        t_promoted = time.time()
        time.sleep(3.0)
        writers.stop()
        acked = writers.acked
        outcomes = [(t0 + took, o) for t0, took, _key, o in writers.outcomes]
        first_ok = min((t for t, o in outcomes if o == "ok" and t > t_promoted), default=None)
        errors = sorted({o for t, o in outcomes if o != "ok"})
        acked_before = sum(1 for t, o in outcomes if o == "ok" and t < t_kill)
        print(f"    {len(acked)} writes acknowledged ({acked_before} before the kill); errors while "
              f"failing over: {errors or 'none'}; first write on the new primary "
              f"{1000 * (first_ok - t_promoted) if first_ok else -1:.0f} ms after promotion")
        expect(acked_before > 0 and first_ok is not None, "writes before and after the failover")
        expect(first_ok - t_promoted < 2.0, first_ok - t_promoted)
        expect(set(errors) <= {"DATABASE_UNAVAILABLE", "TIMEOUT"}, errors)
        ids = psql(p2, f"SELECT string_agg(invoice_id::text, ',') FROM invoices WHERE tenant_id = '{tenant}'")
        stored = set(ids.split(","))
        missing = [k for k, v in acked.items() if v not in stored]
        expect(not missing, f"acknowledged but not on the new primary: {missing[:5]} of {len(acked)}")
        rc = srv.stop()
        env.server = None
        expect(rc == 0, f"server exit {rc}")
    finally:
        if env.server:
            env.server.stop()
            env.server = None
        stop_cluster(replica)
        stop_cluster(primary)
