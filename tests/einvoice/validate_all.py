#!/usr/bin/env python3
"""validate_all.py - runs the official e-invoice validators of
../shared/einvoice (its README; validate.sh's semantics) over many documents
with one JVM start and one stylesheet compile per rule set, not per document.

    validate_all.py DIR        validates DIR/*.ubl.xml (ubl), *.peppol.xml
                               (peppol), *.cii.xml (cii and facturx)
    validate_all.py --fixtures writes tests/einvoice/fixtures in every syntax
                               with build/tests/test_einvoice, then validates
    --cross-check N            also runs validate.sh itself on N documents of
                               each mode and checks it agrees

A document passes a mode when its schema validates (xmllint --schema) and
the rules' SVRL report has no failed assert flagged fatal or error (an
assert without a flag counts as fatal, as in validate.sh). Exit 0 when every
document passes every mode it was given."""
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RULES_DIR = os.environ.get("EINVOICE_RULES", os.path.join(ROOT, "..", "shared", "einvoice"))
SAXON = "/usr/share/java/Saxon-HE.jar"
SVRL = "{http://purl.oclc.org/dsdl/svrl}"
UBL_XSD = "ubl21/xsd/maindoc/UBL-{root}-2.1.xsd"
CII_XSD = "cii-d16b/CII/uncefact/data/standard/CrossIndustryInvoice_100pD16B.xsd"
MODES = {  # mode -> (schema, rules)
    "ubl": (UBL_XSD, "en16931/EN16931-UBL-validation.xslt"),
    "peppol": (UBL_XSD, "peppol/PEPPOL-EN16931-UBL.xslt"),
    "cii": (CII_XSD, "en16931/EN16931-CII-validation.xslt"),
    "facturx": ("facturx/FACTUR-X_EN16931.xsd", "facturx/FACTUR-X_EN16931.xslt"),
}
SUFFIXES = {".ubl.xml": ["ubl"], ".peppol.xml": ["peppol"], ".cii.xml": ["cii", "facturx"]}


def root_name(path):
    for _, elem in ET.iterparse(path, events=("start",)):
        return elem.tag.rsplit("}", 1)[-1]


def schema_errors(mode, paths):
    """{path: [error lines]} from one xmllint run per schema file."""
    by_xsd = {}
    for p in paths:
        by_xsd.setdefault(MODES[mode][0].format(root=root_name(p)), []).append(p)
    errors = {}
    for xsd, group in by_xsd.items():
        r = subprocess.run(["xmllint", "--noout", "--schema", os.path.join(RULES_DIR, xsd)] + group,
                           capture_output=True, text=True)
        for p in group:
            lines = [ln for ln in r.stderr.splitlines() if ln.startswith(p + ":")]
            ok = (p + " validates") in r.stderr.splitlines()
            errors[p] = [] if ok else (lines or ["schema: invalid"])
    return errors


def svrl_failures(report):
    """validate.sh's reading of an SVRL report: (flag, id, text) of each failed assert."""
    out = []
    for fa in ET.parse(report).getroot().iter(SVRL + "failed-assert"):
        t = fa.find(SVRL + "text")
        text = "".join(t.itertext()).strip() if t is not None else ""
        out.append((fa.get("flag") or "fatal", fa.get("id") or "", text[:200]))
    return out


def rule_failures(mode, paths):
    """{path: [(flag, id, text)]} from one Saxon run over a directory of the documents."""
    with tempfile.TemporaryDirectory() as tmp:
        src, out = os.path.join(tmp, "in"), os.path.join(tmp, "out")
        os.mkdir(src)
        os.mkdir(out)
        names = {}
        for i, p in enumerate(paths):
            name = "%04d-%s" % (i, os.path.basename(p))
            os.symlink(os.path.abspath(p), os.path.join(src, name))
            names[p] = name
        r = subprocess.run(["java", "-cp", SAXON, "net.sf.saxon.Transform", "-s:" + src, "-o:" + out,
                            "-xsl:" + os.path.join(RULES_DIR, MODES[mode][1])], capture_output=True, text=True)
        result = {}
        for p, name in names.items():
            report = os.path.join(out, name)
            if not os.path.exists(report):
                result[p] = [("fatal", "saxon", "no report: " + r.stderr[-300:])]
            else:
                result[p] = svrl_failures(report)
        return result


def validate(groups):
    """groups: {mode: [paths]} -> {(mode, path): {"ok": bool, "schema": [...], "asserts": [...]}}."""
    jobs = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for mode, paths in groups.items():
            if paths:
                jobs[mode] = (pool.submit(schema_errors, mode, paths), pool.submit(rule_failures, mode, paths))
        results = {}
        for mode, (schema_job, rules_job) in jobs.items():
            schema, rules = schema_job.result(), rules_job.result()
            for p in groups[mode]:
                bad = [a for a in rules[p] if a[0] in ("fatal", "error")]
                results[(mode, p)] = {"ok": not schema[p] and not bad, "schema": schema[p], "asserts": rules[p]}
    return results


def groups_of_dir(d):
    groups = {m: [] for m in MODES}
    for name in sorted(os.listdir(d)):
        for suffix, modes in SUFFIXES.items():
            if name.endswith(suffix):
                for m in modes:
                    groups[m].append(os.path.join(d, name))
    return groups


def cross_check(results, n):
    """validate.sh on n documents per mode: same verdict, same fatal/error ids."""
    disagree, per_mode = [], {}
    for (mode, p), r in sorted(results.items()):
        if per_mode.get(mode, 0) >= n:
            continue
        per_mode[mode] = per_mode.get(mode, 0) + 1
        sh = subprocess.run([os.path.join(RULES_DIR, "validate.sh"), mode, p], capture_output=True, text=True)
        ids = sorted(re.findall(r"^(?:fatal|error): (\S+)", sh.stdout, re.M))
        mine = sorted(a[1] for a in r["asserts"] if a[0] in ("fatal", "error"))
        if (sh.returncode == 0) != r["ok"] or (not r["schema"] and ids != mine):
            disagree.append(f"{mode} {p}: validate.sh rc={sh.returncode} {ids}, here ok={r['ok']} {mine}")
    return disagree, sum(per_mode.values())


def report(results):
    failed = 0
    for (mode, p), r in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        flags = [f"{a[0]}: {a[1]} {a[2]}" for a in r["asserts"] if a[0] in ("fatal", "error")]
        print(f"{'pass' if r['ok'] else 'FAIL'} {mode:8} {os.path.basename(p)}")
        for line in r["schema"] + flags:
            print("     ", line)
        failed += not r["ok"]
    print(f"{len(results) - failed}/{len(results)} document validations passed")
    return failed


def main(argv):
    cross = 0
    if "--cross-check" in argv:
        i = argv.index("--cross-check")
        cross = int(argv[i + 1])
        del argv[i:i + 2]
    with tempfile.TemporaryDirectory() as tmp:
        if argv == ["--fixtures"]:
            subprocess.run(["make", "-s", "build/tests/test_einvoice"], cwd=ROOT, check=True)
            subprocess.run([os.path.join(ROOT, "build/tests/test_einvoice")], cwd=ROOT, check=True,
                           env=dict(os.environ, EINVOICE_OUT=tmp), stdout=subprocess.DEVNULL)
            d = tmp
        elif len(argv) == 1:
            d = argv[0]
        else:
            print(__doc__)
            return 2
        results = validate(groups_of_dir(d))
        failed = report(results)
        if cross:
            disagree, n = cross_check(results, cross)
            print(f"cross-check with validate.sh: {n - len(disagree)}/{n} agree")
            for line in disagree:
                print("  ", line)
            failed += len(disagree)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
