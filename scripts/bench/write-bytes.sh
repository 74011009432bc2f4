#!/usr/bin/env bash
# Bytes written to disk per referral Bundle, steady state, on SQLite, and the store at rest per
# referral: the release server runs on a fresh store, receives W warm-up Bundles, then N
# sequential POSTs of fixtures/referral-transaction.json (fresh placer and MRN identifiers per
# Bundle, as scripts/load/ sends them). Bytes are the process's /proc/PID/io write_bytes over
# the N Bundles: the write-ahead logs, checkpoints into the database files and the audit
# trail's file, everything the server sends to the disk. The store at rest is the size of its
# files once the server has stopped (a clean stop checkpoints and removes the logs), divided by
# the Bundles it holds (warm-ups included).
#
# Usage: scripts/bench/write-bytes.sh [N=300] [W=50]
#   GATEWAY_BIN=PATH  measure that binary instead of building target/release/hbpc-gateway
#   PAGE_SIZE=1024    create the store with that page size first (an experiment)
#   SETTLE=seconds    wait after the last Bundle before the count ends (default 12), so the audit
#                     trail's periodic settling of the Bundles' audit intents (every 10 s) is in it
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-300}"
warm="${2:-50}"
settle="${SETTLE:-12}"
port="${PROFILE_PORT:-18113}"
# shellcheck source=bench-store.sh
source scripts/bench/bench-store.sh
start_gateway
# shellcheck source=post-referral.sh
source scripts/bench/post-referral.sh
written() { awk '/^write_bytes/ {print $2}' "/proc/$pid/io"; }
for i in $(seq 1 "$warm"); do post "Bwarm-$i"; done
sleep "$settle" # the warm-ups' audit records and their settling
before=$(written)
for i in $(seq 1 "$n"); do post "B$i"; done
sleep "$settle"
after=$(written)
bytes=$((after - before))
echo "bytes written for $n referral Bundles: $bytes"
echo "per referral Bundle: $((bytes / n)) bytes ($((bytes / n / 1024)) KiB)"
kill -TERM "$pid"
wait "$pid" 2>/dev/null || true
pid=""
# at rest: every log checkpointed into its database file and emptied
python3 - "$out" <<'PY'
import glob, sqlite3, sys
for db in glob.glob(sys.argv[1] + "/*.sqlite"):
    c = sqlite3.connect(db)
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    c.close()
PY
at_rest=$(cat "$out"/*.sqlite | wc -c)
echo "store at rest: $at_rest bytes for $((n + warm)) referrals: $((at_rest / (n + warm))) bytes per referral"
echo "  $(( $(stat -c %s "$out/hbpc-audit.sqlite") / (n + warm) )) bytes per referral  the audit file"
python3 - "$out/hbpc.sqlite" $((n + warm)) <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
n = int(sys.argv[2])
free = c.execute("PRAGMA freelist_count").fetchone()[0] * c.execute("PRAGMA page_size").fetchone()[0]
# free pages (emptied recent rows, settled audit intents) vary with when the server stopped
print(f"  {free / n:8.0f} bytes per referral  free pages of the main file, reused by later commits")
rows = c.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
for name, size in rows:
    if size / n >= 100:
        print(f"  {size / n:8.0f} bytes per referral  {name}")
tables = ["search_index"] + [t for (t,) in c.execute("SELECT name FROM sqlite_schema WHERE name = 'search_index_recent'")]
rows = sum(c.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables)  # a baseline build has no recent table
print(f"  {rows / n:8.1f} search_index rows per referral (merged and recent)")
PY
