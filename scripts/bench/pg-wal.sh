#!/usr/bin/env bash
# What one referral Bundle costs PostgreSQL: the statements the server sends and the
# write-ahead log it makes. The release server runs on a fresh database, receives W warm-up
# Bundles, then N sequential POSTs of fixtures/referral-transaction.json (fresh placer and MRN
# identifiers per Bundle, as scripts/load/ sends them). Statements are counted from the
# server's own log of each statement it runs (sqlx, target sqlx::query, at debug level: every
# statement, the audit trail's included); WAL bytes are pg_current_wal_lsn() before and after
# (the whole cluster: run it with nothing else writing to that PostgreSQL).
#
# Usage: BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres scripts/bench/pg-wal.sh [N=100] [W=20]
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-100}"
warm="${2:-20}"
admin_url="${BENCH_DATABASE_URL:?set BENCH_DATABASE_URL to a PostgreSQL server (postgres://user@host:port/db)}"
port="${PROFILE_PORT:-18114}"
bin="${GATEWAY_BIN:-./target/release/hbpc-gateway}" # GATEWAY_BIN: another build, e.g. a baseline
[ -n "${GATEWAY_BIN:-}" ] || cargo build --release --locked --bin hbpc-gateway
out="$(mktemp -d)"
pid=""
db_name="hbpc_bench_$$"
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null || true
  rm -rf "$out"
}
trap cleanup EXIT
psql "$admin_url" -qc "CREATE DATABASE $db_name" >/dev/null
database_url="${admin_url%/*}/$db_name"

HBPC_SERVER_LISTEN="127.0.0.1:$port" HBPC_DATABASE_URL="$database_url" \
  HBPC_LOG_LEVEL="warn,sqlx::query=debug" HBPC_LOG_FORMAT=json \
  "$bin" serve >"$out/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
# shellcheck source=post-referral.sh
source scripts/bench/post-referral.sh
statements() { grep -c '"target":"sqlx::query"' "$out/server.log" || true; }
lsn() { psql "$database_url" -Atc "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"; }
for i in $(seq 1 "$warm"); do post "Gwarm-$i"; done
sleep 1 # the warm-ups' audit records
s0=$(statements)
w0=$(lsn)
for i in $(seq 1 "$n"); do post "G$i"; done
sleep 1
w1=$(lsn)
s1=$(statements)
# the lsn queries themselves are not the server's: they are not in its log
echo "statements for $n referral Bundles: $((s1 - s0)), per Bundle: $(((s1 - s0) / n))"
echo "WAL bytes for $n referral Bundles: $((w1 - w0)), per Bundle: $(((w1 - w0) / n)) ($(((w1 - w0) / n / 1024)) KiB)"
psql "$database_url" -Atc "SELECT 'store at rest per referral (bytes): ' || (SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = 'public' AND c.relkind IN ('r', 'm')) / $((n + warm)), 'search_index rows per referral: ' || round((SELECT COUNT(*) FROM search_index)::numeric / $((n + warm)), 1)"
