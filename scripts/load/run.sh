#!/usr/bin/env bash
# Load test on loopback: POST of the referral transaction Bundle and GET by id, with wrk.
# Starts its own release build of the gateway on a temporary data directory and stops it at the end.
# Usage: scripts/load/run.sh [duration-seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/../.."
duration="${1:-20}"
connections="${2:-8}"
port="${LOAD_PORT:-18090}"

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
cargo build --release --locked --bin hbpc-gateway
data="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT

HBPC_SERVER_LISTEN="127.0.0.1:$port" HBPC_DATABASE_URL="sqlite://$data/hbpc.sqlite" HBPC_LOG_LEVEL=warn \
  ./target/release/hbpc-gateway serve >"$data/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done

echo "== POST /fhir (referral transaction Bundle, 13 entries), ${connections} connections, ${duration}s"
wrk -t2 -c"$connections" -d"${duration}s" --latency -s scripts/load/post-referral.lua "http://127.0.0.1:$port"

id=$(curl -fs -X POST "http://127.0.0.1:$port/fhir/ServiceRequest" -H 'Content-Type: application/fhir+json' \
  --data-binary @fixtures/referral-separate/13-servicerequest-referral.json | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
echo "== GET /fhir/ServiceRequest/$id, ${connections} connections, ${duration}s"
wrk -t2 -c"$connections" -d"${duration}s" --latency "http://127.0.0.1:$port/fhir/ServiceRequest/$id"

echo "== stored: $(du -sh "$data" | cut -f1) in $data"
