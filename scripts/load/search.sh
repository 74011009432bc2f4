#!/usr/bin/env bash
# Search benchmark of issue #6 on loopback: loads N referrals' worth of synthetic data
# (11 resources each, examples/search-load.rs, straight into the store), then measures with wrk
#   CarePlan?patient.identifier=…&status=active&_include=CarePlan:care-team   (random patient)
#   Patient/{id}                                                              (random patient)
# Starts a release gateway on the loaded store and stops it at the end; everything ends on its own.
#
# Usage: scripts/load/search.sh [referrals] [duration-seconds] [connections]
#   LOAD_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres   PostgreSQL (a fresh database)
#   KEEP_DATA=DIR                                                   SQLite: keep/reuse DIR/hbpc.sqlite
#   KEEP_DB=NAME                                                    PostgreSQL: keep/reuse database NAME
#   REPLICAS=2                                                      two gateway processes (PostgreSQL only),
#                                                                   each loaded by its own wrk with half the connections
set -euo pipefail
cd "$(dirname "$0")/../.."
referrals="${1:-100000}"
duration="${2:-15}"
connections="${3:-8}"
port="${LOAD_PORT:-18190}"
replicas="${REPLICAS:-1}"

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
cargo build --release --locked --bin hbpc-gateway --example search-load
data="${KEEP_DATA:-$(mktemp -d)}"
mkdir -p "$data"
pids=()
db_name=""
admin_url="${LOAD_DATABASE_URL:-}"
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if [ -n "$db_name" ] && [ -z "${KEEP_DB:-}" ]; then psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null || true; fi
  if [ -z "${KEEP_DATA:-}" ]; then rm -rf "$data"; fi
}
trap cleanup EXIT

fresh=1
if [ -n "$admin_url" ]; then
  db_name="${KEEP_DB:-hbpc_search_$$}"
  if [ -n "${KEEP_DB:-}" ] && psql "$admin_url" -qAtc "SELECT 1 FROM pg_database WHERE datname = '$db_name'" | grep -q 1; then
    fresh=0
  else
    psql "$admin_url" -qc "CREATE DATABASE $db_name" >/dev/null
  fi
  database_url="${admin_url%/*}/$db_name"
else
  [ "$replicas" = 1 ] || { echo "REPLICAS>1 needs LOAD_DATABASE_URL (PostgreSQL)" >&2; exit 1; }
  database_url="sqlite://$data/hbpc.sqlite"
  [ -s "$data/hbpc.sqlite" ] && fresh=0
fi

if [ "$fresh" = 1 ]; then
  echo "== loading $referrals referrals into ${database_url%%://*}"
  started=$(date +%s)
  ./target/release/examples/search-load "$database_url" "$referrals"
  echo "load wall time: $(( $(date +%s) - started )) s"
fi
if [ -n "$admin_url" ]; then
  psql "$database_url" -qAtc "ANALYZE" >/dev/null
  echo "database size: $(psql "$database_url" -qAtc "SELECT pg_size_pretty(pg_database_size(current_database()))")"
  psql "$database_url" -qAtc "SELECT 'search_index rows: ' || COUNT(*) FROM search_index"
else
  echo "database size: $(du -sh "$data" | cut -f1) ($(ls "$data"))"
fi

for i in $(seq 0 $((replicas - 1))); do
  HBPC_SERVER_LISTEN="127.0.0.1:$((port + i))" HBPC_DATABASE_URL="$database_url" HBPC_LOG_LEVEL=warn \
    ./target/release/hbpc-gateway serve >"$data/server-$i.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$((port + i))/readyz" >/dev/null && break; sleep 0.1; done
done
# one request first: it must find the plan with its team
curl -fs "http://127.0.0.1:$port/fhir/CarePlan?patient.identifier=http%3A%2F%2Fhospital.example%2Fmrn%7CMRN-1&status=active&_include=CarePlan:care-team" \
  | grep -o '"mode":"[a-z]*"' | sort | uniq -c

export REFERRALS="$referrals"
per=$((connections / replicas))
load() { # $1 = label, $2 = wrk script
  echo "== $1, replicas: $replicas, $connections connections, ${duration}s"
  local loaders=()
  for i in $(seq 0 $((replicas - 1))); do
    wrk -t1 -c"$per" -d"${duration}s" --latency -s "$2" "http://127.0.0.1:$((port + i))" >"$data/wrk-$i.txt" &
    loaders+=($!)
  done
  wait "${loaders[@]}"
  for i in $(seq 0 $((replicas - 1))); do echo "-- replica $i"; cat "$data/wrk-$i.txt"; done
}
load "search: CarePlan?patient.identifier=…&status=active&_include=CarePlan:care-team" scripts/load/search-careplan.lua
load "read: Patient/{id}" scripts/load/read-patient.lua
