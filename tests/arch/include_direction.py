#!/usr/bin/env python3
"""The layers' include direction (ARCHITECTURE.md), checked over every
#include "..." of the tree: a file may include headers of its own layer and
of the layers it builds on, never one above. Prints each offending line with
file:line and exits 1; exits 0 when the direction holds.
Usage: include_direction.py [SOURCE_DIR]"""
import os
import re
import sys

# Layer -> the layers it may include (its own is always allowed).
ALLOWED = {
    "engine/lib": [],
    "engine/store": ["engine/lib"],
    # Network migration plans as data: plan, verify, vSwitch planner.
    "engine/netplan": ["engine/lib"],
    # The core's generic steps snapshot and restore every disk (rollback/).
    "engine/core": ["engine/lib", "engine/store", "rollback"],
    "engine/sched": ["engine/lib", "engine/store"],
    "engine/client": ["engine/lib"],
    "rollback": ["engine/lib", "engine/core/providers"],
    "backends/linux": ["engine/lib", "engine/core"],
    "backends/windows": ["engine/lib", "engine/core"],
    "engine/fleet": ["engine/lib", "engine/store", "engine/core", "engine/sched", "engine/netplan"],
    # The CLI is the top: it may name everything.
    "engine/cli": None,
}
# Includes allowed to point up for a while, as (file, header) pairs; a pair
# listed here that no longer occurs is reported, so the list only shrinks.
KNOWN = set()
# The one table of OS families names the backends (and nothing else does,
# outside the CLI).
TABLE = "engine/core/families.c"
TABLE_MAY = ["engine/lib", "engine/store", "engine/core", "backends/linux", "backends/windows", "rollback"]


def layer_of(rel):
    best = None
    for layer in ALLOWED:
        if rel == layer or rel.startswith(layer + "/"):
            if best is None or len(layer) > len(best):
                best = layer
    return best


def main():
    src = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../.."))
    headers = {}  # basename -> [rel paths]
    files = []
    for top in ("engine", "backends", "rollback"):
        for d, _, names in os.walk(os.path.join(src, top)):
            for n in names:
                rel = os.path.relpath(os.path.join(d, n), src)
                if n.endswith(".h"):
                    headers.setdefault(n, []).append(rel)
                if n.endswith((".c", ".h")):
                    files.append(rel)
    if not files:
        print(f"include_direction: no sources under {src}", file=sys.stderr)
        return 2
    bad = 0
    seen_known = set()
    inc = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
    for rel in sorted(files):
        layer = layer_of(rel)
        if layer is None:
            print(f"{rel}: not in any layer (add it to tests/arch/include_direction.py and ARCHITECTURE.md)")
            bad += 1
            continue
        may = TABLE_MAY if rel == TABLE else ALLOWED[layer]
        if may is None:
            continue
        with open(os.path.join(src, rel), encoding="utf-8", errors="replace") as f:
            for no, line in enumerate(f, 1):
                m = inc.match(line)
                if not m:
                    continue
                name = os.path.basename(m.group(1))
                here = os.path.normpath(os.path.join(os.path.dirname(rel), m.group(1)))
                targets = [here] if os.path.exists(os.path.join(src, here)) else headers.get(name, [])
                if not targets:
                    continue  # generated or a system header in quotes
                ok = any(layer_of(t) == layer or any(t == a or t.startswith(a + "/") for a in may) for t in targets)
                if not ok and (rel, m.group(1)) in KNOWN:
                    seen_known.add((rel, m.group(1)))
                    continue
                if not ok:
                    print(f"{rel}:{no}: includes {m.group(1)} ({', '.join(sorted(set(layer_of(t) or t for t in targets)))}),"
                          f" above layer {layer}")
                    bad += 1
    for rel, name in sorted(KNOWN - seen_known):
        if not os.path.exists(os.path.join(src, rel)):
            continue
        print(f"{rel}: no longer includes {name}: remove it from KNOWN in tests/arch/include_direction.py")
        bad += 1
    if bad:
        print(f"include_direction: {bad} include(s) point up", file=sys.stderr)
        return 1
    print(f"include_direction: {len(files)} files, every include points down"
          f" ({len(KNOWN)} known exceptions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
