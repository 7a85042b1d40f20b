#!/usr/bin/env python3
"""Reads an osmig snapshot store the way docs/snapshots.md describes it,
independently of osmig's code, for the tests.

  store_tool.py STORE count          chunks held (pack entries + loose chunk files)
  store_tool.py STORE packs          finished pack files
  store_tool.py STORE locate HASH    FILE OFFSET LENGTH of the chunk's compressed bytes
"""
import hashlib
import os
import struct
import sys

ENTRY, FOOTER = 48, 48


def pack_table(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"OSMPACK1", f"{path}: bad header"
    foot = data[-FOOTER:]
    assert foot[40:] == b"OSMPKEND", f"{path}: bad footer"
    (n,) = struct.unpack("<Q", foot[:8])
    table = data[-FOOTER - n * ENTRY:-FOOTER]
    assert hashlib.sha256(table).digest() == foot[8:40], f"{path}: table hash mismatch"
    for i in range(n):
        h, off, clen, ulen = struct.unpack("<32sQII", table[i * ENTRY:(i + 1) * ENTRY])
        yield h.hex(), off, clen, ulen


def packs(store):
    d = os.path.join(store, "packs")
    if not os.path.isdir(d):
        return []
    return sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(".pack"))


def loose(store):
    d = os.path.join(store, "chunks")
    for root, _, names in os.walk(d):
        for n in names:
            if len(n) == 64:
                yield n, os.path.join(root, n)


def main():
    store, cmd = sys.argv[1], sys.argv[2]
    if cmd == "count":
        print(sum(1 for p in packs(store) for _ in pack_table(p)) + sum(1 for _ in loose(store)))
    elif cmd == "packs":
        print(len(packs(store)))
    elif cmd == "locate":
        want = sys.argv[3]
        for p in packs(store):
            for h, off, clen, _ in pack_table(p):
                if h == want:
                    print(p, off, clen)
                    return
        for h, path in loose(store):
            if h == want:
                print(path, 0, os.path.getsize(path))
                return
        sys.exit(f"chunk {want} not in {store}")
    else:
        sys.exit(f"unknown command {cmd}")


main()
