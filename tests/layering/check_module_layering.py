#!/usr/bin/python3
"""No module includes one above it, and no two modules include each other.

The modules are server/CMakeLists.txt's gateway_module() libraries: each
owns the folders of its SOURCES and may include headers only from its own
folders and from the modules it DEPENDS on, directly or through others. A
header-only folder (errors/, testing/ ...) that no module owns may be included
by anyone; its own includes are checked as if it were a module with no deps
beyond what it includes (it must not include a module that includes it).
Run with the repository root; exits 1 naming every offending include."""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.getcwd()
SERVER = os.path.join(ROOT, "server")


def modules():
    text = open(os.path.join(SERVER, "CMakeLists.txt")).read()
    found = {}
    for m in re.finditer(r"gateway_module\((\w+)(.*?)\)\n", text, re.S):
        name, body = m.group(1), m.group(2)
        sources = re.search(r"SOURCES(.*?)(DEPS|$)", body, re.S).group(1).split()
        deps = re.search(r"DEPS(.*)", body, re.S)
        deps = [d for d in (deps.group(1).split() if deps else []) if d.startswith("lg_")]
        folders = {s.split("/")[0] for s in sources}
        found[name] = {"folders": folders, "deps": deps, "sources": sources}
    return found


def closure(mods, name, seen=None):
    seen = set() if seen is None else seen
    # A library from outside server/ (lg_api) has no modules below it here.
    for d in mods.get(name, {"deps": []})["deps"]:
        if d not in seen:
            seen.add(d)
            closure(mods, d, seen)
    return seen


mods = modules()
owner = {}  # source or header path (relative to server/) -> module
for name, m in mods.items():
    for src in m["sources"]:
        owner[src] = name
        owner[src[:-3] + ".h"] = name
problems = []
include = re.compile(r'#include "([a-z_]+)/([a-z_0-9]+\.h)"')
for name, m in mods.items():
    allowed = {name} | closure(mods, name)
    for src in m["sources"]:
        for path in (src, src[:-3] + ".h"):
            full = os.path.join(SERVER, path)
            if not os.path.exists(full):
                continue
            for line_no, line in enumerate(open(full), 1):
                hit = include.match(line)
                if not hit:
                    continue
                target = f"{hit.group(1)}/{hit.group(2)}"
                if not os.path.exists(os.path.join(SERVER, target)):
                    continue  # Generated or third-party (e.g. grpc/health/...).
                target_module = owner.get(target)
                if target_module is None:
                    continue  # Header-only, owned by nobody: shared.
                if target_module not in allowed:
                    problems.append(
                        f"server/{path}:{line_no} ({name}) includes {target} "
                        f"({target_module}), which {name} does not depend on")
for name in mods:
    if name in closure(mods, name):
        problems.append(f"{name} depends on itself (a cycle)")
if problems:
    print("module layering broken:\n  " + "\n  ".join(problems))
    sys.exit(1)
print(f"module layering: {len(mods)} modules, every include goes down its own dependencies")
