#!/usr/bin/env bash
# The container as users run it: the image built with podman from the
# Dockerfile, run as non-root with the key mounted as files and config from
# the environment, a Borrow through it to the Binance fake, HEALTHCHECK
# answering SERVING, metrics served, and SIGTERM exiting 0.
# Exits 77 (ctest: skipped) with the reason printed when podman cannot run here.
set -euo pipefail
# set -e exits silently; say which command stopped the test.
trap 'echo "container test FAILED at line $LINENO: $BASH_COMMAND (exit $?)"' ERR
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="$(cd "${1:-$ROOT/build}" && pwd)"
cd "$ROOT"
export PODMAN_HOME="$BUILD/podman"
. scripts/podman-env
if ! podman_ready; then
  echo "SKIPPED: container test: $PODMAN_SKIP_REASON"
  exit 77
fi
IMAGE=loan-gateway:test
NAME="loan-gateway-test-$$"
WORK="$(mktemp -d /tmp/lg-container.XXXXXX)"
FAKE_PID=""
cleanup() {
  podman rm -f -t 0 "$NAME" >/dev/null 2>&1 || true
  podman volume rm -f "$NAME-journal" >/dev/null 2>&1 || true
  [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null || true
  rm -rf "$WORK" 2>/dev/null || podman unshare rm -rf "$WORK" || true
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 1 "$2"); do eval "$1" && return 0; sleep 0.5; done; return 1; }

echo "== podman build"
podman build --format docker --network host -t "$IMAGE" . >"$WORK/build.log" 2>&1 ||
  { tail -30 "$WORK/build.log"; exit 1; }

mkdir -p "$WORK/secrets"
openssl genpkey -algorithm ed25519 -out "$WORK/secrets/private_key" 2>/dev/null
openssl pkey -in "$WORK/secrets/private_key" -pubout -out "$WORK/public_key.pem"
API_KEY="container-test-$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
printf '%s' "$API_KEY" >"$WORK/secrets/api_key"
# Readable by the container's uid 65534 and nobody else: the gateway refuses key
# files open to other users.
chmod 0755 "$WORK/secrets" && chmod 0400 "$WORK/secrets/"*
if [ "$(id -u)" = 0 ]; then chown 65534:65534 "$WORK/secrets/"*
else podman unshare chown 65534:65534 "$WORK/secrets/"*; fi

/usr/bin/python3 tests/fake_binance/fake_binance.py --key "ed25519:$API_KEY:$WORK/public_key.pem" \
  --tls-dir "$WORK/tls" --port-file "$WORK/fake.port" >"$WORK/fake.log" 2>&1 &
FAKE_PID=$!
wait_for '[ -s "$WORK/fake.port" ]' 40 || { cat "$WORK/fake.log"; exit 1; }
FAKE="https://127.0.0.1:$(cat "$WORK/fake.port")"
GRPC_PORT="$(free_port)"; METRICS_PORT="$(free_port)"
chmod 0644 "$WORK/tls/ca.pem"

echo "== podman run (non-root, secrets as files, config from the environment)"
podman run -d --name "$NAME" --network host --user 65534:65534 \
  -v "$WORK/secrets:/run/secrets/loan-gateway:ro" \
  -v "$WORK/tls/ca.pem:/etc/loan-gateway/ca.pem:ro" \
  -v "$NAME-journal:/var/lib/loan-gateway" \
  -e LOAN_GATEWAY_LISTEN="127.0.0.1:$GRPC_PORT" \
  -e LOAN_GATEWAY_METRICS_LISTEN="127.0.0.1:$METRICS_PORT" \
  -e LOAN_GATEWAY_UPSTREAM_BASE_URLS="$FAKE" \
  -e LOAN_GATEWAY_UPSTREAM_CA_FILE=/etc/loan-gateway/ca.pem \
  -e LOAN_GATEWAY_KEY_TYPE=ed25519 -e LOAN_GATEWAY_CREATE_JOURNAL=true \
  --memory 256m --pids-limit 256 "$IMAGE" >"$WORK/run.log" 2>&1 ||
  { cat "$WORK/run.log"; exit 1; }
# (podman warns that without systemd it cannot schedule the HEALTHCHECK; it
# is run on demand below with `podman healthcheck run`.)

if ! wait_for 'podman healthcheck run "$NAME" >/dev/null 2>&1' 60; then
  echo "the HEALTHCHECK never passed"; podman logs "$NAME" | tail -20; exit 1
fi
echo "HEALTHCHECK (grpc.health.v1 through loanctl in the image): SERVING"
[ "$(podman exec "$NAME" id -u)" = 65534 ] || { echo "not running as 65534"; exit 1; }
echo "runs as uid $(podman exec "$NAME" id -u)"

"$BUILD/client/loanctl" --target "127.0.0.1:$GRPC_PORT" borrow --group 1001 --asset USDT \
  --amount 123.45 | tee "$WORK/borrow.out"
grep -q "transaction_id:" "$WORK/borrow.out"
LEDGER="$(curl -sS --fail --cacert "$WORK/tls/ca.pem" "$FAKE/fake/state")"
/usr/bin/python3 -c 'import json,sys; b=json.load(sys.stdin)["borrows"]; assert len(b)==1 and b[0]["amount"]=="123.45", b' <<<"$LEDGER"
# To a file first: `curl | grep -q` under pipefail fails when grep stops
# reading before curl has written the whole page (curl then gets EPIPE).
curl -sS --fail -o "$WORK/metrics.txt" "http://127.0.0.1:$METRICS_PORT/metrics"
grep -q 'loan_gateway_borrow_calls_total{outcome="SUCCEEDED",reason="SUCCEEDED"} 1' "$WORK/metrics.txt" ||
  { echo "the borrow is not counted in the container's metrics:"; grep borrow_calls "$WORK/metrics.txt"; exit 1; }
echo "metrics scraped from the container ($(wc -c <"$WORK/metrics.txt") bytes)"

podman stop -t 20 "$NAME" >/dev/null
CODE="$(podman inspect --format '{{.State.ExitCode}}' "$NAME")"
[ "$CODE" = 0 ] || { echo "exit code $CODE after SIGTERM"; exit 1; }
LOGS="$(podman logs "$NAME" 2>&1)"
if grep -qF "$API_KEY" <<<"$LOGS"; then echo "the API key appeared in the container's logs"; exit 1; fi
echo "SIGTERM: drained, exit 0; no secret in the logs"
echo "container test: PASSED"
