"""Asymmetric token verification (RS256, ES256) and algorithm confusion:
an HS256 token whose HMAC key is the server's public key is refused."""
import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import tempfile
import time

from harness import AUDIENCE, ISSUER, Client, b64url, expect, wait_for


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


def der_to_raw(der, size=32):
    """ECDSA DER (SEQUENCE of r, s) to the JWS form r || s."""
    def read_int(buf, i):
        assert buf[i] == 0x02
        n = buf[i + 1]
        v = buf[i + 2:i + 2 + n]
        return int.from_bytes(v, "big"), i + 2 + n
    i = 2 if der[1] < 0x80 else 3
    r, i = read_int(der, i)
    s, _ = read_int(der, i)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def sign(alg, key_path, claims, header_alg=None):
    h = b64url(json.dumps({"alg": header_alg or alg, "typ": "JWT"}).encode())
    c = b64url(json.dumps(claims).encode())
    signing = f"{h}.{c}".encode()
    sig = openssl("dgst", "-sha256", "-sign", key_path, data=signing)
    if alg == "ES256":
        sig = der_to_raw(sig)
    return f"{h}.{c}.{b64url(sig)}"


def claims(tenant="keys"):
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": "k", "tenant_id": tenant,
            "scope": "invoices:read", "iat": now, "exp": now + 300}


def run_with(env, alg, genkey):
    d = tempfile.mkdtemp(dir=env.dir)
    priv, pub = os.path.join(d, "priv.pem"), os.path.join(d, "pub.pem")
    openssl(*genkey, "-out", priv)
    openssl("pkey", "-in", priv, "-pubout", "-out", pub)
    srv = env.start_server(workers=1, extra={"jwt_alg": alg, "jwt_public_key_file": pub})
    try:
        c = Client(env)
        good = sign(alg, priv, claims())
        st, _, b = c.rpc("tools/list", {}, token=good)
        expect(st == 200, (alg, st, b))
        # Algorithm confusion: HS256 keyed with the public key text.
        pem = open(pub, "rb").read()
        h = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = b64url(json.dumps(claims()).encode())
        for key in (pem, pem.strip()):
            sig = b64url(hmac.new(key, f"{h}.{body}".encode(), hashlib.sha256).digest())
            st, _, b = c.rpc("tools/list", {}, token=f"{h}.{body}.{sig}")
            expect(st == 401 and f"algorithm must be {alg}" in b["error"]["data"]["reason"], (st, b))
        # A token signed by another key pair.
        other = os.path.join(d, "other.pem")
        openssl(*genkey, "-out", other)
        st, _, b = c.rpc("tools/list", {}, token=sign(alg, other, claims()))
        expect(st == 401 and "signature" in b["error"]["data"]["reason"], (st, b))
        # Tampered claims under a valid signature.
        t = good.split(".")
        t[1] = b64url(json.dumps(claims(tenant="someone-else")).encode())
        st, _, b = c.rpc("tools/list", {}, token=".".join(t))
        expect(st == 401, (st, b))
    finally:
        expect(env.server.stop() == 0)
        env.server = None


def test_rs256(env):
    run_with(env, "RS256", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])


def test_rs256_keys_above_4096_bits(env):
    """A 6144-bit key makes 768-byte signatures (a 512-byte buffer refused
    them all as "not base64url")."""
    run_with(env, "RS256", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:6144"])


def der(tag, body):
    n = len(body)
    length = bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + \
        n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag]) + length + body


def rsa_public_pem(n, e=65537):
    """A PEM public key with modulus n (no private key exists: enough to be
    loaded and refused)."""
    def integer(v):
        b = v.to_bytes((v.bit_length() + 8) // 8, "big")
        return der(0x02, b)
    rsa_oid = der(0x30, der(0x06, bytes.fromhex("2a864886f70d010101")) + der(0x05, b""))
    spki = der(0x30, rsa_oid + der(0x03, b"\x00" + der(0x30, integer(n) + integer(e))))
    b64 = base64.b64encode(spki).decode()
    return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(
        b64[i:i + 64] for i in range(0, len(b64), 64)) + "\n-----END PUBLIC KEY-----\n"


def test_rsa_keys_above_the_maximum_are_refused_at_startup(env):
    path = os.path.join(env.dir, "huge.pub")
    with open(path, "w") as f:
        f.write(rsa_public_pem((1 << 16399) + 12345))  # 16400 bits, odd
    srv = env.start_server(workers=1, extra={"jwt_alg": "RS256", "jwt_public_key_file": path},
                           wait=False)
    try:
        srv.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    logs = srv.logs()
    env.server = None
    rc = srv.stop()  # (stops it if still running) and reads the log for sanitizer reports
    expect(rc == 1 and "at most 16384 bits" in logs, (rc, logs[-500:]))


def test_rsa_keys_above_the_maximum_are_refused_on_reload(env):
    """SIGHUP with the key file replaced by a 16400-bit key: the reload is
    refused and the server keeps verifying with the key it has."""
    d = tempfile.mkdtemp(dir=env.dir)
    priv, pub = os.path.join(d, "priv.pem"), os.path.join(d, "pub.pem")
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", priv)
    openssl("pkey", "-in", priv, "-pubout", "-out", pub)
    srv = env.start_server(workers=1, extra={"jwt_alg": "RS256", "jwt_public_key_file": pub})
    try:
        pids = srv.worker_pids()
        with open(pub, "w") as f:
            f.write(rsa_public_pem((1 << 16399) + 12345))
        srv.signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in srv.logs(), what="the reload refused")
        expect("at most 16384 bits" in srv.logs(), srv.logs()[-1000:])
        expect(srv.worker_pids() == pids, "the workers were not replaced")
        st, _, b = Client(env).rpc("tools/list", {}, token=sign("RS256", priv, claims()))
        expect(st == 200, ("the old key still verifies", st, b))
    finally:
        expect(env.server.stop() == 0)
        env.server = None


def test_es256(env):
    run_with(env, "ES256", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])


def test_hs256_secret_too_short_is_refused_at_startup(env):
    short = os.path.join(env.dir, "short.secret")
    with open(short, "w") as f:
        f.write("too-short")
    srv = env.start_server(workers=1, extra={"jwt_secret_file": short}, wait=False)
    srv.proc.wait(timeout=20)
    logs = srv.logs()
    env.server = None
    rc = srv.stop()  # reads the log for sanitizer reports
    expect(rc == 1 and "at least 32 bytes" in logs, (rc, logs[-500:]))
