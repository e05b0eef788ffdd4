"""Kept open balances (sql/migrations/0011_balances.sql): list_outstanding_balances
and customer balances read sums kept as the ledger changes. Checked here:
the answers equal the old all-invoices query (tests/integration/sql/
outstanding_ledger.sql) for every as_of, page, cursor and filter; racing
writes of every kind on shared customers leave every kept sum equal to the
invoices; payments of different customers in opposite orders inside
transactions never wait for each other (no deadlock); and
`mcp-invoiced check-balances` reports a difference and exits 3."""
import json
import os
import random
import subprocess
import threading
import time

from harness import BIN, ROOT, Client, expect, run_threads
from test_domain import new_tenant, ok

SERVER = dict(workers=2, extra={"rate_limit_rps": 100000, "rate_limit_burst": 100000,
                                "max_inflight": 512, "max_connections_per_ip": 0})
LEDGER_SQL = os.path.join(ROOT, "tests/integration/sql/outstanding_ledger.sql")


def load_ledger_query(env):
    env.psql(open(LEDGER_SQL).read())


def sent(c, cust, amount, currency="USD", due=None):
    args = {"customer_id": cust, "currency": currency,
            "line_items": [{"description": "Work", "amount_cents": amount}]}
    if due:
        args["due_date"] = due
    inv = ok(c, "create_invoice", args)
    return ok(c, "send_invoice", {"invoice_id": inv["invoice_id"]})


def check_rows(env):
    return env.psql("SELECT count(*) FROM mcp_check_balances()")


def compare_with_ledger(env, tenant, as_of_days, calls):
    """Counts the (as_of, call) pairs where the kept and the ledger answers differ."""
    q = f"""
        SELECT count(*) FILTER (WHERE mcp_list_outstanding(t, cu, cur, current_date + d, l, ac, acur)
                                      IS DISTINCT FROM
                                      mcp_list_outstanding_ledger(t, cu, cur, current_date + d, l, ac, acur)),
               count(*)
          FROM unnest(ARRAY[{",".join(str(d) for d in as_of_days)}]) d,
               (VALUES {",".join(calls)}) v(t, cu, cur, l, ac, acur)"""
    bad, n = env.psql(q).split("|")
    return int(bad), int(n)


def calls_for(tenant, customers):
    def s(x):
        return "NULL::text" if x is None else f"'{x}'"
    out = []
    for limit in (1, 2, 3, 50):
        out.append(f"('{tenant}', NULL::text, NULL::text, {limit}, NULL::text, NULL::text)")
        for cu in customers[:4]:
            out.append(f"('{tenant}', NULL, NULL, {limit}, {s(cu)}, 'EUR')")
            out.append(f"('{tenant}', NULL, NULL, {limit}, {s(cu)}, 'USD')")
    for cu in customers:
        out.append(f"('{tenant}', {s(cu)}, NULL, 50, NULL, NULL)")
        out.append(f"('{tenant}', {s(cu)}, 'USD', 1, NULL, NULL)")
    for cur in ("USD", "EUR", "JPY"):
        out.append(f"('{tenant}', NULL, '{cur}', 2, NULL, NULL)")
    return out


def mixed_history(c, customers, rnd):
    """Sends, partial payments, credit notes, applied credit, reversals and
    voids over customers, currencies and due dates in the past and future."""
    today = time.gmtime()
    base = time.mktime((today.tm_year, today.tm_mon, today.tm_mday, 12, 0, 0, 0, 0, 0))
    invs = []
    for i in range(60):
        cust = customers[i % len(customers)]
        due = time.strftime("%Y-%m-%d", time.gmtime(base + 86400 * rnd.choice([-200, -95, -91, -90, -61, -60,
                                                                                 -31, -30, -1, 0, 1, 30, 45])))
        invs.append(sent(c, cust, rnd.randint(1000, 50000), rnd.choice(["USD", "EUR", "JPY"]), due))
    for inv in invs:
        iid, due = inv["invoice_id"], inv["amount_due_cents"]
        r = rnd.random()
        if r < 0.2:
            ok(c, "void_invoice", {"invoice_id": iid, "reason": "wrong"})
        elif r < 0.5:
            pay = ok(c, "apply_payment", {"invoice_id": iid, "amount_cents": due // 3})
            if rnd.random() < 0.5:
                ok(c, "reverse_payment", {"payment_id": pay["payment"]["payment_id"], "reason": "bounced"})
        elif r < 0.7:
            ok(c, "create_credit_note", {"invoice_id": iid, "amount_cents": due // 4, "reason": "discount"})
        elif r < 0.8:
            ok(c, "apply_payment", {"invoice_id": iid, "amount_cents": due})
            ok(c, "create_credit_note", {"invoice_id": iid, "amount_cents": due // 2, "reason": "refund"})
    for inv in invs:  # spend the credit the refunds left on open invoices of the same customer
        full = ok(c, "get_invoice", {"invoice_id": inv["invoice_id"]})
        if full["status"] not in ("sent", "overdue"):
            continue
        cust = ok(c, "get_customer", {"customer_id": full["customer_id"]})
        credit = [b["credit_cents"] for b in cust["balances"] if b["currency"] == full["currency"]]
        if credit and credit[0] > 0:
            ok(c, "apply_credit", {"customer_id": full["customer_id"], "invoice_id": full["invoice_id"],
                                   "amount_cents": min(credit[0], full["amount_due_cents"])})
    return invs


def test_kept_balances_equal_the_ledger_query_for_every_as_of(env):
    load_ledger_query(env)
    tenant = new_tenant()
    c = Client(env, env.token(tenant=tenant))
    customers = ["acme", "beta", "Gamma", "delta-2", "e.x"]
    mixed_history(c, customers, random.Random(28))
    expect(check_rows(env) == "0", env.psql("SELECT * FROM mcp_check_balances()"))
    bad, n = compare_with_ledger(env, tenant, range(-400, 401, 9), calls_for(tenant, customers))
    expect(bad == 0 and n > 4000, (bad, n))
    # through the server too, page by page with the cursor
    for as_of in ("2020-01-01", time.strftime("%Y-%m-%d"), "2031-06-30"):
        cur, pages = None, []
        while True:
            args = {"limit": 2, "as_of": as_of} | ({"cursor": cur} if cur else {})
            page = ok(c, "list_outstanding_balances", args)
            pages.append(page)
            cur = page.get("next_cursor")
            if not cur:
                break
        rows = [b for p in pages for b in p["balances"]]
        want = json.loads(env.psql(f"SELECT mcp_list_outstanding_ledger('{tenant}', NULL, NULL, '{as_of}', 1000, NULL, NULL)"))
        expect(rows == want["balances"], (as_of, rows, want["balances"]))
        expect(pages[0]["totals"] == want["totals"], (pages[0]["totals"], want["totals"]))
    # get_customer's balances: the same open amounts and counts
    for cust in customers:
        got = ok(c, "get_customer", {"customer_id": cust})["balances"]
        want = json.loads(env.psql(f"""
            SELECT COALESCE(jsonb_agg(jsonb_build_object('currency', currency, 'outstanding_cents', s,
                                                         'open_invoice_count', n) ORDER BY currency), '[]')
              FROM (SELECT currency, sum(total_cents - amount_paid_cents - credited_cents) s, count(*) n
                      FROM invoices WHERE tenant_id = '{tenant}' AND customer_id = '{cust}' AND status = 'sent'
                     GROUP BY currency) x"""))
        got_open = [{k: b[k] for k in ("currency", "outstanding_cents", "open_invoice_count")}
                    for b in got if b["open_invoice_count"] > 0]
        expect(got_open == want, (cust, got_open, want))


def test_pending_deltas_count_until_folded(env):
    """While another transaction holds the tenant's fold lock, writes leave
    their deltas unfolded; reads add them, and the next write folds them."""
    load_ledger_query(env)
    tenant = new_tenant()
    c = Client(env, env.token(tenant=tenant))
    invs = [sent(c, f"p{i % 3}", 10000 + i) for i in range(9)]
    holder = subprocess.Popen(
        ["/usr/lib/postgresql/" + sorted(os.listdir("/usr/lib/postgresql"))[-1] + "/bin/psql", "-X", "-q",
         "-h", os.path.join(env.dir, "sock"), "-p", str(__import__("harness").PGPORT), "-U", "postgres",
         "-d", "invoices", "-c",
         f"SELECT pg_advisory_lock(1112294996, hashtext('{tenant}')); SELECT pg_sleep(4)"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    for inv in invs[:4]:
        ok(c, "apply_payment", {"invoice_id": inv["invoice_id"], "amount_cents": inv["amount_due_cents"]})
    ok(c, "void_invoice", {"invoice_id": invs[5]["invoice_id"], "reason": "x"})
    sent(c, "p9", 777, "EUR")
    pending = env.psql(f"SELECT count(*) FROM balance_deltas WHERE tenant_id = '{tenant}'")
    expect(int(pending) >= 6, pending)
    bad, n = compare_with_ledger(env, tenant, range(-60, 61, 10), calls_for(tenant, ["p0", "p1", "p2", "p9"]))
    expect(bad == 0, (bad, n))
    expect(check_rows(env) == "0", env.psql("SELECT * FROM mcp_check_balances()"))
    holder.wait()
    ok(c, "apply_payment", {"invoice_id": invs[6]["invoice_id"], "amount_cents": 1})
    pending = env.psql(f"SELECT count(*) FROM balance_deltas WHERE tenant_id = '{tenant}'")
    expect(pending == "0", pending)
    expect(check_rows(env) == "0", env.psql("SELECT * FROM mcp_check_balances()"))


def test_racing_writes_on_shared_customers_keep_every_sum_exact(env):
    load_ledger_query(env)
    tenant = new_tenant()
    tok = env.token(tenant=tenant)
    c = Client(env, tok)
    customers = ["r0", "r1", "r2"]
    dues = ["2025-01-15", "2026-01-15", "2031-01-15"]
    base = [sent(c, customers[i % 3], 100000, "USD", dues[i % 3]) for i in range(30)]
    paid = [ok(c, "apply_payment", {"invoice_id": inv["invoice_id"], "amount_cents": 1000})["payment"]["payment_id"]
            for inv in base]
    for cust in customers:  # credit to spend: a paid invoice credited in full
        inv = sent(c, cust, 50000, "USD", dues[0])
        ok(c, "apply_payment", {"invoice_id": inv["invoice_id"], "amount_cents": 50000})
        ok(c, "create_credit_note", {"invoice_id": inv["invoice_id"], "amount_cents": 50000, "reason": "refund"})
    codes = []

    def act(i):
        cl = Client(env, tok)
        rnd = random.Random(i)
        try:
            for k in range(12):
                inv = base[rnd.randrange(len(base))]
                kind = rnd.choice(["create", "pay", "credit", "apply", "reverse", "void"])
                if kind == "create":
                    new = ok(cl, "create_invoice", {"customer_id": rnd.choice(customers),
                                                    "due_date": rnd.choice(dues),
                                                    "line_items": [{"description": "x", "amount_cents": 5000}]})
                    err, sc = cl.tool("send_invoice", {"invoice_id": new["invoice_id"]})
                    if rnd.random() < 0.3:
                        err, sc = cl.tool("void_invoice", {"invoice_id": new["invoice_id"], "reason": "dup"})
                elif kind == "pay":
                    err, sc = cl.tool("apply_payment", {"invoice_id": inv["invoice_id"], "amount_cents": 700})
                elif kind == "credit":
                    err, sc = cl.tool("create_credit_note", {"invoice_id": inv["invoice_id"], "amount_cents": 300,
                                                             "reason": "r"})
                elif kind == "apply":
                    err, sc = cl.tool("apply_credit", {"customer_id": inv["customer_id"],
                                                       "invoice_id": inv["invoice_id"], "amount_cents": 200})
                elif kind == "reverse":
                    err, sc = cl.tool("reverse_payment", {"payment_id": paid[rnd.randrange(len(paid))],
                                                          "reason": "bounced"})
                else:
                    err, sc = cl.tool("void_invoice", {"invoice_id": inv["invoice_id"], "reason": "x"})
                codes.append(sc["error"]["code"] if err else "ok")
        finally:
            cl.close()

    errors = run_threads(40, act)
    expect(not errors, errors[:3])
    expect(set(codes) <= {"ok", "INVALID_INPUT", "INVALID_STATE"}, set(codes))
    expect(codes.count("ok") > 200, codes.count("ok"))
    # every kept row (folded sums plus pending deltas) against the invoices
    expect(check_rows(env) == "0", env.psql("SELECT * FROM mcp_check_balances()"))
    folded = env.psql(f"""
        SELECT count(*) FROM (SELECT customer_id, currency, due_date, due_cents, invoice_count
                                FROM open_balances WHERE tenant_id = '{tenant}') k
          FULL JOIN (SELECT customer_id, currency, due_date,
                            sum(total_cents - amount_paid_cents - credited_cents) d, count(*) n
                       FROM invoices WHERE tenant_id = '{tenant}' AND status = 'sent' GROUP BY 1, 2, 3) l
          USING (customer_id, currency, due_date)
         WHERE (k.due_cents, k.invoice_count) IS DISTINCT FROM (l.d, l.n)""")
    pending = env.psql(f"SELECT count(*) FROM balance_deltas WHERE tenant_id = '{tenant}'")
    expect(pending != "0" or folded == "0", (folded, pending))
    bad, n = compare_with_ledger(env, tenant, range(-800, 2200, 97), calls_for(tenant, customers))
    expect(bad == 0, (bad, n))


def test_payments_of_different_customers_in_opposite_orders_never_deadlock(env):
    """Two transactions (as a group-commit batch is) pay invoices of two
    customers with the same due dates in opposite orders, many times at once:
    balances kept per customer and per due date in the writers' own rows
    would make them wait for each other; here no one waits, nothing deadlocks."""
    tenant = new_tenant()
    c = Client(env, env.token(tenant=tenant))
    pairs = [(sent(c, "left", 1000000, "USD", "2026-03-01"), sent(c, "right", 1000000, "USD", "2026-03-01"),
              sent(c, "left", 1000000, "USD", "2026-03-02"), sent(c, "right", 1000000, "USD", "2026-03-02"))
             for _ in range(4)]
    deadlocks0 = int(env.psql("SELECT deadlocks FROM pg_stat_database WHERE datname = 'invoices'"))
    pgbin = "/usr/lib/postgresql/" + sorted(os.listdir("/usr/lib/postgresql"))[-1] + "/bin/psql"
    port = str(__import__("harness").PGPORT)

    def pay(iid):
        return (f"SELECT mcp_apply_payment('{tenant}', 'agent', 'r', '{iid}', 1, NULL, 'wire', NULL, NULL, NULL);"
                " SELECT pg_sleep(0.05);")

    def batch(order):
        body = "".join(pay(i["invoice_id"]) for i in order)
        return subprocess.run([pgbin, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", os.path.join(env.dir, "sock"),
                               "-p", port, "-U", "mcp_invoiced_app", "-d", "invoices",
                               "-c", "BEGIN; SET lock_timeout = '5s'; " + body + " COMMIT;"],
                              capture_output=True, text=True, timeout=60)

    results = []
    lock = threading.Lock()

    def run(i):
        a, b, x, y = pairs[i % len(pairs)]
        order = [a, y, b, x] if i % 2 == 0 else [b, x, a, y]
        for _ in range(5):
            r = batch(order)
            with lock:
                results.append((r.returncode, r.stderr.strip()[:200]))

    errors = run_threads(8, run)
    expect(not errors, errors[:3])
    failed = [r for r in results if r[0] != 0]
    expect(not failed, failed[:3])
    deadlocks1 = int(env.psql("SELECT deadlocks FROM pg_stat_database WHERE datname = 'invoices'"))
    expect(deadlocks1 == deadlocks0, (deadlocks0, deadlocks1))
    # and through the server: 64 connections paying invoices of 8 customers that share due dates
    invs = [sent(c, f"s{i % 8}", 1000000, "USD", "2026-04-01") for i in range(64)]

    def server_pay(i):
        cl = Client(env, env.token(tenant=tenant))
        for _ in range(10):
            ok(cl, "apply_payment", {"invoice_id": invs[(i * 7 + _) % 64]["invoice_id"], "amount_cents": 1})
        cl.close()

    errors = run_threads(64, server_pay)
    expect(not errors, errors[:3])
    deadlocks2 = int(env.psql("SELECT deadlocks FROM pg_stat_database WHERE datname = 'invoices'"))
    expect(deadlocks2 == deadlocks0, (deadlocks0, deadlocks2))
    expect(check_rows(env) == "0", env.psql("SELECT * FROM mcp_check_balances()"))


def test_check_balances_command_reports_a_difference(env):
    tenant = new_tenant()
    c = Client(env, env.token(tenant=tenant))
    sent(c, "chk", 4242, "USD", "2026-05-05")
    conf = os.path.join(env.dir, "mcp-invoiced.conf")
    r = subprocess.run([BIN, "check-balances", "--config", conf], capture_output=True, text=True, timeout=60)
    expect(r.returncode == 0 and "every kept balance equals its invoices" in r.stdout, (r.returncode, r.stdout, r.stderr))
    env.psql(f"UPDATE open_balances SET due_cents = due_cents + 1 WHERE tenant_id = '{tenant}'")
    try:
        r = subprocess.run([BIN, "check-balances", "--config", conf], capture_output=True, text=True, timeout=60)
        expect(r.returncode == 3, (r.returncode, r.stdout, r.stderr))
        expect(f"{tenant}\tchk\tUSD\t2026-05-05\t4243\t1\t4242\t1" in r.stdout, r.stdout)
        expect("1 difference" in r.stdout, r.stdout)
    finally:  # the repair an operator runs
        env.psql(f"SELECT mcp_rebuild_balances('{tenant}')")
    r = subprocess.run([BIN, "check-balances", "--config", conf], capture_output=True, text=True, timeout=60)
    expect(r.returncode == 0, (r.returncode, r.stdout, r.stderr))


def test_sums_beyond_a_bigint_fold_and_read_exactly(env):
    """10,000 open invoices at the per-invoice maximum on one customer and
    due date sum past 2^63; the next write folds them, and every figure stays
    exact."""
    load_ledger_query(env)
    tenant = new_tenant()
    c = Client(env, env.token(tenant=tenant))
    top = 999999999999999
    env.psql(f"""INSERT INTO invoices (tenant_id, customer_id, status, currency, total_cents, amount_paid_cents,
                 due_date, invoice_number, issued_at, created_at)
                 SELECT '{tenant}', 'whale', 'sent', 'USD', {top}, 0, current_date + 30,
                        'INV-' || lpad(g::text, 6, '0'), now(), now()
                   FROM generate_series(1, 10000) g;
                 INSERT INTO invoice_counters (tenant_id, last_number) VALUES ('{tenant}', 10000)""")
    one = sent(c, "whale", 500)  # a write: folds the 10,000 pending deltas
    ok(c, "apply_payment", {"invoice_id": one["invoice_id"], "amount_cents": 100})
    expect(env.psql(f"SELECT count(*) FROM balance_deltas WHERE tenant_id = '{tenant}'") in ("0", "1", "2"))
    r = ok(c, "list_outstanding_balances", {})
    want = 10000 * top + 400
    expect(r["balances"][0]["outstanding_cents"] == want and r["totals"][0]["outstanding_cents"] == want, r)
    expect(check_rows(env) == "0", env.psql("SELECT * FROM mcp_check_balances()"))
    bad, n = compare_with_ledger(env, tenant, range(-5, 60, 5), calls_for(tenant, ["whale"]))
    expect(bad == 0, (bad, n))
