"""Documents a customer accepts (issue 20): the invoice PDF is a complete tax
invoice whose printed figures add up with a pencil (subtotal - discounts =
net; net + VAT added = total; total - payments + reversals - credit notes -
credit applied = amount due), every figure printed with the currency's
exponent and thousands separator and equal to the database's; credit notes
have a PDF of their own (tool and resource URI); the open-item statement
prints original, paid, credited and open per invoice, adding up; the
statement's text summary names every component of the balance; the
tenant's default currency; vat_id and its alias tax_id. And the reference
images: an invoice, a credit note and a 3-page statement rendered from fixed
JSON (tests/render/fixtures) by the renderer's --file mode and compared
with the PNGs in tests/render/reference, pixel by pixel with a tolerance
(MCPI_UPDATE_REFERENCES=1 rewrites them)."""
import glob
import json
import os
import re
import struct
import subprocess
import zlib

from harness import ROOT, expect, tool_error
from test_pdf import OUT, check_pdf, ok, pdf_tool, read_resource, result_of, save, tenant_client, tool_out

SERVER = dict(workers=2, extra={"rate_limit_rps": 100000, "rate_limit_burst": 100000,
                                "inline_pdf_max_bytes": 2000000})
FIXTURES = os.path.join(ROOT, "tests", "render", "fixtures")
REFERENCE = os.path.join(ROOT, "tests", "render", "reference")
RENDER = os.path.join(ROOT, "bin", "mcp-invoiced-render-san")
AMOUNT = r"-?\d{1,3}(?:,\d{3})*(?:\.\d+)?"


def fmt(minor, exp):
    """minor units as printed: the exponent's decimals, thousands separators."""
    digits = str(abs(minor)).rjust(exp + 1, "0")
    whole, frac = (digits[:-exp], digits[-exp:]) if exp else (digits, "")
    return ("-" if minor < 0 else "") + f"{int(whole):,}" + ("." + frac if exp else "")


def minor(text):
    """A printed amount back in minor units (exactly: no floats)."""
    neg = text.startswith("-")
    return (-1 if neg else 1) * int(text.lstrip("-").replace(",", "").replace(".", ""))


def last_amount(line):
    found = re.findall(r"(?:^|\s)(" + AMOUNT + r")$", line.rstrip())
    return minor(found[-1]) if found else None


def dump(sc, name):
    """The document data next to its PDF (the shape of tests/render/fixtures)."""
    with open(os.path.join(OUT, name), "w") as f:
        json.dump({k: v for k, v in sc.items() if k != "pdf"}, f, ensure_ascii=False, indent=1)


def line_with(txt, label):
    hits = [ln for ln in txt.splitlines() if label in ln]
    expect(hits, (label, txt[:3000]))
    return hits[0]


def build_invoice(c):
    """An EUR invoice with two VAT rates (19% added, 7% included), a 0%
    export line with its exemption, a discount, two payments (one reversed),
    a credit note and customer credit applied. Returns (invoice_id, the
    credit note ids: on this invoice, and one that became customer credit)."""
    ok(c, "upsert_business_profile", {
        "legal_name": "Nordlicht Software GmbH", "address": "Friedrichstraße 123\n10117 Berlin",
        "vat_id": "DE123456789", "email": "billing@nordlicht.example", "default_currency": "EUR",
        "payment_instructions": "IBAN DE89 3704 0044 0532 0130 00, quote the invoice number"})
    cust = ok(c, "upsert_customer", {"customer_id": "acme", "name": "ACME Handelsgesellschaft mbH",
                                     "address": "Hauptstraße 5\n80331 München", "tax_id": "DE987654321"})
    expect(cust["vat_id"] == cust["tax_id"] == "DE987654321", cust)
    ok(c, "upsert_tax_rate", {"code": "VAT19", "name": "VAT 19%", "rate_bps": 1900})
    ok(c, "upsert_tax_rate", {"code": "VAT7I", "name": "VAT 7% books", "rate_bps": 700, "inclusive": True})
    ok(c, "upsert_tax_rate", {"code": "EXPORT", "name": "Export outside the EU, exempt (art. 146)",
                              "rate_bps": 0})
    inv = ok(c, "create_invoice", {"customer_id": "acme", "memo": "Consulting, September", "line_items": [
        {"description": "Consulting, senior engineer (hours)", "amount_cents": 125000, "quantity": 13,
         "discount_bps": 1000, "tax_code": "VAT19"},
        {"description": "Reference book", "amount_cents": 5000, "quantity": 2, "tax_code": "VAT7I"},
        {"description": "Support plan", "amount_cents": 1250075, "tax_code": "VAT19"},
        {"description": "Shipping to Norway", "amount_cents": 2500, "tax_code": "EXPORT"}]})
    expect(inv["currency"] == "EUR", ("the tenant's default currency", inv["currency"]))
    iid = inv["invoice_id"]
    ok(c, "send_invoice", {"invoice_id": iid})
    ok(c, "apply_payment", {"invoice_id": iid, "amount_cents": 448005, "method": "bank_transfer",
                            "reference": "RF18 5390"})
    card = ok(c, "apply_payment", {"invoice_id": iid, "amount_cents": 10000, "method": "card"})
    ok(c, "reverse_payment", {"payment_id": card["payment"]["payment_id"], "reason": "card payment disputed"})
    cn = ok(c, "create_credit_note", {"invoice_id": iid, "amount_cents": 50000, "reason": "two hours billed twice"})
    # Customer credit from a credit note on another, paid invoice, spent here.
    other = ok(c, "create_invoice", {"customer_id": "acme", "line_items": [
        {"description": "Workshop", "amount_cents": 10000}]})
    ok(c, "send_invoice", {"invoice_id": other["invoice_id"]})
    ok(c, "apply_payment", {"invoice_id": other["invoice_id"], "amount_cents": 10000})
    cn2 = ok(c, "create_credit_note", {"invoice_id": other["invoice_id"], "reason": "workshop cancelled",
                                       "line_items": [{"description": "Workshop day", "amount_cents": 2500,
                                                       "quantity": 2}]})
    expect(cn2["credit_note"]["customer_credit_cents"] == 5000, cn2)
    ok(c, "apply_credit", {"customer_id": "acme", "invoice_id": iid, "amount_cents": 3000})
    return iid, cn["credit_note"]["credit_note_id"], cn2["credit_note"]["credit_note_id"]


def test_tax_invoice_prints_every_figure_and_adds_up(env):
    tenant, c = tenant_client(env)
    iid, _, _ = build_invoice(c)
    r, pdf = pdf_tool(c, "get_invoice_pdf", {"invoice_id": iid})
    sc = r["structuredContent"]
    exp = sc["currency_exponent"]
    path = save(pdf, "invoice-tax.pdf")
    dump(sc, "invoice-tax.json")
    check_pdf(path)
    txt = tool_out("pdftotext", "-layout", path, "-")
    # The database's figures, read directly.
    row = env.psql(f"SELECT total_cents, subtotal_cents, discount_cents, amount_paid_cents, credited_cents, "
                   f"total_cents - amount_paid_cents - credited_cents FROM invoices "
                   f"WHERE tenant_id = '{tenant}' AND invoice_id = '{iid}'").split("|")
    total, subtotal, discount, paid, credited, due = map(int, row)
    expect((sc["total_cents"], sc["subtotal_cents"], sc["discount_cents"], sc["amount_due_cents"]) ==
           (total, subtotal, discount, due), (sc, row))
    expect(total > 1000000 and due > 1000000, "amounts large enough for thousands separators")
    # Every line: unit price, discount (percent and amount), rate, net amount.
    for ln in sc["line_items"]:
        line = line_with(txt, ln["description"][:20])
        for figure in (fmt(ln["amount_cents"], exp), fmt(ln["net_cents"], exp)):
            expect(figure in line, (figure, line))
        expect(f"{ln['tax_rate_bps'] // 100}%" in line, line)
        if ln["discount_cents"]:
            expect(f"{ln['discount_bps'] // 100}%" in line and fmt(-ln["discount_cents"], exp) in line, line)
        expect(ln["net_cents"] == ln["amount_cents"] * ln["quantity"] - ln["discount_cents"], ln)
    expect("7% incl." in line_with(txt, "Reference book"), txt[:2000])
    # Seller's and buyer's VAT ids, the exemption's reason.
    for needle in ("VAT ID: DE123456789", "VAT ID: DE987654321", "Exemption: Export outside the EU",
                   "7% (included in prices)", "INVOICE", "Invoice no.", sc["invoice_number"]):
        expect(needle in txt, (needle, txt[:3000]))
    # The totals: subtotal - discounts = net; net + VAT added = total.
    p_sub = last_amount(line_with(txt, "Subtotal"))
    p_disc = last_amount(line_with(txt, "Discounts"))
    p_net = last_amount(line_with(txt, "Net amount"))
    p_total = last_amount(line_with(txt, "Total  "))
    added = re.findall(r"VAT (\d+)% on (" + AMOUNT + r")\s+(" + AMOUNT + r")", txt)
    expect((p_sub, p_disc, p_net, p_total) == (subtotal, -discount, sc["net_cents"], total),
           (p_sub, p_disc, p_net, p_total, txt[:3000]))
    expect(p_sub + p_disc == p_net, ("subtotal - discounts != net on paper", p_sub, p_disc, p_net))
    expect(p_net + sum(minor(t) for _, _, t in added) == p_total, ("net + VAT != total on paper", added))
    for v in sc["vat_summary"]:
        expect(fmt(v["taxable_cents"], exp) in txt and fmt(v["tax_cents"], exp) in txt, v)
    expect(sorted(int(r_) for r_, _, _ in added) == [0, 19], added)
    included = [v for v in sc["vat_summary"] if v["inclusive"]][0]
    expect(f"includes VAT 7% of {fmt(included['tax_cents'], exp)} on {fmt(included['taxable_cents'], exp)}"
           in txt, txt[:3000])
    # Payments and credits: total, each one signed, the amount due.
    lines = txt.splitlines()
    start = next(i for i, ln in enumerate(lines) if "Invoice total" in ln)
    end = next(i for i, ln in enumerate(lines) if "Amount due" in ln and i > start)
    moves = [last_amount(ln) for ln in lines[start + 1:end] if last_amount(ln) is not None]
    expect(last_amount(lines[start]) == total, lines[start])
    expect(moves == [s["amount_cents"] for s in sc["settlements"]], (moves, sc["settlements"]))
    expect(sorted(s["kind"] for s in sc["settlements"]) ==
           ["credit_applied", "credit_note", "payment", "payment", "reversal"], sc["settlements"])
    p_due = last_amount(lines[end])
    expect(p_due == due and total + sum(moves) == p_due, ("total - paid - credited != due on paper",
                                                          total, moves, p_due))
    expect(total - paid - credited == due, (total, paid, credited, due))
    expect(f"EUR {fmt(due, exp)}" in lines[end], lines[end])
    for needle in ("Payment received", "RF18 5390", "reversed", "card payment disputed", "Credit note CN-",
                   "two hours billed twice", "Customer credit applied"):
        expect(needle in txt, (needle, txt[-3000:]))
    # The remittance slip speaks of the invoice.
    slip = txt[txt.find("REMITTANCE"):]
    for needle in ("Invoice no.", sc["invoice_number"], "Invoice date", "Due date", sc["due_date"],
                   f"EUR {fmt(due, exp)}"):
        expect(needle in slip, (needle, slip))
    expect("Statement" not in slip, slip)
    # The agent's one line adds up too.
    summary = r["content"][0]["text"]
    expect(f"total {fmt(total, exp)} - paid {fmt(paid, exp)}" in summary and
           f"- credited {fmt(credited, exp)}" in summary and f"= amount due {fmt(due, exp)} EUR" in summary,
           summary)
    tool_out("pdftoppm", "-png", "-r", "100", path, os.path.join(OUT, "invoice-tax"))


def test_credit_note_pdf_tool_and_resource(env):
    _, c = tenant_client(env)
    iid, cn_id, cn2_id = build_invoice(c)
    r, pdf = pdf_tool(c, "get_credit_note_pdf", {"credit_note_id": cn2_id})
    sc = r["structuredContent"]
    expect(r["content"][1]["uri"] == f"invoiced://credit-notes/{cn2_id}.pdf", r["content"][1])
    expect(r["content"][1]["name"] == f"credit-note-{cn2_id}.pdf", r["content"][1])
    path = save(pdf, "credit-note.pdf")
    dump(sc, "credit-note.json")
    check_pdf(path, pages=1)
    txt = tool_out("pdftotext", "-layout", path, "-")
    exp = sc["currency_exponent"]
    for needle in ("CREDIT NOTE", sc["credit_note_number"], "Credits invoice", sc["invoice_number"],
                   "Workshop day", "workshop cancelled", "VAT ID: DE123456789", "VAT ID: DE987654321",
                   f"EUR {fmt(sc['amount_cents'], exp)}", "Credited to your account"):
        expect(needle in txt, (needle, txt))
    for ln in sc["line_items"]:
        expect(ln["line_total_cents"] == ln["amount_cents"] * ln["quantity"], ln)
        expect(fmt(ln["line_total_cents"], exp) in line_with(txt, ln["description"]), ln)
    # applied to the invoice + credited to the account = the note, on paper.
    p_total = last_amount(line_with(txt, "Credit note total"))
    p_applied = last_amount(line_with(txt, "Applied to invoice"))
    p_credit = last_amount(line_with(txt, "Credited to your account"))
    expect((p_total, p_applied, p_credit) == (sc["amount_cents"], sc["applied_to_invoice_cents"],
                                              sc["customer_credit_cents"]), (p_total, p_applied, p_credit))
    expect(p_applied + p_credit == p_total and p_credit == 5000, (p_applied, p_credit, p_total))
    summary = r["content"][0]["text"]
    expect(f"{fmt(sc['amount_cents'], exp)} EUR = {fmt(p_applied, exp)} applied" in summary, summary)
    # The same bytes by URI; the invoice PDF names the note.
    st, _, body = read_resource(c, r["content"][1]["uri"])
    import base64
    expect(st == 200 and base64.b64decode(body["result"]["contents"][0]["blob"]) == pdf, body)
    _, cn1 = pdf_tool(c, "get_credit_note_pdf", {"credit_note_id": cn_id})
    expect(b"%%EOF" in cn1)
    # Errors: an unknown note, a malformed id, another tenant's note.
    err, esc = c.tool("get_credit_note_pdf", {"credit_note_id": "00000000-0000-4000-8000-000000000000"})
    expect(err and tool_error(esc)["code"] == "NOT_FOUND" and esc["error"]["field"] == "credit_note_id", esc)
    err, esc = c.tool("get_credit_note_pdf", {"credit_note_id": "CN-000001"})
    expect(err and tool_error(esc)["code"] == "INVALID_INPUT" and esc["error"]["field"] == "credit_note_id", esc)
    _, other = tenant_client(env)
    err, esc = other.tool("get_credit_note_pdf", {"credit_note_id": cn2_id})
    expect(err and tool_error(esc)["code"] == "NOT_FOUND", esc)
    st, _, body = read_resource(other, f"invoiced://credit-notes/{cn2_id}.pdf")
    expect("error" in body or body["result"].get("isError"), body)
    tool_out("pdftoppm", "-png", "-r", "100", path, os.path.join(OUT, "credit-note"))


def test_statements_add_up_on_paper_and_in_the_summary(env):
    _, c = tenant_client(env)
    build_invoice(c)
    r, pdf = pdf_tool(c, "get_statement", {"customer_id": "acme", "type": "open_item"})
    sc = r["structuredContent"]
    exp = sc["currency_exponent"]
    path = save(pdf, "statement-open-items.pdf")
    check_pdf(path)
    txt = tool_out("pdftotext", "-layout", path, "-")
    expect("Credited" in txt and sc["lines"], (txt[:2000], sc["lines"]))
    for ln in sc["lines"]:
        expect(ln["original_cents"] - ln["paid_cents"] - ln["credited_cents"] == ln["open_cents"], ln)
        row = line_with(txt, ln["document"])
        nums = [minor(x) for x in re.findall(r"(?:^|\s)(" + AMOUNT + r")(?=\s|$)", row)]
        # original, paid, credited, open, days past due: the row adds up on paper.
        o, p_, cr, op = nums[-5:-1]
        expect((o, p_, cr, op) == (ln["original_cents"], ln["paid_cents"], ln["credited_cents"],
                                   ln["open_cents"]), (row, ln))
        expect(o - p_ - cr == op, ("original - paid - credited != open on paper", row))
    expect(any(ln["credited_cents"] for ln in sc["lines"]), sc["lines"])
    # The activity statement's band and one-line summary name every component.
    r, pdf = pdf_tool(c, "get_statement", {"customer_id": "acme"})
    s = r["structuredContent"]["summary"]
    text = r["content"][0]["text"]
    m = re.search(r"opening (" + AMOUNT + r") \+ invoiced (" + AMOUNT + r") - payments (" + AMOUNT +
                  r") \+ payment reversals (" + AMOUNT + r") - credit notes (" + AMOUNT +
                  r") = closing balance (" + AMOUNT + r") EUR", text)
    expect(m, text)
    o, inv, pay, rev, cn, close = (minor(g) for g in m.groups())
    expect((o, inv, pay, rev, cn, close) == (s["opening_balance_cents"], s["invoiced_cents"], s["payments_cents"],
                                             s["reversals_cents"], s["credit_notes_cents"],
                                             s["closing_balance_cents"]), (m.groups(), s))
    expect(o + inv - pay + rev - cn == close and rev > 0 and cn > 0, ("the summary does not add up", text))
    path = save(pdf, "statement-activity.pdf")
    dump(r["structuredContent"], "statement-activity.json")
    txt = tool_out("pdftotext", "-layout", path, "-")
    for label in ("+ Invoiced", "Payments", "+ Reversals", "Credit notes", "= Closing balance"):
        expect(label in txt, (label, txt[:2000]))
    expect(f"EUR {fmt(close, exp)}" in txt and fmt(rev, exp) in txt and fmt(cn, exp) in txt, txt[:2000])


def test_default_currency_and_vat_id_alias(env):
    _, c = tenant_client(env)
    ok(c, "upsert_customer", {"customer_id": "x1", "name": "X"})
    inv = ok(c, "create_invoice", {"customer_id": "x1", "line_items": [{"description": "a", "amount_cents": 1}]})
    expect(inv["currency"] == "USD", ("no profile: USD", inv))
    prof = ok(c, "upsert_business_profile", {"legal_name": "Yen KK", "tax_id": "T123", "default_currency": "JPY"})
    expect(prof["vat_id"] == prof["tax_id"] == "T123" and prof["default_currency"] == "JPY", prof)
    inv = ok(c, "create_invoice", {"customer_id": "x1", "line_items": [{"description": "a", "amount_cents": 1}]})
    expect(inv["currency"] == "JPY", inv)
    inv = ok(c, "create_invoice", {"customer_id": "x1", "currency": "KWD",
                                   "line_items": [{"description": "a", "amount_cents": 1}]})
    expect(inv["currency"] == "KWD", inv)
    # A profile saved without default_currency: USD again (create or replace).
    ok(c, "upsert_business_profile", {"legal_name": "Yen KK", "vat_id": "T123"})
    inv = ok(c, "create_invoice", {"customer_id": "x1", "line_items": [{"description": "a", "amount_cents": 1}]})
    expect(inv["currency"] == "USD", inv)
    for tool, args in (("upsert_business_profile", {"legal_name": "Y", "vat_id": "A1", "tax_id": "B2"}),
                       ("upsert_customer", {"customer_id": "x1", "name": "X", "vat_id": "A1", "tax_id": "B2"})):
        err, sc = c.tool(tool, args)
        expect(err and tool_error(sc)["code"] == "INVALID_INPUT" and sc["error"]["field"] == "tax_id" and
               "alias of vat_id" in sc["error"]["message"], sc)
    ok(c, "upsert_customer", {"customer_id": "x1", "name": "X", "vat_id": "A1", "tax_id": "A1"})
    expect(ok(c, "get_customer", {"customer_id": "x1"})["vat_id"] == "A1")
    err, sc = c.tool("upsert_business_profile", {"legal_name": "Y", "default_currency": "EURO"})
    expect(err and sc["error"]["field"] == "default_currency" and "ISO 4217" in sc["error"]["message"], sc)


# ---- reference images ----

def write_png_gray(path, w, h, pixels):
    """An 8-bit greyscale PNG of the pixels (no filter: zlib does the work)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    rows = b"".join(b"\0" + pixels[y * w:(y + 1) * w] for y in range(h))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def read_png_gray(path):
    """An 8-bit greyscale, non-interlaced PNG (as write_png_gray writes):
    (width, height, bytes), decoded with zlib and the five row filters."""
    data = open(path, "rb").read()
    expect(data[:8] == b"\x89PNG\r\n\x1a\n", path)
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            expect(depth == 8 and color == 0 and interlace == 0, (path, depth, color, interlace))
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, out, prev = zlib.decompress(idat), bytearray(), bytearray(w)
    for y in range(h):
        ftype, row = raw[y * (w + 1)], bytearray(raw[y * (w + 1) + 1:(y + 1) * (w + 1)])
        if ftype == 1:
            for x in range(1, w):
                row[x] = (row[x] + row[x - 1]) & 255
        elif ftype == 2:
            row = bytearray((a + b) & 255 for a, b in zip(row, prev))
        elif ftype == 3:
            for x in range(w):
                row[x] = (row[x] + (((row[x - 1] if x else 0) + prev[x]) >> 1)) & 255
        elif ftype == 4:
            for x in range(w):
                a, b, c = (row[x - 1] if x else 0), prev[x], (prev[x - 1] if x else 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[x] = (row[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out += row
        prev = row
    return w, h, bytes(out)


def read_pgm(path):
    data = open(path, "rb").read()
    magic, w, h, maxval, pixels = re.match(rb"(P5)\s+(\d+)\s+(\d+)\s+(\d+)\s(.*)", data, re.S).groups()
    expect(maxval == b"255", path)
    return int(w), int(h), pixels


def render_pages(kind, fixture, outdir):
    """The fixture rendered by the renderer's --file mode, its pages as
    greyscale PGM files at 60 dpi."""
    pdf = os.path.join(outdir, kind + ".pdf")
    out = subprocess.run([RENDER, "--file", kind, os.path.join(FIXTURES, fixture), pdf],
                         capture_output=True, text=True, timeout=120)
    expect(out.returncode == 0, out.stderr[-1500:])
    prefix = os.path.join(outdir, kind)
    for old in glob.glob(prefix + "-*.pgm"):
        os.remove(old)
    tool_out("pdftoppm", "-gray", "-r", "60", pdf, prefix)
    return pdf, sorted(glob.glob(prefix + "-*.pgm"))


DOCS = (("invoice", "invoice.json", 2), ("credit_note", "credit_note.json", 1), ("statement", "statement.json", 3))


def test_reference_images_match(env):
    outdir = os.path.join(env.dir, "reference-run")
    os.makedirs(outdir, exist_ok=True)
    if os.environ.get("MCPI_UPDATE_REFERENCES") == "1":
        for kind, fixture, _ in DOCS:
            for old in glob.glob(os.path.join(REFERENCE, kind + "-*.png")):
                os.remove(old)
            _, pages = render_pages(kind, fixture, outdir)
            for page in pages:
                w, h, px = read_pgm(page)
                write_png_gray(os.path.join(REFERENCE, os.path.basename(page)[:-4] + ".png"), w, h, px)
            print(f"    wrote {len(pages)} reference page(s) for {kind}")
    for kind, fixture, npages in DOCS:
        pdf, pages = render_pages(kind, fixture, outdir)
        refs = sorted(glob.glob(os.path.join(REFERENCE, kind + "-*.png")))
        expect(len(pages) == len(refs) == npages, (kind, len(pages), len(refs), npages))
        for got, ref in zip(pages, refs):
            w, h, px = read_pgm(got)
            rw, rh, rpx = read_png_gray(ref)
            expect((w, h) == (rw, rh), (ref, (w, h), (rw, rh)))
            # Fonts are pinned, so the pages are the same but for
            # antialiasing: at most 0.2% of pixels off by more than 64 levels.
            off = sum(1 for a, b in zip(px, rpx) if abs(a - b) > 64)
            expect(off <= len(px) * 0.002, (f"{os.path.basename(ref)} differs from the reference in {off} of "
                                            f"{len(px)} pixels; look at {got} (MCPI_UPDATE_REFERENCES=1 "
                                            f"rewrites the references after a deliberate change)"))
    print(f"    {sum(d[2] for d in DOCS)} pages match tests/render/reference")
