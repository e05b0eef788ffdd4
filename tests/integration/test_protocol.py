"""HTTP transport and MCP protocol behaviour, both protocol eras."""
import base64
import datetime
import json
import os
import re
import socket
import ssl
import subprocess
import time

from harness import PORT, Client, expect

SERVER = dict(workers=2, extra={"allowed_origins": "https://app.example.com"})

MODERN = "2026-07-28"


def modern_headers(method, name=None, version=MODERN):
    h = {"MCP-Protocol-Version": version, "Mcp-Method": method}
    if name is not None:
        h["Mcp-Name"] = name
    return h


def meta(version=MODERN):
    return {"_meta": {"io.modelcontextprotocol/protocolVersion": version,
                      "io.modelcontextprotocol/clientCapabilities": {},
                      "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"}}}


def test_initialize_echoes_supported_version(env):
    c = Client(env, env.token())
    for v in ("2025-11-25", "2025-06-18", "2025-03-26"):
        st, _, b = c.rpc("initialize", {"protocolVersion": v, "capabilities": {},
                                        "clientInfo": {"name": "t", "version": "1"}})
        expect(st == 200 and b["result"]["protocolVersion"] == v, b)
        expect(b["result"]["serverInfo"]["name"] == "mcp-invoiced")
        expect("tools" in b["result"]["capabilities"])
    st, hdrs, b = c.rpc("initialize", {"protocolVersion": "1999-01-01", "capabilities": {},
                                       "clientInfo": {"name": "t", "version": "1"}})
    expect(b["result"]["protocolVersion"] == "2025-11-25", b)
    expect("mcp-session-id" not in hdrs, "stateless: no session id")


def test_initialized_notification_is_202(env):
    c = Client(env, env.token())
    st, _, b = c.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
    expect(st == 202 and b is None, (st, b))


def test_ping(env):
    c = Client(env, env.token())
    st, _, b = c.rpc("ping", id="p1")
    expect(st == 200 and b == {"jsonrpc": "2.0", "id": "p1", "result": {}}, b)


def test_tools_list_declares_schemas_and_annotations(env):
    c = Client(env, env.token())
    st, _, b = c.rpc("tools/list", {}, headers={"MCP-Protocol-Version": "2025-11-25"})
    expect(st == 200, st)
    tools = {t["name"]: t for t in b["result"]["tools"]}
    expect({"create_invoice", "list_invoices"} <= set(tools), tools.keys())
    ci = tools["create_invoice"]
    expect(ci["inputSchema"]["type"] == "object")
    expect(ci["inputSchema"]["required"] == ["customer_id", "line_items"], ci["inputSchema"])
    item = ci["inputSchema"]["properties"]["line_items"]["items"]
    expect(item["properties"]["amount_cents"]["minimum"] == 0)
    expect(item["properties"]["quantity"]["default"] == 1)
    expect(ci["outputSchema"]["type"] == "object")
    expect(ci["annotations"]["readOnlyHint"] is False)
    expect(tools["list_invoices"]["annotations"]["readOnlyHint"] is True)
    expect(ci["title"] == "Create invoice")
    expect("resultType" not in b["result"], "legacy era results carry no resultType")


def test_unsupported_protocol_header_is_400(env):
    c = Client(env, env.token())
    st, _, b = c.rpc("tools/list", {}, headers={"MCP-Protocol-Version": "2024-01-01"})
    expect(st == 400, st)
    expect(b["error"]["code"] == -32022, b)
    expect(MODERN in b["error"]["data"]["supported"], b)
    expect(b["error"]["data"]["requested"] == "2024-01-01", b)


def test_modern_discover(env):
    c = Client(env, env.token())
    st, _, b = c.rpc("server/discover", meta(), headers=modern_headers("server/discover"))
    expect(st == 200, (st, b))
    r = b["result"]
    expect(r["resultType"] == "complete", r)
    expect(MODERN in r["supportedVersions"] and "2025-11-25" in r["supportedVersions"], r)
    expect(r["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "mcp-invoiced", r)
    expect("tools" in r["capabilities"])


def test_modern_tools_list_is_cacheable(env):
    c = Client(env, env.token())
    st, _, b = c.rpc("tools/list", meta(), headers=modern_headers("tools/list"))
    expect(st == 200, b)
    r = b["result"]
    expect(r["resultType"] == "complete" and r["cacheScope"] == "private" and r["ttlMs"] > 0, r)
    expect("io.modelcontextprotocol/serverInfo" in r["_meta"], r)


def test_modern_tools_call_with_headers(env):
    c = Client(env, env.token())
    params = {"name": "list_invoices", "arguments": {"customer_id": "nobody"}}
    params.update(meta())
    st, _, b = c.rpc("tools/call", params, headers=modern_headers("tools/call", "list_invoices"))
    expect(st == 200 and b["result"]["resultType"] == "complete", b)
    expect(b["result"]["structuredContent"] == {"invoices": [], "next_cursor": None}, b)
    # Mcp-Name in the Base64 sentinel form decodes before comparison.
    enc = "=?base64?" + base64.b64encode(b"list_invoices").decode() + "?="
    st, _, b = c.rpc("tools/call", params, headers=modern_headers("tools/call", enc))
    expect(st == 200 and "result" in b, b)


def test_modern_header_mismatches_are_32020(env):
    c = Client(env, env.token())
    params = {"name": "list_invoices", "arguments": {"customer_id": "x"}}
    params.update(meta())
    cases = [
        modern_headers("tools/call", "create_invoice"),      # Mcp-Name differs
        modern_headers("tools/list", "list_invoices"),       # Mcp-Method differs
        {"MCP-Protocol-Version": MODERN, "Mcp-Name": "list_invoices"},  # Mcp-Method missing
        modern_headers("tools/call"),                        # Mcp-Name missing
        modern_headers("tools/call", "list_invoices", version="2025-11-25"),  # version differs
        {"Mcp-Method": "tools/call", "Mcp-Name": "list_invoices"},  # version header missing
    ]
    for h in cases:
        st, _, b = c.rpc("tools/call", params, headers=h)
        expect(st == 400 and b["error"]["code"] == -32020, (h, st, b))
        expect("Header mismatch" in b["error"]["message"], b)


def test_modern_unsupported_version_in_meta_is_32022(env):
    c = Client(env, env.token())
    st, _, b = c.rpc("tools/list", meta("2030-01-01"),
                     headers=modern_headers("tools/list", version="2030-01-01"))
    expect(st == 400 and b["error"]["code"] == -32022, b)
    expect(b["error"]["data"]["supported"][0] == MODERN, b)


def test_modern_requests_must_carry_version_and_capabilities_in_meta(env):
    c = Client(env, env.token())
    for params in ({}, {"_meta": {"io.modelcontextprotocol/protocolVersion": MODERN}},
                   {"_meta": {"io.modelcontextprotocol/protocolVersion": MODERN,
                              "io.modelcontextprotocol/clientCapabilities": "all"}}):
        st, _, b = c.rpc("tools/list", params, id="m1", headers=modern_headers("tools/list"))
        expect(st == 400 and b["error"]["code"] == -32602 and b["id"] == "m1", (params, st, b))
        expect("clientCapabilities" in b["error"]["message"], b)
    st, _, b = c.rpc("tools/list", meta(), headers=modern_headers("tools/list"))
    expect(st == 200 and "tools" in b["result"], b)


def test_errors_carry_the_request_id_once_the_body_is_parsed(env):
    c = Client(env, env.token())
    st, _, b = c.rpc("tools/list", meta(), id=41, headers=modern_headers("tools/list", version="2030-01-01"))
    expect(st == 400 and b["error"]["code"] == -32022 and b["id"] == 41, b)
    st, _, b = c.rpc("tools/list", meta(), id="x", headers={"MCP-Protocol-Version": MODERN,
                                                            "Mcp-Method": "tools/call"})
    expect(st == 400 and b["error"]["code"] == -32020 and b["id"] == "x", b)


def test_modern_has_no_initialize_or_ping(env):
    c = Client(env, env.token())
    for m in ("initialize", "ping"):
        st, _, b = c.rpc(m, meta(), headers=modern_headers(m))
        expect(st == 404 and b["error"]["code"] == -32601, (m, st, b))


def test_jsonrpc_errors(env):
    c = Client(env, env.token())
    st, _, b = c.post(None, raw_body=b'{"jsonrpc":"2.0","id":1,"method":')
    expect(st == 400 and b["error"]["code"] == -32700, b)
    st, _, b = c.post(None, raw_body=b'{"jsonrpc":"2.0","id":1,"method":"ping"} x')
    expect(st == 400 and b["error"]["code"] == -32700, b)
    st, _, b = c.post([{"jsonrpc": "2.0", "id": 1, "method": "ping"}])
    expect(st == 400 and b["error"]["code"] == -32600, b)
    st, _, b = c.post({"id": 1, "method": "ping"})
    expect(st == 400 and b["error"]["code"] == -32600, b)
    st, _, b = c.post({"jsonrpc": "2.0", "id": {"x": 1}, "method": "ping"})
    expect(st == 400 and b["error"]["code"] == -32600, b)
    st, _, b = c.post({"jsonrpc": "2.0", "id": 1, "method": 5})
    expect(st == 400 and b["error"]["code"] == -32600, b)
    st, _, b = c.post({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": [1]})
    expect(st == 400 and b["error"]["code"] == -32600, b)
    st, _, b = c.rpc("no/such/method", {}, id=7)
    expect(st == 200 and b["error"]["code"] == -32601 and b["id"] == 7, b)
    st, _, b = c.call("no_such_tool", {})
    expect(st == 200 and b["error"]["code"] == -32602, b)
    expect("no_such_tool" in b["error"]["message"], b)
    st, _, b = c.rpc("tools/call", {"arguments": {}})
    expect(b["error"]["code"] == -32602, b)


def test_http_routing(env):
    c = Client(env)
    for m in ("GET", "DELETE"):
        st, h, _ = c.raw(m, "/mcp", b"", {})
        expect(st == 405 and h["allow"] == "POST", (m, st, h))
    st, _, _ = c.raw("GET", "/elsewhere", b"", {})
    expect(st == 404, st)
    st, _, _ = c.raw("POST", "/mcpx", b"{}", {"Content-Type": "application/json"})
    expect(st == 404, st)


def test_protected_resource_metadata(env):
    import json
    c = Client(env)
    for path in ("/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"):
        st, h, body = c.raw("GET", path, b"", {})
        expect(st == 200, (path, st))
        doc = json.loads(body)
        expect(doc["resource"] == f"https://127.0.0.1:{PORT}/mcp", doc)
        expect("authorization_servers" not in doc, "the dev issuer is no URL: left out")
        expect(doc["bearer_methods_supported"] == ["header"], doc)
        expect("invoices:read" in doc["scopes_supported"], doc)


def test_content_type_must_be_json(env):
    c = Client(env, env.token())
    st, _, b = c.post({"jsonrpc": "2.0", "id": 1, "method": "ping"},
                      headers={"Content-Type": "text/plain"})
    expect(st == 415, st)
    st, _, b = c.post({"jsonrpc": "2.0", "id": 1, "method": "ping"},
                      headers={"Content-Type": "application/json; charset=utf-8"})
    expect(st == 200, st)


def test_origin_checked(env):
    c = Client(env, env.token())
    st, _, _ = c.rpc("ping", headers={"Origin": "https://evil.example.com"})
    expect(st == 403, st)
    st, _, _ = c.rpc("ping", headers={"Origin": "https://app.example.com"})
    expect(st == 200, st)
    # DNS-rebinding protection refuses foreign origins only: the server's
    # own origin, and on this loopback listener loopback ones, are fine.
    for origin in (f"https://127.0.0.1:{PORT}", "http://localhost:6274", "http://127.0.0.1",
                   "http://[::1]:3000", "HTTP://LOCALHOST"):
        st, _, _ = c.rpc("ping", headers={"Origin": origin})
        expect(st == 200, (origin, st))
    for origin in ("http://localhost.evil.com", "http://127.0.0.1.evil.com", "http://localhost:80x",
                   "file://localhost", "http://127.0.0.1:3000/path", "null"):
        st, _, _ = c.rpc("ping", headers={"Origin": origin})
        expect(st == 403, (origin, st))


def test_cors_for_allowed_origins(env):
    c = Client(env, env.token())
    st, h, _ = c.raw("OPTIONS", "/mcp", b"", {"Origin": "https://app.example.com",
                                             "Access-Control-Request-Method": "POST"})
    expect(st == 204, st)
    expect(h["access-control-allow-origin"] == "https://app.example.com", h)
    expect("POST" in h["access-control-allow-methods"], h)
    expect("mcp-protocol-version" in h["access-control-allow-headers"].lower(), h)
    st, _, _ = c.raw("OPTIONS", "/mcp", b"", {"Origin": "https://evil.example.com"})
    expect(st == 403, st)
    st, h, _ = c.rpc("ping", headers={"Origin": "https://app.example.com"})
    expect(st == 200 and h["access-control-allow-origin"] == "https://app.example.com", h)
    expect("www-authenticate" in h["access-control-expose-headers"].lower(), h)
    st, h, _ = c.rpc("ping")
    expect(st == 200 and "access-control-allow-origin" not in h, "no CORS without Origin")


def test_body_too_large_is_413(env):
    # Refused from the Content-Length alone, before any body byte is read.
    s = tls_socket()
    s.sendall(b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 1048577\r\n\r\n")
    expect(read_status(s) == 413)
    s.close()
    # A body of exactly max_body_bytes is read and answered (here: not JSON-RPC).
    c = Client(env, env.token())
    body = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"'
    body += b"a" * (1048576 - len(body) - 3) + b'"}}'
    st, _, b = c.post(None, raw_body=body)
    expect(st == 200 and b["result"] == {}, (st, b))


def tls_socket():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = socket.create_connection(("127.0.0.1", PORT), timeout=15)
    return ctx.wrap_socket(s)


def read_status(s):
    data = b""
    while b"\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ")[1]) if data else None


def expect_no_answer(s, window=0.3):
    """Nothing arrives on s for window seconds (a measuring window: the
    server, holding part of a request, must wait for the rest)."""
    s.settimeout(window)
    try:
        data = s.recv(1)
    except socket.timeout:
        data = None
    s.settimeout(15)
    expect(data is None, f"answered {data!r} before the request was complete")


def test_refused_from_the_head_before_any_body_is_read(env):
    head = (b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 500000\r\nAuthorization: Bearer not-a-token\r\n\r\n")
    s = tls_socket()
    s.sendall(head)
    # No byte of the body is ever sent: a server that read it before judging
    # the head could only time out (408) or not answer (the socket's 15 s).
    expect(read_status(s) == 401, "401 before the body")
    s.close()
    s = tls_socket()
    s.settimeout(3)
    s.sendall(b"POST /elsewhere HTTP/1.1\r\nHost: x\r\nContent-Length: 9000\r\n\r\n")
    expect(read_status(s) == 404)
    s.close()
    # With a valid token the body is awaited, then answered.
    body = b'{"jsonrpc":"2.0","id":1,"method":"ping"}'
    s = tls_socket()
    s.settimeout(5)
    s.sendall(b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Authorization: Bearer " + env.token().encode() + b"\r\nContent-Length: " +
              str(len(body)).encode() + b"\r\n\r\n" + body[:10])
    expect_no_answer(s)
    s.sendall(body[10:])
    expect(read_status(s) == 200)
    s.close()


def read_response(s):
    """(status, body) of one Content-Length framed response on s."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            return None, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(rest) < length:
        rest += s.recv(4096)
    return int(head.split(b" ")[1]), rest[:length]


def test_http11_host_absolute_form_and_expect(env):
    tok = env.token().encode()
    body = b'{"jsonrpc":"2.0","id":1,"method":"ping"}'
    auth = b"Content-Type: application/json\r\nAuthorization: Bearer " + tok + b"\r\n"
    length = b"Content-Length: " + str(len(body)).encode() + b"\r\n"
    # No Host, two, or one that is not uri-host [":" port]: 400 naming the rule.
    for hosts, rule in ((b"", b"exactly one Host"), (b"Host: a\r\nHost: b\r\n", b"exactly one Host"),
                        (b"Host: a b\r\n", b"reg-name"), (b"Host: x/y\r\n", b"reg-name"),
                        (b"Host: h:99999\r\n", b"port"), (b"Host: [::g]\r\n", b"IPv6")):
        s = tls_socket()
        s.sendall(b"POST /mcp HTTP/1.1\r\n" + hosts + auth + length + b"\r\n" + body)
        st, b = read_response(s)
        expect(st == 400 and rule in b, (hosts, st, b))
        s.close()
    for good in (b"[::1]:443", b"127.0.0.1:%d" % PORT, b"localhost"):
        s = tls_socket()
        s.sendall(b"POST /mcp HTTP/1.1\r\nHost: " + good + b"\r\n" + auth + length + b"\r\n" + body)
        st, b = read_response(s)
        expect(st == 200, (good, st, b))
        s.close()
    # absolute-form is routed by its path.
    s = tls_socket()
    s.sendall(b"POST https://127.0.0.1:%d/mcp HTTP/1.1\r\nHost: x\r\n" % PORT + auth + length + b"\r\n" + body)
    st, b = read_response(s)
    expect(st == 200 and json.loads(b)["result"] == {}, (st, b))
    s.close()
    # Expect: 100-continue: 100 first, then the body, then the answer.
    s = tls_socket()
    s.settimeout(5)
    s.sendall(b"POST /mcp HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n" + auth + length + b"\r\n")
    interim = s.recv(4096)
    expect(interim == b"HTTP/1.1 100 Continue\r\n\r\n", interim)
    s.sendall(body)
    st, b = read_response(s)
    expect(st == 200, (st, b))
    # Same connection, body sent with the head: no 100 this time.
    s.sendall(b"POST /mcp HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n" + auth + length + b"\r\n" + body)
    st, b = read_response(s)
    expect(st == 200, (st, b))
    s.close()
    # When the head decides, the final status comes at once, without 100.
    for extra, want in ((b"Authorization: Bearer nope\r\nContent-Type: application/json\r\n" + length, 401),
                        (b"Content-Type: text/plain\r\n" + length, 415),
                        (auth + b"Content-Length: 99999999\r\n", 413),
                        (auth + b"Expect: 200-ok\r\n" + length, 417)):
        s = tls_socket()
        s.settimeout(5)
        s.sendall(b"POST /mcp HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n" + extra + b"\r\n")
        st, b = read_response(s)
        expect(st == want, (extra, st, b))
        s.close()


def test_headers_too_large_is_431(env):
    s = tls_socket()
    s.sendall(b"POST /mcp HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 17000 + b"\r\n\r\n")
    expect(read_status(s) == 431)
    s.close()


def test_malformed_http_is_400(env):
    for raw in (b"POST /mcp HTTP/1.1\nHost: x\n\n",             # bare LF
                b"POST  /mcp HTTP/1.1\r\n\r\n",                 # double space
                b"POST /mcp HTTP/2.0\r\n\r\n",                  # wrong version
                b"POST /mcp HTTP/1.1\r\nBad Header: x\r\n\r\n",  # space in name
                b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
                b"POST /mcp HTTP/1.1\r\n folded: x\r\n\r\n"):
        s = tls_socket()
        s.sendall(raw)
        st = read_status(s)
        expect(st == 400, (raw, st))
        s.close()


def test_chunked_bodies(env):
    tok = env.token().encode()
    body = b'{"jsonrpc":"2.0","id":7,"method":"ping"}'
    chunks = b"5\r\n" + body[:5] + b"\r\n" + hex(len(body) - 5)[2:].encode() + b";ext=1\r\n" + body[5:] + \
        b"\r\n0\r\nX-Trailer: ignored\r\n\r\n"
    head = (b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + tok + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
    s = tls_socket()
    s.sendall(head + chunks[:9])
    expect_no_answer(s)
    s.sendall(chunks[9:])
    expect(read_status(s) == 200)
    s.close()
    # Python's own chunked encoder, on a keep-alive connection.
    c = Client(env, env.token())
    c.connect()
    c.conn.request("POST", "/mcp", body=iter([body[:10], body[10:]]), encode_chunked=True,
                   headers={"Content-Type": "application/json", "Authorization": "Bearer " + tok.decode(),
                            "Transfer-Encoding": "chunked"})
    r = c.conn.getresponse()
    expect(r.status == 200 and b'"id":7' in r.read(), r.status)
    for bad, status in ((b"zz\r\n", 400), (b"5\r\nabcdeXX0\r\n\r\n", 400)):
        s = tls_socket()
        s.sendall(head + bad)
        expect(read_status(s) == status, bad)
        s.close()
    s = tls_socket()
    s.sendall(head.replace(b"chunked", b"gzip") + b"0\r\n\r\n")
    expect(read_status(s) == 501)
    s.close()
    s = tls_socket()
    s.sendall(head + b"100001\r\n")  # more than max_body_bytes announced by one chunk
    expect(read_status(s) == 413)
    s.close()
    s = tls_socket()
    s.sendall(b"POST /mcp HTTP/1.1\r\nHost: x\r\n\r\n")
    expect(read_status(s) == 411)
    s.close()


def test_slow_headers_get_408(env):
    # header_timeout_s (10) runs from accept, which comes after t0: the 408
    # may never come sooner by the client's clock. The server's own log
    # says when it answered (free of the client's scheduling); a timer run
    # late by a loaded machine is allowed up to half the timeout again.
    t0 = time.time()
    s = tls_socket()
    s.sendall(b"POST /mcp HTTP/1.1\r\nHost: x\r\n")
    st = read_status(s)
    took = time.time() - t0
    s.close()
    expect(st == 408, st)
    lines = [json.loads(ln) for ln in env.server.logs().splitlines()
             if '"func":"access"' in ln and '"status":408' in ln]
    answered = datetime.datetime.strptime(lines[-1]["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    print(f"    408 after {took:.3f} s (client), {answered - t0:.3f} s by the server's log")
    expect(took >= 10.0, f"408 after {took:.3f} s, before header_timeout_s")
    expect(answered - t0 < 15.0, f"408 logged {answered - t0:.3f} s after the connect")


def test_keep_alive_serves_many_requests_on_one_connection(env):
    before = env.server.metrics()["mcpi_request_duration_seconds_count"]
    c = Client(env, env.token())
    for i in range(50):
        st, h, b = c.rpc("ping", id=i)
        expect(st == 200 and b["id"] == i)
    expect(c.conn is not None, "connection stayed open")
    m = env.server.metrics()
    expect(m["mcpi_request_duration_seconds_count"] >= before + 50, (before, m))
    buckets = [v for k, v in m.items() if k.startswith("mcpi_request_duration_seconds_bucket")]
    expect(buckets == sorted(buckets) and buckets[-1] == m["mcpi_request_duration_seconds_count"], buckets)
    expect(m["mcpi_request_duration_seconds_sum"] > 0, m)
    expect(h["cache-control"] == "no-store" and "max-age" in h["strict-transport-security"], h)
    expect(re.fullmatch(r"\d+-\d+", h["x-request-id"]), h)


def strict_json(data):
    """Parses a response as strict UTF-8 JSON with no lone surrogates."""
    text = data.decode("utf-8")  # raises on invalid UTF-8
    return json.loads(text)


def test_nul_bytes_and_bad_unicode_are_refused_precisely(env):
    c = Client(env, env.token())
    hdr = {"Content-Type": "application/json", "Authorization": "Bearer " + env.token()}

    def send(body, headers=None):
        st, h, data = c.raw("POST", "/mcp", body, dict(hdr, **(headers or {})))
        return st, strict_json(data) if data else None

    # A NUL inside the method, the tool name or an argument key changes the name.
    st, b = send(b'{"jsonrpc":"2.0","id":1,"method":"ping\\u0000x"}')
    expect(b["error"]["code"] == -32601 and "NUL" in b["error"]["message"], b)
    st, b = send(b'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_customer\\u0000x",'
                 b'"arguments":{"customer_id":"c1"}}}')
    expect(b["error"]["code"] == -32602 and "Unknown tool" in b["error"]["message"], b)
    st, b = send(b'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_customer",'
                 b'"arguments":{"customer_id\\u0000junk":"c1"}}}')
    expect(b["result"]["isError"] and b["result"]["structuredContent"]["error"]["code"] == "INVALID_INPUT" and
           "NUL" in b["result"]["structuredContent"]["error"]["message"], b)
    # ...and so cannot match an Mcp-Name header naming the real tool.
    st, b = send(b'{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"get_customer\\u0000x",'
                 b'"arguments":{"customer_id":"c1"}}}',
                 {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "get_customer"})
    expect(st == 400 and b["error"]["code"] == -32020, (st, b))
    # Raw NUL bytes after the document are not whitespace.
    st, b = send(b'{"jsonrpc":"2.0","id":5,"method":"ping"}\x00\x00')
    expect(st == 400 and b["error"]["code"] == -32700, (st, b))
    # Bytes that are not UTF-8: a parse error, and the answer stays UTF-8.
    st, b = send(b'{"jsonrpc":"2.0","id":6,"method":"pi\xffng"}')
    expect(st == 400 and b["error"]["code"] == -32700 and "UTF-8" in b["error"]["message"], (st, b))
    # A long method name of 3-byte characters is cut on a character boundary.
    st, b = send(('{"jsonrpc":"2.0","id":7,"method":"' + "\u20ac" * 40 + '"}').encode())
    expect(b["error"]["code"] == -32601 and b["error"]["message"].endswith("\u20ac" * 20), b)
    # A lone surrogate in a text argument is refused, not replaced.
    st, b = send(b'{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"upsert_customer",'
                 b'"arguments":{"customer_id":"c-sur","name":"bad \\ud800 name"}}}')
    expect(b["result"]["isError"] and "surrogate" in b["result"]["structuredContent"]["error"]["message"], b)
    st, b = send(b'{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"upsert_customer",'
                 b'"arguments":{"customer_id":"c-sur","name":"ok \\ud83d\\ude00 name"}}}')
    expect(not b["result"]["isError"], b)
    # A NUL inside a string argument names the field.
    st, b = send(b'{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"get_customer",'
                 b'"arguments":{"customer_id":"c1\\u0000x"}}}')
    expect(b["result"]["structuredContent"]["error"]["field"] == "customer_id", b)
    # Ids come back exactly as sent, beyond 64 bits too.
    for raw_id in (b"18446744073709551617", b"-9223372036854775809", b'"\\u00e9t\\u00e9"', b"7"):
        st, h, data = c.raw("POST", "/mcp", b'{"jsonrpc":"2.0","id":' + raw_id + b',"method":"ping"}', hdr)
        expect(data.startswith(b'{"jsonrpc":"2.0","id":' + raw_id + b","), data)
    c.close()


def test_body_must_be_strict_json(env):
    """json-c also reads comments, leading zeros, raw control characters,
    NaN/Infinity, single quotes, trailing commas and upper-case literals:
    each is -32700 naming what is wrong and its byte offset, without an id
    (an id written 01 or 1e was echoed back as invalid JSON)."""
    c = Client(env, env.token())
    hdr = {"Content-Type": "application/json", "Authorization": "Bearer " + env.token()}
    head = b'{"jsonrpc":"2.0","method":"ping",'
    # body, where the offending byte is (a marker's first occurrence plus an
    # offset), what the message says
    cases = [
        (head + b'"id":1/*c*/}', b"/*", 0, "comment"),
        (head + b'"id":1}// c', b"//", 0, "comment"),
        (b'// c\n' + head + b'"id":1}', b"//", 0, "comment"),
        (b'/* c */' + head + b'"id":1}', b"/*", 0, "comment"),
        (head + b'"id":01}', b"01", 0, "leading zero"),
        (head + b'"id":-01}', b"01", 0, "leading zero"),
        (head + b'"id":00}', b"00", 0, "leading zero"),
        (head + b'"id":1.}', b".}", 1, "digit after '.'"),
        (head + b'"id":1.e5}', b".e", 1, "digit after '.'"),
        (head + b'"id":1e}', b"e}", 1, "digit in the exponent"),
        (head + b'"id":1,"params":{"x":1.5e+}}', b"e+", 2, "digit in the exponent"),
        (head + b'"id":"a\tb"}', b"\t", 0, "control character U+0009"),
        (head + b'"id":"a\nb"}', b"\nb", 0, "control character U+000A"),
        (head + b'"id":"a\x1fb"}', b"\x1f", 0, "control character U+001F"),
        (head + b'"id":1,"params":{"x":NaN}}', b"NaN", 0, "NaN and Infinity"),
        (head + b'"id":1,"params":{"x":nan}}', b"nan", 0, "NaN and Infinity"),
        (head + b'"id":1,"params":{"x":Infinity}}', b"Infinity", 0, "NaN and Infinity"),
        (head + b'"id":1,"params":{"x":-Infinity}}', b"Infinity", 0, "NaN and Infinity"),
        (head + b'"id":1,"params":{"x":infinity}}', b"infinity", 0, "NaN and Infinity"),
        (b"{'jsonrpc':'2.0','method':'ping','id':1}", b"'", 0, "double quotes"),
        (head + b'"id":1,"params":{"x":\'y\'}}', b"'", 0, "double quotes"),
        (head + b'"id":1,}', b",}", 0, "trailing comma"),
        (head + b'"id":1,"params":{"a":[1, ]}}', b", ]", 0, "trailing comma"),
        (head + b'"id":1,"params":{"x":True}}', b"True", 0, "lower case"),
        (head + b'"id":1,"params":{"x":TRUE}}', b"TRUE", 0, "lower case"),
        (head + b'"id":1,"params":{"x":nULL}}', b"nULL", 0, "lower case"),
        (head + b'"id":1,"params":{"x":False}}', b"False", 0, "lower case"),
        (head + b'"id":1} x', b" x", 1, "only whitespace may follow"),
    ]
    for body, marker, delta, what in cases:
        at = body.index(marker) + delta
        st, _, data = c.raw("POST", "/mcp", body, hdr)
        b = strict_json(data)
        msg = b["error"]["message"]
        expect(st == 400 and b["error"]["code"] == -32700 and "id" not in b, (body, st, b))
        expect(what in msg and f"(byte {at})" in msg, (body, at, msg))
    # Strict JSON still passes: escapes, exponents, nesting, whitespace.
    ok = (b' \r\n\t{"jsonrpc":"2.0","method":"ping","id":-0,"params":{"a":[1.5e-3,2E+2,0,-0.0],'
          b'"s":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9","t":true,"f":false,"n":null,"o":{},"l":[]}}\n')
    json.loads(ok)
    st, _, data = c.raw("POST", "/mcp", ok, hdr)
    expect(st == 200 and strict_json(data)["id"] == 0, (st, data))
    c.close()


def python_strict(body):
    """Python's json as the strict reader: UTF-8, no NaN/Infinity."""
    def no_constant(name):
        raise ValueError(name)
    try:
        json.loads(body.decode("utf-8"), parse_constant=no_constant)
        return True
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False


def test_strict_json_agrees_with_pythons_reader(env):
    """Mutated bodies: the server refuses with -32700 exactly those that
    Python's strict json reader refuses, and every answer is strict JSON."""
    import random
    rnd = random.Random(8259)
    seeds = [b'{"jsonrpc":"2.0","method":"ping","id":12,"params":{"a":[1.5e-3,-0,"x\\n\\u00e9"],'
             b'"t":true,"f":false,"n":null}}',
             b'{"jsonrpc":"2.0","method":"tools/list","id":"a b","params":{}}',
             b' [ {"k" : 0.25E+2} , "s" ]\n']
    alphabet = list(b'{}[]:,"\\/*\'.-+eE0123456789 \t\n\x00\x1faAnNtTfFlsux') + [0xc3, 0xa9, 0xff]
    c = Client(env, env.token())
    hdr = {"Content-Type": "application/json", "Authorization": "Bearer " + env.token()}
    disagree, seen = [], set()
    for i in range(500):
        b = bytearray(rnd.choice(seeds))
        for _ in range(rnd.randint(1, 3)):
            pos = rnd.randrange(len(b) + 1)
            op = rnd.randrange(3)
            if op == 0:
                b[pos:pos] = bytes([rnd.choice(alphabet)])
            elif op == 1 and pos < len(b):
                del b[pos]
            elif pos < len(b):
                b[pos] = rnd.choice(alphabet)
        body = bytes(b)
        if body in seen:
            continue
        seen.add(body)
        st, _, data = c.raw("POST", "/mcp", body, hdr)
        answer = strict_json(data) if data else {}
        refused = answer.get("error", {}).get("code") == -32700
        if refused == python_strict(body):
            disagree.append((body, st, answer))
    expect(not disagree, disagree[:5])
    expect(len(seen) > 400, len(seen))
    c.close()


def test_refusals_reach_clients_still_sending_their_body(env):
    """Lingering close: a refusal sent while the client is still sending its
    body (413 over max_body_bytes, 401 from the head) is followed by reading
    and discarding what the client still sends, so the client reads the
    answer instead of a reset (http.client and curl both send the whole
    body before they read)."""
    big = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"' + b"a" * 8000000 + b'"}}'
    statuses = []
    # Over max_body_bytes (413), and within it but with a bad token (401).
    for token, body in ((env.token(), big), ("not-a-token", big[:900000])):
        for _ in range(5):
            c = Client(env, token)
            try:
                statuses.append(c.post(None, raw_body=body)[0])
            except OSError as e:
                statuses.append(type(e).__name__)
            c.close()
    with open(os.path.join(env.dir, "big.json"), "wb") as f:
        f.write(big)
    for _ in range(5):
        p = subprocess.run(["curl", "-sS", "--cacert", env.cafile, "-o", "/dev/null", "-w", "%{http_code}",
                            "-H", "Content-Type: application/json", "-H", "Authorization: Bearer " + env.token(),
                            "-H", "Expect:", "--data-binary", "@" + os.path.join(env.dir, "big.json"),
                            f"https://127.0.0.1:{PORT}/mcp"], capture_output=True, text=True, timeout=30)
        statuses.append(int(p.stdout) if p.returncode == 0 else p.stderr.strip())
    expect(statuses == [413] * 5 + [401] * 5 + [413] * 5, statuses)


def refusal(raw_head_and_body):
    """(status, body) of the answer to raw bytes sent on a new connection."""
    s = tls_socket()
    s.settimeout(5)
    s.sendall(raw_head_and_body)
    st, body = read_response(s)
    s.close()
    return st, body


def test_chunk_lines_follow_rfc9112_exactly(env):
    """chunk = chunk-size [ chunk-ext ] CRLF, chunk-ext = *( BWS ";" BWS
    chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ): whitespace may stand
    only before ";" and around "=", and a quoted extension value holds no
    CR or LF. Anything else is 400 naming the rule."""
    tok = env.token().encode()
    body = b'{"jsonrpc":"2.0","id":3,"method":"ping"}'
    head = (b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + tok + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
    size = hex(len(body))[2:].encode()
    for line in (size + b" ", size + b"\t", size + b';a="x\r\ny"', size + b";a \t",
                 size + b";", size + b";a=", size + b';a="x\x01"'):
        st, answer = refusal(head + line + b"\r\n" + body + b"\r\n0\r\n\r\n")
        expect(st == 400 and b"RFC 9112" in answer and b"chunk" in answer, (line, st, answer))
    for line in (size + b" ;a", size + b"\t; a = b", size + b';a="x;\\"y\\" z";b'):
        st, answer = refusal(head + line + b"\r\n" + body + b"\r\n0\r\n\r\n")
        expect(st == 200 and b'"id":3' in answer, (line, st, answer))
