#!/usr/bin/env bash
# Search benchmark of issue #6 on loopback: loads N referrals' worth of synthetic data
# (11 resources each, src/bin/hbpc-search-load.rs, straight into the store), then measures with wrk
#   CarePlan?patient.identifier=…&status=active&_include=CarePlan:care-team   (random patient)
#   Patient/{id}                                                              (random patient)
# Starts a release gateway on the loaded store and stops it at the end; everything ends on its own.
#
# Usage: scripts/load/search.sh [referrals] [duration-seconds] [connections]
#   LOAD_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres   PostgreSQL (a fresh database)
#   KEEP_DATA=DIR                                                   SQLite: keep/reuse DIR/hbpc.sqlite
set -euo pipefail
cd "$(dirname "$0")/../.."
referrals="${1:-100000}"
duration="${2:-15}"
connections="${3:-8}"
port="${LOAD_PORT:-18190}"

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
cargo build --release --locked --bin hbpc-gateway --bin hbpc-search-load
data="${KEEP_DATA:-$(mktemp -d)}"
mkdir -p "$data"
pid=""
db_name=""
admin_url="${LOAD_DATABASE_URL:-}"
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ -n "$db_name" ]; then psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null || true; fi
  if [ -z "${KEEP_DATA:-}" ]; then rm -rf "$data"; fi
}
trap cleanup EXIT

if [ -n "$admin_url" ]; then
  db_name="hbpc_search_$$"
  psql "$admin_url" -qc "CREATE DATABASE $db_name" >/dev/null
  database_url="${admin_url%/*}/$db_name"
else
  database_url="sqlite://$data/hbpc.sqlite"
fi

if [ -n "$admin_url" ] || [ ! -s "$data/hbpc.sqlite" ]; then
  echo "== loading $referrals referrals into ${database_url%%://*}"
  started=$(date +%s)
  ./target/release/hbpc-search-load "$database_url" "$referrals"
  echo "load wall time: $(( $(date +%s) - started )) s"
fi
if [ -n "$admin_url" ]; then
  psql "$database_url" -qAtc "ANALYZE" >/dev/null
  echo "database size: $(psql "$database_url" -qAtc "SELECT pg_size_pretty(pg_database_size(current_database()))")"
  psql "$database_url" -qAtc "SELECT 'search_index rows: ' || COUNT(*) FROM search_index"
else
  echo "database size: $(du -sh "$data" | cut -f1) ($(ls "$data"))"
fi

HBPC_SERVER_LISTEN="127.0.0.1:$port" HBPC_DATABASE_URL="$database_url" HBPC_LOG_LEVEL=warn \
  ./target/release/hbpc-gateway serve >"$data/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
# one request first: it must find the plan with its team
curl -fs "http://127.0.0.1:$port/fhir/CarePlan?patient.identifier=http%3A%2F%2Fhospital.example%2Fmrn%7CMRN-1&status=active&_include=CarePlan:care-team" \
  | grep -o '"mode":"[a-z]*"' | sort | uniq -c

export REFERRALS="$referrals"
echo "== search: CarePlan?patient.identifier=…&status=active&_include=CarePlan:care-team, $connections connections, ${duration}s"
wrk -t1 -c"$connections" -d"${duration}s" --latency -s scripts/load/search-careplan.lua "http://127.0.0.1:$port"
echo "== read: Patient/{id}, $connections connections, ${duration}s"
wrk -t1 -c"$connections" -d"${duration}s" --latency -s scripts/load/read-patient.lua "http://127.0.0.1:$port"
