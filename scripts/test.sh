#!/usr/bin/env bash
# The whole test suite. Fetches the official FHIR R4 examples (npm hl7.fhir.r4.examples@4.0.1)
# once into target/test-data, checks that the committed HBPC guide is what SUSHI compiles from its
# FSH (a full run only), then runs every unit and integration test of the workspace (the gateway
# and crates/fhir). PostgreSQL-backed tests read HBPC_TEST_DATABASE_URL when it is set.
# The official FHIRPath suite stays outside the repository, in
# ../shared/conformance/fhirpath/tests-fhir-r4.xml (or where FHIRPATH_R4_SUITE says).
# The run ends with what it could not test, and why (NOT TESTED).
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-$PWD/target}"
FHIR_R4_EXAMPLES="$(scripts/fetch_r4_examples.sh)"
export FHIR_R4_EXAMPLES
# tests run in their package's folder: name the suite absolutely
if [ -n "${FHIRPATH_R4_SUITE:-}" ]; then
  FHIRPATH_R4_SUITE="$(realpath -m "$FHIRPATH_R4_SUITE")"
  export FHIRPATH_R4_SUITE
fi

# Tests that cannot run leave their reason in $target/tmp/not-tested/ (crates/fhir/tests/support).
not_tested_dir="$target/tmp/not-tested"
rm -rf "$not_tested_dir"
not_tested() {
  local reasons=()
  if [ -z "${HBPC_TEST_DATABASE_URL:-}" ]; then
    reasons+=("PostgreSQL: HBPC_TEST_DATABASE_URL is not set, so the store, API and delivery tests ran on SQLite only")
  fi
  local note
  for note in "$not_tested_dir"/*.txt; do
    [ -f "$note" ] || continue
    reasons+=("$(basename "$note" .txt): $(cat "$note")")
  done
  echo
  if [ ${#reasons[@]} -eq 0 ]; then
    echo "NOT TESTED: nothing (the FHIRPath suite, the R4 examples and PostgreSQL were all there)"
  else
    echo "NOT TESTED:"
    local r
    for r in "${reasons[@]}"; do echo "  - $r"; done
  fi
}
trap not_tested EXIT

# The committed guide (profiles/*.json) must be what SUSHI compiles from its FSH (profiles/fsh/).
# SUSHI is installed by `scripts/profiles/sushi.sh --install` (.ci/run does it, and requires it).
if [ $# -eq 0 ]; then
  fsh_rc=0
  scripts/profiles/sushi.sh --check || fsh_rc=$?
  if [ "$fsh_rc" -eq 3 ] && [ -z "${HBPC_TEST_REQUIRE_SUSHI:-}" ]; then
    mkdir -p "$not_tested_dir"
    echo "SUSHI (npm fsh-sushi) is not installed, so profiles/*.json was not checked against profiles/fsh (scripts/profiles/sushi.sh --install)" \
      >"$not_tested_dir/profiles-fsh.txt"
  elif [ "$fsh_rc" -ne 0 ]; then
    exit "$fsh_rc"
  fi
fi

# every API test server logs here; the scan below reads the logs of this run only
rm -rf target/tmp/server-logs
cargo test --locked --workspace --all-targets "$@"
# the PHI scan needs the logs of the whole run, so not after a filtered one
if [ $# -eq 0 ]; then
  cargo test --locked --test log_scan -- --ignored
fi
