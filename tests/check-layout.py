"""check-layout.py - the source tree is the process diagram (README: Source
layout): each folder includes only the folders its process is trusted with,
and no two folders include each other, directly or through others. Prints
the include edges between folders; exits 1 naming any include that breaks
the rule."""
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
    "server/auth": {"server/lib", "server/proc"},
    "server": {"server/lib", "server/proc", "server/proto", "server/auth", "shm"},
    "worker/http": {"server/lib"},
    "worker/tools": {"server/lib", "server/proc", "server/proto", "server/auth"},
    "worker/db": {"worker/tools", "server/lib", "server/proc", "shm"},
    "worker/core": {"worker/db", "worker/tools", "server/lib", "server/proc", "server/proto",
                    "server/auth", "shm"},
    "worker/mcp": {"worker/core", "worker/db", "worker/http", "worker/tools", "server/lib",
                   "server/proc", "server/proto", "server/auth", "shm"},
    "worker": {"worker/core", "worker/db", "worker/http", "worker/mcp", "worker/tools", "server/lib",
               "server/proc", "server/proto", "server/auth", "shm"},
    "render": {"server/lib", "server/proc", "server/proto"},
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


def main():
    edges, bad = {}, []
    if not acyclic(ALLOWED):
        bad.append("the allowed folder graph has a cycle")
    for folder in ALLOWED:
        path = os.path.join(ROOT, folder)
        for name in sorted(os.listdir(path)):
            if not name.endswith((".c", ".h")):
                continue
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
        print(f"layout: {len(ALLOWED)} folders, {len(edges)} edges, every include allowed, no cycle")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
