"""require_known_customer = 1: create_invoice refuses a customer_id never
saved, naming the closest saved ids."""
import uuid

from harness import Client, expect

SERVER = dict(workers=1, extra={"require_known_customer": 1})


def test_require_known_customer_names_the_closest_ids(env):
    tenant = "t-" + uuid.uuid4().hex[:10]
    c = Client(env, env.token(tenant=tenant))
    line = [{"description": "a", "amount_cents": 1}]
    err, sc = c.tool("create_invoice", {"customer_id": "anyone", "line_items": line})
    expect(err and sc["error"]["code"] == "INVALID_INPUT" and "none saved yet" in sc["error"]["message"], sc)
    for cust in ("acme-co", "acme-corp", "globex", "initech"):
        err, sc = c.tool("upsert_customer", {"customer_id": cust, "name": cust})
        expect(not err, sc)
    err, sc = c.tool("create_invoice", {"customer_id": "acme-c0", "line_items": line})
    expect(err and sc["error"]["code"] == "INVALID_INPUT" and sc["error"]["field"] == "customer_id", sc)
    expect("closest: acme-co, acme-corp" in sc["error"]["message"], sc["error"]["message"])
    err, sc = c.tool("create_invoice", {"customer_id": "acme-co", "line_items": line})
    expect(not err and sc["customer_known"] is True, sc)
    n = env.psql(f"SELECT count(*) FROM invoices WHERE tenant_id = '{tenant}' AND customer_id IN ('anyone', 'acme-c0')")
    expect(n == "0", "nothing was created for the unknown ids")
