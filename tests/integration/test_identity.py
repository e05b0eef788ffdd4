"""Identity: a real identity provider (panva's oidc-provider 9, pinned in
tests/idp/ with the Node 22 it asks for) on HTTPS loopback, the server's
JWKS fetcher (mcp-invoiced-jwks) and the official MCP TypeScript SDK
client's OAuth support. Discovery + dynamic registration + PKCE + resource
indicator, a pre-registered public client, step-up after a 403, key
rotation (timed), a flood of unknown kids (fetches counted), the provider
down and a restart from the cache file, wrong aud/iss, hostile headers,
and the faults a fetch can meet (slow, oversized, redirect)."""
import http.client
import http.server
import json
import os
import socket
import ssl
import subprocess
import threading
import time

from harness import PORT, RELEASE_BIN, ROOT, Client, Server, expect

IDP = os.path.join(ROOT, "tests", "idp")
RESOURCE = f"https://127.0.0.1:{PORT}/mcp"
REDIRECT = "http://127.0.0.1:9/callback"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def node():
    if not os.path.exists(os.path.join(IDP, "node_modules", "oidc-provider")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=IDP,
                       check=True, timeout=600)
    return os.path.join(IDP, "node_modules", ".bin", "node")


class Idp:
    """oidc-provider in a process of its own; restart() with other keys
    rotates them the way a provider's deployment does."""

    def __init__(self, env):
        self.env = env
        self.port = free_port()
        self.issuer = f"https://127.0.0.1:{self.port}"
        self.dir = os.path.join(env.dir, f"idp-{self.port}")
        os.makedirs(self.dir, exist_ok=True)
        self.cert = os.path.join(self.dir, "idp.crt")
        self.key = os.path.join(self.dir, "idp.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", self.key, "-out", self.cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        self.bundle = os.path.join(self.dir, "trust.pem")
        with open(self.bundle, "w") as f:
            f.write(open(self.cert).read() + open(env.cafile).read())
        self.ctx = ssl.create_default_context(cafile=self.cert)
        self.proc = None
        self.keys = [self.genkey("ES256", "key-1")]

    def genkey(self, alg, kid):
        out = subprocess.run([node(), "idp.mjs", "genkey", alg, kid], cwd=IDP, check=True,
                             capture_output=True, text=True, timeout=60)
        return json.loads(out.stdout)

    def start(self):
        cfg = {"port": self.port, "cert": self.cert, "key": self.key, "keys": self.keys,
               "resource": RESOURCE, "other_resources": ["https://other.example/mcp"],
               "tenant": "idp-tenant", "redirect_uri": REDIRECT, "machine_secret": "machine-secret-0123456789"}
        path = os.path.join(self.dir, "config.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        self.log = open(os.path.join(self.dir, "idp.log"), "ab")
        self.proc = subprocess.Popen([node(), "idp.mjs", "serve", path], cwd=IDP, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        expect("listening" in line, f"identity provider did not start: {line}")
        self.started = time.time()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self, keys):
        self.stop()
        self.keys = keys
        self.start()

    def request(self, method, path, body=None, headers=None):
        c = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=15)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def stats(self):
        return json.loads(self.request("GET", "/test/stats")[1])

    def sign(self, claims, kid=None, header=None):
        st, data = self.request("POST", "/test/sign", json.dumps({"claims": claims, "kid": kid,
                                                                   "header": header or {}}))
        expect(st == 200, data)
        return json.loads(data)["token"]

    def forge(self, kind, claims):
        st, data = self.request("POST", "/test/forge", json.dumps({"kind": kind, "claims": claims}))
        expect(st == 200, data)
        return json.loads(data)["token"]

    def machine_token(self, resource=RESOURCE, scope="invoices:read invoices:write payments:write"):
        """A JWT access token from the token endpoint (client_credentials)."""
        body = f"grant_type=client_credentials&resource={resource}&scope={scope}".replace(":", "%3A").replace(
            "/", "%2F").replace(" ", "+")
        import base64
        auth = base64.b64encode(b"machine:machine-secret-0123456789").decode()
        st, data = self.request("POST", "/token", body, {"Content-Type": "application/x-www-form-urlencoded",
                                                         "Authorization": "Basic " + auth})
        expect(st == 200, data)
        return json.loads(data)["access_token"]

    def claims(self, **over):
        now = int(time.time())
        c = {"iss": self.issuer, "aud": RESOURCE, "sub": "agent-x", "tenant_id": "idp-tenant",
             "scope": "invoices:read", "iat": now, "exp": now + 600}
        c.update(over)
        return c


def start_server(env, idp, extra=None, wait=True, binary=None):
    """The server with keys from the provider's JWKS (discovered from the
    https issuer): the base configuration less its HS256 key file."""
    lines = [l for l in env.base_conf.splitlines() if not l.startswith(("jwt_", "authorization_servers"))]
    conf = "\n".join(lines) + "\nworkers = 2\n" + "".join(f"{k} = {v}\n" for k, v in {
        "jwt_alg": "ES256 RS256", "jwt_issuer": idp.issuer, "jwt_jwks_ca_file": idp.cert,
        "jwt_jwks_cache_file": os.path.join(idp.dir, "jwks.cache"), **(extra or {})}.items())
    path = os.path.join(env.dir, "identity.conf")
    with open(path, "w") as f:
        f.write(conf)
    env.server = Server(env, path, binary=binary)
    env.server.workers = 2
    if wait:
        env.server.wait_ready()
    return env.server


def stop_server(env):
    env.server.stop()
    env.server = None


def ping(env, token):
    st, hdrs, body = Client(env, token).rpc("ping")
    return st, hdrs, body


def sdk(env, idp, mode, scope=None):
    args = [node(), "client.mjs", RESOURCE, mode] + ([scope] if scope else [])
    out = subprocess.run(args, cwd=IDP, capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, NODE_EXTRA_CA_CERTS=idp.bundle))
    lines = out.stdout.strip().splitlines()
    expect(lines, f"no output from client.mjs: {out.stderr[-3000:]}")
    seen = json.loads(lines[-1])
    expect(seen["ok"], f"{seen.get('error')}\n{out.stderr[-2000:]}")
    return seen


def reason(body):
    body = json.loads(body) if isinstance(body, (bytes, str)) else body
    return body["error"]["data"]["reason"]


def metric(env, name):
    return env.server.metrics().get(name, 0)


def with_idp(fn):
    """Runs fn(env, idp) with a fresh provider and server; stops both."""
    def run(env):
        idp = Idp(env)
        idp.start()
        try:
            fn(env, idp)
        finally:
            if env.server:
                stop_server(env)
            idp.stop()
    run.__name__ = fn.__name__
    return run


@with_idp
def test_discovery_registration_pkce_resource_then_tools_work(env, idp):
    start_server(env, idp)
    expect(metric(env, "mcpi_jwks_keys") == 1, env.server.metrics())
    expect(metric(env, 'mcpi_jwks_fetches_total{outcome="ok"}') == 1, env.server.metrics())
    # Discovered from the https issuer (RFC 8414 first, OpenID discovery
    # after), then one JWKS fetch.
    expect(idp.stats()["discovery"] >= 1 and idp.stats()["jwks"] == 1, idp.stats())
    seen = sdk(env, idp, "dcr")
    expect(seen["registered"], seen)  # dynamic client registration
    expect(seen["resource"] == RESOURCE and seen["code_challenge_method"] == "S256", seen)
    expect("create_invoice" in seen["tools"] and seen["read_ok"], seen)
    claims = json.loads(__import__("base64").urlsafe_b64decode(seen["access_token"].split(".")[1] + "=="))
    expect(claims["aud"] == RESOURCE and claims["tenant_id"] == "idp-tenant", claims)
    print(f"    SDK: registered {seen['registered'][:12]}..., {len(seen['tools'])} tools, "
          f"token alg ES256 kid {idp.keys[0]['kid']}")


def fetcher_status(srv):
    """The JWKS fetcher's seccomp mode and filter count and its environment."""
    pids = srv.children("mcpi-jwks")
    expect(len(pids) == 1, ("one JWKS fetcher", pids))
    status = open(f"/proc/{pids[0]}/status").read()
    mode = int(status.split("Seccomp:")[1].split()[0])
    filters = int(status.split("Seccomp_filters:")[1].split()[0])
    return mode, filters, open(f"/proc/{pids[0]}/environ", "rb").read()


@with_idp
def test_the_fetcher_is_confined_in_both_builds(env, idp):
    # The sanitizer build and the release build (no sanitizer allowances in
    # its filter): each fetcher runs under its own seccomp filter with an
    # empty environment and still fetches the provider's keys, so a token
    # the provider signs is accepted.
    for binary in (None, RELEASE_BIN):
        before = idp.stats()["jwks"]
        start_server(env, idp, binary=binary)
        mode, filters, environ = fetcher_status(env.server)
        expect(mode == 2 and filters >= 1, (binary, mode, filters))
        expect(environ == b"", (binary, "fetcher environment not empty", len(environ)))
        expect(metric(env, 'mcpi_jwks_fetches_total{outcome="ok"}') == 1, env.server.metrics())
        expect(idp.stats()["jwks"] == before + 1, idp.stats())
        st, _, body = ping(env, idp.machine_token())
        expect(st == 200, body)
        print(f"    {os.path.basename(binary or 'sanitizer build')}: fetcher Seccomp {mode} "
              f"({filters} filter{'s' if filters > 1 else ''}), empty environment, keys fetched")
        stop_server(env)


@with_idp
def test_preregistered_public_client(env, idp):
    start_server(env, idp)
    seen = sdk(env, idp, "preregistered")
    expect(seen["registered"] is None and seen["authorizations"] == 1, seen)
    expect(seen["read_ok"] and "apply_payment" in seen["tools"], seen)


@with_idp
def test_step_up_after_insufficient_scope(env, idp):
    start_server(env, idp)
    seen = sdk(env, idp, "stepup", "invoices:read")
    expect(seen["authorizations"] == 2, seen)  # once at the start, once to step up
    expect(seen["scopes"][0] == "invoices:read", seen)
    expect("invoices:write" in seen["scopes"][-1] and "invoices:read" in seen["scopes"][-1], seen)
    expect(seen["read_ok"] and seen["write_ok"], seen)
    expect("upsert_customer" not in seen["tools"], seen)  # listed with the first token's scope


@with_idp
def test_key_rotation_without_restart(env, idp):
    start_server(env, idp, {"jwt_jwks_cooldown_s": 2})
    old = idp.machine_token()
    expect(ping(env, old)[0] == 200, "old key works")
    new_key = idp.genkey("RS256", "key-2")
    # The provider publishes the new key beside the old one and signs with it.
    idp.restart([new_key, idp.keys[0]])
    appeared = idp.started
    token = idp.machine_token()
    expect(json.loads(__import__("base64").urlsafe_b64decode(token.split(".")[0] + "=="))["kid"] == "key-2", token)
    time.sleep(max(0, 2 - (time.time() - appeared)))  # past the cooldown of the first fetch
    first_ok = None
    while time.time() - appeared < 10:
        if ping(env, token)[0] == 200:
            first_ok = time.time()
            break
        time.sleep(0.05)
    expect(first_ok, "a token of the new key was never accepted:\n" + env.server.logs()[-2000:])
    print(f"    key-2 at the provider -> first accepted token: {first_ok - appeared:.2f}s "
          f"(cooldown 2 s, the first unknown-kid request asks for the fetch)")
    expect(ping(env, old)[0] == 200, "the old key still works while published")
    # The old key is dropped: refused after the next successful fetch.
    idp.restart([new_key])
    time.sleep(2.2)
    expect(ping(env, idp.sign(idp.claims(), kid="key-2"))[0] == 200, "new key")
    fetches_before = idp.stats()["jwks"]
    deadline = time.time() + 10
    while time.time() < deadline and ping(env, old)[0] == 200:
        # The cached token keeps passing until a fetch shows the key gone;
        # a token naming key-1 afresh asks for that fetch.
        ping(env, idp.sign(idp.claims(), header={"kid": "unknown-probe"}))
        time.sleep(0.3)
    st, hdrs, body = ping(env, old)
    expect(st == 401 and "kid" in reason(body), (st, body))
    expect(idp.stats()["jwks"] > fetches_before or fetches_before >= 1, idp.stats())
    expect(metric(env, "mcpi_jwks_keys") == 1, env.server.metrics())


@with_idp
def test_flood_of_unknown_kids_costs_one_fetch_per_cooldown(env, idp):
    start_server(env, idp, {"jwt_jwks_cooldown_s": 5})
    good = idp.machine_token()
    base = idp.stats()["jwks"]
    t0 = time.time()
    sent = 0
    while time.time() - t0 < 11:
        header = {"kid": f"random-{sent}"}
        st, _, _ = ping(env, idp.sign(idp.claims(), header=header))
        expect(st == 401, st)
        sent += 1
        if sent % 20 == 0:
            t = time.time()
            expect(ping(env, good)[0] == 200, "a token of a known key is served during the flood")
            expect(time.time() - t < 2, "known key answered slowly during the flood")
    elapsed = time.time() - t0
    fetches = idp.stats()["jwks"] - base
    asks = metric(env, "mcpi_jwks_refresh_requests_total")
    print(f"    {sent} tokens with random kids in {elapsed:.1f}s -> {fetches} JWKS fetches "
          f"(cooldown 5 s; {int(asks)} asks from workers)")
    expect(fetches <= int(elapsed // 5) + 1, (fetches, elapsed))
    expect(fetches >= 1, "an unknown kid must ask for a fetch")


@with_idp
def test_provider_down_then_restart_from_the_cache_file(env, idp):
    start_server(env, idp, {"jwt_jwks_cooldown_s": 1, "jwt_jwks_refresh_s": 1})
    token = idp.machine_token()
    expect(ping(env, token)[0] == 200, "up")
    idp.stop()
    time.sleep(2.5)  # periodic fetches fail meanwhile
    fresh = None
    t = time.time()
    st = ping(env, token)[0]
    expect(st == 200 and time.time() - t < 2, f"the last keys still work with the provider down ({st})")
    expect(metric(env, 'mcpi_jwks_fetches_total{outcome="unreachable"}') >= 1, env.server.metrics())
    stop_server(env)
    # A restart while the provider is still down: keys from the cache file.
    start_server(env, idp, {"jwt_jwks_cooldown_s": 1, "jwt_jwks_refresh_s": 1})
    expect(ping(env, token)[0] == 200, "keys from the cache file:\n" + env.server.logs()[-1500:])
    expect(Client(env).raw("GET", "/readyz", b"", {})[0] == 200, "ready with cached keys")
    expect("from " + os.path.join(idp.dir, "jwks.cache") in env.server.logs(), env.server.logs()[-1500:])
    del fresh


@with_idp
def test_no_keys_yet_is_not_ready(env, idp):
    idp.stop()
    start_server(env, idp, {"jwt_jwks_cache_file": os.path.join(idp.dir, "absent.cache")})
    st, _, body = Client(env).raw("GET", "/readyz", b"", {})
    expect(st == 503 and b"no_signing_keys" in body, (st, body))
    idp.start()
    deadline = time.time() + 35
    while time.time() < deadline and Client(env).raw("GET", "/readyz", b"", {})[0] != 200:
        time.sleep(0.5)
    expect(Client(env).raw("GET", "/readyz", b"", {})[0] == 200, "ready once the provider answers")


@with_idp
def test_wrong_audience_or_issuer_is_401(env, idp):
    start_server(env, idp)
    expect(ping(env, idp.machine_token())[0] == 200, "right audience")
    st, hdrs, body = ping(env, idp.machine_token(resource="https://other.example/mcp"))
    expect(st == 401 and "audience" in reason(body), body)
    expect('error="invalid_token"' in hdrs["www-authenticate"], hdrs)
    st, _, body = ping(env, idp.sign(idp.claims(iss="https://evil.example")))
    expect(st == 401 and "issuer" in reason(body), body)


@with_idp
def test_hostile_headers_are_401(env, idp):
    start_server(env, idp)
    reasons = {}
    for kind in ("jku", "jwk", "x5u", "none", "hs256-public-key"):
        st, _, body = ping(env, idp.forge(kind, idp.claims()))
        reasons[kind] = reason(body)
        expect(st == 401, (kind, st, body))
    expect("jku" in reasons["jku"] and "jwk" in reasons["jwk"], reasons)
    expect("not a signed JWT" in reasons["none"], reasons)
    expect("algorithm must be one of" in reasons["hs256-public-key"], reasons)
    # A header that would name a key is never followed: no fetch of it.
    expect(idp.stats()["jwks"] == 1, idp.stats())


@with_idp
def test_protected_resource_metadata(env, idp):
    start_server(env, idp)
    for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
        st, _, body = Client(env).raw("GET", path, b"", {})
        meta = json.loads(body)
        expect(st == 200 and meta["resource"] == RESOURCE and meta["authorization_servers"] == [idp.issuer],
               meta)
    st, hdrs, _ = Client(env).raw("POST", "/mcp", b"{}", {"Content-Type": "application/json"})
    expect(st == 401 and hdrs["www-authenticate"] == 'Bearer resource_metadata="https://127.0.0.1:'
           f'{PORT}/.well-known/oauth-protected-resource/mcp"', hdrs)


class Faulty(http.server.BaseHTTPRequestHandler):
    """A JWKS endpoint that misbehaves as told by the path."""
    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path.startswith("/slow"):
            time.sleep(8)
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "/jwks")
            self.end_headers()
            return
        body = b'{"keys":[' + b" " * 70000 + b"]}" if self.path.startswith("/big") else b'{"keys":[]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass

    def log_message(self, *args):
        pass


@with_idp
def test_fetch_faults_slow_oversized_redirect(env, idp):
    port = free_port()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Faulty)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(idp.cert, idp.key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        # The keys come from the cache the first server leaves behind.
        start_server(env, idp)
        token = idp.machine_token()
        stop_server(env)
        for path, outcome in (("/redirect", "redirect"), ("/big", "too_large"), ("/slow", "timeout")):
            t0 = time.time()
            start_server(env, idp, {"jwt_jwks_uri": f"https://127.0.0.1:{port}{path}"})
            started = time.time() - t0
            t = time.time()
            st = ping(env, token)[0]
            answered = time.time() - t
            deadline = time.time() + 8
            while time.time() < deadline and metric(env, f'mcpi_jwks_fetches_total{{outcome="{outcome}"}}') < 1:
                time.sleep(0.2)
            expect(metric(env, f'mcpi_jwks_fetches_total{{outcome="{outcome}"}}') >= 1,
                   (path, env.server.logs()[-1500:]))
            print(f"    {path}: outcome {outcome}, start-up {started:.1f}s, a known key answered "
                  f"{st} in {answered * 1000:.0f} ms")
            expect(st == 200 and answered < 2, (path, st, answered))
            stop_server(env)
    finally:
        httpd.shutdown()
