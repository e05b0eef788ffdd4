#!/usr/bin/env python3
"""check-sql.py - the SQL layout rule of README "Database" (docs/database.md):
every function is created exactly once; sql/functions/*.sql hold only
CREATE OR REPLACE FUNCTION; a migration creates only the functions its own
tables need while it runs (a CHECK constraint, a trigger, a column default,
a data step of a migration) and the functions those call; nothing alters a
function's settings after its definition; the tenant is set only by
mcp_as_tenant. Run by `make test` (and `make check-sql`); exits 1 naming
each violation. Runs nowhere else."""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CREATE = re.compile(r"CREATE\s+(OR\s+REPLACE\s+)?FUNCTION\s+([A-Za-z_0-9]+)\s*\(", re.I)


def statements(text):
    """The top-level statements of a SQL file, comments removed: a ; ends one
    outside quotes, dollar quotes and comments."""
    out, cur, i, n = [], [], 0, len(text)
    while i < n:
        if text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            i = text.find("*/", i) + 2
            continue
        c = text[i]
        j = i + 1
        if c == "'":
            while True:
                j = text.find("'", j) + 1
                if j < n and text[j] == "'":
                    j += 1
                    continue
                break
        elif c == "$":
            m = re.match(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$", text[i:])
            if m and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
                j = text.index(m.group(0), i + len(m.group(0))) + len(m.group(0))
        elif c == ";":
            out.append("".join(cur).strip())
            cur = []
            i += 1
            continue
        cur.append(text[i:j])
        i = j
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


def load(folder):
    return [(os.path.relpath(p, ROOT), statements(open(p).read()))
            for p in sorted(glob.glob(os.path.join(ROOT, "sql", folder, "*.sql")))]


def mentions(text, names):
    return {n for n in names if re.search(r"\b" + n + r"\b", text)}


def main():
    errors = []
    created = {}       # name -> [file, ...]
    bodies = {}        # name -> text after the name (migrations only)
    needed = set()     # functions a migration's own statements use
    migrations, functions = load("migrations"), load("functions")
    for path, stmts in migrations + functions:
        for s in stmts:
            m = CREATE.match(s)
            if m:
                created.setdefault(m.group(2), []).append(path)
                if "/migrations/" in path:
                    bodies[m.group(2)] = s[m.end():]
                elif not m.group(1):
                    errors.append(f"{path}: {m.group(2)} must be CREATE OR REPLACE")
            elif "/functions/" in path:
                errors.append(f"{path}: only functions belong here, not: {s[:60]!r}")
            elif re.search(r"\bALTER\s+FUNCTION\b", s, re.I):
                errors.append(f"{path}: ALTER FUNCTION: put the setting in the function's definition")
    for path, stmts in migrations:
        for s in stmts:
            if not CREATE.match(s) and not re.match(r"(GRANT|REVOKE|DROP\s+FUNCTION)\b", s, re.I):
                needed |= mentions(s, bodies)
    todo = list(needed)
    while todo:
        for callee in mentions(bodies[todo.pop()], bodies) - needed:
            needed.add(callee)
            todo.append(callee)
    for name, paths in sorted(created.items()):
        if len(paths) > 1:
            errors.append(f"{name} is created {len(paths)} times: {', '.join(paths)}")
    for name in sorted(set(bodies) - needed):
        errors.append(f"{created[name][0]}: {name} is no table's CHECK, trigger, default or data step:"
                      " move it to sql/functions")
    for path, stmts in migrations + functions:
        for s in stmts:
            m = CREATE.match(s)
            if "set_config('app.tenant_id'" in s.replace('"', "'") and not (m and m.group(2) == "mcp_as_tenant"):
                errors.append(f"{path}: set app.tenant_id with mcp_as_tenant(p_tenant)")
    for e in errors:
        print("check-sql:", e)
    print(f"check-sql: {len(created)} functions, {len(bodies)} of them with their tables"
          f" ({', '.join(sorted(bodies))}), {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
