#!/usr/bin/env python3
"""Module-level import graph of a crate's `src/`: which top-level modules name which (via `crate::`
paths, in `use` lines or inline), and the cycles among them. Usage: module-graph.py [--among a,b,c | --why FROM TO]."""

import os
import re
import sys

SRC = os.path.join(os.path.dirname(__file__), "..", "actors", "src")


def top_module(path):
    rel = os.path.relpath(path, SRC)
    head = rel.split(os.sep)[0]
    return head[:-3] if head.endswith(".rs") else head


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def crate_targets(text):
    """Top-level modules named after `crate::`, including `crate::{a::X, b}` groups."""
    out = set()
    for m in re.finditer(r"\bcrate::(\{[^;]*?\}|\w+)", text):
        item = m.group(1)
        if item.startswith("{"):
            depth, cur, parts = 0, "", []
            for ch in item[1:-1]:
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                elif ch == "," and depth == 0:
                    parts.append(cur)
                    cur = ""
                    continue
                cur += ch
            parts.append(cur)
            for p in parts:
                name = re.match(r"\s*(\w+)", p)
                if name:
                    out.add(name.group(1))
        else:
            out.add(item)
    return out


def graph():
    mods = {top_module(os.path.join(SRC, f)) for f in os.listdir(SRC) if f.endswith(".rs") or os.path.isdir(os.path.join(SRC, f))}
    mods.discard("lib")
    edges = {m: set() for m in mods}
    for root, _, files in os.walk(SRC):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(root, f)
            src = top_module(path)
            if src == "lib":
                continue
            with open(path, encoding="utf-8") as fh:
                text = strip_comments(fh.read())
            for t in crate_targets(text):
                if t in mods and t != src:
                    edges[src].add(t)
    return edges


def sccs(edges):
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def simple_cycles(edges, nodes):
    """Elementary cycles inside one strongly connected set, each once (smallest node first)."""
    nodes = sorted(nodes)
    found = []

    def walk(start, v, path, seen):
        for w in sorted(edges[v]):
            if w not in nodes or w < start:
                continue
            if w == start:
                found.append(path + [start])
            elif w not in seen:
                walk(start, w, path + [w], seen | {w})

    for s in nodes:
        walk(s, s, [s], {s})
    return found


def shortest_cycle(edges, start):
    """Shortest path from `start` back to itself (BFS), or None."""
    prev, frontier = {start: None}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(edges[v]):
                if w == start:
                    path = [v]
                    while prev[path[-1]] is not None:
                        path.append(prev[path[-1]])
                    return [start] + list(reversed(path))[1:] + [start] if path[-1] == start else None
                if w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return None


def restrict(edges, keep):
    return {m: {t for t in edges[m] if t in keep} for m in keep if m in edges}


def why(src, dst):
    """The lines in `src` that name `crate::dst`."""
    for root, _, files in os.walk(SRC):
        for f in sorted(files):
            path = os.path.join(root, f)
            if not f.endswith(".rs") or top_module(path) != src:
                continue
            with open(path, encoding="utf-8") as fh:
                text = strip_comments(fh.read())
            for m in re.finditer(r"\bcrate::(\{[^;]*?\}|\w+)", text):
                if dst in crate_targets(m.group(0)):
                    line = text.count("\n", 0, m.start()) + 1
                    snippet = " ".join(text[m.start():].split(";")[0].split())[:120]
                    print(f"{os.path.relpath(path, SRC)}:{line}: {snippet}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--why"]:
        why(args[1], args[2])
        sys.exit(0)
    among = None
    if args[:1] == ["--among"]:
        among = set(args[1].split(","))
    e = graph()
    if among:
        e = restrict(e, among)
    for m in sorted(e):
        print(f"{m:14} -> {', '.join(sorted(e[m])) or '-'}")
    comps = sccs(e)
    print()
    if not comps:
        print("no cycles among these modules")
    for c in comps:
        print("strongly connected:", ", ".join(c))
        pairs = sorted({tuple(sorted((a, b))) for a in c for b in e[a] if a in e[b]})
        print("  mutual imports:", ", ".join(f"{a} <-> {b}" for a, b in pairs) or "-")
        for m in c:
            cyc = shortest_cycle(e, m)
            print("  shortest through", m + ":", " -> ".join(cyc) if cyc else "-")
    sys.exit(1 if comps else 0)
