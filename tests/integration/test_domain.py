"""The invoice domain end to end: every tool and error code, exact money
under racing payments, idempotent retries (also after a dropped
connection), gapless numbers, audit rows, tenant isolation, and a scripted
agent session."""
import datetime
import json
import socket
import ssl
import threading
import uuid

from harness import PORT, Client, expect, run_threads, sql_fails

SERVER = dict(workers=2, extra={"rate_limit_rps": 100000, "rate_limit_burst": 100000,
                                "max_inflight": 256})


def new_tenant():
    return "t-" + uuid.uuid4().hex[:10]


def ok(c, tool, args):
    err, sc = c.tool(tool, args)
    expect(not err, (tool, args, sc))
    return sc


def fails(c, tool, args, code, field=None, fragment=None):
    err, sc = c.tool(tool, args)
    expect(err, ("expected an error", tool, args, sc))
    e = sc["error"]
    expect(e["code"] == code, (code, e))
    if field is not None:
        expect(e.get("field") == field, (field, e))
    if fragment is not None:
        expect(fragment in e["message"], (fragment, e["message"]))
    return e


def invoice(c, cust="acme-co", amount=5000, qty=1, **kw):
    args = {"customer_id": cust, "line_items": [{"description": "Work", "amount_cents": amount,
                                                 "quantity": qty}]}
    args.update(kw)
    return ok(c, "create_invoice", args)


def test_get_invoice_and_not_found(env):
    c = Client(env, env.token(tenant=new_tenant()))
    inv = invoice(c)
    full = ok(c, "get_invoice", {"invoice_id": inv["invoice_id"]})
    expect(full["total_cents"] == 5000 and full["amount_due_cents"] == 5000, full)
    expect(full["payments"] == [] and len(full["line_items"]) == 1, full)
    missing = str(uuid.uuid4())
    e1 = fails(c, "get_invoice", {"invoice_id": missing}, "NOT_FOUND", "invoice_id")
    # Another tenant's invoice answers exactly like a missing one.
    other = Client(env, env.token(tenant=new_tenant()))
    e2 = fails(other, "get_invoice", {"invoice_id": inv["invoice_id"]}, "NOT_FOUND", "invoice_id")
    expect(e1["message"].replace(missing, "X") == e2["message"].replace(inv["invoice_id"], "X"), (e1, e2))
    fails(c, "get_invoice", {"invoice_id": "not-a-uuid"}, "INVALID_INPUT", "invoice_id", "UUID")


def test_send_assigns_gapless_numbers(env):
    c = Client(env, env.token(tenant=new_tenant()))
    a, b = invoice(c), invoice(c)
    sa = ok(c, "send_invoice", {"invoice_id": a["invoice_id"]})
    expect(sa["status"] == "sent" and sa["invoice_number"] == "INV-000001" and sa["issued_at"], sa)
    again = ok(c, "send_invoice", {"invoice_id": a["invoice_id"]})
    expect(again == sa, "sending twice returns it unchanged")
    sb = ok(c, "send_invoice", {"invoice_id": b["invoice_id"]})
    expect(sb["invoice_number"] == "INV-000002", sb)
    v = invoice(c)
    ok(c, "void_invoice", {"invoice_id": v["invoice_id"], "reason": "typo"})
    fails(c, "send_invoice", {"invoice_id": v["invoice_id"]}, "INVALID_STATE", "invoice_id", "void")


def test_concurrent_sends_stay_gapless(env):
    tok = env.token(tenant=new_tenant())
    c = Client(env, tok)
    ids = [invoice(c)["invoice_id"] for _ in range(20)]
    numbers = []

    def send(i):
        numbers.append(ok(Client(env, tok), "send_invoice", {"invoice_id": ids[i]})["invoice_number"])

    errors = run_threads(20, send)
    expect(not errors, errors)
    expect(sorted(numbers) == [f"INV-{n:06d}" for n in range(1, 21)], sorted(numbers))


def test_payments_partial_then_paid(env):
    c = Client(env, env.token(tenant=new_tenant()))
    inv = invoice(c, amount=10000)
    iid = inv["invoice_id"]
    fails(c, "apply_payment", {"invoice_id": iid, "amount_cents": 100}, "INVALID_STATE", "invoice_id",
          "send it with send_invoice")
    ok(c, "send_invoice", {"invoice_id": iid})
    fails(c, "apply_payment", {"invoice_id": iid, "amount_cents": 10001}, "INVALID_INPUT",
          "amount_cents", "amount due of 10000")
    fails(c, "apply_payment", {"invoice_id": iid, "amount_cents": 0}, "INVALID_INPUT", "amount_cents", ">= 1")
    fails(c, "apply_payment", {"invoice_id": iid, "amount_cents": 5, "paid_at": "yesterday"},
          "INVALID_INPUT", "paid_at", "RFC 3339")
    fails(c, "apply_payment", {"invoice_id": iid, "amount_cents": 5, "method": "m" * 41},
          "INVALID_INPUT", "method", "1-40 characters")
    p1 = ok(c, "apply_payment", {"invoice_id": iid, "amount_cents": 2500, "method": "card",
                                 "reference": "ch_1", "paid_at": "2026-11-01T10:00:00+02:00"})
    expect(p1["status"] == "sent" and p1["amount_paid_cents"] == 2500 and p1["amount_due_cents"] == 7500, p1)
    expect(p1["payment"]["paid_at"] == "2026-11-01T08:00:00.000000Z", p1)
    p2 = ok(c, "apply_payment", {"invoice_id": iid, "amount_cents": 7500})
    expect(p2["status"] == "paid" and p2["amount_due_cents"] == 0, p2)
    fails(c, "apply_payment", {"invoice_id": iid, "amount_cents": 1}, "INVALID_STATE", "invoice_id", "paid")
    full = ok(c, "get_invoice", {"invoice_id": iid})
    expect([p["amount_cents"] for p in full["payments"]] == [2500, 7500], full)
    fails(c, "void_invoice", {"invoice_id": iid, "reason": "x"}, "INVALID_STATE", "invoice_id", "payments")
    # Payments are append-only even for direct SQL.
    sql_fails(env, f"UPDATE payments SET amount_cents = 1 WHERE invoice_id = '{iid}'", "append-only")
    sql_fails(env, f"DELETE FROM payments WHERE invoice_id = '{iid}'", "append-only")


def test_void_rules(env):
    c = Client(env, env.token(tenant=new_tenant()))
    d = invoice(c)
    v = ok(c, "void_invoice", {"invoice_id": d["invoice_id"], "reason": "duplicate"})
    expect(v["status"] == "void" and v["void_reason"] == "duplicate" and v["amount_due_cents"] == 0, v)
    fails(c, "void_invoice", {"invoice_id": d["invoice_id"], "reason": "again"}, "INVALID_STATE",
          "invoice_id", "already void")
    expect(ok(c, "get_invoice", {"invoice_id": d["invoice_id"]})["void_reason"] == "duplicate")
    s = invoice(c)
    ok(c, "send_invoice", {"invoice_id": s["invoice_id"]})
    expect(ok(c, "void_invoice", {"invoice_id": s["invoice_id"], "reason": "r"})["status"] == "void")
    p = invoice(c)
    ok(c, "send_invoice", {"invoice_id": p["invoice_id"]})
    ok(c, "apply_payment", {"invoice_id": p["invoice_id"], "amount_cents": 1})
    fails(c, "void_invoice", {"invoice_id": p["invoice_id"], "reason": "r"}, "INVALID_STATE",
          "invoice_id", "has payments")
    fails(c, "void_invoice", {"invoice_id": p["invoice_id"]}, "INVALID_INPUT", "reason", "required")
    fails(c, "apply_payment", {"invoice_id": d["invoice_id"], "amount_cents": 1}, "INVALID_STATE",
          "invoice_id", "void")


def test_racing_payments_never_overpay(env):
    tok = env.token(tenant=new_tenant())
    c = Client(env, tok)
    inv = invoice(c, amount=50)
    ok(c, "send_invoice", {"invoice_id": inv["invoice_id"]})
    results = []
    lock = threading.Lock()
    go = threading.Barrier(100)  # every client connected before any pays

    def pay(i):
        cl = Client(env, tok)
        cl.connect()
        go.wait()
        err, sc = cl.tool("apply_payment", {"invoice_id": inv["invoice_id"], "amount_cents": 1})
        with lock:
            results.append(sc["error"]["code"] if err else "ok")

    errors = run_threads(100, pay)
    expect(not errors, errors)
    expect(len(results) == 100, len(results))
    expect(results.count("ok") == 50, results)
    expect(set(results) - {"ok"} <= {"INVALID_STATE"}, set(results))
    full = ok(c, "get_invoice", {"invoice_id": inv["invoice_id"]})
    expect(full["status"] == "paid" and full["amount_paid_cents"] == 50 and len(full["payments"]) == 50, full)


def test_idempotent_create_and_conflict(env):
    c = Client(env, env.token(tenant=new_tenant()))
    key = str(uuid.uuid4())
    args = {"customer_id": "idem", "idempotency_key": key,
            "line_items": [{"description": "A", "amount_cents": 700}]}
    first = ok(c, "create_invoice", args)
    second = ok(c, "create_invoice", args)
    expect(second["invoice_id"] == first["invoice_id"] and second.get("idempotent_replay") is True, second)
    expect(ok(c, "list_invoices", {"customer_id": "idem"})["invoices"].__len__() == 1)
    changed = dict(args, line_items=[{"description": "A", "amount_cents": 701}])
    fails(c, "create_invoice", changed, "CONFLICT", "idempotency_key", "different arguments")
    # The same key is independent per tenant and per tool.
    other = Client(env, env.token(tenant=new_tenant()))
    expect(ok(other, "create_invoice", args)["invoice_id"] != first["invoice_id"])


def test_idempotent_create_race(env):
    tok = env.token(tenant=new_tenant())
    key = str(uuid.uuid4())
    args = {"customer_id": "race", "idempotency_key": key,
            "line_items": [{"description": "A", "amount_cents": 1}]}
    ids = []
    errors = run_threads(10, lambda i: ids.append(ok(Client(env, tok), "create_invoice", args)["invoice_id"]))
    expect(not errors, errors)
    expect(len(set(ids)) == 1 and len(ids) == 10, ids)
    c = Client(env, tok)
    expect(len(ok(c, "list_invoices", {"customer_id": "race"})["invoices"]) == 1)


def send_and_drop(env, tok, msg):
    """Sends one request and closes the socket without reading the answer."""
    ctx = ssl.create_default_context(cafile=env.cafile)
    body = json.dumps(msg).encode()
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", PORT)), server_hostname="127.0.0.1")
    s.sendall(b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Authorization: Bearer " + tok.encode() + b"\r\nContent-Length: " +
              str(len(body)).encode() + b"\r\n\r\n" + body)
    s.close()


def test_idempotent_payment_after_dropped_connection(env):
    tok = env.token(tenant=new_tenant())
    c = Client(env, tok)
    inv = invoice(c, amount=1000)
    ok(c, "send_invoice", {"invoice_id": inv["invoice_id"]})
    key = "pay-" + uuid.uuid4().hex
    args = {"invoice_id": inv["invoice_id"], "amount_cents": 400, "idempotency_key": key}
    send_and_drop(env, tok, {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                             "params": {"name": "apply_payment", "arguments": args}})
    # The agent never saw the answer and retries until it gets one.
    import time
    deadline = time.time() + 5
    while True:
        retry = ok(c, "apply_payment", args)
        if retry.get("idempotent_replay") or time.time() > deadline:
            break
        time.sleep(0.05)
    expect(retry.get("idempotent_replay") is True, retry)
    again = ok(c, "apply_payment", args)
    expect(again["payment"]["payment_id"] == retry["payment"]["payment_id"], (again, retry))
    full = ok(c, "get_invoice", {"invoice_id": inv["invoice_id"]})
    expect(full["amount_paid_cents"] == 400 and len(full["payments"]) == 1, full)
    fails(c, "apply_payment", dict(args, amount_cents=401), "CONFLICT", "idempotency_key")


def test_outstanding_balances_and_aging(env):
    c = Client(env, env.token(tenant=new_tenant()))
    today = datetime.date(2026, 6, 30)

    def sent(cust, amount, due, currency="USD"):
        inv = invoice(c, cust=cust, amount=amount, due_date=due.isoformat(), currency=currency)
        ok(c, "send_invoice", {"invoice_id": inv["invoice_id"]})
        return inv["invoice_id"]

    d = datetime.timedelta
    sent("alpha", 100, today + d(days=5))      # current
    sent("alpha", 200, today - d(days=10))     # 1-30
    sent("alpha", 300, today - d(days=45))     # 31-60
    x = sent("alpha", 400, today - d(days=75))  # 61-90
    sent("alpha", 500, today - d(days=120))    # over 90
    sent("alpha", 9000, today - d(days=3), currency="EUR")
    sent("beta", 1000, today)                  # due today: current
    ok(c, "apply_payment", {"invoice_id": x, "amount_cents": 150})
    invoice(c, cust="alpha", amount=77777)     # draft: not outstanding
    r = ok(c, "list_outstanding_balances", {"as_of": today.isoformat()})
    rows = {(b["customer_id"], b["currency"]): b for b in r["balances"]}
    a = rows[("alpha", "USD")]
    expect(a["outstanding_cents"] == 1350 and a["overdue_cents"] == 1250 and a["invoice_count"] == 5, a)
    expect({k: a[k] for k in ("current", "days_1_30", "days_31_60", "days_61_90", "days_over_90")} ==
           {"current": 100, "days_1_30": 200, "days_31_60": 300, "days_61_90": 250, "days_over_90": 500}, a)
    expect(a["oldest_due_date"] == (today - d(days=120)).isoformat(), a)
    expect(rows[("alpha", "EUR")]["outstanding_cents"] == 9000, rows)
    expect(rows[("beta", "USD")]["overdue_cents"] == 0, rows)
    totals = {t["currency"]: t for t in r["totals"]}
    expect(totals["USD"]["outstanding_cents"] == 2350 and totals["EUR"]["outstanding_cents"] == 9000, totals)
    expect(r["next_cursor"] is None and r["as_of"] == today.isoformat(), r)
    # Pages of one row, following cursors, see every row once.
    seen, cur = [], None
    while True:
        args = {"as_of": today.isoformat(), "limit": 1}
        if cur:
            args["cursor"] = cur
        page = ok(c, "list_outstanding_balances", args)
        seen += [(b["customer_id"], b["currency"]) for b in page["balances"]]
        expect(page["totals"] == r["totals"], "totals cover the whole filter on every page")
        cur = page["next_cursor"]
        if not cur:
            break
    expect(seen == sorted(rows), seen)
    only = ok(c, "list_outstanding_balances", {"customer_id": "alpha", "currency": "EUR"})
    expect([(b["customer_id"], b["currency"]) for b in only["balances"]] == [("alpha", "EUR")], only)
    fails(c, "list_outstanding_balances", {"as_of": "2026-02-30"}, "INVALID_INPUT", "as_of")
    fails(c, "list_outstanding_balances", {"cursor": cur or "AAAA"}, "INVALID_INPUT", "cursor")


def test_overdue_is_derived(env):
    c = Client(env, env.token(tenant=new_tenant()))
    inv = invoice(c, cust="late", due_date="2020-01-01")
    ok(c, "send_invoice", {"invoice_id": inv["invoice_id"]})
    full = ok(c, "get_invoice", {"invoice_id": inv["invoice_id"]})
    expect(full["status"] == "overdue", full)
    expect(len(ok(c, "list_invoices", {"customer_id": "late", "status": "overdue"})["invoices"]) == 1)
    expect(ok(c, "list_invoices", {"customer_id": "late", "status": "sent"})["invoices"] == [])
    p = ok(c, "apply_payment", {"invoice_id": inv["invoice_id"], "amount_cents": 5000})
    expect(p["status"] == "paid", p)


def test_customers(env):
    c = Client(env, env.token(tenant=new_tenant()))
    fails(c, "get_customer", {"customer_id": "nobody"}, "NOT_FOUND", "customer_id", "upsert_customer")
    invoice(c, cust="early")
    g = ok(c, "get_customer", {"customer_id": "early"})
    expect(g["has_details"] is False and g["invoice_count"] == 1, g)
    u = ok(c, "upsert_customer", {"customer_id": "early", "name": "Early Bird Ltd",
                                  "email": "billing@early.example", "address": "1 Main St\nTown"})
    expect(u["created"] is True, u)
    u2 = ok(c, "upsert_customer", {"customer_id": "early", "name": "Early Bird Limited"})
    expect(u2["created"] is False and u2["email"] is None and u2["name"] == "Early Bird Limited", u2)
    g = ok(c, "get_customer", {"customer_id": "early"})
    expect(g["has_details"] is True and g["name"] == "Early Bird Limited", g)
    fails(c, "upsert_customer", {"customer_id": "x", "name": "n", "email": "not-an-email"},
          "INVALID_INPUT", "email", "e-mail")
    fails(c, "upsert_customer", {"customer_id": "x"}, "INVALID_INPUT", "name", "required")


def test_every_change_is_audited(env):
    tenant = new_tenant()
    c = Client(env, env.token(tenant=tenant, sub="auditor-bot"))
    inv = invoice(c)
    ok(c, "send_invoice", {"invoice_id": inv["invoice_id"]})
    pay = ok(c, "apply_payment", {"invoice_id": inv["invoice_id"], "amount_cents": 10})
    ok(c, "upsert_customer", {"customer_id": "acme-co", "name": "Acme"})
    rows = env.psql(f"SELECT tool || ' ' || object_id || ' ' || subject || ' ' || (request_id <> '')"
                    f" FROM audit_log WHERE tenant_id = '{tenant}' ORDER BY audit_id").splitlines()
    expect(rows == [f"create_invoice {inv['invoice_id']} auditor-bot true",
                    f"send_invoice {inv['invoice_id']} auditor-bot true",
                    f"apply_payment {pay['payment']['payment_id']} auditor-bot true",
                    "upsert_customer acme-co auditor-bot true"], rows)


def test_payment_scope_required(env):
    c = Client(env, env.token(tenant=new_tenant(), scope="invoices:read invoices:write"))
    inv = invoice(c)
    st, hdrs, _ = c.call("apply_payment", {"invoice_id": inv["invoice_id"], "amount_cents": 1})
    expect(st == 403 and 'scope="invoices:read invoices:write payments:write"' in hdrs["www-authenticate"],
           (st, hdrs))


def test_scripted_agent_session(env):
    """create -> send -> list outstanding -> partial payment -> payment -> paid."""
    c = Client(env, env.token(tenant=new_tenant(), sub="agent-session"))
    st, _, b = c.rpc("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                    "clientInfo": {"name": "scripted-agent", "version": "1"}})
    expect(st == 200)
    expect(c.post({"jsonrpc": "2.0", "method": "notifications/initialized"})[0] == 202)
    names = [t["name"] for t in c.rpc("tools/list", {})[2]["result"]["tools"]]
    expect({"create_invoice", "send_invoice", "list_outstanding_balances", "apply_payment",
            "get_invoice"} <= set(names), names)
    inv = ok(c, "create_invoice", {"customer_id": "globex", "currency": "EUR",
                                   "idempotency_key": "session-1",
                                   "line_items": [{"description": "Consulting", "amount_cents": 12000,
                                                   "quantity": 3},
                                                  {"description": "Travel", "amount_cents": 4550}]})
    expect(inv["total_cents"] == 40550, inv)
    sent = ok(c, "send_invoice", {"invoice_id": inv["invoice_id"]})
    expect(sent["invoice_number"] == "INV-000001", sent)
    bal = ok(c, "list_outstanding_balances", {"customer_id": "globex"})
    expect(bal["balances"][0]["outstanding_cents"] == 40550 and bal["balances"][0]["currency"] == "EUR", bal)
    p1 = ok(c, "apply_payment", {"invoice_id": inv["invoice_id"], "amount_cents": 20000,
                                 "idempotency_key": "pay-1", "method": "bank_transfer"})
    expect(p1["status"] == "sent" and p1["amount_due_cents"] == 20550, p1)
    p2 = ok(c, "apply_payment", {"invoice_id": inv["invoice_id"], "amount_cents": p1["amount_due_cents"],
                                 "idempotency_key": "pay-2"})
    expect(p2["status"] == "paid" and p2["amount_due_cents"] == 0, p2)
    expect(ok(c, "list_outstanding_balances", {"customer_id": "globex"})["balances"] == [])
    full = ok(c, "get_invoice", {"invoice_id": inv["invoice_id"]})
    expect(full["status"] == "paid" and full["amount_paid_cents"] == 40550, full)


def test_tool_declarations_guide_agents(env):
    c = Client(env, env.token())
    tools = {t["name"]: t for t in c.rpc("tools/list", {})[2]["result"]["tools"]}
    expect(set(tools) == {"create_invoice", "get_invoice", "list_invoices", "send_invoice",
                          "apply_payment", "void_invoice", "list_outstanding_balances",
                          "upsert_customer", "get_customer", "list_customers", "update_invoice",
                          "create_credit_note", "apply_credit", "reverse_payment",
                          "upsert_tax_rate", "list_tax_rates", "upsert_business_profile",
                          "get_business_profile", "get_statement", "get_invoice_pdf",
                          "get_credit_note_pdf", "get_einvoice"}, tools.keys())
    readers = {"get_invoice", "list_invoices", "list_outstanding_balances", "get_customer",
               "list_customers", "list_tax_rates", "get_business_profile", "get_statement",
               "get_invoice_pdf", "get_credit_note_pdf", "get_einvoice"}
    for name, t in tools.items():
        a = t["annotations"]
        expect(t["title"] and t["description"] and "outputSchema" in t, name)
        expect(a["readOnlyHint"] == (name in readers), (name, a))
        expect(a["destructiveHint"] == (name in ("void_invoice", "reverse_payment")), (name, a))
    for name in ("send_invoice", "void_invoice", "get_invoice", "upsert_customer", "update_invoice",
                 "upsert_tax_rate", "upsert_business_profile", "get_statement", "get_invoice_pdf",
                 "get_credit_note_pdf", "get_einvoice"):
        expect(tools[name]["annotations"]["idempotentHint"] is True, name)
    for name in ("create_invoice", "apply_payment", "create_credit_note", "apply_credit", "reverse_payment"):
        expect(tools[name]["annotations"]["idempotentHint"] is False, name)
        expect("idempotency_key" in tools[name]["inputSchema"]["properties"], name)
    expect("list_invoices" in tools["get_invoice"]["description"], "descriptions chain tools")


def test_idempotency_keys_kept_seven_days(env):
    tenant = new_tenant()
    env.psql(f"INSERT INTO idempotency_keys (tenant_id, tool, key, request_hash, created_at) VALUES"
             f" ('{tenant}', 'create_invoice', 'old', '\\x00', now() - interval '8 days'),"
             f" ('{tenant}', 'create_invoice', 'day', '\\x00', now() - interval '25 hours'),"
             f" ('{tenant}', 'create_invoice', 'new', '\\x00', now())")
    env.psql("SET ROLE mcp_invoiced_app; SELECT mcp_expire_idempotency_keys()")
    left = env.psql(f"SELECT string_agg(key, ',' ORDER BY key) FROM idempotency_keys WHERE tenant_id = '{tenant}'")
    expect(left == "day,new", left)


def test_dates_and_amounts_have_documented_ranges(env):
    c = Client(env, env.token(tenant=new_tenant()))
    inv = invoice(c, amount=1000)
    ok(c, "send_invoice", {"invoice_id": inv["invoice_id"]})
    pay = {"invoice_id": inv["invoice_id"], "amount_cents": 1}
    for bad in ("9999-12-31T23:59:59-01:00", "9999-01-01T00:00:00Z", "2026-03-01T12:00:00+16:00",
                "2026-03-01T12:00:00-14:30", "2026-03-01T12:00:00+15:59", "1999-12-31T23:59:59Z"):
        fails(c, "apply_payment", dict(pay, paid_at=bad), "INVALID_INPUT", field="paid_at",
              fragment="years 2000 to 9998")
    # The latest valid timestamp passes validation but is refused as being in the future.
    fails(c, "apply_payment", dict(pay, paid_at="9998-12-31T23:59:59-14:00"), "INVALID_INPUT",
          field="paid_at", fragment="future")
    ok(c, "apply_payment", dict(pay, paid_at="2026-03-01T12:00:00+14:00"))
    fails(c, "create_invoice", {"customer_id": "x", "line_items": [{"description": "a", "amount_cents": 1}],
                                "due_date": "9999-01-01"}, "INVALID_INPUT", field="due_date")
    fails(c, "list_outstanding_balances", {"as_of": "10000-01-01"}, "INVALID_INPUT", field="as_of")
    # One invoice totals at most 10^15 - 1 minor units, in the server and in the database.
    top = 999999999999999
    fails(c, "create_invoice", {"customer_id": "x", "line_items": [
        {"description": "a", "amount_cents": top}, {"description": "b", "amount_cents": 1}]},
        "INVALID_INPUT", field="line_items[1]", fragment="999999999999999")
    fails(c, "apply_payment", dict(pay, amount_cents=top + 1), "INVALID_INPUT", field="amount_cents")
    draft = ok(c, "create_invoice", {"customer_id": "x", "line_items": [{"description": "a", "amount_cents": top}]})
    # (a draft: a sent invoice's total cannot change at all)
    sql_fails(env, "UPDATE invoices SET total_cents = 1000000000000000 WHERE invoice_id = '%s'"
              % draft["invoice_id"], "invoices_total_limit")


def test_sums_over_many_large_invoices_stay_exact(env):
    tenant = new_tenant()
    c = Client(env, env.token(tenant=tenant))
    top = 999999999999999
    # 20,000 open invoices at the per-invoice maximum: 2 * 10^19 > 2^64.
    env.psql(f"""INSERT INTO invoices (tenant_id, customer_id, status, currency, total_cents,
                 amount_paid_cents, due_date, invoice_number, issued_at, created_at)
                 SELECT '{tenant}', 'whale', 'sent', 'USD', {top}, 0, current_date + 30,
                        'INV-' || lpad(g::text, 6, '0'), now(), now()
                   FROM generate_series(1, 20000) g""")
    r = ok(c, "list_outstanding_balances", {})
    row = r["balances"][0]
    expect(row["outstanding_cents"] == 20000 * top and row["current"] == 20000 * top, row)
    expect(r["totals"][0]["outstanding_cents"] == 20000 * top, r["totals"])
