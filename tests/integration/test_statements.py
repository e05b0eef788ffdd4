"""Customer statements: the figures get_statement returns, checked against
an independent model over randomly generated histories (many invoices,
partial payments, voids, several currencies, dates around the period
boundaries), and the invariants each statement must keep: opening + debits
- credits = closing, aging total = closing, nothing dated after the
statement date counts, voids change no figure. Also the business profile
tools."""
import datetime
import random
import uuid

from harness import Client, expect

SERVER = dict(workers=2, extra={"rate_limit_rps": 100000, "rate_limit_burst": 100000,
                                "max_inflight": 256})

D = datetime.date


def ok(c, tool, args):
    err, sc = c.tool(tool, args)
    expect(not err, (tool, args, sc))
    return sc


def new_tenant():
    return "st-" + uuid.uuid4().hex[:10]


def pay_dated(env, c, iid, amount, when):
    """A payment whose paid_at is `when` (an RFC 3339 time, possibly in the
    future): recorded now through the tool (which refuses future dates),
    then re-dated in the database as history the test needs (payments are
    append-only to every role, so the trigger is bypassed here)."""
    p = ok(c, "apply_payment", {"invoice_id": iid, "amount_cents": amount})
    env.psql(f"SET session_replication_role = replica; "
             f"UPDATE payments SET paid_at = '{when}' WHERE payment_id = '{p['payment']['payment_id']}'")
    return p


def make_history(env, c, rng, cust, currencies, n):
    """n invoices for cust, issued (back-dated in the database) over four
    months around October 2026, with partial payments and voids. Returns
    the model: a list of dicts."""
    model = []
    base = D(2026, 8, 15)
    for _ in range(n):
        cur = rng.choice(currencies)
        total = rng.randint(1, 50) * rng.choice([1, 7, 100, 1234])
        issued = base + datetime.timedelta(days=rng.randint(0, 120))
        due = issued + datetime.timedelta(days=rng.choice([0, 7, 14, 30, 45]))
        inv = ok(c, "create_invoice", {"customer_id": cust, "currency": cur, "due_date": due.isoformat(),
                                       "line_items": [{"description": "work", "amount_cents": total}]})
        iid = inv["invoice_id"]
        ok(c, "send_invoice", {"invoice_id": iid})
        # Back-date the sending (history the server cannot write): a sent
        # invoice is immutable to every role, so the trigger is bypassed here.
        env.psql(f"SET session_replication_role = replica; "
                 f"UPDATE invoices SET issued_at = '{issued.isoformat()} 12:00:00+00', "
                 f"created_at = '{issued.isoformat()} 11:00:00+00' "
                 f"WHERE invoice_id = '{iid}'")
        rec = {"id": iid, "cur": cur, "total": total, "issued": issued, "due": due, "void": False,
               "pays": []}
        roll = rng.random()
        if roll < 0.15:
            voided = issued + datetime.timedelta(days=rng.randint(0, 40))
            ok(c, "void_invoice", {"invoice_id": iid, "reason": "mistake"})
            env.psql(f"SET session_replication_role = replica; "
                     f"UPDATE invoices SET voided_at = '{voided.isoformat()} 13:00:00+00' "
                     f"WHERE invoice_id = '{iid}'")
            rec["void"] = True
            rec["voided"] = voided
        elif roll < 0.75:
            left = total
            for _ in range(rng.randint(1, 3)):
                if left == 0:
                    break
                amt = rng.randint(1, left)
                # Some back-dated before the invoice, some after the period.
                paid = issued + datetime.timedelta(days=rng.randint(-5, 60))
                pay_dated(env, c, iid, amt, paid.isoformat() + "T23:30:00Z")
                rec["pays"].append((amt, max(paid, issued)))
                left -= amt
        model.append(rec)
    return model


def expected(model, cur, start, end):
    live = [r for r in model if r["cur"] == cur and not r["void"] and r["issued"] <= end]
    opening = sum(r["total"] for r in live if r["issued"] < start) - \
        sum(a for r in live for a, d in r["pays"] if d < start)
    invoiced = sum(r["total"] for r in live if r["issued"] >= start)
    payments = sum(a for r in live for a, d in r["pays"] if start <= d <= end)
    aging = {"current": 0, "days_1_30": 0, "days_31_60": 0, "days_61_90": 0, "days_over_90": 0}
    overdue = 0
    open_items = 0
    for r in live:
        left = r["total"] - sum(a for a, d in r["pays"] if d <= end)
        days = (end - r["due"]).days
        key = ("current" if days <= 0 else "days_1_30" if days <= 30 else "days_31_60" if days <= 60
               else "days_61_90" if days <= 90 else "days_over_90")
        aging[key] += left
        if days > 0:
            overdue += left
        if left > 0:
            open_items += 1
    return {"opening_balance_cents": opening, "invoiced_cents": invoiced, "payments_cents": payments,
            "closing_balance_cents": opening + invoiced - payments, "overdue_cents": overdue,
            "amount_due_cents": sum(aging.values())}, aging, open_items


def check_invariants(st):
    s = st["summary"]
    expect(s["opening_balance_cents"] + s["invoiced_cents"] - s["payments_cents"]
           == s["closing_balance_cents"], s)
    a = st["aging"]
    buckets = a["current"] + a["days_1_30"] + a["days_31_60"] + a["days_61_90"] + a["days_over_90"]
    expect(buckets == a["total"] == s["closing_balance_cents"], (a, s))
    if st["type"] == "activity":
        debits = sum(ln["debit_cents"] for ln in st["lines"])
        credits = sum(ln["credit_cents"] for ln in st["lines"])
        expect(debits == s["invoiced_cents"] and credits == s["payments_cents"], (debits, credits, s))
        bal = s["opening_balance_cents"]
        for ln in st["lines"]:
            expect(ln["date"] >= st["period_start"] and ln["date"] <= st["period_end"], ln)
            bal += ln["debit_cents"] - ln["credit_cents"]
            expect(ln["balance_cents"] == bal, (ln, bal))
            if ln["type"] == "void":
                expect(ln["debit_cents"] == 0 and ln["credit_cents"] == 0, ln)
        expect(bal == s["closing_balance_cents"], (bal, s))
        dates = [ln["date"] for ln in st["lines"]]
        expect(dates == sorted(dates), dates)
    else:
        expect(sum(ln["open_cents"] for ln in st["lines"]) == s["closing_balance_cents"], st["lines"])
        for ln in st["lines"]:
            expect(ln["original_cents"] - ln["paid_cents"] == ln["open_cents"] > 0, ln)


def statement(c, cust, cur, start, end, typ="activity"):
    return ok(c, "get_statement", {"customer_id": cust, "currency": cur, "period_start": start.isoformat(),
                                   "period_end": end.isoformat(), "type": typ})


def test_statement_figures_match_a_model_of_random_histories(env):
    rng = random.Random(20261001)
    tenant = new_tenant()
    c = Client(env, env.token(tenant=tenant))
    cust = "cust-rand"
    ok(c, "upsert_customer", {"customer_id": cust, "name": "Random Ltd", "email": "ap@random.example"})
    model = make_history(env, c, rng, cust, ["USD", "JPY", "KWD"], 60)
    periods = [(D(2026, 10, 1), D(2026, 10, 31)), (D(2026, 10, 1), D(2026, 10, 1)),
               (D(2026, 9, 30), D(2026, 11, 1)), (D(2026, 8, 1), D(2026, 8, 14)),
               (D(2026, 11, 1), D(2026, 12, 31)), (D(2026, 9, 15), D(2026, 9, 15))]
    for _ in range(6):
        a = D(2026, 8, 1) + datetime.timedelta(days=rng.randint(0, 130))
        periods.append((a, a + datetime.timedelta(days=rng.randint(0, 40))))
    checked = 0
    for cur, exp in (("USD", 2), ("JPY", 0), ("KWD", 3)):
        for start, end in periods:
            want, aging, open_items = expected(model, cur, start, end)
            for typ in ("activity", "open_item"):
                st = statement(c, cust, cur, start, end, typ)
                check_invariants(st)
                expect(st["currency"] == cur and st["currency_exponent"] == exp, st["currency"])
                expect(st["statement_date"] == end.isoformat(), st["statement_date"])
                for k, v in want.items():
                    expect(st["summary"][k] == v, (cur, start, end, k, st["summary"][k], v))
                for k, v in aging.items():
                    expect(st["aging"][k] == v, (cur, start, end, k, st["aging"], aging))
                if typ == "open_item":
                    expect(len(st["lines"]) == open_items, (len(st["lines"]), open_items))
                checked += 1
    print(f"    {checked} statements over {len(model)} invoices matched the model")


def test_voids_and_later_payments_change_nothing(env):
    tenant = new_tenant()
    c = Client(env, env.token(tenant=tenant))
    cust = "cust-void"
    end = D.today()
    inv = ok(c, "create_invoice", {"customer_id": cust, "line_items": [{"description": "a", "amount_cents": 10000}]})
    ok(c, "send_invoice", {"invoice_id": inv["invoice_id"]})
    before = statement(c, cust, "USD", end.replace(day=1), end)
    # A void invoice changes no figure.
    v = ok(c, "create_invoice", {"customer_id": cust, "line_items": [{"description": "b", "amount_cents": 777}]})
    ok(c, "send_invoice", {"invoice_id": v["invoice_id"]})
    ok(c, "void_invoice", {"invoice_id": v["invoice_id"], "reason": "duplicate"})
    after = statement(c, cust, "USD", end.replace(day=1), end)
    expect(after["summary"] == before["summary"] and after["aging"] == before["aging"], (before, after))
    expect([ln["type"] for ln in after["lines"]] == ["invoice", "void"], after["lines"])
    # A payment dated after the statement date does not count in it.
    tomorrow = end + datetime.timedelta(days=1)
    pay_dated(env, c, inv["invoice_id"], 2500, tomorrow.isoformat() + "T08:00:00Z")
    same = statement(c, cust, "USD", end.replace(day=1), end)
    expect(same["summary"] == before["summary"], (before["summary"], same["summary"]))
    later = statement(c, cust, "USD", end.replace(day=1), tomorrow)
    expect(later["summary"]["payments_cents"] == 2500, later["summary"])
    expect(later["summary"]["closing_balance_cents"] == 7500, later["summary"])


def test_reversals_credit_notes_and_customer_credit(env):
    """The receivables domain on a statement: a reversal puts a payment back,
    credit notes take their whole amount off (the part beyond what is due
    becomes customer credit, shown as unapplied), credit spent on another
    invoice moves without changing the balance; the identities hold and the
    closing balance is what the customer owes."""
    tenant = new_tenant()
    c = Client(env, env.token(tenant=tenant))
    cust, today = "cust-credit", D.today()
    start = today.replace(day=1)
    inv = ok(c, "create_invoice", {"customer_id": cust, "line_items": [{"description": "a", "amount_cents": 10000}]})
    ok(c, "send_invoice", {"invoice_id": inv["invoice_id"]})
    pay = ok(c, "apply_payment", {"invoice_id": inv["invoice_id"], "amount_cents": 4000})
    ok(c, "reverse_payment", {"payment_id": pay["payment"]["payment_id"], "reason": "bounced"})
    ok(c, "create_credit_note", {"invoice_id": inv["invoice_id"], "amount_cents": 3000, "reason": "discount"})
    ok(c, "apply_payment", {"invoice_id": inv["invoice_id"], "amount_cents": 7000})
    cn = ok(c, "create_credit_note", {"invoice_id": inv["invoice_id"], "amount_cents": 2000, "reason": "refund due"})
    expect(cn["customer_credit_cents"] == 2000, cn)

    def check(st, closing):
        sm, ag = st["summary"], st["aging"]
        expect(sm["opening_balance_cents"] + sm["invoiced_cents"] + sm["reversals_cents"]
               - sm["payments_cents"] - sm["credit_notes_cents"] == sm["closing_balance_cents"] == closing, sm)
        buckets = sum(ag[k] for k in ("current", "days_1_30", "days_31_60", "days_61_90", "days_over_90"))
        expect(buckets + ag["unapplied_credit"] == ag["total"] == closing == sm["amount_due_cents"], (sm, ag))
        expect(st["lines"][-1]["balance_cents"] == closing, st["lines"])

    st = statement(c, cust, "USD", start, today)
    check(st, -2000)
    sm = st["summary"]
    expect((sm["invoiced_cents"], sm["payments_cents"], sm["reversals_cents"], sm["credit_notes_cents"],
            sm["unapplied_credit_cents"]) == (10000, 11000, 4000, 5000, 2000), sm)
    expect([ln["type"] for ln in st["lines"]] == ["invoice", "payment", "reversal", "credit_note", "payment",
                                                  "credit_note"], st["lines"])
    inv2 = ok(c, "create_invoice", {"customer_id": cust, "line_items": [{"description": "b", "amount_cents": 5000}]})
    ok(c, "send_invoice", {"invoice_id": inv2["invoice_id"]})
    ok(c, "apply_credit", {"customer_id": cust, "invoice_id": inv2["invoice_id"], "amount_cents": 2000})
    st = statement(c, cust, "USD", start, today)
    check(st, 3000)
    expect(st["summary"]["unapplied_credit_cents"] == 0, st["summary"])
    got = ok(c, "get_invoice", {"invoice_id": inv2["invoice_id"]})
    expect(got["amount_due_cents"] == 3000, got)
    opened = statement(c, cust, "USD", start, today, "open_item")
    expect([ln["open_cents"] for ln in opened["lines"]] == [3000], opened["lines"])


def test_statement_errors_and_defaults(env):
    tenant = new_tenant()
    c = Client(env, env.token(tenant=tenant))
    err, sc = c.tool("get_statement", {"customer_id": "nobody"})
    expect(err and sc["error"]["code"] == "NOT_FOUND" and sc["error"]["field"] == "customer_id", sc)
    for cur in ("USD", "EUR"):
        i = ok(c, "create_invoice", {"customer_id": "two", "currency": cur,
                                     "line_items": [{"description": "x", "amount_cents": 100}]})
        ok(c, "send_invoice", {"invoice_id": i["invoice_id"]})
    err, sc = c.tool("get_statement", {"customer_id": "two"})
    expect(err and sc["error"]["field"] == "currency" and "EUR, USD" in sc["error"]["message"], sc)
    err, sc = c.tool("get_statement", {"customer_id": "two", "currency": "EUR",
                                       "period_start": "2026-05-02", "period_end": "2026-05-01"})
    expect(err and sc["error"]["field"] == "period_start", sc)
    err, sc = c.tool("get_statement", {"customer_id": "two", "currency": "EUR", "type": "weekly"})
    expect(err and sc["error"]["field"] == "type", sc)
    err, sc = c.tool("get_statement", {"customer_id": "two", "currency": "EUR", "inline": "yes"})
    expect(err and sc["error"]["field"] == "inline", sc)
    st = ok(c, "get_statement", {"customer_id": "two", "currency": "EUR"})
    today = D.today()
    expect(st["period_end"] == today.isoformat() and st["period_start"] == today.replace(day=1).isoformat(), st)
    expect(st["type"] == "activity" and st["summary"]["closing_balance_cents"] == 100, st)
    expect(st["seller"] is None and st["customer"]["customer_id"] == "two", st)
    # Another tenant sees none of it.
    other = Client(env, env.token(tenant=new_tenant()))
    err, sc = other.tool("get_statement", {"customer_id": "two", "currency": "EUR"})
    expect(err and sc["error"]["code"] == "NOT_FOUND", sc)


def test_business_profile(env):
    tenant = new_tenant()
    c = Client(env, env.token(tenant=tenant))
    err, sc = c.tool("get_business_profile", {})
    expect(err and sc["error"]["code"] == "NOT_FOUND", sc)
    p = ok(c, "upsert_business_profile", {"legal_name": "Acme GmbH", "address": "Hauptstr. 1\n10115 Berlin",
                                          "tax_id": "DE123456789", "email": "billing@acme.example",
                                          "payment_instructions": "IBAN DE00 1234 5678 9012 3456 78"})
    expect(p["created"] is True and p["paper_size"] == "A4", p)
    p = ok(c, "upsert_business_profile", {"legal_name": "Acme Inc.", "paper_size": "Letter"})
    expect(p["created"] is False and p["paper_size"] == "Letter" and p["address"] is None, p)
    got = ok(c, "get_business_profile", {})
    expect(got["legal_name"] == "Acme Inc." and got["paper_size"] == "Letter", got)
    err, sc = c.tool("upsert_business_profile", {"legal_name": "X", "paper_size": "A3"})
    expect(err and sc["error"]["field"] == "paper_size", sc)
    ro = Client(env, env.token(tenant=tenant, scope="invoices:read"))
    st, _, body = ro.call("upsert_business_profile", {"legal_name": "Y"})
    expect(st == 403, (st, body))
    other = Client(env, env.token(tenant=new_tenant()))
    err, sc = other.tool("get_business_profile", {})
    expect(err and sc["error"]["code"] == "NOT_FOUND", sc)
    i = ok(c, "create_invoice", {"customer_id": "p1", "line_items": [{"description": "x", "amount_cents": 1}]})
    ok(c, "send_invoice", {"invoice_id": i["invoice_id"]})
    st = ok(c, "get_statement", {"customer_id": "p1"})
    expect(st["seller"]["legal_name"] == "Acme Inc.", st["seller"])
