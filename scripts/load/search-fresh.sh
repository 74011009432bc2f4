#!/usr/bin/env bash
# Searches on a SQLite store just written by referral POSTs, as an HIE meets it: some index rows
# still recent (search_index_recent), the rest merged (docs/search.md). Loads the store with
# wrk for 10 s, posts 50 referrals (MRN-K1 … MRN-K50), then runs scripts/load/search-fresh.lua.
# Everything runs on loopback and ends on its own.
#
# Usage: scripts/load/search-fresh.sh [duration-seconds=10] [connections=8]
#   GATEWAY_BIN=/path/to/other/build   another build (a baseline)
set -euo pipefail
cd "$(dirname "$0")/../.."
duration="${1:-10}"
connections="${2:-8}"
port="${LOAD_PORT:-18777}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
# shellcheck source=../bench/bench-store.sh
source scripts/bench/bench-store.sh
start_gateway
# shellcheck source=../bench/post-referral.sh
source scripts/bench/post-referral.sh
wrk -t1 -c8 -d10s -s scripts/load/post-referral.lua "http://127.0.0.1:$port/fhir" | grep -E "requests in"
for i in $(seq 1 50); do post "K$i"; done
python3 - "$out/hbpc.sqlite" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
if c.execute("SELECT 1 FROM sqlite_schema WHERE name = 'search_index_recent'").fetchone():
    print("recent index rows:", c.execute("SELECT COUNT(*) FROM search_index_recent").fetchone()[0])
PY
wrk -t2 -c"$connections" -d"${duration}s" --latency -s scripts/load/search-fresh.lua "http://127.0.0.1:$port" |
  grep -E "Requests/sec|^ +(50|99)%"
