#!/usr/bin/env bash
# Compiles the HBPC guide's FSH (profiles/fsh/) with SUSHI, the FHIR community's FSH compiler
# (npm fsh-sushi, pinned in scripts/profiles/sushi/package.json and its lock).
#
#   scripts/profiles/sushi.sh             compile and write the JSON the gateway loads, profiles/*.json
#                                         (installs SUSHI first when it is not installed)
#   scripts/profiles/sushi.sh --check     compile into a temporary folder and fail when the
#                                         committed JSON in profiles/ is stale against the FSH
#   scripts/profiles/sushi.sh --install   install SUSHI and its FHIR package cache only (CI)
#
# SUSHI and the cache live under target/ (never committed). SUSHI reads the FHIR R4 core package
# (hl7.fhir.r4.core#4.0.1) from a FHIR package cache, ~/.fhir/packages, and would download it from
# packages.fhir.org, which is not reachable here. The npm registry has no hl7.fhir.r4.core, but it
# has hl7.fhir.r4.examples@4.0.1, the same release's package, which carries every core
# StructureDefinition, ValueSet and CodeSystem: the cache entry is made from those, and SUSHI runs
# with HOME=target/fhir-home so that it finds it there. It then needs no network.
set -euo pipefail
cd "$(dirname "$0")/../.."

sushi_dir=target/sushi
sushi="$sushi_dir/node_modules/.bin/sushi"
fhir_home="$PWD/target/fhir-home"
core="$fhir_home/.fhir/packages/hl7.fhir.r4.core#4.0.1/package"

install() {
  if ! cmp -s scripts/profiles/sushi/package-lock.json "$sushi_dir/package-lock.json" || [ ! -x "$sushi" ]; then
    mkdir -p "$sushi_dir"
    cp scripts/profiles/sushi/package.json scripts/profiles/sushi/package-lock.json "$sushi_dir/"
    npm ci --silent --no-audit --no-fund --prefix "$sushi_dir"
  fi
  if [ ! -f "$core/package.json" ]; then
    local examples
    examples="$(scripts/fetch_r4_examples.sh)"
    rm -rf "$core.tmp" && mkdir -p "$core.tmp"
    local kind
    for kind in StructureDefinition ValueSet CodeSystem; do
      # hard links when they can be made: the same bytes as the examples package, no second copy
      cp -l "$examples/$kind"-*.json "$core.tmp/" 2>/dev/null || cp "$examples/$kind"-*.json "$core.tmp/"
    done
    cat >"$core.tmp/package.json" <<'EOF'
{
  "name": "hl7.fhir.r4.core",
  "version": "4.0.1",
  "fhirVersions": ["4.0.1"],
  "type": "fhir.core",
  "canonical": "http://hl7.org/fhir",
  "description": "FHIR R4 core conformance resources, taken from npm hl7.fhir.r4.examples@4.0.1 by scripts/profiles/sushi.sh"
}
EOF
    mv "$core.tmp" "$core"
  fi
}

# Compiles profiles/fsh into $1 (SUSHI's output folder); fails on any SUSHI error, and on any
# warning but those of working offline.
compile() {
  local out="$1" log="$1.log"
  if ! HOME="$fhir_home" "$sushi" build profiles/fsh --out "$out" >"$log" 2>&1; then
    cat "$log" >&2
    echo "sushi.sh: SUSHI failed on profiles/fsh (above)" >&2
    return 1
  fi
  # Offline, SUSHI cannot ask npm for its latest version, nor packages.fhir.org for the tooling
  # packages it loads when they are at hand (hl7.fhir.uv.tools.r4, hl7.terminology.r4,
  # hl7.fhir.uv.extensions.r4); the guide uses none of them.
  local unexpected
  unexpected="$(grep -E '^warn ' "$log" |
    grep -vE 'Unable to determine the latest version of sushi|Failed to load automatically-provided (hl7\.fhir\.uv\.tools\.r4|hl7\.terminology\.r4|hl7\.fhir\.uv\.extensions\.r4)#latest' || true)"
  if [ -n "$unexpected" ]; then
    cat "$log" >&2
    echo "sushi.sh: SUSHI warned about profiles/fsh:" >&2
    echo "$unexpected" >&2
    return 1
  fi
}

case "${1:-}" in
  "")
    install
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    compile "$tmp/out"
    # the guide is what SUSHI writes, as it writes it: removed artifacts go too
    rm -f profiles/StructureDefinition-*.json profiles/ValueSet-*.json profiles/CodeSystem-*.json
    for kind in StructureDefinition ValueSet CodeSystem; do
      for f in "$tmp/out/fsh-generated/resources/$kind"-*.json; do
        [ -e "$f" ] && cp "$f" profiles/
      done
    done
    python3 scripts/profiles/compare_sushi_output.py "$tmp/out/fsh-generated/resources" profiles
    ;;
  --install)
    install
    ;;
  --check)
    if [ ! -x "$sushi" ] || [ ! -f "$core/package.json" ]; then
      echo "sushi.sh: SUSHI is not installed (target/sushi), so the committed profiles/ JSON cannot be" >&2
      echo "sushi.sh: checked against profiles/fsh; install it with scripts/profiles/sushi.sh --install" >&2
      exit 3
    fi
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    compile "$tmp/out"
    python3 scripts/profiles/compare_sushi_output.py "$tmp/out/fsh-generated/resources" profiles
    ;;
  *)
    echo "usage: scripts/profiles/sushi.sh [--check | --install]" >&2
    exit 2
    ;;
esac
