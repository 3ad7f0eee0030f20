#!/usr/bin/python3
"""The schema check can fail: each broken copy of deploy/kubernetes.yaml must be
refused by check_kubernetes_schema.sh, with the problem named."""
import copy
import os
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CHECK = os.path.join(ROOT, "tests", "deploy", "check_kubernetes_schema.sh")
with open(os.path.join(ROOT, "deploy", "kubernetes.yaml")) as f:
    MANIFESTS = [d for d in yaml.safe_load_all(f) if d]


def of_kind(docs, kind):
    return next(d for d in docs if d["kind"] == kind)


def container(docs):
    return of_kind(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]


def misspelt_deep_field(docs):  # Dropped without a word by the API server.
    c = container(docs)
    c["resourcez"] = c.pop("resources")


def unknown_top_level_field(docs):
    of_kind(docs, "Service")["specs"] = {}


def wrong_type(docs):
    of_kind(docs, "Deployment")["spec"]["replicas"] = "one"


def missing_required(docs):
    del container(docs)["name"]


def unknown_kind(docs):
    of_kind(docs, "ConfigMap")["kind"] = "ConfigMapp"


CASES = [
    (misspelt_deep_field, ["Deployment/", "'\"resourcez\"' does not exist in type 'IContainer'"]),
    (unknown_top_level_field, ["Service/", "'\"specs\"' does not exist"]),
    (wrong_type, ["Deployment/", "replicas"]),
    (missing_required, ["Deployment/", "name"]),
    (unknown_kind, ["unknown apiVersion/kind v1 ConfigMapp"]),
]

failures = []
for mutate, expected in CASES:
    docs = copy.deepcopy(MANIFESTS)
    mutate(docs)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump_all(docs, f)
    try:
        run = subprocess.run(["bash", CHECK, f.name], capture_output=True, text=True)
    finally:
        os.unlink(f.name)
    said = run.stdout + run.stderr
    if run.returncode != 1 or not all(e in said for e in expected):
        failures.append(f"{mutate.__name__}: exit {run.returncode}, expected {expected} in:\n{said}")
    else:
        print(f"ok: {mutate.__name__} refused")
if failures:
    print("\n".join(failures))
    sys.exit(1)
