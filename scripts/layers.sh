#!/usr/bin/env bash
# The server's module imports, and any circle among them. A module is a top-level module of
# crates/server/src (`services`, `storage`, ...; `lib` for the crate root); an edge is a `crate::`
# path in one of its files (code only, tests included). The crate root is the composition root: it
# uses every module (`demo`, which starts the whole app, counts as part of it), so no module may
# import it.
# Usage: scripts/layers.sh [--edges]   Exits 1 if two modules import each other, directly or not,
# or if a module below the HTTP layer imports the HTTP layer (`app`, `error`, `routes`, `web`, `serve`).
set -euo pipefail
cd "$(dirname "$0")/../crates/server/src"
python3 - "$@" <<'PY'
import os, re, sys
root_items = set()
lib = open("lib.rs").read()
mods = set(re.findall(r"^(?:pub(?:\([^)]*\))? )?mod (\w+);", lib, re.M)) - {"demo"}
edges = {"lib": set(mods)}
for dirpath, _, files in os.walk("."):
    for f in files:
        if not f.endswith(".rs"):
            continue
        path = os.path.join(dirpath, f)[2:]
        first = path.split("/")[0].removesuffix(".rs")
        module = first if first in mods else "lib"
        if module == "lib":
            continue
        for line in open(path):
            code = line.split("//")[0]
            for target in re.findall(r"\bcrate::(\w+)", code):
                if target == module:
                    continue
                target = target if target in mods else "lib"
                if target != module:
                    edges.setdefault(module, set()).add(target)
            # `use crate::{a, b::c}` groups
            for group in re.findall(r"\bcrate::\{([^}]*)\}", code):
                for target in re.findall(r"(?:^|,)\s*(\w+)", group):
                    target = target if target in mods else "lib"
                    if target != module:
                        edges.setdefault(module, set()).add(target)
if "--edges" in sys.argv:
    for m in sorted(edges):
        print(f"{m} -> {', '.join(sorted(edges[m]))}")
# Circles: strongly connected components of more than one module.
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
def visit(v):
    index[v] = low[v] = counter[0]; counter[0] += 1; stack.append(v); on.add(v)
    for w in edges.get(v, ()):
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        scc = []
        while True:
            w = stack.pop(); on.discard(w); scc.append(w)
            if w == v: break
        if len(scc) > 1: sccs.append(sorted(scc))
sys.setrecursionlimit(10000)
for v in list(edges):
    if v not in index: visit(v)
for scc in sccs:
    print("circle:", " <-> ".join(scc))
http = {"app", "error", "routes", "web", "serve", "lib"}
upward = [(m, t) for m in sorted(edges) if m not in http for t in sorted(edges[m] & http)]
for m, t in upward:
    print(f"below the HTTP layer, {m} imports {t}")
sys.exit(1 if sccs or upward else 0)
PY
