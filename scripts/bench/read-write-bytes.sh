#!/usr/bin/env bash
# Bytes written to disk per read by id, on SQLite: every read writes its AuditEvent. The
# release server runs on a fresh store holding one referral; wrk reads its Patient for S
# seconds at 4 connections. Bytes are the process's /proc/PID/io write_bytes from the first
# read until the audit records are settled; the audit file's size per read once it stops and
# its log is checkpointed.
#
# Usage: scripts/bench/read-write-bytes.sh [S=10]
#   GATEWAY_BIN=PATH  measure that binary instead of building target/release/hbpc-gateway
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-10}"
port="${PROFILE_PORT:-18116}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
# shellcheck source=bench-store.sh
source scripts/bench/bench-store.sh
start_gateway
patient=$(sed -e "s/REF-2026-000417/REF-read-1/g" -e "s/MRN-448210/MRN-read-1/g" fixtures/referral-transaction.json |
  curl -fs -X POST "http://127.0.0.1:$port/fhir" -H 'Content-Type: application/fhir+json' --data-binary @- |
  python3 -c 'import json, sys
print(next(e["response"]["location"].split("/_history")[0] for e in json.load(sys.stdin)["entry"]
           if e["response"]["location"].startswith("Patient/")))')
sleep 12 # the referral's audit record and its settling
written() { awk '/^write_bytes/ {print $2}' "/proc/$pid/io"; }
before=$(written)
reads=$(wrk -t1 -c4 -d"${secs}s" "http://127.0.0.1:$port/fhir/$patient" | awk '/requests in/ {print $1}')
sleep 12 # read records ride the next synced commit or checkpoint
after=$(written)
echo "reads: $reads; bytes written: $((after - before)); per read: $(((after - before) / reads))"
kill -TERM "$pid"
wait "$pid" 2>/dev/null || true
pid=""
# every record in the file: its log copied back and emptied (a stop may leave the log)
python3 - "$out/hbpc-audit.sqlite" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
c.close()
PY
echo "audit file per read: $(($(stat -c %s "$out/hbpc-audit.sqlite") / reads)) bytes"
