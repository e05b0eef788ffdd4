"""JWT authentication and scopes: every refusal case, one request each."""
import base64
import hashlib
import hmac
import json
import time

from harness import AUDIENCE, ISSUER, PORT, Client, b64url, expect

SERVER = dict(workers=2)

# RFC 9728 5.1: the path-specific metadata URL; RFC 6750 3.1: no error
# code when the request carried no token.
METADATA = f"https://127.0.0.1:{PORT}/.well-known/oauth-protected-resource/mcp"
WWW = f'Bearer error="invalid_token", resource_metadata="{METADATA}"'
WWW_NO_TOKEN = f'Bearer resource_metadata="{METADATA}"'


def refused(env, token, reason_part=None, headers=None):
    c = Client(env)
    h = {"Content-Type": "application/json"}
    if token is not None:
        h["Authorization"] = "Bearer " + token
    h.update(headers or {})
    st, hdrs, body = c.raw("POST", "/mcp", b'{"jsonrpc":"2.0","id":1,"method":"ping"}', h)
    expect(st == 401, (st, body))
    no_token = token is None or token == "" or (headers or {}).get("Authorization", "").startswith("Basic")
    expect(hdrs.get("www-authenticate") == (WWW_NO_TOKEN if no_token else WWW), hdrs.get("www-authenticate"))
    reason = json.loads(body)["error"]["data"]["reason"]
    if reason_part:
        expect(reason_part in reason, reason)
    return reason


def test_valid_token_is_accepted(env):
    c = Client(env, env.token())
    st, _, b = c.rpc("ping")
    expect(st == 200, (st, b))


def test_missing_and_malformed_authorization(env):
    refused(env, None, "no bearer token")
    refused(env, None, "no bearer token", headers={"Authorization": "Basic YWxhZGRpbjpvcGVu"})
    refused(env, "", "no bearer token")
    refused(env, "garbage", "three dot-separated")
    refused(env, "a.b.c", "header is not base64url JSON")
    refused(env, "a.b", "three dot-separated")


def test_bad_signature(env):
    refused(env, env.token(secret=b"x" * 48), "signature")
    t = env.token()
    refused(env, t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"), "signature")


def test_alg_none_is_refused(env):
    h = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    now = int(time.time())
    c = b64url(json.dumps({"iss": "mcp-invoiced-dev", "aud": AUDIENCE, "sub": "x",
                           "tenant_id": "acme", "exp": now + 60}).encode())
    refused(env, f"{h}.{c}.", "three dot-separated")
    refused(env, f"{h}.{c}.AAAA", "algorithm must be HS256")


def test_other_algorithms_are_refused(env):
    refused(env, env.token(header={"alg": "HS512"}), "algorithm must be HS256")
    refused(env, env.token(header={"alg": "RS256"}), "algorithm must be HS256")
    refused(env, env.token(header={"alg": "hs256"}), "algorithm must be HS256")
    refused(env, env.token(header={"typ": "JWE"}), "type (typ) is not accepted")
    refused(env, env.token(header={"crit": ["exp"]}), "critical")


def test_expiry_and_leeway(env):
    now = int(time.time())
    refused(env, env.token(claims={"exp": now - 120}), "expired")
    refused(env, env.token(drop=("exp",)), "exp")
    refused(env, env.token(claims={"exp": "tomorrow"}), "exp")
    # Within the 30 s leeway: accepted.
    c = Client(env, env.token(claims={"exp": now - 10}))
    expect(c.rpc("ping")[0] == 200)


def test_rfc9068_access_tokens_are_accepted(env):
    for typ in ("at+jwt", "application/at+jwt", "AT+JWT", "jwt", "JWT", "application/jwt",
                "Application/JWT", "APPLICATION/AT+JWT", "application/At+Jwt"):
        c = Client(env, env.token(header={"typ": typ}))
        st, _, b = c.rpc("ping")
        expect(st == 200, (typ, st, b))
    c = Client(env, env.token(drop=()))
    expect(c.rpc("ping")[0] == 200)
    for typ in ("foo", "at+jwtx", "JWT\u0000", 7, "", "application/", "application/json",
                "application/jwtx", "text/jwt", "jwt ", " application/jwt", "application/jose",
                "at+jwt; charset=utf-8", "application//jwt", "xapplication/jwt"):
        refused(env, env.token(header={"typ": typ}), "typ")


def test_time_claims_out_of_range_are_refused_and_workers_survive(env):
    now = int(time.time())
    cases = [({"exp": 2 ** 63 - 1}, "exp claim must be a NumericDate"),
             ({"exp": 2 ** 64 + 1}, "exp claim must be a NumericDate"),
             ({"exp": 1.7e19}, "exp claim must be a NumericDate"),
             ({"exp": -1}, "exp claim must be a NumericDate"),
             ({"exp": "tomorrow"}, "exp claim must be a NumericDate"),
             ({"exp": 253402300800}, "exp claim must be a NumericDate"),
             ({"nbf": 2 ** 63 - 1}, "nbf claim must be a NumericDate"),
             ({"nbf": -1e308}, "nbf claim must be a NumericDate"),
             ({"iat": 2 ** 63 - 1}, "iat claim must be a NumericDate"),
             ({"iat": 1e300}, "iat claim must be a NumericDate")]
    for claims, why in cases:
        refused(env, env.token(claims=claims), why)
    # The largest accepted date works (and nothing overflowed on the way).
    c = Client(env, env.token(claims={"exp": 253402300799, "nbf": 0, "iat": now}))
    expect(c.rpc("ping")[0] == 200)
    pids = set(env.server.worker_pids())
    expect(len(pids) == 2 and "runtime error" not in env.server.logs(), env.server.logs()[-2000:])


def test_nbf_and_iat(env):
    now = int(time.time())
    refused(env, env.token(claims={"nbf": now + 300}), "nbf")
    refused(env, env.token(claims={"iat": now + 300}), "iat")
    c = Client(env, env.token(claims={"nbf": now + 10, "iat": now + 10}))
    expect(c.rpc("ping")[0] == 200, "nbf/iat within leeway")


def test_issuer_and_audience(env):
    refused(env, env.token(claims={"iss": "https://evil.example.com"}), "issuer")
    refused(env, env.token(drop=("iss",)), "issuer")
    refused(env, env.token(claims={"aud": "https://other.example.com/mcp"}), "audience")
    refused(env, env.token(drop=("aud",)), "audience")
    c = Client(env, env.token(claims={"aud": ["https://other.example.com", AUDIENCE]}))
    expect(c.rpc("ping")[0] == 200, "aud array containing ours")


def test_tenant_and_subject_claims(env):
    refused(env, env.token(drop=("tenant_id",)), "tenant_id")
    refused(env, env.token(tenant=""), "tenant_id")
    refused(env, env.token(tenant="a b"), "tenant_id")
    refused(env, env.token(tenant=42), "tenant_id")
    refused(env, env.token(drop=("sub",)), "sub")


def test_nul_in_string_claims_and_header_fields_is_refused(env):
    """A correctly signed token whose string claims or header fields carry an
    escaped NUL is refused: no C-string reading may serve "acme\\u0000evil"
    as tenant "acme"."""
    cases = [(dict(tenant="acme\u0000evil"), "tenant_id claim contains a NUL"),
             (dict(sub="agent-1\u0000admin"), "sub claim contains a NUL"),
             (dict(claims={"iss": ISSUER + "\u0000x"}), "iss claim contains a NUL"),
             (dict(claims={"aud": AUDIENCE + "\u0000x"}), "aud claim contains a NUL"),
             (dict(claims={"aud": ["x", AUDIENCE + "\u0000x"]}), "aud claim contains a NUL"),
             (dict(scope="invoices:read\u0000 payments:write"), "scope claim contains a NUL"),
             (dict(claims={"jti": "a\u0000b"}), "jti claim contains a NUL"),
             (dict(claims={"tenant_id\u0000x": "evil"}), "claims: an object key contains a NUL"),
             (dict(header={"alg": "HS256\u0000x"}), "header alg contains a NUL"),
             (dict(header={"typ": "JWT\u0000x"}), "header typ contains a NUL"),
             (dict(header={"kid\u0000": "k"}), "header: an object key contains a NUL")]
    for kw, why in cases:
        refused(env, env.token(**kw), why)
    # The same tokens without the NUL are served, as the tenant they name.
    c = Client(env, env.token(tenant="acme"))
    expect(c.rpc("ping")[0] == 200)


def test_non_json_claims(env):
    h = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(b"not json")
    sig = b64url(hmac.new(env.secret, f"{h}.{body}".encode(), hashlib.sha256).digest())
    refused(env, f"{h}.{body}.{sig}", "claims")
    # Claims json-c would read but that are not strict JSON (RFC 8259).
    now = int(time.time())
    good = (f'{{"iss":"{ISSUER}","aud":"{AUDIENCE}","sub":"s","tenant_id":"acme",'
            f'"exp":{now + 60}').encode()
    for text, why in ((good + b'}/* c */', "claims: a comment"),
                      (good + b',"n":01}', "claims: a number may not have a leading zero"),
                      (good + b',"n":NaN}', "claims: NaN and Infinity"),
                      (good + b',}', "claims: a trailing comma"),
                      (good.replace(b'"acme"', b"'acme'") + b'}', "claims: strings and names take double quotes")):
        body = b64url(text)
        sig = b64url(hmac.new(env.secret, f"{h}.{body}".encode(), hashlib.sha256).digest())
        refused(env, f"{h}.{body}.{sig}", why)
    body = b64url(good + b'}')
    sig = b64url(hmac.new(env.secret, f"{h}.{body}".encode(), hashlib.sha256).digest())
    expect(Client(env, f"{h}.{body}.{sig}").rpc("ping")[0] == 200)


def test_claims_and_header_not_utf8_or_with_lone_surrogates_are_refused(env):
    """Correctly signed tokens whose claims or header are not UTF-8 (raw
    bytes) or escape an unpaired surrogate are refused; the same tokens
    with valid text are served."""
    now = int(time.time())
    hdr = b'{"alg":"HS256","typ":"JWT"}'

    def claims(note):
        return (f'{{"iss":"{ISSUER}","aud":"{AUDIENCE}","sub":"s","tenant_id":"acme","note":').encode() + \
            note + f',"scope":"invoices:read","exp":{now + 60}}}'.encode()

    def signed(header, body):
        h, b = b64url(header), b64url(body)
        return f"{h}.{b}.{b64url(hmac.new(env.secret, f'{h}.{b}'.encode(), hashlib.sha256).digest())}"

    bad = [(hdr, claims(b'"acme\xff"'), "claims"),                # not UTF-8 at all
           (hdr, claims(b'"acme\xc3"'), "claims"),                # truncated sequence
           (hdr, claims(b'"acme\xed\xa0\x80"'), "claims"),        # a surrogate encoded in UTF-8
           (hdr, claims(b'"acme\xc0\xaf"'), "claims"),            # overlong "/"
           (hdr, claims(b'"acme\\ud800"'), "claims"),             # escaped lone high surrogate
           (hdr, claims(b'"acme\\udc00x"'), "claims"),            # escaped lone low surrogate
           (hdr, claims(b'"\\udc00\\ud800"'), "claims"),          # reversed pair
           (b'{"alg":"HS256","typ":"JWT\xff"}', claims(b'"acme"'), "header"),
           (b'{"alg":"HS256","typ":"JWT","kid":"\\ud800"}', claims(b'"acme"'), "header")]
    for header, body, where in bad:
        refused(env, signed(header, body), where)
    # Valid text, including an escaped surrogate pair and raw UTF-8, is served.
    for note in (b'"acme"', b'"caf\xc3\xa9"', b'"\\ud83d\\ude00"'):
        st, _, b = Client(env, signed(hdr, claims(note))).rpc("ping")
        expect(st == 200, (note, st, b))


def test_insufficient_scope_is_403(env):
    c = Client(env, env.token(scope="invoices:read"))
    st, hdrs, b = c.call("create_invoice", {"customer_id": "c1",
                                            "line_items": [{"description": "x", "amount_cents": 1}]})
    expect(st == 403, (st, b))
    expect('error="insufficient_scope"' in hdrs["www-authenticate"], hdrs)
    # Every scope the call needs plus those the token holds (MCP scope
    # challenge, recommended approach), and where to find the AS.
    expect('scope="invoices:read invoices:write"' in hdrs["www-authenticate"], hdrs)
    expect(f'resource_metadata="{METADATA}"' in hdrs["www-authenticate"], hdrs)
    expect(b["error"]["data"]["scope"] == "invoices:write", b)
    # The read scope is enough for reading.
    st, _, b = c.call("list_invoices", {"customer_id": "c1"})
    expect(st == 200 and b["result"]["isError"] is False, b)
    # A scope that merely contains the name is not the scope.
    c = Client(env, env.token(scope="invoices:readonly"))
    st, _, _ = c.call("list_invoices", {"customer_id": "c1"})
    expect(st == 403, st)


def test_tokens_and_secret_never_logged(env):
    tok = env.token()
    c = Client(env, tok)
    c.rpc("ping")
    refused(env, tok + "x")
    logs = env.server.logs()
    sig = tok.rsplit(".", 1)[1]
    expect(sig not in logs and tok not in logs, "token found in the log")
    expect(env.secret.decode() not in logs, "secret found in the log")
    expect(base64.b64encode(env.secret).decode() not in logs)


def test_tools_list_shows_only_what_the_token_may_call(env):
    def names(scope):
        st, _, b = Client(env, env.token(scope=scope)).rpc("tools/list")
        expect(st == 200, (st, b))
        return {t["name"]: t["annotations"]["readOnlyHint"] for t in b["result"]["tools"]}

    everything = names("invoices:read invoices:write payments:write")
    read_only = names("invoices:read")
    expect(read_only and all(read_only.values()), read_only)
    expect(set(read_only) == {n for n, ro in everything.items() if ro}, (read_only, everything))
    payments = names("payments:write")
    expect(set(payments) == {"apply_payment", "apply_credit", "reverse_payment"}, payments)
    expect(names("") == {}, "no scope, no tools")

