"""seccomp per process role (server/proc/sandbox.c): every role is confined
(Seccomp: 2 in /proc), a call no role may make kills the process with
SIGSYS and the master says so, a call merely not on a role's list fails
with EPERM, and the release build (no sanitizer allowances) serves tool
calls and cancels a statement past its deadline (the worker's fork)
while confined. The forbidden calls are made by the test-only hook
(MCPI_TEST_FORBIDDEN), compiled into the sanitizer build alone."""
import os
import re
import signal
import threading
import time

from harness import BIN, RELEASE_BIN, Client, expect, metric_total, wait_for

def seccomp_status(pid):
    status = open(f"/proc/{pid}/status").read()
    mode = int(re.search(r"^Seccomp:\s+(\d+)", status, re.M).group(1))
    filters = int(re.search(r"^Seccomp_filters:\s+(\d+)", status, re.M).group(1))
    return mode, filters


def test_every_process_role_is_confined(env):
    srv = env.start_server(workers=2)
    try:
        expect(seccomp_status(srv.proc.pid) == (2, 1), seccomp_status(srv.proc.pid))
        keymgrs, workers = srv.keymgr_pids(), srv.worker_pids()
        expect(len(keymgrs) == 1 and len(workers) == 2, (keymgrs, workers))
        # The first key manager was forked before the master confined
        # itself: its own filter only. Workers: the master's and their own.
        expect(seccomp_status(keymgrs[0]) == (2, 1), seccomp_status(keymgrs[0]))
        for pid in workers:
            expect(seccomp_status(pid) == (2, 2), seccomp_status(pid))
        # The first renderer was started before the master confined itself:
        # its own filter only. One the confined master restarts (fexecve of
        # the binary it opened, the one program its filter lets it run)
        # keeps the master's filter and adds its own.
        renderers = srv.children("mcpi-render")
        expect(len(renderers) == 1 and seccomp_status(renderers[0]) == (2, 1),
               (renderers, renderers and seccomp_status(renderers[0])))
        c = Client(env, env.token())
        expect(not c.tool("upsert_customer", {"customer_id": "sandboxed", "name": "S"})[0])
        expect(c.rpc("tools/list")[0] == 200)
        os.kill(renderers[0], signal.SIGKILL)
        seen = []

        def replaced():
            seen[:] = srv.children("mcpi-render")
            return len(seen) == 1 and seen != renderers
        wait_for(replaced, timeout=15)
        again = seen[0]
        wait_for(lambda: seccomp_status(again) == (2, 2), timeout=10)
        err, st = c.tool("get_statement", {"customer_id": "sandboxed"})
        expect(not err and st["summary"]["closing_balance_cents"] == 0, st)
    finally:
        expect(env.server.stop() == 0)
        env.server = None


def start_with_forbidden(env, call, workers=1):
    return env.start_server(workers=workers, wait=False, env_extra={"MCPI_TEST_FORBIDDEN": call})


def test_a_forbidden_call_kills_the_worker_and_the_master_says_so(env):
    for call in ("execve", "listen"):
        srv = start_with_forbidden(env, "worker:" + call)
        try:
            rc = srv.proc.wait(timeout=60)
            logs = srv.logs()
            # The hook runs before the worker reports ready: five start-up
            # failures in a row, then the master stops the server.
            expect(rc == 1, (call, rc, logs[-1500:]))
            deaths = re.findall(r"worker (\d+) failed during start-up \(killed by SIGSYS: a system "
                                r"call its seccomp policy forbids\)", logs)
            expect(len(deaths) == 5, (call, logs[-2000:]))
            expect(f"calling {call} inside the worker sandbox" in logs, logs[-1500:])
            expect(f"test hook: {call} returned" not in logs, "the call never returned")
        finally:
            env.server.stop()
            env.server = None


def test_the_master_itself_dies_of_a_forbidden_call(env):
    srv = start_with_forbidden(env, "master:execve")
    try:
        expect(srv.proc.wait(timeout=30) == -31, srv.proc.returncode)  # SIGSYS
        expect("test hook: execve returned" not in srv.logs())
    finally:
        env.server.stop()
        env.server = None


def test_a_call_off_the_key_managers_list_fails_with_eperm(env):
    for call in ("socket", "socketpair"):
        srv = start_with_forbidden(env, "keymgr:" + call, workers=1)
        try:
            srv.wait_ready()
            expect(f"test hook: {call} returned -1 (Operation not permitted)" in srv.logs(),
                   srv.logs()[-1500:])
            # The key manager lives on and signs: TLS handshakes work.
            c = Client(env, env.token())
            expect(c.rpc("tools/list")[0] == 200)
            expect(len(srv.keymgr_pids()) == 1)
        finally:
            expect(env.server.stop() == 0)
            env.server = None


def test_the_release_build_serves_and_cancels_while_confined(env):
    # The release build carries no test hook at all.
    expect(b"MCPI_TEST_FORBIDDEN" not in open(RELEASE_BIN, "rb").read(), "hook in the release build")
    expect(b"MCPI_TEST_FORBIDDEN" in open(BIN, "rb").read(), "the sanitizer build has the hook")
    srv = env.start_server(workers=1, binary=RELEASE_BIN, extra={"request_timeout_ms": 700},
                           env_extra={"MCPI_TEST_FORBIDDEN": "worker:execve"})
    holder = None
    try:
        worker = srv.worker_pids()[0]
        expect(seccomp_status(srv.proc.pid)[0] == 2 and seccomp_status(worker) == (2, 2))
        expect(seccomp_status(srv.keymgr_pids()[0])[0] == 2)
        c = Client(env, env.token())
        expect(not c.tool("upsert_customer", {"customer_id": "rel", "name": "R"})[0])
        holder = env.hold_lock("customers", 3)
        time.sleep(0.4)
        # Two reads stuck behind the lock: the first ends at its deadline by
        # its own statement_timeout; the second, sent behind it in the
        # pipeline and already answered, is cancelled by the worker's
        # short-lived child once it starts (fork while confined).
        # Both clients connect first (TLS done), so both reads are sent
        # while the first is still waiting, however loaded the machine is.
        outcomes, clients = [], [Client(env, env.token()) for _ in range(2)]
        for cl in clients:
            cl.connect()
        ts = [threading.Thread(target=lambda cl=cl: outcomes.append(
            cl.tool("get_customer", {"customer_id": "rel"}))) for cl in clients]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        expect(len(outcomes) == 2 and all(err and sc["error"]["code"] == "TIMEOUT" for err, sc in outcomes),
               outcomes)
        wait_for(lambda: metric_total(srv.metrics(), "mcpi_db_cancels_total") >= 1, what="a cancel")
        holder.wait()
        holder = None
        expect(not c.tool("get_customer", {"customer_id": "rel"})[0])
        expect(srv.worker_pids() == [worker], "the worker survived")
        # A reload (configuration, certificate, key re-read; a new key
        # manager and worker forked from the confined master) works too.
        srv.signal(1)
        wait_for(lambda: "reload complete" in srv.logs(), what="reload")
        wait_for(lambda: srv.worker_pids() and srv.worker_pids() != [worker], what="new worker")
        expect(not Client(env, env.token()).tool("get_customer", {"customer_id": "rel"})[0])
        expect("SIGSYS" not in srv.logs() and "test hook" not in srv.logs(), srv.logs()[-1500:])
    finally:
        if holder:
            holder.wait()
        expect(env.server.stop() == 0)
        env.server = None
