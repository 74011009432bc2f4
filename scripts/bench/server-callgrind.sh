#!/usr/bin/env bash
# Instructions the whole server spends per referral Bundle, over every thread (HTTP workers,
# the SQLite writer, the audit queue): the release binary runs under callgrind on a fresh
# SQLite store and receives N sequential POSTs of fixtures/referral-transaction.json, each
# with its own placer and MRN identifiers as scripts/load/post-referral.lua sends them.
# Counting starts after two warm-up Bundles. On 2 cores this total bounds ingest throughput;
# it is repeatable where wall time is not.
#
# Usage: scripts/bench/server-callgrind.sh [N=30]
#   KEEP_PROFILE=FILE  keep the callgrind profile (callgrind_annotate --inclusive=yes FILE)
#   GATEWAY_BIN=PATH   profile that binary instead of building target/release/hbpc-gateway
#   PAGE_SIZE=1024     create the store with that page size first (an experiment)
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-30}"
port="${PROFILE_PORT:-18111}"
command -v valgrind >/dev/null || { echo "valgrind is needed: apt-get install -y valgrind" >&2; exit 1; }
# shellcheck source=bench-store.sh
source scripts/bench/bench-store.sh
start_gateway valgrind --tool=callgrind --callgrind-out-file="$out/cg"

# shellcheck source=post-referral.sh
source scripts/bench/post-referral.sh
post Pwarm-1
post Pwarm-2
callgrind_control -z "$pid" >/dev/null 2>&1
for i in $(seq 1 "$n"); do post "P$i"; done
sleep 1 # the audit records of the last requests are committed just after their responses
callgrind_control -d "$pid" >/dev/null 2>&1
profile=$(ls "$out"/cg.* | head -1)
# awk reads to the end: a grep -m1 would close the pipe early and fail it (pipefail)
total=$(callgrind_annotate "$profile" 2>/dev/null | awk '/PROGRAM TOTALS/ && !n {gsub(",", "", $1); print $1; n = 1}')
echo "instructions for $n referral Bundles: $total"
echo "per referral Bundle: $((total / n))"
part() { # $1 = label, $2 = function (inclusive)
  local v
  v=$(callgrind_annotate --inclusive=yes "$profile" 2>/dev/null |
    awk -v f="???:$2 [" 'index($0, f) && !n {gsub(",", "", $1); print $1; n = 1}')
  echo "  $1: $(( ${v:-0} / n ))"
}
part "request handling (every handler runs inside the auth guard)" 'hbpc_gateway::http::auth::guard::guard::{{closure}}'
part "SQLite writer commits" 'hbpc_gateway::store::sqlite::writer::commit_batch'
if [ -n "${KEEP_PROFILE:-}" ]; then cp "$profile" "$KEEP_PROFILE"; echo "profile: $KEEP_PROFILE"; fi
