#!/bin/sh
# check-man.sh - the man pages render with man -l and groff without
# warnings, mcp-invoiced.conf(5) documents exactly the keys of the parser's
# own table (`mcp-invoiced config-keys`: name, range or values, default),
# and mcp-invoiced(8) names every command of `mcp-invoiced --help`.
set -eu
BIN=${1:-bin/mcp-invoiced}
for page in man/mcp-invoiced.8 man/mcp-invoiced.conf.5; do
	warnings=$(groff -man -ww -z "$page" 2>&1 || true)
	[ -z "$warnings" ] || { echo "$page: groff warnings:"; echo "$warnings"; exit 1; }
	MANWIDTH=80 man -l "$page" 2>/dev/null | grep -q "^NAME" || { echo "$page: man -l did not render it"; exit 1; }
done
"$BIN" config-keys > build/config-keys.txt
"$BIN" --help > build/usage.txt
MANWIDTH=200 man -l man/mcp-invoiced.conf.5 2>/dev/null > build/conf.5.txt
python3 - build/config-keys.txt man/mcp-invoiced.conf.5 build/usage.txt man/mcp-invoiced.8 <<'PY'
import re, sys
keys_path, conf_path, usage_path, page8_path = sys.argv[1:]
src = open(conf_path).read()
keys_section = src.split(".SH KEYS", 1)[1].split("\n.SH ", 1)[0]
entries = {}
for block in keys_section.split(".TP\n")[1:]:
    first, _, rest = block.partition("\n")
    assert first.startswith(".B "), f"a KEYS entry must start with .B key: {first!r}"
    entries[first[3:].strip()] = rest.replace("\\-", "-").replace("\\e", "\\")
problems = []
table = [l.rstrip("\n").split("\t") for l in open(keys_path)]
names = [t[0] for t in table]
for name, typ, rng, default in table:
    text = entries.get(name)
    if text is None:
        problems.append(f"{name}: in the configuration table, missing from mcp-invoiced.conf(5)")
        continue
    if typ == "integer":
        lo, hi = rng.split("..")
        if f"Integer, {lo} to {hi}." not in text:
            problems.append(f"{name}: the page must say 'Integer, {lo} to {hi}.'")
    if typ == "enum":
        for v in rng.split():
            if f"\\fB{v}\\fR" not in text:
                problems.append(f"{name}: value {v} not documented")
    if default and name != "workers" and f"Default: \\fB{default}\\fR." not in text:
        problems.append(f"{name}: the page must say 'Default: {default}.'")
for name in entries:
    if name not in names:
        problems.append(f"{name}: documented in mcp-invoiced.conf(5) but not a configuration key")
page8 = open(page8_path).read()
for cmd in re.findall(r"^  ([a-z][a-z-]+)", open(usage_path).read(), re.M):
    if f".B {cmd}" not in page8 and f".B mcp-invoiced {cmd}" not in page8:
        problems.append(f"command {cmd} (mcp-invoiced --help) missing from mcp-invoiced(8)")
if problems:
    print("man pages out of date:\n  " + "\n  ".join(problems))
    sys.exit(1)
print(f"man pages: {len(names)} configuration keys and every command documented; both render")
PY
