#!/usr/bin/env bash
# The README's container recipe, run verbatim: its three ```sh blocks (marked
# <!-- container-recipe:run|stop|clean -->) are cut out of README.md and
# sourced into this shell in order, with this test's own checks between them:
# non-root, a HEALTHCHECK that passes, exactly one borrow in the fake's ledger,
# the -27009 answer, metrics, exit 0 after SIGTERM, no key in the logs.
# Exits 77 (ctest: skipped) with the reason printed when podman cannot run here.
set -euo pipefail
# set -e exits silently; say which command stopped the test.
trap 'echo "container test FAILED at line $LINENO: $BASH_COMMAND (exit $?)"' ERR
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
# The recipe uses build/ (its loanctl and podman storage), as scripts/test does.
[ -x build/client/loanctl ] || { echo "container test: build/client/loanctl is missing"; exit 1; }
. scripts/podman-env
if ! podman_ready; then
  echo "SKIPPED: container test: $PODMAN_SKIP_REASON"
  exit 77
fi

# The recipe's fixed ports and names must be free: say so rather than fail later.
for port in 50051 9464 8443 8081; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "container test: something already listens on 127.0.0.1:$port (the recipe's port)"
    exit 1
  fi
done
podman rm -f -t 0 loan-gateway >/dev/null 2>&1 || true
podman volume rm -f loan-gateway-journal >/dev/null 2>&1 || true
rm -rf build/container-demo

recipe() {  # The ```sh block after <!-- container-recipe:$1 --> in README.md.
  awk -v marker="<!-- container-recipe:$1 -->" '
    $0 == marker { found = 1; next }
    found && /^```sh$/ { inside = 1; next }
    inside && /^```$/ { exit }
    inside { print }' README.md
}
for block in run stop clean; do
  [ -n "$(recipe "$block")" ] || { echo "README.md has no container-recipe:$block block"; exit 1; }
done
FAKE_PID=""
cleanup() {
  podman rm -f -t 0 loan-gateway >/dev/null 2>&1 || true
  podman volume rm -f loan-gateway-journal >/dev/null 2>&1 || true
  [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null || true
  rm -rf build/container-demo
}
OUT=build/container-recipe.out
# A failing step exits through set -e: show what the recipe printed so far.
cleanup_and_show() {
  local rc=$?
  if [ "$rc" != 0 ]; then
    echo "--- the recipe printed:"; cat "$OUT" 2>/dev/null || true
    echo "--- the fake's log:"; cat build/container-demo/fake.log 2>/dev/null || true
    echo "--- the gateway's log:"; podman logs loan-gateway 2>&1 | tail -30 || true
  fi
  cleanup
}
trap cleanup_and_show EXIT
expect() {  # expect WHAT FILE PATTERN: the recipe's output has PATTERN.
  grep -qE -- "$3" "$2" || { echo "container test: expected $1 (/$3/ in $2)"; exit 1; }
  echo "ok: $1"
}

echo "== README recipe: run"
. <(recipe run) >"$OUT" 2>&1
sed -n '/^SERVING$/,$p' "$OUT"  # What the user sees once the image is built.
expect "the 100 USDT borrow" "$OUT" 'transaction_id: [0-9]+'
expect "Binance's -27009 as FAILED_PRECONDITION, exit 4" "$OUT" 'loanctl exit 4'
expect "-27009 named" "$OUT" 'BORROW_LIMIT_EXCEEDED'
expect "the image's HEALTHCHECK" "$OUT" '^HEALTHCHECK passes$'
expect "the borrow counted in the metrics" "$OUT" \
  '^loan_gateway_borrow_calls_total\{outcome="SUCCEEDED",reason="SUCCEEDED"\} 1$'
[ "$(podman exec loan-gateway id -u)" = 65534 ] || { echo "not running as uid 65534"; exit 1; }
echo "ok: runs as uid 65534"
LEDGER="$(curl -sS --fail --cacert build/container-demo/tls/ca.pem https://127.0.0.1:8443/fake/state)"
/usr/bin/python3 -c 'import json,sys; b=json.load(sys.stdin)["borrows"]; assert len(b)==1 and b[0]["amount"]=="100", b' <<<"$LEDGER"
echo "ok: the fake's ledger holds the one borrow"
API_KEY="$(cat build/container-demo/secrets/api_key)"

echo "== README recipe: stop"
. <(recipe stop) >"$OUT" 2>&1
expect "exit 0 after SIGTERM" "$OUT" '^exit code 0$'
LOGS="$(podman logs loan-gateway 2>&1)"
if grep -qF "$API_KEY" <<<"$LOGS"; then
  echo "the API key appeared in the container's logs"; exit 1
fi
echo "ok: no key in the container's logs"

echo "== README recipe: clean"
. <(recipe clean) >"$OUT" 2>&1
if podman container exists loan-gateway; then echo "the container is still there"; exit 1; fi
FAKE_PID=""
echo "container test: PASSED"
