"""The key manager: only it (and the master that starts it) holds the TLS
private key; workers sign through it. Checked by scanning every process's
memory for the key, by handshakes with EC and RSA keys over TLS 1.2 and
1.3, and by killing the key manager under load."""
import os
import re
import signal
import ssl
import subprocess
import tempfile
import time

from harness import PORT, RELEASE_BIN, Client, Skip, expect


def private_scalar(key_path):
    """The private key's secret integer as big-endian bytes (EC: d, RSA: d)."""
    text = subprocess.run(["openssl", "pkey", "-in", key_path, "-text", "-noout"],
                          capture_output=True, text=True, check=True).stdout
    m = re.search(r"(?:priv|privateExponent):\s*\n((?:\s+[0-9a-f:]+\n)+)", text)
    hexdigits = re.sub(r"[^0-9a-f]", "", m.group(1))
    raw = bytes.fromhex(hexdigits)
    return raw.lstrip(b"\x00")


def key_forms(key_path):
    """Every form the private key may take in a process's memory: the
    secret integer big-endian (DER, as in the file), little-endian (an
    OpenSSL BIGNUM's limbs on this machine), and a line of the PEM text."""
    secret = private_scalar(key_path)
    lines = [ln for ln in open(key_path).read().splitlines() if ln and not ln.startswith("-----")]
    return {"big-endian": secret, "little-endian": secret[::-1],
            "PEM": max(lines[1:] or lines, key=len).encode()}


def holds_key(pid, forms):
    """The forms of the key found in pid's memory."""
    return [name for name, needle in forms.items() if memory_contains(pid, needle)]


def memory_contains(pid, needle):
    """Scans every readable mapping of pid (release build: no sanitizer
    shadow) for needle, in chunks that overlap by len(needle)."""
    chunk = 1 << 22
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            addr, perms = line.split()[:2]
            if "r" not in perms or "[vvar]" in line or "[vsyscall]" in line:
                continue
            start, end = (int(x, 16) for x in addr.split("-"))
            pos = start
            while pos < end:
                try:
                    mem.seek(pos)
                    data = mem.read(min(chunk + len(needle), end - pos))
                except (OSError, OverflowError, ValueError):
                    break
                if needle in data:
                    return True
                pos += chunk
    return False


def test_workers_never_hold_the_tls_private_key(env):
    if os.geteuid() != 0:
        raise Skip("needs root to read other processes' memory (CI runs as root)")
    srv = env.start_server(workers=2, binary=RELEASE_BIN)
    try:
        c = Client(env, env.token())
        for _ in range(5):
            expect(c.rpc("ping")[0] == 200)  # handshakes done: signatures were made
        forms = key_forms(os.path.join(env.dir, "tls.key"))
        expect(len(forms["big-endian"]) >= 30 and len(forms["PEM"]) >= 40, forms)
        keymgrs = srv.keymgr_pids()
        expect(len(keymgrs) == 1, keymgrs)
        # Control: the scan finds the key as OpenSSL holds it to sign with.
        expect("little-endian" in holds_key(keymgrs[0], forms), "control: the key manager holds the key")
        for pid in srv.worker_pids() + [srv.proc.pid] + srv.renderer_pids():
            found = holds_key(pid, forms)
            expect(not found, f"process {pid} holds the TLS private key ({', '.join(found)})")
        # ... and the key manager holds nothing but that key.
        expect(not memory_contains(keymgrs[0], env.secret), "the key manager holds the JWT secret")
        expect(memory_contains(srv.worker_pids()[0], env.secret), "control: workers hold the JWT secret")
        print(f"    private key found in key manager {keymgrs[0]} ({', '.join(holds_key(keymgrs[0], forms))}), "
              f"in no form in the master {srv.proc.pid}, workers {srv.worker_pids()} or renderer")
    finally:
        expect(env.server.stop() == 0)
        env.server = None


def handshake(env, cafile, max_version=None):
    ctx = ssl.create_default_context(cafile=cafile)
    if max_version:
        ctx.maximum_version = max_version
    import http.client
    conn = http.client.HTTPSConnection("127.0.0.1", PORT, context=ctx, timeout=5)
    conn.request("POST", "/mcp", body=b'{"jsonrpc":"2.0","id":1,"method":"ping"}',
                 headers={"Content-Type": "application/json", "Authorization": "Bearer " + env.token()})
    r = conn.getresponse()
    r.read()
    version = conn.sock.version()
    conn.close()
    return r.status, version


def test_rsa_and_ec_keys_over_tls12_and_tls13(env):
    d = tempfile.mkdtemp(dir=env.dir)
    crt, key = os.path.join(d, "rsa.crt"), os.path.join(d, "rsa.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", key, "-out", crt, "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
    ec_ca = env.cafile
    try:
        for cert, extra in ((ec_ca, {}), (crt, {"tls_cert": crt, "tls_key": key})):
            env.cafile = cert  # what the harness's own clients trust
            env.start_server(workers=1, extra=extra)
            try:
                for maxv, want in ((None, "TLSv1.3"), (ssl.TLSVersion.TLSv1_2, "TLSv1.2")):
                    st, version = handshake(env, cert, maxv)
                    expect(st == 200 and version == want, (cert, st, version))
            finally:
                expect(env.server.stop() == 0)
                env.server = None
    finally:
        env.cafile = ec_ca


def test_killed_key_manager_is_replaced(env):
    srv = env.start_server(workers=2)
    try:
        old_workers = set(srv.worker_pids())
        km = srv.keymgr_pids()[0]
        os.kill(km, signal.SIGKILL)
        deadline = time.time() + 10
        ok = False
        while time.time() < deadline:
            try:
                c = Client(env, env.token(), timeout=2)
                if c.rpc("ping")[0] == 200 and not (set(srv.worker_pids()) & old_workers):
                    ok = True
                    break
            except OSError:
                pass
            time.sleep(0.1)
        expect(ok, "new generation serving after the key manager was killed")
        new_km = srv.keymgr_pids()
        expect(len(new_km) == 1 and new_km[0] != km, new_km)
        expect("key manager" in srv.logs() and "died" in srv.logs())
    finally:
        expect(env.server.stop() == 0)
        env.server = None
