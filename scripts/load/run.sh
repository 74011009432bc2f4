#!/usr/bin/env bash
# Load test on loopback: POST of the referral transaction Bundle and GET by id, with wrk.
# Starts release builds of the gateway on a temporary store and stops them at the end.
#
# Usage: scripts/load/run.sh [duration-seconds] [connections]
#   LOAD_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres  run on a fresh PostgreSQL database
#   REPLICAS=2                                                       two gateway processes (PostgreSQL only),
#                                                                    each loaded by its own wrk with half the connections
set -euo pipefail
cd "$(dirname "$0")/../.."
duration="${1:-20}"
connections="${2:-8}"
replicas="${REPLICAS:-1}"
port="${LOAD_PORT:-18090}"

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
bin="${GATEWAY_BIN:-./target/release/hbpc-gateway}" # GATEWAY_BIN: another build, e.g. a baseline
[ -n "${GATEWAY_BIN:-}" ] || cargo build --release --locked --bin hbpc-gateway
data="$(mktemp -d)"
pids=()
db_name=""
admin_url="${LOAD_DATABASE_URL:-}"
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if [ -n "$db_name" ]; then psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

if [ -n "$admin_url" ]; then
  db_name="hbpc_load_$$"
  psql "$admin_url" -qc "CREATE DATABASE $db_name" >/dev/null
  database_url="${admin_url%/*}/$db_name"
else
  [ "$replicas" = 1 ] || { echo "REPLICAS>1 needs LOAD_DATABASE_URL (PostgreSQL)" >&2; exit 1; }
  database_url="sqlite://$data/hbpc.sqlite"
fi

for i in $(seq 0 $((replicas - 1))); do
  HBPC_SERVER_LISTEN="127.0.0.1:$((port + i))" HBPC_DATABASE_URL="$database_url" HBPC_LOG_LEVEL=warn \
    "$bin" serve >"$data/server-$i.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$((port + i))/readyz" >/dev/null && break; sleep 0.1; done
done
echo "== store: ${database_url%%://*}, replicas: $replicas, connections: $connections, ${duration}s per run"

per=$((connections / replicas))
load() { # $1 = label, rest = wrk arguments after the URL
  local label="$1"; shift
  echo "== $label"
  local loaders=()
  for i in $(seq 0 $((replicas - 1))); do
    wrk -t1 -c"$per" -d"${duration}s" --latency "$@" "http://127.0.0.1:$((port + i))${path}" >"$data/wrk-$i.txt" &
    loaders+=($!)
  done
  wait "${loaders[@]}"
  for i in $(seq 0 $((replicas - 1))); do echo "-- replica $i"; cat "$data/wrk-$i.txt"; done
}

path=""
load "POST /fhir (referral transaction Bundle, 13 entries)" -s scripts/load/post-referral.lua

id=$(curl -fs -X POST "http://127.0.0.1:$port/fhir/ServiceRequest" -H 'Content-Type: application/fhir+json' \
  --data-binary @fixtures/referral-separate/13-servicerequest-referral.json | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
path="/fhir/ServiceRequest/$id"
load "GET /fhir/ServiceRequest/{id}"
