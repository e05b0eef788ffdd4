"""check-layout.py - the source tree is the process diagram (README: Source
layout): each folder includes only the folders its process is trusted with,
and no two folders include each other, directly or through others; and the
code stays readable in pieces: no C file over 900 lines, no function over
80. Prints the include edges between folders; exits 1 naming anything that
breaks a rule."""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# folder -> the folders (besides itself) it may include
ALLOWED = {
    "server/lib": set(),
    "shm": {"server/lib"},
    "server/proto": {"server/lib"},
    "server/proc": {"server/lib", "server/proto"},
    "server/auth": {"server/lib", "server/proc", "server/proto"},
    "server": {"server/lib", "server/proc", "server/proto", "server/auth", "shm"},
    "worker/http": {"server/lib"},
    "worker/einvoice": {"server/lib"},
    "worker/tools": {"server/lib", "server/proc", "server/proto", "server/auth", "worker/einvoice"},
    "worker/db": {"worker/tools", "server/lib", "server/proc", "server/proto", "shm"},
    "worker/core": {"worker/db", "worker/tools", "server/lib", "server/proc", "server/proto",
                    "server/auth", "shm"},
    "worker/mcp": {"worker/core", "worker/db", "worker/einvoice", "worker/http", "worker/tools", "server/lib",
                   "server/proc", "server/proto", "server/auth", "shm"},
    "worker": {"worker/core", "worker/db", "worker/einvoice", "worker/http", "worker/mcp", "worker/tools", "server/lib",
               "server/proc", "server/proto", "server/auth", "shm"},
    "render": {"server/lib", "server/proc", "server/proto"},
    "server/jwks": {"server/lib", "server/proc", "server/proto", "server/auth"},
}


def acyclic(graph):
    """The allowed graph itself has no cycle, so neither have the edges."""
    state = {}

    def visit(n):
        if state.get(n) == 1:
            return False
        if state.get(n) == 2:
            return True
        state[n] = 1
        ok = all(visit(m) for m in graph[n])
        state[n] = 2
        return ok
    return all(visit(n) for n in graph)


MAX_FILE_LINES = 900
MAX_FUNCTION_LINES = 80


def long_functions(path):
    """(name, lines) of each function over MAX_FUNCTION_LINES: a body opens
    with "{" alone in column 0 and closes with "}" alone in column 0."""
    lines = open(path, encoding="utf-8").read().split("\n")
    found = []
    for i, line in enumerate(lines):
        if line != "{":
            continue
        k = i - 1
        while k > 0 and not re.match(r"[A-Za-z]", lines[k]):
            k -= 1
        j = i
        while j < len(lines) and lines[j] != "}":
            j += 1
        m = re.search(r"(\w+)\s*\(", lines[k])
        if j - k + 1 > MAX_FUNCTION_LINES:
            found.append((m.group(1) if m else lines[k], j - k + 1))
    return found


def main():
    edges, bad = {}, []
    if not acyclic(ALLOWED):
        bad.append("the allowed folder graph has a cycle")
    for folder in ALLOWED:
        path = os.path.join(ROOT, folder)
        for name in sorted(os.listdir(path)):
            if not name.endswith((".c", ".h")):
                continue
            if name.endswith(".c"):
                n = sum(1 for _ in open(os.path.join(path, name), encoding="utf-8"))
                if n > MAX_FILE_LINES:
                    bad.append(f"{folder}/{name}: {n} lines, over {MAX_FILE_LINES}")
                for fn, n in long_functions(os.path.join(path, name)):
                    bad.append(f"{folder}/{name}: {fn} is {n} lines, over {MAX_FUNCTION_LINES}")
            for line in open(os.path.join(path, name), encoding="utf-8"):
                m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                if not m:
                    continue
                inc = m.group(1)
                target = os.path.dirname(inc)
                if target not in ALLOWED:
                    bad.append(f"{folder}/{name}: includes {inc}: not a file named from the top of the tree")
                    continue
                if target != folder:
                    edges[(folder, target)] = edges.get((folder, target), 0) + 1
                    if target not in ALLOWED[folder]:
                        bad.append(f"{folder}/{name}: includes {inc} ({folder} may not include {target})")
    for (a, b), n in sorted(edges.items()):
        if (b, a) in edges:
            bad.append(f"{a} and {b} include each other")
    print("include edges between folders:", ", ".join(f"{a} -> {b} ({n})" for (a, b), n in sorted(edges.items())))
    for b in bad:
        print("layout:", b)
    if not bad:
        print(f"layout: {len(ALLOWED)} folders, {len(edges)} edges, every include allowed, no cycle; "
              f"no C file over {MAX_FILE_LINES} lines, no function over {MAX_FUNCTION_LINES}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
