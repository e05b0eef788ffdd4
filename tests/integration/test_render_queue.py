"""The worker's PDF queue under ordinary abuse, one worker and one
renderer: a statement whose data is over the renderer's limit is refused
before it is sent (not retryable, saying what to narrow) and every later
PDF of every tenant still renders; a pile of statements that each render
in well under their budget all succeed (the budget counts rendering time,
not time in the queue); another tenant's one-page PDF asked for during the
pile waits for about one document, not the pile."""
import json
import threading
import time
import uuid

from harness import Client, expect, metric_total
from test_pdf import history, make_long_statement, ok, result_of, tenant_client

SERVER = dict(workers=1, extra={"render_timeout_ms": 3000, "render_queue": 32, "rate_limit_rps": 100000,
                                "rate_limit_burst": 100000, "max_inflight": 256})


def test_statement_over_the_renderers_limit_is_refused_and_pdfs_go_on(env):
    tenant, c = tenant_client(env)
    inv = ok(c, "create_invoice", {"customer_id": "huge", "currency": "EUR", "line_items": [
        {"description": "x", "amount_cents": 10 ** 12}]})
    ok(c, "send_invoice", {"invoice_id": inv["invoice_id"]})
    # 18,000 credit notes whose reasons are 500 emoji each: ~40 MB of
    # statement data, all of it accepted by the tools one by one.
    env.psql(f"INSERT INTO credit_notes (tenant_id, credit_note_number, invoice_id, customer_id, currency, "
             f"amount_cents, applied_cents, customer_credit_cents, reason) SELECT '{tenant}', 'CN-B-' || g, "
             f"'{inv['invoice_id']}', 'huge', 'EUR', 1, 1, 0, repeat('😀', 500) "
             f"FROM generate_series(1, 18000) g")
    t0 = time.time()
    r = result_of(c, "get_statement", {"customer_id": "huge"})
    took = time.time() - t0
    e = r["structuredContent"].get("error", {})
    print(f"    ~40 MB statement: {e.get('code')} in {took * 1000:.0f} ms: {e.get('message', '')[:140]}")
    expect(r.get("isError") and e["code"] == "INVALID_INPUT" and e["retryable"] is False, r)
    expect("period_start" in e["message"] and "lines" in e["message"], e)
    # The worker's renderer channel is not left busy: another tenant's PDF
    # renders at once.
    _, other = tenant_client(env)
    history(other, "small", "Small Co", currency="USD")
    t0 = time.time()
    r = result_of(other, "get_statement", {"customer_id": "small"})
    expect(not r.get("isError") and time.time() - t0 < 3, (time.time() - t0, r))


def test_a_pile_of_statements_all_render_and_another_tenant_is_not_queued_behind(env):
    tenant, c = tenant_client(env)
    make_long_statement(env, c, "pile", 2500)
    t0 = time.time()
    r = result_of(c, "get_statement", {"customer_id": "pile", "currency": "USD"})
    one = time.time() - t0
    expect(not r.get("isError"), r)
    _, light = tenant_client(env)
    history(light, "one", "One Page Co", currency="USD")
    expect(not result_of(light, "get_statement", {"customer_id": "one"}).get("isError"))
    results = []
    lock = threading.Lock()

    def heavy(i):
        res = result_of(Client(env, c.token, timeout=60), "get_statement", {"customer_id": "pile",
                                                                            "currency": "USD"})
        with lock:
            results.append(res["structuredContent"].get("error", {}).get("code", "ok"))

    threads = [threading.Thread(target=heavy, args=(i,)) for i in range(12)]
    t_pile = time.time()
    for t in threads:
        t.start()
    time.sleep(min(1.0, one))
    t0 = time.time()
    r = result_of(light, "get_statement", {"customer_id": "one"})
    light_wait = time.time() - t0
    for t in threads:
        t.join()
    pile_took = time.time() - t_pile
    print(f"    one statement alone {one * 1000:.0f} ms; 12 at once: {results.count('ok')} rendered "
          f"in {pile_took:.1f} s, errors {sorted(set(results) - {'ok'}) or 'none'}; another tenant's "
          f"one-page PDF during the pile {light_wait * 1000:.0f} ms")
    expect(results.count("ok") == 12, results)
    expect(not r.get("isError"), r)
    # Behind at most the document rendering now and its own, with room
    # for the machine's noise; the pile is twelve documents.
    expect(light_wait < 2.5 * one + 0.5, (light_wait, one))


def test_a_document_whose_caller_hung_up_stops_rendering(env):
    tenant, c = tenant_client(env)
    make_long_statement(env, c, "gone", 5000)
    t0 = time.time()
    r = result_of(c, "get_statement", {"customer_id": "gone", "currency": "USD"})
    alone = time.time() - t0
    expect(not r.get("isError"), r)
    _, light = tenant_client(env)
    history(light, "one", "One Page Co", currency="USD")
    expect(not result_of(light, "get_statement", {"customer_id": "one"}).get("isError"))
    before = metric_total(env.server.metrics(), "mcpi_render_documents_total", "cancelled")
    # The agent asks for the long statement again and hangs up while it
    # renders; another tenant's one-page PDF comes right after.
    gone = Client(env, c.token)
    gone.connect()
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "get_statement", "arguments": {"customer_id": "gone", "currency": "USD"}}})
    gone.conn.request("POST", "/mcp", body=body, headers={
        "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
        "Authorization": "Bearer " + c.token})
    time.sleep(min(0.5, alone / 3))
    gone.close()
    t0 = time.time()
    r = result_of(light, "get_statement", {"customer_id": "one"})
    waited = time.time() - t0
    cancelled = metric_total(env.server.metrics(), "mcpi_render_documents_total", "cancelled") - before
    print(f"    5,000-line statement alone {alone * 1000:.0f} ms; its caller hung up, another tenant's "
          f"one-page PDF then took {waited * 1000:.0f} ms; cancelled in the renderer: {cancelled:.0f}")
    expect(not r.get("isError"), r)
    expect(cancelled == 1, cancelled)
    expect(waited < alone / 2, (waited, alone))
