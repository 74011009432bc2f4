#!/usr/bin/env python3
"""Extracts the R4 SearchParameters of the stored resource types from npm hl7.fhir.r4.examples@4.0.1.

Usage: scripts/profiles/vendor_search_params.py [PACKAGE_DIR]
PACKAGE_DIR is the unpacked `package/` directory (default: $FHIR_R4_EXAMPLES, else
target/test-data/hl7.fhir.r4.examples/package as fetched by vendor_r4_core.py).
Reads Bundle-searchParams.json (the official R4 search parameter Bundle) and writes
crates/fhir/definitions/r4-core/search-parameters.json: one entry per (resource type, parameter
code) with
  - url, code, type (token, string, reference, date, uri, number, quantity, ...),
  - resourceType and the part of the official FHIRPath expression that applies to that type
    (the shared definitions such as clinical-patient are unions over many types; only the
    branches starting with `<Type>.` or `Resource.` are kept, `Resource.` renamed to `<Type>.`),
  - target: the reference targets that are stored types.
The expression text is otherwise the official one; the gateway compiles it with its own
FHIRPath engine. Python 3 standard library only.
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "crates", "fhir", "definitions", "r4-core", "search-parameters.json")

# Keep in step with src/domain/guide/resource_types.rs (REFERRAL_RESOURCE_TYPES).
STORED_TYPES = [
    "ServiceRequest", "Patient", "Practitioner", "PractitionerRole", "Organization", "Coverage",
    "Condition", "Observation", "Consent", "RelatedPerson", "DocumentReference",
    "QuestionnaireResponse", "Task", "CarePlan", "CareTeam", "Goal", "Provenance",
]
# Resource-level parameters whose semantics are not an expression.
SKIP_CODES = {"_text", "_content", "_query", "_list", "_has", "_type", "_filter"}


def package_dir():
    if len(sys.argv) > 1:
        return sys.argv[1]
    env = os.environ.get("FHIR_R4_EXAMPLES")
    if env:
        return env
    return os.path.join(ROOT, "target", "test-data", "hl7.fhir.r4.examples", "package")


def branches(expression):
    """Splits a FHIRPath union at its top level `|`."""
    out, depth, quote, start = [], 0, False, 0
    for i, c in enumerate(expression):
        if c == "'":
            quote = not quote
        elif quote:
            continue
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            out.append(expression[start:i].strip())
            start = i + 1
    out.append(expression[start:].strip())
    return [b for b in out if b]


def applies_to(branch, rtype):
    b = branch.lstrip("(")
    return b.startswith(rtype + ".") or b == rtype


def main():
    with open(os.path.join(package_dir(), "Bundle-searchParams.json"), encoding="utf-8") as f:
        bundle = json.load(f)
    out = []
    for entry in bundle["entry"]:
        sp = entry["resource"]
        code, expression = sp["code"], sp.get("expression")
        if code in SKIP_CODES or not expression:
            continue
        for rtype in STORED_TYPES:
            if rtype not in sp["base"] and "Resource" not in sp["base"] and "DomainResource" not in sp["base"]:
                continue
            if "Resource" in sp["base"] or "DomainResource" in sp["base"]:
                kept = [b.replace("Resource.", rtype + ".", 1) for b in branches(expression)]
            else:
                kept = [b for b in branches(expression) if applies_to(b, rtype)]
            if not kept:
                continue
            out.append({
                "url": sp["url"],
                "code": code,
                "type": sp["type"],
                "resourceType": rtype,
                "expression": " | ".join(kept),
                "target": [t for t in sp.get("target", []) if t in STORED_TYPES],
            })
    out.sort(key=lambda p: (p["resourceType"], p["code"]))
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=0, separators=(",", ":"))
        f.write("\n")
    print(f"{len(out)} search parameters for {len(STORED_TYPES)} types -> {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
