#!/usr/bin/env bash
# deploy/kubernetes.yaml (or the file named) against the Kubernetes API schema (kubernetes-models,
# installed by scripts/install-deps from tests/package-lock.json).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
/usr/bin/python3 -c 'import json, sys, yaml
print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]))' \
  "${1:-$ROOT/deploy/kubernetes.yaml}" | (cd "$ROOT/tests" && node deploy/validate_kubernetes.mjs)
