#!/usr/bin/env bash
# The whole test suite. Fetches the official FHIR R4 examples (npm hl7.fhir.r4.examples@4.0.1)
# once into target/test-data, then runs every unit and integration test.
# PostgreSQL-backed tests read HBPC_TEST_DATABASE_URL when it is set.
set -euo pipefail
cd "$(dirname "$0")/.."

examples="${HBPC_TEST_R4_EXAMPLES:-$PWD/target/test-data/hl7.fhir.r4.examples/package}"
if [ ! -f "$examples/package.json" ]; then
  echo "fetching hl7.fhir.r4.examples@4.0.1 (official R4 examples, about 19 MB)"
  mkdir -p target/test-data
  (
    cd target/test-data
    npm pack --silent hl7.fhir.r4.examples@4.0.1 >/dev/null
    mkdir -p hl7.fhir.r4.examples
    tar xzf hl7.fhir.r4.examples-4.0.1.tgz -C hl7.fhir.r4.examples
    rm hl7.fhir.r4.examples-4.0.1.tgz
  )
fi
export HBPC_TEST_R4_EXAMPLES="$examples"

# every API test server logs here; the scan below reads the logs of this run only
rm -rf target/tmp/server-logs
# written by the workbench's browser test when it cannot run (no chromium, chromedriver or selenium)
rm -f target/tmp/not-tested/workbench-browser
cargo test --locked --all-targets "$@"
# the PHI scan needs the logs of the whole run, so not after a filtered one
if [ $# -eq 0 ]; then
  cargo test --locked --test log_scan -- --ignored
fi

# Tests that could not run on this machine say so on a plain last line.
if [ -f target/tmp/not-tested/workbench-browser ]; then
  echo "NOT TESTED: workbench browser test (tests/api/workbench.rs): $(cat target/tmp/not-tested/workbench-browser)"
fi
