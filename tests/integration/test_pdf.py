"""PDF documents end to end: get_statement and get_invoice_pdf render
through the renderer process; the PDFs pass qpdf --check, embed every font
(pdffonts), have the page counts pdfinfo shows, carry the names and figures
(pdftotext, Japanese included; Arabic by its embedded font and a PNG under
build/test-output for a person), are byte-identical when rendered twice,
and read back through resources/read with the same bytes. Also: inline
blobs and their cap, the resources methods of both eras against the
specification's schema, tenant scoping, a renderer killed with kill -9
mid-render (retryable, then the next succeeds), the time budget, the
bounded queue, and a memory scan of the renderer."""
import base64
import json
import os
import re
import signal
import subprocess
import threading
import time
import uuid

from harness import RELEASE_BIN, ROOT, Client, Skip, expect, metric_total
from test_keymgr import memory_contains, private_scalar

SERVER = dict(workers=2, extra={"rate_limit_rps": 100000, "rate_limit_burst": 100000,
                                "max_inflight": 256, "inline_pdf_max_bytes": 200000})
OUT = os.path.join(ROOT, "build", "test-output")
MODERN = "2026-07-28"
META = {"_meta": {"io.modelcontextprotocol/protocolVersion": MODERN,
                  "io.modelcontextprotocol/clientCapabilities": {}}}


def ok(c, tool, args):
    err, sc = c.tool(tool, args)
    expect(not err, (tool, args, sc))
    return sc


def tenant_client(env, **kw):
    t = "pdf-" + uuid.uuid4().hex[:10]
    return t, Client(env, env.token(tenant=t, **kw))


def history(c, cust, name, n=3, currency="JPY", address=None):
    ok(c, "upsert_customer", {"customer_id": cust, "name": name, "email": "ap@example.jp",
                              **({"address": address} if address else {})})
    ids = []
    for i in range(n):
        inv = ok(c, "create_invoice", {"customer_id": cust, "currency": currency,
                                       "line_items": [{"description": f"作業 {i}", "amount_cents": 10000 + i}]})
        ok(c, "send_invoice", {"invoice_id": inv["invoice_id"]})
        ids.append(inv["invoice_id"])
    ok(c, "apply_payment", {"invoice_id": ids[0], "amount_cents": 2500})
    return ids


def result_of(c, name, args):
    st, _, body = c.call(name, args)
    expect(st == 200 and "result" in body, (st, body))
    return body["result"]


def pdf_tool(c, name, args):
    """Calls a PDF tool with inline true; returns (result, pdf bytes)."""
    r = result_of(c, name, dict(args, inline=True))
    expect(not r.get("isError"), r)
    kinds = [b["type"] for b in r["content"]]
    expect(kinds == ["text", "resource_link", "resource"], kinds)
    link, emb = r["content"][1], r["content"][2]["resource"]
    expect(link["mimeType"] == "application/pdf" and emb["mimeType"] == "application/pdf", link)
    expect(emb["uri"] == link["uri"] == r["structuredContent"]["pdf"]["uri"], (emb["uri"], link["uri"]))
    pdf = base64.b64decode(emb["blob"], validate=True)
    expect(len(pdf) == link["size"] == r["structuredContent"]["pdf"]["size"], (len(pdf), link))
    expect(pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF"), pdf[:10])
    return r, pdf


def save(pdf, name):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(pdf)
    return path


def tool_out(*cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    expect(out.returncode == 0, (cmd, out.stderr[-800:]))
    return out.stdout


def check_pdf(path, pages=None):
    tool_out("qpdf", "--check", path)
    info = tool_out("pdfinfo", path)
    fonts = tool_out("pdffonts", path).splitlines()[2:]
    expect(fonts, "no fonts")
    for line in fonts:
        cols = line.split()
        expect(cols[-5:-2] == ["yes", "yes", "yes"], f"font not embedded/subset/unicode: {line}")
    n = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    if pages is not None:
        expect(n == pages, (n, pages))
    return info, "\n".join(fonts), n


def read_resource(c, uri, modern=False):
    if modern:
        params = dict(META, uri=uri)
        name = uri if uri.isascii() and uri.isprintable() else \
            "=?base64?" + base64.b64encode(uri.encode()).decode() + "?="
        return c.rpc("resources/read", params, headers={"MCP-Protocol-Version": MODERN,
                                                        "Mcp-Method": "resources/read", "Mcp-Name": name})
    return c.rpc("resources/read", {"uri": uri})


def test_statement_pdf_japanese(env):
    _, c = tenant_client(env)
    ok(c, "upsert_business_profile", {"legal_name": "Acme 株式会社", "address": "1-1 Chiyoda\nTokyo",
                                      "tax_id": "T1234567890123", "payment_instructions": "Bank: MUFG 123-4567"})
    history(c, "jp-1", "株式会社テスト", address="東京都千代田区1-1")
    r, pdf = pdf_tool(c, "get_statement", {"customer_id": "jp-1"})
    text = r["content"][0]["text"]
    expect("株式会社テスト" in text and "closing balance 27,503 JPY" in text, text)
    sc = r["structuredContent"]
    expect(sc["currency_exponent"] == 0 and sc["summary"]["closing_balance_cents"] == 27503, sc["summary"])
    expect(sc["pdf"]["pages"] == 1, sc["pdf"])
    path = save(pdf, "statement-ja.pdf")
    info, fonts, _ = check_pdf(path, pages=1)
    expect("Title:           Statement ST-jp-1-JPY-" in info and "Author:          Acme 株式会社" in info, info)
    expect("NotoSansCJK" in fonts, fonts)
    txt = tool_out("pdftotext", "-layout", path, "-")
    for needle in ("株式会社テスト", "東京都千代田区1-1", "STATEMENT", "27,503", "JPY 27,503", "REMITTANCE",
                   "Bank: MUFG 123-4567", "Page 1 of 1", "INV-", "Aging as of"):
        expect(needle in txt, (needle, txt[:1500]))
    tool_out("pdftoppm", "-png", "-r", "70", "-singlefile", path, os.path.join(OUT, "statement-ja"))
    expect(os.path.getsize(os.path.join(OUT, "statement-ja.png")) > 1000)
    # Rendered again from the same data: the same bytes; and readable by URI.
    _, again = pdf_tool(c, "get_statement", {"customer_id": "jp-1"})
    expect(again == pdf, "two renderings of the same statement differ")
    st, _, body = read_resource(c, r["content"][1]["uri"])
    expect(st == 200 and body["result"]["contents"][0]["mimeType"] == "application/pdf", body)
    expect(base64.b64decode(body["result"]["contents"][0]["blob"]) == pdf, "resources/read gave other bytes")
    print(f"    {len(pdf)} bytes, fonts: {', '.join(ln.split()[0] for ln in fonts.splitlines())}; "
          f"PNG in build/test-output/statement-ja.png")


def test_arabic_name_letter_paper_open_items(env):
    _, c = tenant_client(env)
    ok(c, "upsert_business_profile", {"legal_name": "Gulf Trading", "paper_size": "Letter"})
    history(c, "ar-1", "شركة الاختبار", currency="KWD")
    r, pdf = pdf_tool(c, "get_statement", {"customer_id": "ar-1", "type": "open_item"})
    expect(r["content"][1]["uri"].endswith("?period_start=" + r["structuredContent"]["period_start"] +
                                           "&type=open_item"), r["content"][1]["uri"])
    path = save(pdf, "statement-ar.pdf")
    info, fonts, _ = check_pdf(path, pages=1)
    expect("612 x 792" in info, info)
    expect("NotoSansArabic" in fonts, fonts)
    txt = tool_out("pdftotext", "-layout", path, "-")
    expect("Open items at the statement date" in txt and "Days past due" in txt, txt[:1200])
    # KWD has three decimals: 10.000 + 10.001 + 10.002 invoiced, 2.500 paid.
    # The band: opening + invoiced - payments + reversals - credit notes = closing.
    expect(re.search(r"= Closing balance\s*\n\s*0\.000\s+30\.003\s+2\.500\s+0\.000\s+0\.000\s+KWD 27\.503\s*$",
                     txt, re.M), txt[:1500])
    for number, open_amount in (("INV-000001", "7.500"), ("INV-000002", "10.001"), ("INV-000003", "10.002")):
        row = re.search(rf"^\S+\s+{number}\s.*$", txt, re.M)
        expect(row and row.group(0).split()[-2] == open_amount, (number, open_amount, row and row.group(0)))
    expect(re.search(r"^Amount due\s+KWD 27\.503$", txt, re.M), txt[-800:])
    # The Arabic name as text (bidi marks aside). pdftotext writes the
    # lam-alef ligature's two letters in visual order: accept that too.
    plain = re.sub("[\u200e\u200f\u202a-\u202e\u2066-\u2069]", "", txt)
    name = "شركة الاختبار"
    expect(name in plain or name.replace("\u0644\u0627", "\u0627\u0644") in plain,
           ("the Arabic name is not in the text", plain[:600]))
    tool_out("pdftoppm", "-png", "-r", "70", "-singlefile", path, os.path.join(OUT, "statement-ar"))


def test_invoice_pdf_and_inline_cap(env):
    _, c = tenant_client(env)
    ids = history(c, "inv-1", "Müller & Söhne GmbH", currency="EUR")
    r, pdf = pdf_tool(c, "get_invoice_pdf", {"invoice_id": ids[0]})
    expect(r["content"][1]["uri"] == f"invoiced://invoices/{ids[0]}.pdf", r["content"][1])
    expect(r["structuredContent"]["amount_due_cents"] == 7500, r["structuredContent"])
    path = save(pdf, "invoice.pdf")
    check_pdf(path, pages=1)
    txt = tool_out("pdftotext", "-layout", path, "-")
    for needle in ("INVOICE", "Müller & Söhne GmbH", "100.00", "EUR 75.00", "Payments and credits",
                   "Payment received"):
        expect(needle in txt, (needle, txt[:1500]))
    # Without inline: the link only.
    plain = result_of(c, "get_invoice_pdf", {"invoice_id": ids[0]})
    expect([b["type"] for b in plain["content"]] == ["text", "resource_link"], plain["content"])
    # Over the cap (200000 here): still a result, with the link, pdf.inline
    # false and a note naming the cap and the URI to read.
    big = "big-1"
    make_long_statement(env, c, big, 4000)
    over = result_of(c, "get_statement", {"customer_id": big, "currency": "USD", "inline": True})
    expect(not over.get("isError") and [b["type"] for b in over["content"]] == ["text", "resource_link", "text"],
           over["content"][:3] if "content" in over else over)
    note = over["content"][2]["text"]
    uri = over["content"][1]["uri"]
    expect("200000" in note and uri in note and uri.startswith("invoiced://statements/big-1/USD/"), note)
    expect(over["structuredContent"]["pdf"]["inline"] is False and over["content"][1]["size"] > 200000, over["content"][1])
    small = result_of(c, "get_invoice_pdf", {"invoice_id": ids[0], "inline": True})
    expect(small["structuredContent"]["pdf"]["inline"] is True and small["content"][2]["type"] == "resource", small["content"][2:])
    ok_plain = result_of(c, "get_statement", {"customer_id": big, "currency": "USD"})
    expect(ok_plain["content"][1]["size"] > 200000, ok_plain["content"][1])


def make_long_statement(env, c, cust, n):
    """n sent invoices for cust in this month, inserted in one SQL statement."""
    tenant = json.loads(base64.urlsafe_b64decode(c.token.split(".")[1] + "=="))["tenant_id"]
    env.psql(f"INSERT INTO invoices (tenant_id, customer_id, status, currency, total_cents, due_date, "
             f"invoice_number, issued_at, created_at) SELECT '{tenant}', '{cust}', 'sent', 'USD', 1000 + g, "
             f"current_date + 30, 'BULK-' || lpad(g::text, 6, '0'), t, t FROM generate_series(1, {n}) g, "
             f"LATERAL (SELECT date_trunc('month', now()) + (g % 20) * interval '1 minute' AS t) s")


def test_long_statement_repeats_the_table_header(env):
    _, c = tenant_client(env)
    make_long_statement(env, c, "long-1", 4000)
    t0 = time.time()
    r = result_of(c, "get_statement", {"customer_id": "long-1", "currency": "USD"})
    took = time.time() - t0
    pages = r["structuredContent"]["pdf"]["pages"]
    st, _, body = read_resource(c, r["content"][1]["uri"])
    pdf = base64.b64decode(body["result"]["contents"][0]["blob"])
    path = save(pdf, "statement-long.pdf")
    _, _, n = check_pdf(path, pages=pages)
    expect(n >= 60, n)
    for page in (1, n // 2, n):
        txt = tool_out("pdftotext", "-layout", "-f", str(page), "-l", str(page), path, "-")
        expect(f"Page {page} of {n}" in txt, (page, txt[-300:]))
        if page < n:
            expect("Debit" in txt and "Balance" in txt, (page, txt[:400]))
    expect("REMITTANCE" in tool_out("pdftotext", "-f", str(n), "-l", str(n), path, "-"))
    print(f"    4000 lines: {n} pages, {len(pdf)} bytes, {took * 1000:.0f} ms end to end (sanitizer build)")


def test_resources_methods_both_eras(env):
    t, c = tenant_client(env)
    history(c, "res-1", "Resource Co", currency="USD")
    uri = result_of(c, "get_statement", {"customer_id": "res-1"})["content"][1]["uri"]
    caps = []
    legacy = "2025-11-25"
    st, _, init = c.rpc("initialize", {"protocolVersion": legacy, "capabilities": {},
                                       "clientInfo": {"name": "t", "version": "1"}})
    expect("resources" in init["result"]["capabilities"], init)
    caps.append({"rev": legacy, "def": "InitializeResult", "label": "initialize", "value": init["result"]})
    for method, d in (("resources/list", "ListResourcesResult"),
                      ("resources/templates/list", "ListResourceTemplatesResult")):
        st, _, body = c.rpc(method, {})
        caps.append({"rev": legacy, "def": d, "label": method, "value": body["result"]})
        st, _, body = c.rpc(method, META, headers={"MCP-Protocol-Version": MODERN, "Mcp-Method": method})
        expect(st == 200 and body["result"]["cacheScope"] == "private" and "ttlMs" in body["result"], body)
        caps.append({"rev": MODERN, "def": d, "label": method, "value": body["result"]})
        if d == "ListResourceTemplatesResult":
            tpls = [x["uriTemplate"] for x in body["result"]["resourceTemplates"]]
            expect(tpls == ["invoiced://statements/{customer_id}/{currency}/{period_end}.pdf{?period_start,type}",
                            "invoiced://invoices/{invoice_id}.pdf",
                            "invoiced://credit-notes/{credit_note_id}.pdf",
                            "invoiced://invoices/{invoice_id}.ubl.xml{?profile}",
                            "invoiced://invoices/{invoice_id}.cii.xml",
                            "invoiced://credit-notes/{credit_note_id}.ubl.xml{?profile}",
                            "invoiced://credit-notes/{credit_note_id}.cii.xml"], tpls)
    st, _, body = c.rpc("server/discover", META, headers={"MCP-Protocol-Version": MODERN,
                                                          "Mcp-Method": "server/discover"})
    expect("resources" in body["result"]["capabilities"], body)
    st, _, body = read_resource(c, uri)
    caps.append({"rev": legacy, "def": "ReadResourceResult", "label": "read", "value": body["result"]})
    st, _, body = read_resource(c, uri, modern=True)
    expect(body["result"]["cacheScope"] == "private" and "ttlMs" in body["result"], body)
    caps.append({"rev": MODERN, "def": "ReadResourceResult", "label": "read", "value": body["result"]})
    r = result_of(c, "get_statement", {"customer_id": "res-1", "inline": True})
    caps.append({"rev": legacy, "def": "CallToolResult", "label": "get_statement", "value": r})
    st, _, body = c.rpc("tools/call", dict(META, name="get_statement", arguments={"customer_id": "res-1",
                                                                                  "inline": True}),
                        headers={"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call",
                                 "Mcp-Name": "get_statement"})
    caps.append({"rev": MODERN, "def": "CallToolResult", "label": "get_statement", "value": body["result"]})
    # Unknown URIs: -32602 with the uri in data, both eras.
    for bad in ("file:///etc/passwd", "invoiced://statements/res-1/USD/2026-13-01.pdf",
                "invoiced://statements/res-1/USD/2026-01-01.pdf?x=1", "invoiced://invoices/nope.pdf"):
        for modern in (False, True):
            st, _, body = read_resource(c, bad, modern)
            expect(body["error"]["code"] == -32602 and body["error"]["data"]["uri"] == bad, (bad, body))
            caps.append({"rev": MODERN if modern else legacy, "def": "JSONRPCErrorResponse",
                         "label": "unknown uri", "value": body})
    # 2026-07-28: Mcp-Name must carry params.uri.
    st, _, body = c.rpc("resources/read", dict(META, uri=uri), headers={"MCP-Protocol-Version": MODERN,
                                                                       "Mcp-Method": "resources/read"})
    expect(st == 400 and body["error"]["code"] == -32020 and "params.uri" in body["error"]["message"], body)
    # Another tenant's URI: not found (-32002 in 2025, -32602 in 2026-07-28).
    _, other = tenant_client(env)
    st, _, body = read_resource(other, uri)
    expect(body["error"]["code"] == -32002 and body["error"]["data"]["uri"] == uri, body)
    st, _, body = read_resource(other, uri, modern=True)
    expect(body["error"]["code"] == -32602 and body["error"]["message"] == "Resource not found", body)
    missing = f"invoiced://invoices/{uuid.uuid4()}.pdf"
    st, _, body = read_resource(c, missing)
    expect(body["error"]["code"] == -32002, body)
    # Scope: reading needs invoices:read.
    wo = Client(env, env.token(tenant=t, scope="payments:write"))
    st, _, body = read_resource(wo, uri)
    expect(st == 403, (st, body))
    path = os.path.join(env.dir, "pdf-captures.json")
    with open(path, "w") as f:
        json.dump(caps, f)
    spec = os.path.join(os.path.dirname(ROOT), "shared", "mcp-spec")
    sdk = os.path.join(ROOT, "tests", "sdk")
    if not os.path.isdir(os.path.join(sdk, "node_modules", "ajv")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=sdk,
                       check=True, timeout=300)
    out = subprocess.run(["node", "validate_schema.mjs", path], cwd=sdk, capture_output=True, text=True,
                         timeout=60, env=dict(os.environ, MCPI_SPEC_DIR=os.environ.get("MCPI_SPEC_DIR", spec)))
    expect(out.returncode == 0, out.stderr[-3000:] + out.stdout[-300:])
    print("    " + out.stdout.strip())


def gone(pid):
    try:
        return "State:\tZ" in open(f"/proc/{pid}/status").read()
    except OSError:
        return True


def wait_for(pred, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_the_tests_run_the_sanitizer_renderer(env):
    if os.geteuid() != 0:
        raise Skip("the renderer is not dumpable: only root may read its exe link (CI runs as root)")
    pids = env.server.renderer_pids()
    expect(len(pids) == 1, pids)
    exe = os.readlink(f"/proc/{pids[0]}/exe")
    expect(exe.endswith("/mcp-invoiced-render-san"), f"the tests run the sanitizer renderer, not {exe}")


def test_renderer_killed_mid_render(env):
    _, c = tenant_client(env)
    history(c, "kill-1", "Kill Co", currency="USD")
    old = env.server.renderer_pids()
    expect(len(old) == 1, old)
    before = env.server.metrics()
    # Stopped, the renderer holds the request it was sent: killing it then
    # is a kill in the middle of rendering that document.
    os.kill(old[0], signal.SIGSTOP)
    box = {}
    t = threading.Thread(target=lambda: box.update(r=result_of(c, "get_statement", {"customer_id": "kill-1"})))
    t.start()
    time.sleep(0.5)
    os.kill(old[0], signal.SIGKILL)
    t.join(10)
    e = box["r"]["structuredContent"]["error"]
    expect(box["r"]["isError"] and e["code"] == "RENDERER_UNAVAILABLE" and e["retryable"] is True, box)
    new = wait_for(lambda: [p for p in env.server.renderer_pids() if p not in old])
    c2 = Client(env, c.token)

    def succeeds():
        r = result_of(c2, "get_statement", {"customer_id": "kill-1"})
        return not r.get("isError") and r
    r = wait_for(succeeds)
    expect(r["structuredContent"]["pdf"]["size"] > 1000, r)

    # /metrics tells an operator: one renderer replaced, one document failed,
    # the later ones rendered, the time spent rendering, nothing queued now.
    def rendered_since():
        m = env.server.metrics()
        n = metric_total(m, "mcpi_render_documents_total", "rendered")
        return m if n > metric_total(before, "mcpi_render_documents_total", "rendered") else None
    after = wait_for(rendered_since)
    expect(after["mcpi_renderer_restarts_total"] == before["mcpi_renderer_restarts_total"] + 1, after)
    expect(metric_total(after, "mcpi_render_documents_total", "failed")
           == metric_total(before, "mcpi_render_documents_total", "failed") + 1, after)
    expect(metric_total(after, "mcpi_render_busy_seconds_total")
           > metric_total(before, "mcpi_render_busy_seconds_total"), after)
    expect(metric_total(after, "mcpi_render_queue_depth") == 0, after)
    print(f"    renderer {old[0]} killed mid-render: RENDERER_UNAVAILABLE (retryable); "
          f"renderer {new[0]} answers the next call")


def test_time_budget_bounded_queue_and_memory(env):
    if os.geteuid() != 0:
        raise Skip("needs root to read the renderer's memory (CI runs as root)")
    saved = env.server
    saved.stop()
    env.server = None
    srv = env.start_server(workers=1, binary=RELEASE_BIN, extra={"render_timeout_ms": 100, "render_queue": 2,
                                                                  "rate_limit_rps": 100000,
                                                                  "rate_limit_burst": 100000})
    try:
        _, c = tenant_client(env)
        make_long_statement(env, c, "slow-1", 12000)
        history(c, "fast-1", "Fast Co", currency="USD")
        pid = srv.renderer_pids()[0]
        # Memory: no JWT secret, no TLS private key in the renderer.
        secret = private_scalar(os.path.join(env.dir, "tls.key"))
        expect(not memory_contains(pid, env.secret), "the renderer holds the JWT secret")
        expect(not memory_contains(pid, secret), "the renderer holds the TLS private key")
        conninfo = re.search(r"^database_url = (.*)$", env.base_conf, re.M).group(1).encode()
        expect(not memory_contains(pid, conninfo), "the renderer holds the database conninfo")
        expect(memory_contains(srv.worker_pids()[0], env.secret), "control: the worker holds the secret")
        # The bounded queue: with the renderer stopped, two documents wait,
        # the third is refused at once.
        os.kill(pid, signal.SIGSTOP)
        results = []
        ts = [threading.Thread(target=lambda: results.append(result_of(Client(env, c.token), "get_statement",
                                                                      {"customer_id": "fast-1"})))
              for _ in range(2)]
        for th in ts:
            th.start()
        time.sleep(0.5)
        t0 = time.time()
        third = result_of(c, "get_statement", {"customer_id": "fast-1"})
        expect(time.time() - t0 < 2 and third["structuredContent"]["error"]["code"] == "RENDERER_UNAVAILABLE"
               and "render_queue" in third["structuredContent"]["error"]["message"], third)
        os.kill(pid, signal.SIGCONT)
        for th in ts:
            th.join(10)
        expect(all(not r.get("isError") for r in results), results)
        # Over its time budget (12,000 lines in 100 ms): the renderer ends
        # itself, the request gets a retryable error, a new renderer serves.
        r = result_of(c, "get_statement", {"customer_id": "slow-1", "currency": "USD"})
        e = r["structuredContent"]["error"]
        expect(r["isError"] and e["retryable"] and e["code"] in ("RENDERER_UNAVAILABLE", "TIMEOUT"), r)
        wait_for(lambda: [p for p in srv.renderer_pids() if p != pid])
        r = wait_for(lambda: (lambda x: not x.get("isError") and x)(
            result_of(Client(env, c.token), "get_statement", {"customer_id": "fast-1"})))
        expect("signal 14" in srv.logs(), srv.logs()[-2000:])
    finally:
        expect(srv.stop() == 0)
        env.server = None
        env.start_server(**SERVER)


def test_replaced_worker_and_a_pool_of_two_renderers(env):
    _, c = tenant_client(env)
    history(c, "pool-1", "Pool Co", currency="USD")
    # A worker started after the renderer still gets a channel to it.
    victim = env.server.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: len([p for p in env.server.worker_pids() if p != victim]) == 2)
    for _ in range(6):
        r = result_of(Client(env, c.token), "get_statement", {"customer_id": "pool-1"})
        expect(not r.get("isError"), r)
    saved = env.server
    saved.stop()
    env.server = None
    srv = env.start_server(workers=1, extra={"renderers": 2})
    try:
        pids = srv.renderer_pids()
        expect(len(pids) == 2, pids)
        os.kill(pids[0], signal.SIGKILL)
        wait_for(lambda: gone(pids[0]))
        # Once it is dead (its sockets closed), the worker's other channel
        # serves at once (a document sent to the dead one before its
        # hang-up is seen moves over); the pool refills.
        for _ in range(4):
            r = result_of(Client(env, c.token), "get_statement", {"customer_id": "pool-1"})
            expect(not r.get("isError"), r)
        wait_for(lambda: len(srv.renderer_pids()) == 2 and pids[0] not in srv.renderer_pids())
    finally:
        expect(srv.stop() == 0)
        env.server = None
        env.start_server(**SERVER)


def pdf_text_of(pdf, name, first=None, last=None):
    path = save(pdf, name)
    pages = ["-f", str(first), "-l", str(last)] if first else []
    return tool_out("pdftotext", "-layout", *pages, path, "-"), path


def random_block(rng, max_lines, max_chars):
    """A memo or address of many short lines, some of them CJK or with
    combining marks, at most max_chars characters."""
    pieces = ["Suite", "東京都", "Straße", "e\u0301te\u0301", "Floor", "号室", "c/o AP"]
    lines, size = [], 0
    for i in range(rng.randint(0, max_lines)):
        line = f"{rng.choice(pieces)} {i}"
        if size + len(line) + 1 > max_chars:
            break
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines)


def test_tall_memos_and_addresses_flow_onto_further_pages(env):
    """Property: whatever the shape of the memo, the addresses and the
    lines, every line item and every statement line is in the PDF text,
    and every page says "Page n of N". The first cases are the reported
    ones (a memo of 40 short lines, a customer address of 60); then seeded
    random shapes for at most 40 seconds."""
    import random
    seed = int(os.environ.get("MCPI_PDF_SEED", "17"))
    rng = random.Random(seed)
    _, c = tenant_client(env)
    fixed = [dict(memo="\n".join(f"memo line {i}" for i in range(40)), address="", seller="", items=5),
             dict(memo="", address="\n".join(f"addr {i}" for i in range(60)), seller="", items=5),
             dict(memo="\n".join(f"m{i}" for i in range(400)), address="\n".join(f"a{i}" for i in range(200)),
                  seller="\n".join(f"s{i}" for i in range(200)), items=100)]
    deadline, case = time.time() + 40, 0
    while case < len(fixed) or (time.time() < deadline and case < 40):
        shape = fixed[case] if case < len(fixed) else dict(
            memo=random_block(rng, 300, 2000), address=random_block(rng, 150, 1000),
            seller=random_block(rng, 150, 1000), items=rng.randint(1, 100))
        ok(c, "upsert_business_profile", {"legal_name": f"Flow Seller {case}",
                                          **({"address": shape["seller"]} if shape["seller"] else {}),
                                          "payment_instructions": "IBAN DE00 1234"})
        cust = f"flow-{case}"
        ok(c, "upsert_customer", {"customer_id": cust, "name": f"Flow Customer {case}",
                                  **({"address": shape["address"]} if shape["address"] else {})})
        items = [{"description": f"item-{case}-{i}", "amount_cents": 100 + i} for i in range(shape["items"])]
        inv = ok(c, "create_invoice", {"customer_id": cust, "currency": "USD", "line_items": items,
                                       **({"memo": shape["memo"]} if shape["memo"] else {})})
        sent = ok(c, "send_invoice", {"invoice_id": inv["invoice_id"]})
        r, pdf = pdf_tool(c, "get_invoice_pdf", {"invoice_id": inv["invoice_id"]})
        txt, path = pdf_text_of(pdf, "invoice-flow.pdf")
        _, _, n = check_pdf(path, pages=r["structuredContent"]["pdf"]["pages"])
        shown = set(re.findall(rf"item-{case}-\d+", txt))
        missing = [it["description"] for it in items if it["description"] not in shown]
        expect(not missing, (seed, case, {k: len(v) if isinstance(v, str) else v for k, v in shape.items()},
                             f"{len(missing)} of {len(items)} line items missing", missing[:5]))
        for page in range(1, n + 1):
            expect(f"Page {page} of {n}" in txt, (seed, case, page, n))
        expect("REMITTANCE" in txt and "IBAN DE00 1234" in txt, (seed, case, txt[-600:]))
        r, pdf = pdf_tool(c, "get_statement", {"customer_id": cust, "currency": "USD"})
        txt, path = pdf_text_of(pdf, "statement-flow.pdf")
        _, _, n = check_pdf(path, pages=r["structuredContent"]["pdf"]["pages"])
        expect(sent["invoice_number"] in txt and f"Page {n} of {n}" in txt and "Aging as of" in txt,
               (seed, case, txt[:2000]))
        case += 1
    print(f"    seed {seed}: {case} shapes, every line item and statement line printed")


def json_log_lines_since(srv, offset):
    with open(srv.log_path, "rb") as f:
        f.seek(offset)
        raw = f.read().decode("utf-8", errors="replace")
    bad = []
    for line in raw.split("\n")[:-1]:
        try:
            expect(isinstance(json.loads(line), dict))
        except (ValueError, AssertionError):
            bad.append(line)
    return bad


def test_long_cjk_names_are_cut_between_characters_and_logged_as_json(env):
    """A legal name of 72 CJK characters (200 are allowed) used to make
    every PDF of the tenant fail (author metadata cut mid-character);
    CJK customer names and descriptions cut mid-character gave broken glyphs
    and non-JSON Pango-WARNING lines in the log. Now: the metadata is the
    whole name, cuts end on a character boundary (never between a letter
    and its combining accent) with an ellipsis, and the log stays JSON."""
    import unicodedata
    _, c = tenant_client(env)
    offset = os.path.getsize(env.server.log_path)
    legal = "株式会社" * 18  # 72 characters, 216 bytes
    ok(c, "upsert_business_profile", {"legal_name": legal, "address": "東京都" * 30})
    accented = "e\u0301" * 70  # decomposed é: a cut must not separate the accent
    for cust, name in (("cjk-1", "テスト顧客名" * 7), ("acc-1", accented)):
        ok(c, "upsert_customer", {"customer_id": cust, "name": name, "address": "大阪府" * 40})
        items = [{"description": "長い説明文" * 24 + f" {i}", "amount_cents": 100 + i} for i in range(90)]
        inv = ok(c, "create_invoice", {"customer_id": cust, "currency": "JPY", "line_items": items})
        ok(c, "send_invoice", {"invoice_id": inv["invoice_id"]})
        r, pdf = pdf_tool(c, "get_invoice_pdf", {"invoice_id": inv["invoice_id"]})
        path = save(pdf, f"invoice-{cust}.pdf")
        info, _, n = check_pdf(path)
        expect(n >= 2, n)
        expect(f"Author:          {legal}" in info, info)
        page2 = tool_out("pdftotext", "-f", "2", "-l", "2", path, "-")
        head = page2[:page2.find("(continued)") + len("(continued)")]  # it may wrap
        running = unicodedata.normalize("NFC", head.replace("\n", " "))
        expect("\ufffd" not in tool_out("pdftotext", path, "-"), "a broken character in the text")
        expect("\u2026" in running and "(continued)" in running, running)
        if cust == "acc-1":
            expect("e\u2026" not in running and "\u0301" not in running and "\u00e9\u2026" in running, running)
        _, spdf = pdf_tool(c, "get_statement", {"customer_id": cust, "currency": "JPY"})
        expect(b"%%EOF" in spdf)
    bad = json_log_lines_since(env.server, offset)
    expect(not bad, ("lines in the log that are not JSON objects", bad[:5]))
    # What pango still has to say (here about bytes that are not UTF-8, which
    # only a broken worker could send) is one JSON line per message too.
    doc = {"invoice_number": "INV-1", "currency": "USD", "document_date": "2026-10-01", "memo": "MEMO",
           "line_items": [{"description": "x", "amount_cents": 1, "quantity": 1, "line_total_cents": 1}]}
    src = os.path.join(env.dir, "invalid-utf8.json")
    with open(src, "wb") as f:
        f.write(json.dumps(doc).encode().replace(b"MEMO", b"M\xe6\x97O"))
    out = subprocess.run([os.path.join(ROOT, "bin", "mcp-invoiced-render-san"), "--file", "invoice", src,
                          os.path.join(env.dir, "invalid-utf8.pdf")], capture_output=True, timeout=60)
    expect(out.returncode == 0, out.stderr[-2000:])
    lines = out.stderr.decode(errors="replace").split("\n")[:-1]
    expect(lines and all(json.loads(line)["domain"] == "Pango" for line in lines), out.stderr[-2000:])
