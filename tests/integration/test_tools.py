"""create_invoice and list_invoices end to end against PostgreSQL:
validation messages per field, money, pagination, tenant isolation."""
import datetime
import subprocess
import uuid

from harness import Client, expect

SERVER = dict(workers=2)

ITEM = {"description": "Widget", "amount_cents": 1250, "quantity": 2}


def new_customer():
    return "cust_" + uuid.uuid4().hex[:12]


def test_create_invoice_returns_totals_and_defaults(env):
    c = Client(env, env.token())
    cust = new_customer()
    err, sc = c.tool("create_invoice", {"customer_id": cust, "line_items": [
        ITEM, {"description": "Setup", "amount_cents": 500}]})
    expect(not err, sc)
    expect(sc["status"] == "draft" and sc["customer_id"] == cust and sc["currency"] == "USD", sc)
    expect(sc["total_cents"] == 3000, sc)
    expect([li["line_total_cents"] for li in sc["line_items"]] == [2500, 500], sc)
    expect(sc["line_items"][1]["quantity"] == 1, "quantity defaults to 1")
    due = datetime.date.today() + datetime.timedelta(days=30)
    expect(sc["due_date"] == due.isoformat(), sc)
    uuid.UUID(sc["invoice_id"])
    datetime.datetime.strptime(sc["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    expect(env.psql(f"SELECT total_cents FROM invoices WHERE invoice_id = '{sc['invoice_id']}'") == "3000")


def test_create_invoice_optional_fields(env):
    c = Client(env, env.token())
    err, sc = c.tool("create_invoice", {"customer_id": new_customer(), "line_items": [ITEM],
                                        "due_date": "2028-02-29", "currency": "JPY", "memo": "thanks"})
    expect(not err and sc["due_date"] == "2028-02-29" and sc["currency"] == "JPY", sc)
    expect(sc["memo"] == "thanks", sc)


def test_text_is_stored_verbatim(env):
    c = Client(env, env.token())
    evil = "'); DROP TABLE invoices;-- \"quoted\" \\ back ünïcödé 💸"
    err, sc = c.tool("create_invoice", {"customer_id": new_customer(), "memo": evil,
                                        "line_items": [{"description": evil, "amount_cents": 1}]})
    expect(not err and sc["memo"] == evil and sc["line_items"][0]["description"] == evil, sc)
    expect(env.psql("SELECT count(*) > 0 FROM invoices") == "t", "table still there")


def bad(c, args, field, fragment, tool="create_invoice"):
    err, sc = c.tool(tool, args)
    expect(err, ("expected an error", args, sc))
    e = sc["error"]
    expect(e["code"] == "INVALID_INPUT" and e["retryable"] is False, e)
    expect(e.get("field") == field, (field, e))
    expect(fragment in e["message"], (fragment, e["message"]))


def test_create_invoice_argument_errors(env):
    c = Client(env, env.token())
    ok = {"customer_id": "c1", "line_items": [ITEM]}

    def w(**kw):
        d = dict(ok)
        d.update(kw)
        return {k: v for k, v in d.items() if v is not ...}

    bad(c, w(customer_id=...), "customer_id", "customer_id is required")
    bad(c, w(customer_id=5), "customer_id", "must be a string, got an integer")
    bad(c, w(customer_id=""), "customer_id", "must be 1-64 characters long, got 0")
    bad(c, w(customer_id="x" * 65), "customer_id", "got 65")
    bad(c, w(customer_id="bad id"), "customer_id", "[A-Za-z0-9_.:-]")
    bad(c, w(line_items=...), "line_items", "line_items is required")
    bad(c, w(line_items=[]), "line_items", "must have 1-100 items, got 0")
    bad(c, w(line_items=[ITEM] * 101), "line_items", "got 101")
    bad(c, w(line_items={"a": 1}), "line_items", "must be an array")
    bad(c, w(line_items=[5]), "line_items[0]", "must be an object")
    bad(c, w(line_items=[ITEM, {"description": "x", "amount_cents": -5}]),
        "line_items[1].amount_cents", "line_items[1].amount_cents must be an integer >= 0, got -5")
    bad(c, w(line_items=[{"description": "x", "amount_cents": 1.5}]),
        "line_items[0].amount_cents", "must be an integer, got a number with a fraction")
    bad(c, w(line_items=[{"description": "x", "amount_cents": "100"}]),
        "line_items[0].amount_cents", "must be an integer, got a string")
    bad(c, w(line_items=[{"description": "x", "amount_cents": 10**16}]),
        "line_items[0].amount_cents", "<= 999999999999999")
    bad(c, w(line_items=[{"description": "x", "amount_cents": 99999999999999999999}]),
        "line_items[0].amount_cents", "<= 999999999999999")
    bad(c, w(line_items=[{"amount_cents": 1}]), "line_items[0].description", "is required")
    bad(c, w(line_items=[{"description": "", "amount_cents": 1}]),
        "line_items[0].description", "1-500 characters")
    bad(c, w(line_items=[{"description": "é" * 501, "amount_cents": 1}]),
        "line_items[0].description", "got 501")
    bad(c, w(line_items=[{"description": "x", "amount_cents": 1, "quantity": 0}]),
        "line_items[0].quantity", ">= 1, got 0")
    bad(c, w(line_items=[{"description": "x", "amount_cents": 1, "quantity": 1000001}]),
        "line_items[0].quantity", "<= 1000000")
    bad(c, w(line_items=[{"description": "x", "amount_cents": 1, "colour": "red"}]),
        "line_items[0].colour", "not a known argument")
    bad(c, w(due_date="2026-02-30"), "due_date", "calendar date")
    bad(c, w(due_date="tomorrow"), "due_date", "YYYY-MM-DD")
    bad(c, w(currency="XYZ"), "currency", "ISO 4217")
    bad(c, w(currency="usd"), "currency", "ISO 4217")
    bad(c, w(memo="m" * 2001), "memo", "0-2000 characters")
    bad(c, w(colour="red"), "colour", "not a known argument; expected: customer_id, line_items")
    bad(c, w(customer_id="a\u0000b"), "customer_id", "NUL")


def test_total_overflow_is_refused(env):
    c = Client(env, env.token())
    items = [{"description": "big", "amount_cents": 999999999999999, "quantity": 1000000}]
    err, sc = c.tool("create_invoice", {"customer_id": "c1", "line_items": items})
    expect(err and sc["error"]["code"] == "INVALID_INPUT" and sc["error"]["field"] == "line_items[0]", sc)
    items = [{"description": "big", "amount_cents": 999999999999999, "quantity": 1}] * 2
    err, sc = c.tool("create_invoice", {"customer_id": "c1", "line_items": items})
    expect(err and sc["error"]["field"] == "line_items[1]" and "exceed" in sc["error"]["message"], sc)


def test_list_invoices_newest_first_with_cursor_pages(env):
    c = Client(env, env.token())
    cust = new_customer()
    ids = []
    for i in range(7):
        err, sc = c.tool("create_invoice", {"customer_id": cust, "line_items": [
            {"description": f"item {i}", "amount_cents": i}]})
        ids.append(sc["invoice_id"])
    seen, cursor, pages = [], None, 0
    while True:
        args = {"customer_id": cust, "limit": 3}
        if cursor:
            args["cursor"] = cursor
        err, sc = c.tool("list_invoices", args)
        expect(not err, sc)
        seen += [i["invoice_id"] for i in sc["invoices"]]
        pages += 1
        cursor = sc["next_cursor"]
        if cursor is None:
            break
    expect(seen == ids[::-1], (seen, ids))
    expect(pages == 3, pages)
    err, sc = c.tool("list_invoices", {"customer_id": cust})
    expect(len(sc["invoices"]) == 7 and sc["next_cursor"] is None, sc)
    expect(sc["invoices"][0]["amount_due_cents"] == 6, sc)


def test_list_invoices_status_filter(env):
    c = Client(env, env.token())
    cust = new_customer()
    c.tool("create_invoice", {"customer_id": cust, "line_items": [ITEM]})
    err, sc = c.tool("list_invoices", {"customer_id": cust, "status": "draft"})
    expect(len(sc["invoices"]) == 1, sc)
    for st in ("sent", "paid", "overdue", "void"):
        err, sc = c.tool("list_invoices", {"customer_id": cust, "status": st})
        expect(not err and sc["invoices"] == [], (st, sc))
    bad(c, {"customer_id": cust, "status": "late"}, "status", "must be one of", tool="list_invoices")
    bad(c, {"customer_id": cust, "status": ""}, "status", "must be one of", tool="list_invoices")
    bad(c, {"customer_id": cust, "limit": 0}, "limit", ">= 1", tool="list_invoices")
    bad(c, {"customer_id": cust, "limit": 101}, "limit", "<= 100", tool="list_invoices")
    # customer_id is optional: without it the whole tenant is listed.
    err, sc = c.tool("list_invoices", {"status": "draft", "limit": 100})
    expect(not err and any(i["customer_id"] == cust for i in sc["invoices"]), sc)


def test_cursors_are_tamper_checked(env):
    c = Client(env, env.token())
    cust = new_customer()
    for i in range(3):
        c.tool("create_invoice", {"customer_id": cust, "line_items": [ITEM]})
    err, sc = c.tool("list_invoices", {"customer_id": cust, "limit": 1})
    cur = sc["next_cursor"]
    expect(cur, sc)
    forged = cur[:-2] + ("AA" if not cur.endswith("AA") else "BB")
    bad(c, {"customer_id": cust, "cursor": forged}, "cursor", "not a next_cursor", tool="list_invoices")
    bad(c, {"customer_id": "someone_else", "cursor": cur}, "cursor", "not a next_cursor",
        tool="list_invoices")
    bad(c, {"customer_id": cust, "status": "draft", "cursor": cur}, "cursor", "not a next_cursor",
        tool="list_invoices")
    other = Client(env, env.token(tenant="globex"))
    bad(other, {"customer_id": cust, "cursor": cur}, "cursor", "not a next_cursor", tool="list_invoices")
    bad(c, {"customer_id": cust, "cursor": "!!notbase64!!"}, "cursor", "not a next_cursor",
        tool="list_invoices")


def test_tenants_are_isolated(env):
    a = Client(env, env.token(tenant="tenant-a"))
    b = Client(env, env.token(tenant="tenant-b"))
    cust = new_customer()
    a.tool("create_invoice", {"customer_id": cust, "line_items": [ITEM]})
    err, sc = b.tool("list_invoices", {"customer_id": cust})
    expect(sc["invoices"] == [], sc)
    err, sc = a.tool("list_invoices", {"customer_id": cust})
    expect(len(sc["invoices"]) == 1, sc)
    # Row-level security holds even for SQL that forgets the tenant filter.
    leaked = env.psql("SET ROLE mcp_invoiced_app; SELECT set_config('app.tenant_id', 'tenant-b', false);"
                      f" SELECT count(*) FROM invoices WHERE customer_id = '{cust}'")
    expect(leaked.splitlines()[-1] == "0", leaked)
    seen = env.psql("SET ROLE mcp_invoiced_app; SELECT set_config('app.tenant_id', 'tenant-a', false);"
                    f" SELECT count(*) FROM invoices WHERE customer_id = '{cust}'")
    expect(seen.splitlines()[-1] == "1", seen)


def test_database_constraints_back_the_rules(env):
    # Straight SQL as the app role, bypassing the server's validation.
    for sql in ("INSERT INTO invoices (tenant_id, customer_id, currency, total_cents, due_date)"
                " VALUES ('t', 'c', 'USD', -1, current_date)",
                "INSERT INTO invoices (tenant_id, customer_id, currency, total_cents, due_date,"
                " amount_paid_cents) VALUES ('t', 'c', 'USD', 5, current_date, 6)",
                "INSERT INTO invoices (tenant_id, customer_id, currency, total_cents, due_date)"
                " VALUES ('t', 'c', 'usd', 5, current_date)"):
        try:
            env.psql("SET ROLE mcp_invoiced_app; SELECT set_config('app.tenant_id', 't', false); " + sql)
        except subprocess.CalledProcessError as e:
            expect("violates check constraint" in e.stderr, e.stderr)
            continue
        raise AssertionError("constraint did not refuse: " + sql)


def test_integers_may_be_written_with_a_zero_fraction(env):
    c = Client(env, env.token())
    st, _, b = c.post(None, raw_body=b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":'
                                     b'"create_invoice","arguments":{"customer_id":"zf","line_items":['
                                     b'{"description":"x","amount_cents":100.0,"quantity":2.0}]}}}')
    sc = b["result"]["structuredContent"]
    expect(not b["result"]["isError"] and sc["total_cents"] == 200, b)
    err, sc = c.tool("list_invoices", {"customer_id": "zf", "limit": 2.5})
    expect(err and sc["error"]["field"] == "limit" and "integer" in sc["error"]["message"], sc)
    err, sc = c.tool("list_invoices", {"customer_id": "zf", "limit": 1e300})
    expect(err and sc["error"]["field"] == "limit", sc)



def test_past_due_dates_and_early_payments_are_accepted_with_a_warning(env):
    c = Client(env, env.token(tenant="warnings"))
    err, inv = c.tool("create_invoice", {"customer_id": "w", "due_date": "2020-01-31",
                                         "line_items": [{"description": "x", "amount_cents": 1000}]})
    expect(not err, inv)
    err, sent = c.tool("send_invoice", {"invoice_id": inv["invoice_id"]})
    expect(not err and sent["status"] in ("overdue", "sent"), sent)
    expect(len(sent.get("warnings", [])) == 1 and "2020-01-31 had already passed" in sent["warnings"][0], sent)
    err, paid = c.tool("apply_payment", {"invoice_id": inv["invoice_id"], "amount_cents": 100,
                                         "paid_at": "2020-01-01T00:00:00Z"})
    expect(not err and paid["amount_due_cents"] == 900, paid)
    expect(len(paid.get("warnings", [])) == 1 and "before the invoice was sent" in paid["warnings"][0], paid)
    # Ordinary calls carry none.
    err, again = c.tool("apply_payment", {"invoice_id": inv["invoice_id"], "amount_cents": 100})
    expect(not err and "warnings" not in again, again)
    err, inv2 = c.tool("create_invoice", {"customer_id": "w", "line_items": [{"description": "y", "amount_cents": 5}]})
    err, sent2 = c.tool("send_invoice", {"invoice_id": inv2["invoice_id"]})
    expect(not err and "warnings" not in sent2, sent2)
