#!/usr/bin/env python3
"""Extracts the R4 Patient CompartmentDefinition from npm hl7.fhir.r4.examples@4.0.1.

Usage: scripts/profiles/vendor_compartment.py [PACKAGE_DIR]
PACKAGE_DIR is the unpacked `package/` directory (default: $FHIR_R4_EXAMPLES, else
target/test-data/hl7.fhir.r4.examples/package as fetched by vendor_r4_core.py).
Reads CompartmentDefinition-patient.json and writes
crates/fhir/definitions/r4-core/compartment-patient.json: its url, version and code, and for
each resource type that can be in the compartment, the search parameters that put it there
(`resource[].code`, `resource[].param`, as the official definition lists them; types without a
param are not in the compartment and are left out). Python 3 standard library only.
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "crates", "fhir", "definitions", "r4-core", "compartment-patient.json")


def package_dir():
    if len(sys.argv) > 1:
        return sys.argv[1]
    env = os.environ.get("FHIR_R4_EXAMPLES")
    if env:
        return env
    return os.path.join(ROOT, "target", "test-data", "hl7.fhir.r4.examples", "package")


def main():
    with open(os.path.join(package_dir(), "CompartmentDefinition-patient.json"), encoding="utf-8") as f:
        definition = json.load(f)
    out = {
        "resourceType": "CompartmentDefinition",
        "url": definition["url"],
        "version": definition["version"],
        "code": definition["code"],
        "resource": [
            {"code": r["code"], "param": r["param"]}
            for r in definition["resource"]
            if r.get("param")
        ],
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=0, separators=(",", ":"))
        f.write("\n")
    print(f"{len(out['resource'])} resource types in the {out['code']} compartment -> {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
