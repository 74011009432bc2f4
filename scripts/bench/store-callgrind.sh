#!/usr/bin/env bash
# Instruction counts of the SQLite writer per referral Bundle (benches/store.rs): callgrind
# counts only what runs inside the writer's commit (`writer::commit_batch`), once for the
# warm-up Bundle alone and once for it plus N Bundles; the difference over N is the cost of
# one Bundle (one Bundle per commit). CPU only: fsync time is not counted.
#
# Usage: scripts/bench/store-callgrind.sh [N=100]
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-100}"
bench=$(cargo bench --bench store --no-run --message-format=json 2>/dev/null |
  grep -o '"executable":"[^"]*store-[^"]*"' | tail -1 | cut -d'"' -f4)
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
count() { # $1 = bundles after the warm-up; prints the writer's instructions
  STORE_BENCH_BUNDLES="$1" valgrind --tool=callgrind --callgrind-out-file="$out/cg.$1" \
    '--toggle-collect=*writer*commit_batch*' "$bench" >/dev/null 2>"$out/log.$1"
  grep -o 'Collected : [0-9]*' "$out/log.$1" | grep -o '[0-9]*$'
}
base=$(count 0)
all=$(count "$n")
echo "writer instructions: warm-up $base, warm-up + $n Bundles $all"
echo "per referral Bundle: $(( (all - base) / n ))"
if [ -n "${KEEP_PROFILE:-}" ]; then cp "$out/cg.$n" "$KEEP_PROFILE"; echo "profile: $KEEP_PROFILE"; fi
