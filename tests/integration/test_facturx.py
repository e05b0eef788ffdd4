"""Factur-X invoice PDFs (issue 22): an invoice PDF with the invoice's CII XML
embedded as factur-x.xml, made PDF/A-3b by the renderer (libqpdf, after
cairo). No PDF/A validator runs offline (veraPDF is not packaged), so
check_facturx below checks the PDF/A-3b and Factur-X rules one by one with
poppler and qpdf; the rules it cannot check are listed in docs/documents.md.
Through the real tools (the sandboxed renderer): a complete invoice gives a
Factur-X PDF whose XML validates (facturx and cii) and whose totals are the
invoice's, the same bytes by resources/read; so does every scenario of
issue 22 (test_einvoice's, a credit note too), its factur-x.xml byte for
byte get_einvoice's CII document, all validated in one run; an incomplete one or a draft
gives an ordinary PDF and facturx false naming the missing terms. And the
renderer's --file mode with an attachment (the official Factur-X EN16931
example as the XML)."""
import base64
import datetime
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

from harness import ROOT, Client, expect
from test_domain import new_tenant
from test_einvoice import build_scenarios, check_totals, get_einvoice, setup_tenant, validate_all
from test_pdf import ok, pdf_tool, read_resource, save, tenant_client, tool_out

SERVER = dict(workers=2, extra={"rate_limit_rps": 100000, "rate_limit_burst": 100000,
                                "inline_pdf_max_bytes": 4000000})
RENDER = os.path.join(ROOT, "bin", "mcp-invoiced-render-san")
FIXTURES = os.path.join(ROOT, "tests", "render", "fixtures")
EINVOICE = os.path.join(os.path.dirname(ROOT), "shared", "einvoice")
EXAMPLE = os.path.join(EINVOICE, "examples", "factur-x-1.xml")
ICC = "/usr/share/color/icc/sRGB.icc"
NS = {"x": "adobe:ns:meta/", "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
      "pdfaid": "http://www.aiim.org/pdfa/ns/id/", "dc": "http://purl.org/dc/elements/1.1/",
      "pdf": "http://ns.adobe.com/pdf/1.3/", "xmp": "http://ns.adobe.com/xap/1.0/",
      "fx": "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#",
      "pdfaExtension": "http://www.aiim.org/pdfa/ns/extension/",
      "pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#", "pdfaProperty": "http://www.aiim.org/pdfa/ns/property#"}
FX = {"DocumentType": "INVOICE", "DocumentFileName": "factur-x.xml", "Version": "1.0",
      "ConformanceLevel": "EN 16931"}


class Pdf:
    """A PDF's objects as qpdf --json (version 2) gives them."""

    def __init__(self, path):
        self.path = path
        doc = json.loads(tool_out("qpdf", "--json", "--json-stream-data=none", path))
        self.objects = doc["qpdf"][1]
        self.trailer = self.objects["trailer"]["value"]

    def get(self, ref):
        """ref ("3 0 R") resolved: a dict (a stream's dictionary), array or value."""
        if isinstance(ref, str) and re.fullmatch(r"\d+ \d+ R", ref):
            obj = self.objects["obj:" + ref]
            return obj["stream"]["dict"] if "stream" in obj else obj["value"]
        return ref

    def is_stream(self, ref):
        return "stream" in self.objects.get("obj:" + ref, {})

    def data(self, ref):
        return subprocess.run(["qpdf", "--show-object=" + ref.split()[0], "--filtered-stream-data", self.path],
                              capture_output=True, check=True).stdout

    def values(self):
        """Every dictionary and array in the file, however deep."""
        def walk(v):
            yield v
            if isinstance(v, dict):
                for x in v.values():
                    yield from walk(x)
            elif isinstance(v, list):
                for x in v:
                    yield from walk(x)
        for obj in self.objects.values():
            yield from walk(obj.get("value", obj.get("stream", {}).get("dict")))


def text(v):
    """A PDF string from qpdf's JSON ("u:..." text)."""
    expect(isinstance(v, str) and v.startswith("u:"), v)
    return v[2:]


def pdf_date(v):
    m = re.fullmatch(r"D:(\d{14})([+-])(\d\d)'(\d\d)'?", text(v))
    expect(m, v)
    tz = datetime.timezone((1 if m[2] == "+" else -1) * datetime.timedelta(hours=int(m[3]), minutes=int(m[4])))
    return datetime.datetime.strptime(m[1], "%Y%m%d%H%M%S").replace(tzinfo=tz)


def check_header_and_streams(raw):
    """ISO 19005-3 6.1.2: %PDF-1.n and a comment of 4 bytes above 127;
    6.1.3: no data after the last %%EOF but an end-of-line; 6.1.7.1: stream
    and endstream on their own lines."""
    m = re.match(rb"%PDF-1\.([0-7])\r?\n%([\x80-\xff]{4})", raw)
    expect(m and m[1] == b"7", raw[:20])
    expect(re.search(rb"%%EOF\r?\n?$", raw), raw[-20:])
    expect(not re.search(rb"[^\r\n]endstream", raw), "an endstream without an end-of-line before it")
    expect(not re.search(rb"stream\r(?!\n)", raw), "a stream keyword followed by CR alone")


def check_xmp(pdf, catalog):
    """The XMP: PDF/A-3b identification, the Factur-X properties, their
    extension schema; dc/pdf/xmp values equal to the Info dictionary's."""
    meta_ref = catalog["/Metadata"]
    meta = pdf.get(meta_ref)
    expect(meta.get("/Type") == "/Metadata" and meta.get("/Subtype") == "/XML" and "/Filter" not in meta, meta)
    raw = pdf.data(meta_ref)
    expect(raw.startswith(b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'), raw[:80])
    expect(re.search(rb'<\?xpacket end="[rw]"\?>$', raw), raw[-40:])
    expect(b"bytes=" not in raw[:100] and b"encoding=" not in raw[:100], raw[:100])
    shown = tool_out("pdfinfo", "-meta", pdf.path)
    expect("<pdfaid:part>3</pdfaid:part>" in shown and "<fx:DocumentFileName>factur-x.xml<" in shown, shown[:2000])
    root = ET.fromstring(raw.decode("utf-8").split("?>", 1)[1].rsplit("<?xpacket", 1)[0])
    desc = root.findall("rdf:RDF/rdf:Description", NS)

    def one(path):
        hits = [e for d in desc for e in d.findall(path, NS)]
        expect(len(hits) == 1, (path, len(hits)))
        return hits[0].text
    expect(one("pdfaid:part") == "3" and one("pdfaid:conformance") == "B", "pdfaid")
    for name, value in FX.items():
        expect(one("fx:" + name) == value, (name, one("fx:" + name)))
    schemas = [s for d in desc for s in d.findall("pdfaExtension:schemas/rdf:Bag/rdf:li", NS)]
    fx = [s for s in schemas if s.findtext("pdfaSchema:namespaceURI", namespaces=NS) == NS["fx"]]
    expect(len(fx) == 1 and fx[0].findtext("pdfaSchema:prefix", namespaces=NS) == "fx", "the fx extension schema")
    props = {p.findtext("pdfaProperty:name", namespaces=NS): p
             for p in fx[0].findall("pdfaSchema:property/rdf:Seq/rdf:li", NS)}
    expect(set(props) == set(FX), sorted(props))
    for p in props.values():
        expect(p.findtext("pdfaProperty:valueType", namespaces=NS) == "Text" and
               p.findtext("pdfaProperty:category", namespaces=NS) == "external" and
               p.findtext("pdfaProperty:description", namespaces=NS), ET.tostring(p))
    info = pdf.get(pdf.trailer["/Info"])
    expect(one("dc:title/rdf:Alt/rdf:li") == text(info["/Title"]), "dc:title / Title")
    expect(one("dc:creator/rdf:Seq/rdf:li") == text(info["/Author"]), "dc:creator / Author")
    expect(one("pdf:Producer") == text(info["/Producer"]), "pdf:Producer / Producer")
    expect(one("xmp:CreatorTool") == text(info["/Creator"]), "xmp:CreatorTool / Creator")
    expect(datetime.datetime.fromisoformat(one("xmp:CreateDate")) == pdf_date(info["/CreationDate"]), "CreateDate")
    expect(datetime.datetime.fromisoformat(one("xmp:ModifyDate")) == pdf_date(info["/ModDate"]), "ModifyDate")
    expect(set(info) <= {"/Title", "/Author", "/Creator", "/Producer", "/CreationDate", "/ModDate"}, sorted(info))
    return {"title": text(info["/Title"]), "author": text(info["/Author"])}


def check_attachment(pdf, catalog, xml):
    """factur-x.xml: a file specification in /AF and /Names /EmbeddedFiles,
    /AFRelationship /Alternative, /F and /UF, its stream /Subtype text/xml
    with /Params /ModDate and /Size; its bytes are the XML's (xml None:
    what pdfdetach extracts is the stream's)."""
    af = pdf.get(catalog["/AF"])
    expect(len(af) == 1, af)
    names = pdf.get(pdf.get(catalog["/Names"])["/EmbeddedFiles"])["/Names"]
    expect(len(names) == 2 and text(names[0]) == "factur-x.xml" and names[1] == af[0], names)
    spec = pdf.get(af[0])
    expect(spec["/Type"] == "/Filespec" and spec["/AFRelationship"] == "/Alternative", spec)
    expect(text(spec["/F"]) == text(spec["/UF"]) == "factur-x.xml", spec)
    ef = pdf.get(spec["/EF"])
    expect(pdf.is_stream(ef["/F"]), ef)
    stream = pdf.get(ef["/F"])
    expect(stream["/Type"] == "/EmbeddedFile" and stream["/Subtype"] == "/text/xml", stream)
    params = pdf.get(stream["/Params"])
    if xml is None:
        xml = pdf.data(ef["/F"])
    expect(params["/Size"] == len(xml), (params, len(xml)))
    pdf_date(params["/ModDate"])
    expect(pdf.data(ef["/F"]) == xml, "the embedded stream's bytes differ from the XML")
    expect(tool_out("pdfdetach", "-list", pdf.path).splitlines()[1:] == ["1: factur-x.xml"],
           tool_out("pdfdetach", "-list", pdf.path))
    out = pdf.path + ".factur-x.xml"
    tool_out("pdfdetach", "-save", "1", "-o", out, pdf.path)
    expect(open(out, "rb").read() == xml, "pdfdetach's factur-x.xml differs from the XML sent")
    return out


def check_fonts_and_content(pdf):
    """Fonts (6.2.11): every font embedded (pdffonts), a TrueType font's
    encoding allowed, every CIDFontType2 with a CIDToGIDMap; images (6.2.8):
    none interpolated (there are none); no actions, no JavaScript, no
    encryption, no external streams, no transparency group outside RGB."""
    fonts = tool_out("pdffonts", pdf.path).splitlines()[2:]
    expect(fonts and all(line.split()[-5] == "yes" for line in fonts), ("a font not embedded", fonts))
    for v in pdf.values():
        if not isinstance(v, dict):
            continue
        expect(v.get("/Interpolate") is not True, v)
        expect(not ({"/JS", "/JavaScript", "/AA", "/OpenAction", "/Launch", "/FFilter", "/FDecodeParms"} & set(v)),
               sorted(v))
        expect(v.get("/Subtype") != "/Image", "an image")
        if v.get("/Type") == "/Font" and v.get("/Subtype") == "/TrueType":
            desc = pdf.get(v["/FontDescriptor"])
            symbolic = desc["/Flags"] & 4
            expect(("/Encoding" not in v) if symbolic else
                   v.get("/Encoding") in ("/WinAnsiEncoding", "/MacRomanEncoding"), (v, desc))
        if v.get("/Subtype") == "/CIDFontType2":
            expect("/CIDToGIDMap" in v, v)
        if v.get("/S") == "/Transparency" and "/CS" in v:
            expect(v["/CS"] == "/DeviceRGB", v)
    expect("/Encrypt" not in pdf.trailer, pdf.trailer)


def check_facturx(path, xml):
    """Every PDF/A-3b and Factur-X rule these tools can check; returns the
    metadata title and author and the path of the extracted XML."""
    raw = open(path, "rb").read()
    check_header_and_streams(raw)
    out = subprocess.run(["qpdf", "--check", path], capture_output=True, text=True, timeout=60)
    expect(out.returncode == 0 and "No syntax or stream encoding errors" in out.stdout, out.stdout + out.stderr)
    pdf = Pdf(path)
    ids = pdf.trailer.get("/ID")
    expect(isinstance(ids, list) and len(ids) == 2 and all(re.fullmatch(r"b:[0-9a-f]{32}", i) for i in ids), ids)
    catalog = pdf.get(pdf.trailer["/Root"])
    intents = pdf.get(catalog["/OutputIntents"])
    expect(len(intents) == 1, intents)
    intent = pdf.get(intents[0])
    expect(intent["/Type"] == "/OutputIntent" and intent["/S"] == "/GTS_PDFA1" and
           text(intent["/OutputConditionIdentifier"]) == "sRGB IEC61966-2.1", intent)
    expect(pdf.get(intent["/DestOutputProfile"])["/N"] == 3, intent)
    expect(pdf.data(intent["/DestOutputProfile"]) == open(ICC, "rb").read(), "the output intent's ICC profile")
    facts = check_xmp(pdf, catalog)
    facts["xml"] = check_attachment(pdf, catalog, xml)
    check_fonts_and_content(pdf)
    return facts


def validate(kind, path):
    out = subprocess.run([os.path.join(EINVOICE, "validate.sh"), kind, path], capture_output=True, text=True,
                         timeout=300)
    expect(out.returncode == 0, (kind, path, out.stdout[-3000:], out.stderr[-1500:]))


def render_file(env, name, doc, xml=None, kind="invoice"):
    """doc (a fixture's JSON) rendered by mcp-invoiced-render --file, with
    xml (bytes) as its Factur-X attachment when given."""
    src = os.path.join(env.dir, name + ".json")
    with open(src, "w") as f:
        json.dump(doc, f, ensure_ascii=False)
    cmd = [RENDER, "--file", kind, src, os.path.join(env.dir, name + ".pdf")]
    if xml is not None:
        with open(os.path.join(env.dir, name + ".xml"), "wb") as f:
            f.write(xml)
        cmd.append(os.path.join(env.dir, name + ".xml"))
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    expect(out.returncode == 0, out.stderr[-1500:])
    return os.path.join(env.dir, name + ".pdf")


def test_fixture_with_an_attachment_is_factur_x(env):
    """The invoice fixture with the official Factur-X EN16931 example as its
    XML: every checkable PDF/A-3b rule, the XML extracted byte for byte and
    valid (facturx and cii), the same bytes twice, and the same printed
    invoice as without the attachment."""
    doc = json.load(open(os.path.join(FIXTURES, "invoice.json")))
    xml = open(EXAMPLE, "rb").read()
    path = render_file(env, "fx-fixture", doc, xml)
    facts = check_facturx(path, xml)
    expect(facts["title"] == "Invoice " + doc["invoice_number"], facts)
    expect(facts["author"] == doc["seller"]["legal_name"], facts)
    validate("facturx", facts["xml"])
    validate("cii", facts["xml"])
    again = render_file(env, "fx-fixture-again", doc, xml)
    expect(open(again, "rb").read() == open(path, "rb").read(), "two renderings differ")
    plain = render_file(env, "fx-fixture-plain", doc)
    expect(b"/AF" not in open(plain, "rb").read(), "a plain invoice with an /AF")
    expect(tool_out("pdftotext", "-layout", plain, "-") == tool_out("pdftotext", "-layout", path, "-"),
           "the Factur-X invoice prints differently")
    note = json.load(open(os.path.join(FIXTURES, "credit_note.json")))
    facts = check_facturx(render_file(env, "fx-credit-note", note, xml, "credit_note"), xml)
    expect(facts["title"] == "Credit note " + note["credit_note_number"], facts)
    src = os.path.join(env.dir, "fx-statement.json")
    with open(src, "w") as f:
        json.dump(json.load(open(os.path.join(FIXTURES, "statement.json"))), f)
    out = subprocess.run([RENDER, "--file", "statement", src, src + ".pdf", EXAMPLE], capture_output=True, text=True,
                         timeout=120)
    expect(out.returncode == 1 and "only an invoice or a credit note" in out.stderr, out.stderr[-500:])
    print(f"    {os.path.getsize(path)} bytes, {len(xml)} bytes of XML embedded; validate.sh facturx and cii pass")


def test_non_latin_metadata_and_fonts(env):
    """A Japanese seller and an Arabic customer: CID fonts embedded, the
    metadata in UTF-16 in Info and UTF-8 in XMP, equal; control characters
    and bytes that are not UTF-8 do not reach either."""
    doc = json.load(open(os.path.join(FIXTURES, "invoice.json")))
    doc["seller"]["legal_name"] = "株式会社テスト & <Söhne>\tGmbH"
    doc["customer"]["name"] = "شركة الاختبار"
    xml = open(EXAMPLE, "rb").read()
    facts = check_facturx(render_file(env, "fx-cjk", doc, xml), xml)
    expect(facts["author"] == "株式会社テスト & <Söhne> GmbH", facts)
    fonts = tool_out("pdffonts", os.path.join(env.dir, "fx-cjk.pdf"))
    expect("CID" in fonts, fonts)


ADDRESS_DE = {"lines": ["Friedrichstraße 123"], "city": "Berlin", "postal_code": "10117", "country_code": "DE"}
CII = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
       "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}


def complete_invoice(c):
    """A German invoice with all EN 16931 needs: two standard rates (one
    tax-inclusive), an export line (G, with its reason), a line discount,
    and a partial payment. Returns its invoice_id."""
    ok(c, "upsert_business_profile", {
        "legal_name": "Nordlicht Software GmbH", "address": ADDRESS_DE, "vat_id": "DE123456789",
        "iban": "DE89370400440532013000", "email": "billing@nordlicht.example", "default_currency": "EUR"})
    ok(c, "upsert_customer", {"customer_id": "acme", "name": "ACME Handelsgesellschaft mbH", "vat_id": "DE987654321",
                              "address": {"lines": ["Hauptstraße 5"], "city": "München", "postal_code": "80331",
                                          "country_code": "DE"}})
    ok(c, "upsert_tax_rate", {"code": "VAT19", "name": "VAT 19%", "rate_bps": 1900})
    ok(c, "upsert_tax_rate", {"code": "VAT7I", "name": "VAT 7% books", "rate_bps": 700, "inclusive": True})
    ok(c, "upsert_tax_rate", {"code": "EXPORT", "name": "Export outside the EU", "rate_bps": 0, "category": "G",
                              "exemption_reason": "Export outside the EU (art. 146 VAT Directive)"})
    inv = ok(c, "create_invoice", {"customer_id": "acme", "memo": "Consulting, September", "line_items": [
        {"description": "Consulting, senior engineer (hours)", "amount_cents": 125000, "quantity": 13,
         "discount_bps": 1000, "tax_code": "VAT19"},
        {"description": "Reference book", "amount_cents": 5000, "quantity": 2, "tax_code": "VAT7I"},
        {"description": "Shipping to Norway", "amount_cents": 2500, "tax_code": "EXPORT"}]})
    ok(c, "send_invoice", {"invoice_id": inv["invoice_id"]})
    ok(c, "apply_payment", {"invoice_id": inv["invoice_id"], "amount_cents": 100000, "method": "bank_transfer"})
    return inv["invoice_id"]


def cents(root, name, exp):
    """A monetary summation amount of the CII document, in minor units."""
    hits = root.findall(".//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:" + name, CII)
    expect(len(hits) == 1, (name, len(hits)))
    whole, _, frac = hits[0].text.partition(".")
    expect(len(frac) <= exp, (name, hits[0].text))
    return int(whole + frac.ljust(exp, "0")) if exp else int(whole)


def test_a_complete_invoice_is_factur_x_through_the_tools(env):
    """get_invoice_pdf through the sandboxed renderer: facturx true, every
    checkable PDF/A-3b rule, the XML valid (facturx and cii) with the
    invoice's totals; resources/read gives the same bytes."""
    _, c = tenant_client(env)
    iid = complete_invoice(c)
    r, pdf = pdf_tool(c, "get_invoice_pdf", {"invoice_id": iid})
    sc = r["structuredContent"]
    expect(sc["facturx"] is True and "facturx_missing" not in sc, sc.get("facturx_missing"))
    expect("Factur-X (EN 16931)" in r["content"][0]["text"], r["content"][0]["text"])
    path = save(pdf, "invoice-facturx.pdf")
    facts = check_facturx(path, None)
    expect(facts["title"] == "Invoice " + sc["invoice_number"], facts)
    expect(facts["author"] == "Nordlicht Software GmbH", facts)
    validate("facturx", facts["xml"])
    validate("cii", facts["xml"])
    root = ET.parse(facts["xml"]).getroot()
    exp = sc["currency_exponent"]
    expect(root.find(".//ram:InvoiceCurrencyCode", CII).text == sc["currency"] == "EUR", sc["currency"])
    got = {k: cents(root, k, exp) for k in ("GrandTotalAmount", "TaxTotalAmount", "DuePayableAmount",
                                            "TotalPrepaidAmount")}
    want = {"GrandTotalAmount": sc["total_cents"], "TaxTotalAmount": sc["tax_cents"],
            "DuePayableAmount": sc["amount_due_cents"], "TotalPrepaidAmount": sc["amount_paid_cents"]}
    expect(got == want, (got, want))
    number = root.find("rsm:ExchangedDocument/ram:ID", CII).text
    expect(number == sc["invoice_number"], (number, sc["invoice_number"]))
    # The PDF's printed total is the invoice's too: it is still the same tax invoice.
    txt = tool_out("pdftotext", "-layout", path, "-")
    expect(sc["invoice_number"] in txt and "Nordlicht Software GmbH" in txt, txt[:500])
    st, _, body = read_resource(c, sc["pdf"]["uri"])
    expect(st == 200, body)
    blob = base64.b64decode(body["result"]["contents"][0]["blob"])
    expect(blob == pdf, "resources/read gave other bytes than get_invoice_pdf")
    print(f"    {len(pdf)} bytes; factur-x.xml {os.path.getsize(facts['xml'])} bytes, valid (facturx, cii); "
          f"total {sc['total_cents']}, tax {sc['tax_cents']}, paid {sc['amount_paid_cents']}, "
          f"due {sc['amount_due_cents']} (minor units) in the XML too")


def no_attachment(pdf_bytes, name):
    path = save(pdf_bytes, name)
    expect(b"/AF" not in pdf_bytes and b"/EmbeddedFile" not in pdf_bytes, "an attachment")
    expect(tool_out("pdfdetach", "-list", path).startswith("0 embedded files"), tool_out("pdfdetach", "-list", path))
    return path


def test_an_incomplete_invoice_or_a_draft_is_an_ordinary_pdf_naming_what_is_missing(env):
    """No structured addresses: facturx false, facturx_missing names BT-40
    and BT-55 with the arguments that fill them, the text says so, and the
    PDF is the ordinary one; so for its credit note. A draft: BT-1 and BT-2
    (send_invoice). Filled in, both become Factur-X."""
    _, c = tenant_client(env)
    ok(c, "upsert_business_profile", {"legal_name": "Textadresse GmbH", "address": "Weg 1\n10117 Berlin",
                                      "vat_id": "DE123456789"})
    ok(c, "upsert_customer", {"customer_id": "k1", "name": "Kunde", "address": "Gasse 2\n80331 München"})
    ok(c, "upsert_tax_rate", {"code": "VAT19", "name": "VAT 19%", "rate_bps": 1900})
    inv = ok(c, "create_invoice", {"customer_id": "k1", "currency": "EUR", "line_items": [
        {"description": "Work", "amount_cents": 10000, "tax_code": "VAT19"}]})
    r, pdf = pdf_tool(c, "get_invoice_pdf", {"invoice_id": inv["invoice_id"]})
    sc = r["structuredContent"]
    expect(sc["facturx"] is False, sc["facturx"])
    terms = {m["term"]: m for m in sc["facturx_missing"]}
    expect({"BT-1", "BT-2"} <= set(terms) and terms["BT-1"]["argument"] == "send_invoice", sc["facturx_missing"])
    no_attachment(pdf, "invoice-draft-not-facturx.pdf")
    ok(c, "send_invoice", {"invoice_id": inv["invoice_id"]})
    r, pdf = pdf_tool(c, "get_invoice_pdf", {"invoice_id": inv["invoice_id"]})
    sc = r["structuredContent"]
    terms = {m["term"]: m for m in sc["facturx_missing"]}
    expect(sc["facturx"] is False and set(terms) == {"BT-40", "BT-55"}, sc["facturx_missing"])
    expect(terms["BT-40"]["argument"] == "upsert_business_profile.address.country_code" and
           terms["BT-55"]["argument"] == "upsert_customer.address.country_code", terms)
    text = r["content"][0]["text"]
    expect("Not Factur-X; missing: BT-40" in text and "BT-55" in text and
           "upsert_customer.address.country_code" in text, text)
    path = no_attachment(pdf, "invoice-not-facturx.pdf")
    info = tool_out("pdfinfo", path)
    expect("PDF version:     1.5" in info and "Metadata Stream: no" in info, info)
    note = ok(c, "create_credit_note", {"invoice_id": inv["invoice_id"], "amount_cents": 1190, "reason": "returned"})
    note_id = note["credit_note"]["credit_note_id"]
    r, pdf = pdf_tool(c, "get_credit_note_pdf", {"credit_note_id": note_id})
    sc = r["structuredContent"]
    expect(sc["facturx"] is False and {"BT-40", "BT-55"} <= {m["term"] for m in sc["facturx_missing"]},
           sc["facturx_missing"])
    expect("Not Factur-X; missing: BT-40" in r["content"][0]["text"], r["content"][0]["text"])
    no_attachment(pdf, "credit-note-not-facturx.pdf")
    # Filled in, the same invoice becomes Factur-X.
    ok(c, "upsert_business_profile", {"legal_name": "Textadresse GmbH", "address": ADDRESS_DE,
                                      "vat_id": "DE123456789"})
    ok(c, "upsert_customer", {"customer_id": "k1", "name": "Kunde", "address": ADDRESS_DE})
    r, pdf = pdf_tool(c, "get_invoice_pdf", {"invoice_id": inv["invoice_id"]})
    expect(r["structuredContent"]["facturx"] is True, r["structuredContent"].get("facturx_missing"))
    check_facturx(save(pdf, "invoice-now-facturx.pdf"), None)
    r, pdf = pdf_tool(c, "get_credit_note_pdf", {"credit_note_id": note_id})
    expect(r["structuredContent"]["facturx"] is True, r["structuredContent"].get("facturx_missing"))
    check_facturx(save(pdf, "credit-note-now-facturx.pdf"), None)


def test_every_scenario_is_factur_x_and_its_xml_validates(env):
    """Each scenario of issue 22 (test_einvoice's: two rates and a line
    discount, tax-inclusive with rounding, AE, K, E, G, partially paid, JPY,
    a credit note) as a PDF (get_invoice_pdf, get_credit_note_pdf):
    Factur-X, every checkable PDF/A-3b rule, factur-x.xml byte for byte
    get_einvoice's CII document with the document's totals, and every
    extracted XML valid (facturx and cii) in one validator run."""
    c = Client(env, env.token(tenant=new_tenant()))
    setup_tenant(c)
    out = os.path.join(env.dir, "facturx-scenarios")
    os.makedirs(out, exist_ok=True)
    names = []
    for name, (kind, doc_id) in build_scenarios(c).items():
        r, pdf = pdf_tool(c, "get_invoice_pdf" if kind == "invoice" else "get_credit_note_pdf", {kind + "_id": doc_id})
        expect(r["structuredContent"]["facturx"] is True, (name, r["structuredContent"].get("facturx_missing")))
        expect("Factur-X (EN 16931)" in r["content"][0]["text"], r["content"][0]["text"])
        _, cii = get_einvoice(c, kind, doc_id, "cii", "en16931")
        facts = check_facturx(save(pdf, f"facturx-{name}.pdf"), cii)
        check_totals(c, name, kind, doc_id, open(facts["xml"], "rb").read(), "cii")
        shutil.copy(facts["xml"], os.path.join(out, name + ".cii.xml"))
        names.append(name)
    results = validate_all.validate(validate_all.groups_of_dir(out))
    failed = validate_all.report(results)
    expect(failed == 0 and len(results) == 2 * len(names) == 18, (failed, len(results), names))
    print(f"    {len(names)} Factur-X PDFs ({', '.join(names)}): factur-x.xml valid under facturx and cii")
