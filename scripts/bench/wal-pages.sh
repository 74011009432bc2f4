#!/usr/bin/env bash
# What one referral Bundle writes to SQLite's write-ahead log, by B-tree: the release server
# runs on a fresh store and receives N sequential POSTs of fixtures/referral-transaction.json
# (one Bundle per commit, fresh placer and MRN identifiers as scripts/load/ sends them); a
# reader holds its snapshot meanwhile so the log is not restarted, then the log's frames are
# mapped to tables and indexes with SQLite's dbstat. Every frame is a 4 KiB page written
# (and checksummed) at commit and again at checkpoint, so this is the writer's I/O per Bundle.
#
# A store of a few Bundles has short posting lists that share pages; the first argument loads
# the store with wrk for that many seconds first (as after scripts/load/run.sh), where each
# index key has pages of its own, as in a store in service.
#
# Usage: scripts/bench/wal-pages.sh [preload-seconds=10] [N=20]
#   (needs wrk for the preload, python3 with its sqlite3 module)
set -euo pipefail
cd "$(dirname "$0")/../.."
preload="${1:-10}"
n="${2:-20}"
port="${PROFILE_PORT:-18112}"
bin="${GATEWAY_BIN:-./target/release/hbpc-gateway}" # GATEWAY_BIN: another build, e.g. a baseline
[ -n "${GATEWAY_BIN:-}" ] || cargo build --release --locked --bin hbpc-gateway
out="$(mktemp -d)"
pid=""
holder=""
cleanup() {
  if [ -n "$holder" ]; then kill "$holder" 2>/dev/null || true; fi
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$out"
}
trap cleanup EXIT

HBPC_SERVER_LISTEN="127.0.0.1:$port" HBPC_DATABASE_URL="sqlite://$out/hbpc.sqlite" HBPC_LOG_LEVEL=warn \
  "$bin" serve >"$out/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
# shellcheck source=post-referral.sh
source scripts/bench/post-referral.sh
# A reader that begins while the log holds pages not yet checkpointed keeps its snapshot in
# the log, which then cannot start again under it while the N Bundles are posted (if the last
# warm-up ended with a checkpoint, the first Bundle starts the log afresh; both are handled).
if [ "$preload" -gt 0 ]; then
  command -v wrk >/dev/null || { echo "wrk is needed for the preload: apt-get install -y wrk" >&2; exit 1; }
  wrk -t1 -c8 -d"${preload}s" -s scripts/load/post-referral.lua "http://127.0.0.1:$port/fhir" | grep -E "requests in"
fi
for i in 1 2 3 4; do post "Wwarm-$i"; done
python3 - "$out/hbpc.sqlite" "$out/ready" <<'PY' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN")
c.execute("SELECT count(*) FROM resource_current").fetchone()
open(sys.argv[2], "w").write("1")
time.sleep(600)
PY
holder=$!
for _ in $(seq 1 100); do [ -s "$out/ready" ] && break; sleep 0.1; done
for i in $(seq 1 "$n"); do post "W$i"; done
mkdir "$out/copy" && cp "$out"/hbpc.sqlite "$out"/hbpc.sqlite-wal "$out/copy/"
python3 - "$out/copy/hbpc.sqlite" "$n" <<'PY'
import collections, sqlite3, struct, sys
db, n = sys.argv[1], int(sys.argv[2])
data = open(db + "-wal", "rb").read()
page_size = struct.unpack(">I", data[8:12])[0]
salts = data[16:24]
frames, commits, off = [], [], 32
# frames of this log generation carry the header's salts; older ones past its end do not
while off + 24 + page_size <= len(data) and data[off + 8:off + 16] == salts:
    page, commit = struct.unpack(">II", data[off:off + 8])
    frames.append(page)
    if commit:
        commits.append(len(frames))
    off += 24 + page_size
# the last n commits are ours; with exactly n, the log started afresh at our first
if len(commits) < n:
    sys.exit(f"the log restarted during the run ({len(commits)} of {n} commits kept); run again")
ours = frames[commits[-n - 1] if len(commits) > n else 0:commits[-1]]
owner = dict((p, name) for name, p in sqlite3.connect(db).execute("SELECT name, pageno FROM dbstat"))
by_tree = collections.Counter(owner.get(p, "(freed since)") for p in ours)
print(f"{len(ours)} log frames for {n} Bundles, one commit each: {len(ours) / n:.1f} per Bundle ({len(ours) * (page_size + 24) / n / 1024:.0f} KiB)")
for name, count in by_tree.most_common():
    print(f"{count / n:8.1f}  {name}")
PY
