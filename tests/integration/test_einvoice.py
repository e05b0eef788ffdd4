"""E-invoices end to end (issue 22): each scenario of the issue is made with
the real tools over HTTPS (domestic with two rates and a line discount,
tax-inclusive prices with a rounding amount, reverse charge AE, intra-
community K with a delivery date, exempt E, export G, partially paid, a
credit note, JPY), fetched with get_einvoice in every syntax and profile
and again through resources/read (the same bytes), and every document -
with the fixture documents of tests/einvoice - goes through the official
validators (../shared/einvoice) in ONE run: one xmllint per schema and one
Saxon compile per rule set (tests/einvoice/validate_all.py). Every
document's totals equal the invoice's (get_invoice) or the credit note's.
Random invoices (any mix of the categories, inclusive and exclusive rates,
discounts, quantities, EUR or JPY, payments, credit notes; the seed is
printed, MCPI_TEST_SEED replays it) go through the same run. A draft and
an incomplete profile answer INVALID_STATE naming every missing business
term with the argument that fills it."""
import hashlib
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET

from harness import ROOT, Client, expect
from test_domain import fails, new_tenant, ok
from test_pdf import read_resource

sys.path.insert(0, os.path.join(ROOT, "tests", "einvoice"))
import validate_all  # noqa: E402

SERVER = dict(workers=2, extra={"rate_limit_rps": 100000, "rate_limit_burst": 100000})
NS = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
      "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}
KINDS = (("ubl", "en16931"), ("ubl", "peppol"), ("cii", "en16931"))


def gln(base12):
    """A GS1 GLN with its check digit (Peppol checks it for scheme 0088)."""
    s = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(base12)))
    return base12 + str((10 - s % 10) % 10)


def address(line, city, postal, country):
    return {"lines": [line], "city": city, "postal_code": postal, "country_code": country}


def setup_tenant(c):
    """The seller, four buyers and every VAT category the scenarios use."""
    ok(c, "upsert_business_profile", {
        "legal_name": "Nordlicht Software GmbH", "address": address("Friedrichstraße 123", "Berlin", "10117", "DE"),
        "vat_id": "DE123456789", "legal_id": "HRB 98765", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX",
        "electronic_address": {"scheme": "0088", "id": gln("400000100000")}, "contact_name": "Erika Muster",
        "email": "billing@nordlicht.example", "phone": "+49 30 1234567", "default_currency": "EUR"})
    buyers = {"de": ("Kunde & Söhne AG", address("Hauptstraße 5", "München", "80331", "DE"), "DE987654321"),
              "at": ("Wiener Bau GmbH", address("Ring 1", "Wien", "1010", "AT"), "ATU12345678"),
              "fr": ("Client SARL", address("1 rue de Rivoli", "Paris", "75001", "FR"), "FR12345678901"),
              "us": ("Customer Inc.", address("5th Avenue 1", "New York", "10001", "US"), None)}
    for i, (cid, (name, addr, vat)) in enumerate(buyers.items()):
        ok(c, "upsert_customer", {"customer_id": cid, "name": name, "address": addr, "email": "ap@buyer.example",
                                  "electronic_address": {"scheme": "0088", "id": gln("40000020000" + str(i))},
                                  "buyer_reference": "REF-" + cid.upper(), **({"vat_id": vat} if vat else {})})
    rates = [("VAT19", 1900, False, {}), ("VAT7", 700, False, {}), ("VAT19I", 1900, True, {}),
             ("VAT7I", 700, True, {}),
             ("RC", 0, False, {"category": "AE", "exemption_reason": "Reverse charge",
                               "exemption_reason_code": "VATEX-EU-AE"}),
             ("IC", 0, False, {"category": "K", "exemption_reason": "Intra-Community supply",
                               "exemption_reason_code": "VATEX-EU-IC"}),
             ("EXEMPT", 0, False, {"category": "E", "exemption_reason": "Exempt under § 4 Nr. 21 UStG"}),
             ("EXPORT", 0, False, {"category": "G", "exemption_reason_code": "VATEX-EU-G"})]
    for code, bps, incl, kw in rates:
        ok(c, "upsert_tax_rate", {"code": code, "name": code, "rate_bps": bps, "inclusive": incl} | kw)


def line(desc, cents, qty=1, tax="VAT19", **kw):
    return {"description": desc, "amount_cents": cents, "quantity": qty, "tax_code": tax} | kw


def sent_invoice(c, customer, lines, **kw):
    inv = ok(c, "create_invoice", {"customer_id": customer, "line_items": lines} | kw)
    ok(c, "send_invoice", {"invoice_id": inv["invoice_id"]})
    return inv["invoice_id"]


def build_scenarios(c):
    """{scenario: ("invoice" | "credit_note", id)}."""
    s = {}
    s["domestic_two_rates"] = sent_invoice(c, "de", [
        line('Widgets & <gadgets> "quoted" — ünïcödé ✓', 1250, 3, discount_bps=400),
        line("Books", 799, 2, "VAT7"), line("Consulting", 4000, 5, unit_code="HUR")],
        memo="Thank you for your order", purchase_order="PO-2026-0815", payment_terms="Net 30 days")
    s["inclusive_rounding"] = sent_invoice(c, "de", [line("Gross-priced item", 999, 3, "VAT19I"),
                                                     line("Gross-priced book", 499, 1, "VAT7I")])
    s["reverse_charge_ae"] = sent_invoice(c, "at", [line("Installation service", 9500, 10, "RC")])
    s["intra_community_k"] = sent_invoice(c, "fr", [line("Machine parts", 25000, 4, "IC"),
                                                    line("Spare parts", 9990, 1, "IC", discount_bps=1000)],
                                          delivery_date="2026-12-01")
    s["exempt_e"] = sent_invoice(c, "de", [line("Training course", 120000, 1, "EXEMPT")])
    s["export_g"] = sent_invoice(c, "us", [line("Export goods", 8000, 5, "EXPORT")])
    s["partially_paid"] = sent_invoice(c, "de", [line("Monthly service", 50000)])
    ok(c, "apply_payment", {"invoice_id": s["partially_paid"], "amount_cents": 20000})
    s["jpy"] = sent_invoice(c, "de", [line("Ramen bowls", 1234, 3, discount_bps=1000),
                                      line("Chopsticks", 55, 10, "VAT7")], currency="JPY")
    note = ok(c, "create_credit_note", {"invoice_id": s["domestic_two_rates"], "amount_cents": 2975,
                                        "reason": "Two widgets returned damaged"})
    out = {k: ("invoice", v) for k, v in s.items()}
    out["credit_note"] = ("credit_note", note["credit_note"]["credit_note_id"])
    return out


def random_documents(c, rng, n):
    """n random sent invoices, some paid in part, some credited."""
    codes = ["VAT19", "VAT7", "VAT19I", "VAT7I", "RC", "IC", "EXEMPT", "EXPORT"]
    out = {}
    for i in range(n):
        lines = [line(f"item {k} {rng.choice(['&', '<', 'ü', '✓', ''])}", rng.choice([0, 1, 99, 1999, 123456]),
                      rng.randint(1, 25), rng.choice(codes),
                      **({"discount_bps": rng.randint(1, 5000)} if rng.random() < 0.4 else {}))
                 for k in range(rng.randint(1, 5))]
        inv = sent_invoice(c, rng.choice(["de", "at", "fr"]), lines, currency=rng.choice(["EUR", "JPY"]),
                           delivery_date="2026-11-30")
        out[f"random_{i:02d}"] = ("invoice", inv)
        total = ok(c, "get_invoice", {"invoice_id": inv})["total_cents"]
        if total > 1 and rng.random() < 0.4:
            ok(c, "apply_payment", {"invoice_id": inv, "amount_cents": rng.randint(1, total - 1)})
        if total > 0 and rng.random() < 0.4:
            note = ok(c, "create_credit_note", {"invoice_id": inv, "amount_cents": rng.randint(1, total),
                                                "reason": "random credit"})
            out[f"random_{i:02d}_credit"] = ("credit_note", note["credit_note"]["credit_note_id"])
    return out


def get_einvoice(c, kind, doc_id, syntax, profile):
    """The tool's result: (structuredContent, the embedded XML text)."""
    st, _, body = c.call("get_einvoice", {kind + "_id": doc_id, "syntax": syntax, "profile": profile})
    expect(st == 200 and not body["result"].get("isError"), body)
    r = body["result"]
    expect([b["type"] for b in r["content"]] == ["text", "resource"], r["content"])
    res, sc = r["content"][1]["resource"], r["structuredContent"]
    expect(res["mimeType"] == "application/xml" and res["uri"] == sc["uri"], (res["uri"], sc))
    xml = res["text"].encode()
    expect(sc["bytes"] == len(xml) and sc["sha256"] == hashlib.sha256(xml).hexdigest(), sc)
    expect((sc["syntax"], sc["profile"], sc["type_code"]) == (syntax, profile, "381" if kind == "credit_note"
                                                               else "380"), sc)
    return sc, xml


def amounts(xml, syntax):
    """(grand total incl. VAT, rounding, paid, payable, VAT) in minor units' text form."""
    root = ET.fromstring(xml)
    if syntax == "ubl":
        t = root.find("cac:LegalMonetaryTotal", NS)
        get = lambda n: t.findtext("cbc:" + n, "0", NS)
        vat = root.findtext("cac:TaxTotal/cbc:TaxAmount", None, NS)
        return (get("TaxInclusiveAmount"), get("PayableRoundingAmount"), get("PrepaidAmount"),
                get("PayableAmount"), vat)
    t = root.find(".//ram:SpecifiedTradeSettlementHeaderMonetarySummation", NS)
    get = lambda n: t.findtext("ram:" + n, "0", NS)
    return (get("GrandTotalAmount"), get("RoundingAmount"), get("TotalPrepaidAmount"), get("DuePayableAmount"),
            get("TaxTotalAmount"))


def to_minor(text, exp):
    whole, _, frac = text.lstrip("-").partition(".")
    v = int(whole) * 10 ** exp + int((frac + "0" * exp)[:exp] or 0)
    return -v if text.startswith("-") else v


def check_totals(c, name, kind, doc_id, xml, syntax):
    """The document's totals are the invoice's (or the credit note's), exactly."""
    total, rounding, paid, payable, vat = amounts(xml, syntax)
    if kind == "invoice":
        inv = ok(c, "get_invoice", {"invoice_id": doc_id})
        exp = {"JPY": 0}.get(inv["currency"], 2)
        m = lambda t: to_minor(t, exp)
        expect(m(total) + m(rounding) == inv["total_cents"], (name, syntax, total, rounding, inv["total_cents"]))
        expect(m(payable) == inv["amount_due_cents"], (name, syntax, payable, inv["amount_due_cents"]))
        expect(m(vat) == inv["tax_cents"], (name, syntax, vat, inv["tax_cents"]))
        expect(m(total) + m(rounding) - m(paid) == m(payable), (name, syntax))
    else:
        st, _, body = c.call("get_credit_note_pdf", {"credit_note_id": doc_id})
        note = body["result"]["structuredContent"]
        exp = note["currency_exponent"]
        expect(to_minor(total, exp) + to_minor(rounding, exp) == note["amount_cents"], (name, total, note))
        expect(to_minor(payable, exp) == note["amount_cents"] - to_minor(paid, exp), (name, payable))


def fixture_documents(out):
    """tests/einvoice/fixtures written in every syntax by the unit test binary."""
    subprocess.run(["make", "-s", "build/tests/test_einvoice"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([os.path.join(ROOT, "build", "tests", "test_einvoice")], cwd=ROOT, check=True,
                   env=dict(os.environ, EINVOICE_OUT=out), stdout=subprocess.DEVNULL)
    return validate_all.groups_of_dir(out)


def test_every_scenario_validates_and_equals_the_invoice(env):
    c = Client(env, env.token(tenant=new_tenant()))
    setup_tenant(c)
    scenarios = build_scenarios(c)
    seed = int(os.environ.get("MCPI_TEST_SEED") or uuid.uuid4().hex[:8], 16)
    print(f"    seed {seed:x} (replay: MCPI_TEST_SEED={seed:x})")
    randoms = random_documents(c, random.Random(seed), 12)
    with tempfile.TemporaryDirectory() as tmp:
        served = os.path.join(tmp, "served")
        os.mkdir(served)
        for name, (kind, doc_id) in (scenarios | randoms).items():
            for syntax, profile in KINDS:
                sc, xml = get_einvoice(c, kind, doc_id, syntax, profile)
                # The same bytes as a resource, at the URI the tool names.
                st, _, body = read_resource(c, sc["uri"])
                contents = body["result"]["contents"]
                expect(st == 200 and contents[0]["text"].encode() == xml, (sc["uri"], body))
                expect(contents[0]["mimeType"] == "application/xml" and contents[0]["uri"] == sc["uri"])
                check_totals(c, name, kind, doc_id, xml, syntax)
                suffix = "peppol" if profile == "peppol" else syntax
                with open(os.path.join(served, f"{name}.{suffix}.xml"), "wb") as f:
                    f.write(xml)
        groups = validate_all.groups_of_dir(served)
        fixtures = os.path.join(tmp, "fixtures")
        os.mkdir(fixtures)
        for mode, paths in fixture_documents(fixtures).items():
            groups[mode] += paths
        t0 = time.time()
        results = validate_all.validate(groups)
        took = time.time() - t0
        failed = validate_all.report(results)
        print(f"    {len(results)} validations in {took:.1f}s (one compile per rule set)")
        expect(failed == 0, f"{failed} documents failed validation")
        expect(len(results) == 4 * (len(scenarios) + len(randoms) + 10), len(results))
        # validate.sh itself agrees on one document.
        disagree, n = validate_all.cross_check({k: v for k, v in results.items() if k[0] == "ubl"}, 1)
        expect(n == 1 and not disagree, disagree)


def einvoice_error(c, args):
    err, sc = c.tool("get_einvoice", args)
    expect(err, sc)
    return sc["error"]


def test_a_draft_and_an_incomplete_profile_name_every_missing_term(env):
    c = Client(env, env.token(tenant=new_tenant()))
    ok(c, "upsert_business_profile", {"legal_name": "Half Done GmbH", "address": "somewhere in Berlin"})
    ok(c, "upsert_customer", {"customer_id": "b", "name": "Buyer"})
    ok(c, "upsert_tax_rate", {"code": "VAT19", "name": "VAT 19%", "rate_bps": 1900})
    inv = ok(c, "create_invoice", {"customer_id": "b", "currency": "EUR",
                                   "line_items": [line("Work", 10000)]})["invoice_id"]
    profile_terms = ("BT-40 Seller country code (upsert_business_profile.address.country_code); "
                     "BT-31 Seller VAT identifier (upsert_business_profile.vat_id); "
                     "BT-55 Buyer country code (upsert_customer.address.country_code)")
    e = einvoice_error(c, {"invoice_id": inv})
    expect(e["code"] == "INVALID_STATE" and e["message"] == (
        "the invoice cannot be a valid EN 16931 document yet; missing: "
        "BT-1 Invoice number (a draft has none) (send_invoice); "
        "BT-2 Invoice issue date (a draft has none) (send_invoice); " + profile_terms), e)
    # resources/read says the same, as a JSON-RPC error.
    st, _, body = read_resource(c, f"invoiced://invoices/{inv}.ubl.xml")
    expect(body["error"]["data"]["code"] == "INVALID_STATE" and body["error"]["message"] == e["message"], body)
    ok(c, "send_invoice", {"invoice_id": inv})
    e = einvoice_error(c, {"invoice_id": inv, "syntax": "cii"})
    expect(e["code"] == "INVALID_STATE" and e["message"] == (
        "the invoice cannot be a valid EN 16931 document yet; missing: " + profile_terms), e)
    e = einvoice_error(c, {"invoice_id": inv, "profile": "peppol"})
    expect(e["message"].endswith(
        "BT-55 Buyer country code (upsert_customer.address.country_code); "
        "BT-34 Seller electronic address (upsert_business_profile.electronic_address); "
        "BT-49 Buyer electronic address (upsert_customer.electronic_address); "
        "BT-10 Buyer reference (or BT-13 purchase order) (create_invoice.buyer_reference)"), e)
    # Filling exactly what was named makes the document.
    ok(c, "upsert_business_profile", {"legal_name": "Half Done GmbH", "vat_id": "DE123456789",
                                      "address": address("Weg 1", "Berlin", "10115", "DE")})
    ok(c, "upsert_customer", {"customer_id": "b", "name": "Buyer", "address": address("Gasse 2", "Köln", "50667",
                                                                                       "DE")})
    get_einvoice(c, "invoice", inv, "cii", "en16931")


def test_arguments_resources_and_tenants(env):
    tenant = new_tenant()
    c = Client(env, env.token(tenant=tenant))
    setup_tenant(c)
    inv = sent_invoice(c, "de", [line("Work", 10000)])
    fails(c, "get_einvoice", {}, "INVALID_INPUT", "invoice_id", "exactly one")
    fails(c, "get_einvoice", {"invoice_id": inv, "credit_note_id": inv}, "INVALID_INPUT", "credit_note_id")
    fails(c, "get_einvoice", {"invoice_id": inv, "syntax": "cii", "profile": "peppol"}, "INVALID_INPUT", "profile")
    fails(c, "get_einvoice", {"invoice_id": inv, "syntax": "pdf"}, "INVALID_INPUT", "syntax")
    fails(c, "get_einvoice", {"invoice_id": "00000000-0000-4000-8000-000000000000"}, "NOT_FOUND", "invoice_id")
    other = Client(env, env.token(tenant=new_tenant()))
    fails(other, "get_einvoice", {"invoice_id": inv}, "NOT_FOUND")
    st, _, body = c.rpc("resources/templates/list", {})
    uris = [t["uriTemplate"] for t in body["result"]["resourceTemplates"]]
    for t in ("invoiced://invoices/{invoice_id}.ubl.xml{?profile}", "invoiced://invoices/{invoice_id}.cii.xml",
              "invoiced://credit-notes/{credit_note_id}.ubl.xml{?profile}",
              "invoiced://credit-notes/{credit_note_id}.cii.xml"):
        expect(t in uris, (t, uris))
    xml_templates = [t for t in body["result"]["resourceTemplates"] if ".xml" in t["uriTemplate"]]
    expect(all(t["mimeType"] == "application/xml" for t in xml_templates), xml_templates)
    # completion/complete knows the templates' variables.
    ref = {"type": "ref/resource", "uri": "invoiced://invoices/{invoice_id}.ubl.xml{?profile}"}
    for arg, prefix, want in (("profile", "p", ["peppol"]), ("invoice_id", inv[:8], [inv])):
        st, _, body = c.rpc("completion/complete", {"ref": ref, "argument": {"name": arg, "value": prefix}})
        expect(body["result"]["completion"]["values"] == want, (arg, body))
    # The default profile named or not: the same document.
    plain = read_resource(c, f"invoiced://invoices/{inv}.ubl.xml")[2]["result"]["contents"][0]["text"]
    named = read_resource(c, f"invoiced://invoices/{inv}.ubl.xml?profile=en16931")[2]["result"]["contents"][0]
    expect(named["text"] == plain and "urn:cen.eu:en16931:2017</cbc:CustomizationID>" in plain, plain[:400])
    peppol = read_resource(c, f"invoiced://invoices/{inv}.ubl.xml?profile=peppol")[2]["result"]["contents"][0]
    expect("urn:fdc:peppol.eu:2017:poacc:billing:01:1.0" in peppol["text"], peppol["text"][:600])
    for bad in (f"invoiced://invoices/{inv}.xml", f"invoiced://invoices/{inv}.ubl.xml?profile=x",
                f"invoiced://invoices/{inv}.cii.xml?profile=peppol", f"invoiced://invoices/{inv}.ubl.xml?p=1",
                f"invoiced://invoices/{inv}.ubl.xml?profile=peppol&profile=peppol"):
        st, _, body = read_resource(c, bad)
        expect(st == 200 and body["error"]["code"] == -32602, (bad, body))
    st, _, body = read_resource(other, f"invoiced://invoices/{inv}.cii.xml")
    expect(body["error"]["data"]["code"] == "NOT_FOUND", body)
