#!/usr/bin/env bash
# Prints the folder of the official FHIR R4 examples package (npm hl7.fhir.r4.examples@4.0.1,
# unpacked), fetching it once into target/test-data when FHIR_R4_EXAMPLES does not name one.
set -euo pipefail
cd "$(dirname "$0")/.."

examples="${FHIR_R4_EXAMPLES:-$PWD/target/test-data/hl7.fhir.r4.examples/package}"
if [ ! -f "$examples/package.json" ]; then
  echo "fetching hl7.fhir.r4.examples@4.0.1 (official R4 examples, about 19 MB)" >&2
  mkdir -p target/test-data
  (
    cd target/test-data
    npm pack --silent hl7.fhir.r4.examples@4.0.1 >/dev/null
    mkdir -p hl7.fhir.r4.examples
    tar xzf hl7.fhir.r4.examples-4.0.1.tgz -C hl7.fhir.r4.examples
    rm hl7.fhir.r4.examples-4.0.1.tgz
  )
  examples="$PWD/target/test-data/hl7.fhir.r4.examples/package"
fi
echo "$examples"
