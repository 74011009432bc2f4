#!/usr/bin/env bash
# Bytes the server process writes per referral Bundle (/proc/PID/io write_bytes: what it sent
# to the storage layer, both SQLite files, their logs and checkpoints): the release server runs
# on a fresh SQLite store, receives warm-up Bundles, then N sequential POSTs of
# fixtures/referral-transaction.json (fresh placer and MRN identifiers, as scripts/load/ sends
# them); the count runs from before the first to SETTLE seconds after the last, so that the
# audit trail's periodic work on the writes (settling their audit intents, every 10 s) is in it.
#
# Usage: scripts/bench/write-bytes.sh [N=50]
#   SETTLE=seconds to wait after the last Bundle (default 12)
#   BIN=path of the server binary (default: builds ./target/release/hbpc-gateway)
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-50}"
settle="${SETTLE:-12}"
port="${PROFILE_PORT:-18113}"
bin="${BIN:-}"
if [ -z "$bin" ]; then
  cargo build --release --locked --bin hbpc-gateway
  bin=./target/release/hbpc-gateway
fi
out="$(mktemp -d)"
pid=""
cleanup() {
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
for i in 1 2 3 4; do post "Bwarm-$i"; done
sleep "$settle"
written() { awk '/^write_bytes/ {print $2}' "/proc/$pid/io"; }
before=$(written)
for i in $(seq 1 "$n"); do post "B$i"; done
sleep "$settle"
after=$(written)
echo "bytes written for $n referral Bundles: $((after - before))"
echo "per referral Bundle: $(((after - before) / n))"
