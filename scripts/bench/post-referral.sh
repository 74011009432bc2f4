# Sourced by the bench scripts (needs $port): POSTs fixtures/referral-transaction.json with its
# own placer and MRN identifiers, as scripts/load/post-referral.lua sends them.
post() { # $1 = tag for the identifiers
  sed -e "s/REF-2026-000417/REF-$1/g" -e "s/MRN-448210/MRN-$1/g" fixtures/referral-transaction.json |
    curl -fs -o /dev/null -X POST "http://127.0.0.1:$port/fhir" \
      -H 'Content-Type: application/fhir+json' -H 'Prefer: return=minimal' --data-binary @-
}
