"""`make run` (tests/run-dev.sh) in a directory of its own: it serves, and
Ctrl-C (SIGINT to its process group, as a terminal sends it) stops the
server and then the private PostgreSQL cluster it started."""
import os
import signal
import socket
import subprocess
import time

from harness import RELEASE_BIN, ROOT, expect


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postmaster_running(var):
    pid_file = os.path.join(var, "pg", "postmaster.pid")
    if not os.path.exists(pid_file):
        return False
    pid = int(open(pid_file).readline())
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def test_ctrl_c_stops_the_server_and_its_database(env):
    var = os.path.join(env.dir, "make-run")
    port, pgport = free_port(), free_port()
    proc = subprocess.Popen(["sh", "tests/run-dev.sh"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            env=dict(os.environ, MCPI_DEV_VAR=var, MCPI_DEV_PGPORT=str(pgport),
                                     MCPI_DEV_LISTEN=f"127.0.0.1:{port}", MCPI_BIN=RELEASE_BIN))
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                expect(proc.poll() is None, proc.stdout.read() if proc.poll() is not None else "")
                time.sleep(0.2)
        expect(postmaster_running(var), "make run started its PostgreSQL")
        os.killpg(proc.pid, signal.SIGINT)
        out = proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        subprocess.run(["sh", os.path.join(ROOT, "tests/devenv.sh"), "stop", var], timeout=60)
    expect("Stop with Ctrl-C: it stops the server and then the private PostgreSQL" in out, out[-1500:])
    expect(f"mcp-invoiced and its PostgreSQL under {var} stopped." in out, out[-1500:])
    expect(not postmaster_running(var), "PostgreSQL still running after Ctrl-C")
