#!/usr/bin/python3
"""Checks what the image build can see, without podman: .dockerignore denies
everything by default, a secrets/ folder (the README mounts one from the
checkout) or any other file outside the allowed sources never enters the build
context, and the Dockerfile's build stage COPYs only allowed paths.

With --configure DIR it also copies exactly the files the context would hold
into DIR/src and runs the Dockerfile's own cmake configure there, which fails
if the build needs a directory or source file the context leaves out; with
--build as well it builds the two binaries too (slow; for a manual check).
Exits non-zero with the problems listed.

.dockerignore is read with Docker's rules (moby/patternmatcher): patterns are
relative to the context root, `*` and `?` stop at `/`, `**` spans
directories, a pattern matching a parent directory matches everything under
it, `!` re-includes, and the last matching pattern decides."""
import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys

import yaml


def pattern_regex(pattern):
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def read_dockerignore(path):
    rules = []
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip().lstrip("/"))
        rules.append((negated, pattern, pattern_regex(pattern)))
    return rules


def in_context(rules, rel):
    """Whether the file (or directory) `rel` would be sent to the builder."""
    parts = rel.split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    excluded = False
    for negated, _, regex in rules:
        if any(regex.match(c) for c in candidates):
            excluded = not negated
    return not excluded


def context_files(root, rules):
    """Every file and symlink under `root` that the build context holds."""
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        for d in list(dirnames):
            rel = rel_dir + d
            # Do not descend where nothing could be re-included (build trees).
            reopened = any(neg and (p == rel or p.startswith(rel + "/") or "*" in p)
                           for neg, p, _ in rules)
            if os.path.islink(os.path.join(dirpath, d)):
                dirnames.remove(d)
                if in_context(rules, rel):
                    files.append(rel)
            elif not in_context(rules, rel) and not reopened:
                dirnames.remove(d)
        files += [rel_dir + f for f in filenames if in_context(rules, rel_dir + f)]
    return sorted(files)


def build_stage(dockerfile):
    """(COPY sources, cmake arguments) of the first stage, continuations joined.
    COPY --from lines take nothing from the context and are left out."""
    text = re.sub(r"\\\n", " ", open(dockerfile).read())
    stages = re.split(r"(?m)^FROM ", text)
    stage = stages[1] if len(stages) > 1 else ""
    copies = []
    for line in stage.splitlines():
        words = shlex.split(line) if line.startswith("COPY ") else []
        if words and not any(w.startswith("--from") for w in words):
            copies += [w for w in words[1:-1] if not w.startswith("--")]
    cmake = re.search(r"\bcmake -S /src -B /build ([^&]*)", stage)
    return copies, shlex.split(cmake.group(1)) if cmake else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("--configure", metavar="DIR")
    parser.add_argument("--build", action="store_true")
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    problems = []

    def need(cond, what):
        if not cond:
            problems.append(what)

    rules = read_dockerignore(f"{root}/.dockerignore")
    need(rules and rules[0][:2] == (False, "*"),
         ".dockerignore must start by denying everything (`*`)")
    for path in ("secrets/api_key", "secrets/private_key", "secrets",
                 "server/secrets/api_key", "client/private_key.pem", ".git/config", "build/server/loan-gateway",
                 "journal.db", "deploy/kubernetes.yaml", "tests/fake_binance/fake_binance.py",
                 "server/sign/testdata/rsa_test_key.pem", "server/log/json_log_test.cc",
                 "README.md"):
        need(not in_context(rules, path), f"{path} would be in the build context")
    for path in ("CMakeLists.txt", "server/main.cc", "client/loanctl.cc",
                 "proto/institutional_loan/v1/institutional_loan.proto",
                 "third_party/googleapis/google/rpc/status.proto"):
        need(in_context(rules, path), f"{path} would not be in the build context")

    copies, cmake_args = build_stage(f"{root}/Dockerfile")
    need(copies, "the build stage COPYs nothing")
    for source in copies:
        need(not re.search(r"[*?\[]", source) and os.path.normpath(source) != ".",
             f"COPY {source}: name each directory; never the whole context")
        need(in_context(rules, os.path.normpath(source)),
             f"COPY {source}: .dockerignore leaves it out")
        need(os.path.exists(f"{root}/{source}"), f"COPY {source}: no such path")
    need(cmake_args is not None, "no `cmake -S /src -B /build` in the build stage")

    # Every image deploy/compose.yaml builds finds its COPY sources in the
    # context it is given (the root's deny-all would hide them otherwise).
    compose = yaml.safe_load(open(f"{root}/deploy/compose.yaml"))
    for name, service in compose["services"].items():
        build = service.get("build")
        if not build:
            continue
        context = os.path.normpath(f"{root}/deploy/{build['context']}")
        ignore = f"{context}/.dockerignore"
        context_rules = read_dockerignore(ignore) if os.path.exists(ignore) else []
        sources, _ = build_stage(f"{context}/{build.get('dockerfile', 'Dockerfile')}")
        for source in sources:
            need(os.path.exists(f"{context}/{source}") and
                 in_context(context_rules, os.path.normpath(source)),
                 f"compose {name}: COPY {source} is not in its build context")

    files = context_files(root, rules)
    need(not any(f.split("/")[0] == "secrets" for f in files), "secrets/ in the context")

    if args.configure and not problems:
        work = os.path.abspath(args.configure)
        shutil.rmtree(work, ignore_errors=True)
        src = f"{work}/src"
        # Only what the COPY lines take from the context, as the image has it.
        copied = [f for f in files
                  if any(f == os.path.normpath(s) or f.startswith(os.path.normpath(s) + "/")
                         for s in copies)]
        for f in copied:
            os.makedirs(os.path.dirname(f"{src}/{f}"), exist_ok=True)
            if os.path.islink(f"{root}/{f}"):
                os.symlink(os.readlink(f"{root}/{f}"), f"{src}/{f}")
            else:
                shutil.copy2(f"{root}/{f}", f"{src}/{f}")
        configure = ["cmake", "-S", src, "-B", f"{work}/build"] + cmake_args
        run = subprocess.run(configure, capture_output=True, text=True)
        need(run.returncode == 0,
             "the Dockerfile's cmake configure fails on the context alone:\n"
             + run.stdout[-2000:] + run.stderr[-3000:])
        if run.returncode == 0 and args.build:
            run = subprocess.run(["ninja", "-C", f"{work}/build", "-j2",
                                  "loan-gateway", "loanctl"],
                                 capture_output=True, text=True)
            need(run.returncode == 0, "the binaries do not build from the context alone:\n"
                 + run.stdout[-3000:] + run.stderr[-3000:])
        if not problems:
            print(f"configured{' and built' if args.build else ''} from the "
                  f"{len(copied)} files the Dockerfile copies")

    if problems:
        print("build context problems:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print(f"build context: {len(files)} files, deny-by-default, no secrets/; "
          f"the Dockerfile copies {' '.join(copies)}")


if __name__ == "__main__":
    main()
