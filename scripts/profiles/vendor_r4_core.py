#!/usr/bin/env python3
"""Extracts the R4 core definitions the validator needs from npm hl7.fhir.r4.examples@4.0.1.

Usage: scripts/profiles/vendor_r4_core.py [PACKAGE_DIR]
PACKAGE_DIR is the unpacked `package/` directory (default: the one scripts/fetch_r4_examples.sh
names, fetched with `npm pack` into target/test-data). Writes
crates/fhir/definitions/r4-core/definitions.json (the FHIR engine's data): one minified Bundle
holding
  - the base StructureDefinitions (primitive types, data types, resources), the core type
    profiles (SimpleQuantity, MoneyQuantity, ...) and every core extension definition,
    stripped to what validation reads (no narrative, mappings or documentation);
  - the ValueSets of their required and extensible bindings (and the ValueSets those import);
  - the complete CodeSystems those ValueSets include.
It also writes crates/fhir/definitions/r4-core/profiles.json: the core resource profiles
(vitalsigns, bp, lipidprofile, ...) as the spec authors them, differential only (the engine
generates their snapshots at load), with the ValueSets and CodeSystems of their bindings that
definitions.json does not hold.
Python 3 standard library only.
"""
import glob
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "crates", "fhir", "definitions", "r4-core", "definitions.json")
PROFILES_OUT = os.path.join(ROOT, "crates", "fhir", "definitions", "r4-core", "profiles.json")

ELEMENT_KEYS = ("id", "path", "sliceName", "min", "max", "type", "contentReference",
                "binding", "constraint", "slicing", "isModifier", "isSummary", "base")


def package_dir():
    if len(sys.argv) > 1:
        return sys.argv[1]
    fetch = os.path.join(ROOT, "scripts", "fetch_r4_examples.sh")
    return subprocess.run([fetch], check=True, capture_output=True, text=True).stdout.strip()


def strip_element(e):
    out = {k: e[k] for k in ELEMENT_KEYS if k in e}
    if "base" in out:
        # kept whole (path, min, max are each 1..1 in R4): generated snapshots copy it, and the
        # engine reads base.max (array or not)
        out["base"] = {k: e["base"][k] for k in ("path", "min", "max") if k in e["base"]}
    for k, v in e.items():
        if k.startswith("fixed") or k.startswith("pattern"):
            out[k] = v
    if "type" in out:
        out["type"] = [{k: t[k] for k in ("code", "profile", "targetProfile", "extension") if k in t}
                       for t in out["type"]]
    if "constraint" in out:
        # ele-1 ("a value or children") sits on every element; the engine checks it natively
        # (empty objects, arrays and strings), so it is kept only where Element defines it.
        out["constraint"] = [{k: c[k] for k in ("key", "severity", "human", "expression") if k in c}
                             for c in out["constraint"]
                             if c.get("key") != "ele-1" or e["path"] == "Element"]
        if not out["constraint"]:
            del out["constraint"]
    if "binding" in out:
        out["binding"] = {k: e["binding"][k] for k in ("strength", "valueSet") if k in e["binding"]}
    return out


def strip_sd(sd):
    keep = {k: sd[k] for k in ("resourceType", "id", "url", "version", "name", "status", "kind",
                               "abstract", "type", "baseDefinition", "derivation", "context") if k in sd}
    keep["snapshot"] = {"element": [strip_element(e) for e in sd["snapshot"]["element"]]}
    return keep


def strip_differential(sd):
    keep = {k: sd[k] for k in ("resourceType", "id", "url", "version", "name", "status", "kind",
                               "abstract", "type", "baseDefinition", "derivation") if k in sd}
    keep["differential"] = {"element": [strip_element(e) for e in sd["differential"]["element"]]}
    return keep


def strip_concepts(concepts):
    out = []
    for c in concepts:
        s = {"code": c["code"]}
        if "display" in c:
            s["display"] = c["display"]
        if "concept" in c:
            s["concept"] = strip_concepts(c["concept"])
        out.append(s)
    return out


def main():
    pkg = package_dir()
    sds, vss, css = {}, {}, {}
    resource_profiles = []
    for f in sorted(glob.glob(os.path.join(pkg, "StructureDefinition-*.json"))):
        sd = json.load(open(f, encoding="utf-8"))
        if sd.get("kind") == "resource" and sd.get("derivation") == "constraint" and "differential" in sd:
            resource_profiles.append(sd)
            continue
        if sd.get("kind") == "logical" or "snapshot" not in sd:
            continue
        base_type = sd.get("derivation") in ("specialization", None)
        type_profile = sd.get("kind") == "complex-type" and sd.get("derivation") == "constraint"
        if base_type or type_profile:
            sds[sd["url"]] = strip_sd(sd)
    for f in glob.glob(os.path.join(pkg, "ValueSet-*.json")):
        vs = json.load(open(f, encoding="utf-8"))
        vss[vs["url"]] = vs
    for f in glob.glob(os.path.join(pkg, "CodeSystem-*.json")):
        cs = json.load(open(f, encoding="utf-8"))
        css[cs["url"]] = cs

    wanted_vs, wanted_cs = closure(sds.values(), "snapshot", vss)
    entries = [{"resource": sd} for sd in sorted(sds.values(), key=lambda s: s["url"])]
    entries += terminology(wanted_vs, wanted_cs, vss, css)
    bundle = {"resourceType": "Bundle", "type": "collection",
              "meta": {"source": "npm hl7.fhir.r4.examples@4.0.1, stripped by scripts/profiles/vendor_r4_core.py"},
              "entry": entries}
    write(OUT, bundle, f"{len(sds)} StructureDefinitions, {len(wanted_vs)} ValueSets")

    profiles = {sd["url"]: strip_differential(sd) for sd in resource_profiles}
    p_vs, p_cs = closure(profiles.values(), "differential", vss)
    p_vs -= wanted_vs
    p_cs -= wanted_cs
    entries = [{"resource": sd} for sd in sorted(profiles.values(), key=lambda s: s["url"])]
    entries += terminology(p_vs, p_cs, vss, css)
    bundle = {"resourceType": "Bundle", "type": "collection",
              "meta": {"source": "npm hl7.fhir.r4.examples@4.0.1, core resource profiles (differential only), "
                                 "stripped by scripts/profiles/vendor_r4_core.py"},
              "entry": entries}
    write(PROFILES_OUT, bundle, f"{len(profiles)} profiles, {len(p_vs)} ValueSets")


def closure(sds, view, vss):
    """The ValueSets of the required and extensible bindings (and those they import), and the
    CodeSystems they include."""
    wanted_vs, queue = set(), []
    for sd in sds:
        for e in sd[view]["element"]:
            b = e.get("binding")
            if b and b.get("strength") in ("required", "extensible") and b.get("valueSet"):
                queue.append(b["valueSet"].split("|")[0])
    wanted_cs = set()
    while queue:
        url = queue.pop()
        if url in wanted_vs or url not in vss:
            continue
        wanted_vs.add(url)
        for inc in vss[url].get("compose", {}).get("include", []) + vss[url].get("compose", {}).get("exclude", []):
            queue.extend(v.split("|")[0] for v in inc.get("valueSet", []))
            if "system" in inc:
                wanted_cs.add(inc["system"])
    return wanted_vs, wanted_cs


def terminology(wanted_vs, wanted_cs, vss, css):
    entries = []
    for url in sorted(wanted_vs):
        vs = vss[url]
        keep = {k: vs[k] for k in ("resourceType", "id", "url", "version", "name", "status", "compose") if k in vs}
        if "compose" not in vs and "expansion" in vs:
            keep["expansion"] = {"contains": vs["expansion"].get("contains", [])}
        entries.append({"resource": keep})
    for url in sorted(wanted_cs):
        cs = css.get(url)
        if not cs or cs.get("content") != "complete":
            continue
        keep = {k: cs[k] for k in ("resourceType", "id", "url", "version", "name", "status", "content",
                                   "caseSensitive", "hierarchyMeaning", "valueSet") if k in cs}
        keep["concept"] = strip_concepts(cs.get("concept", []))
        entries.append({"resource": keep})
    return entries


def write(path, bundle, summary):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(bundle, f, separators=(",", ":"), ensure_ascii=False)
    print(f"{path}: {summary}, {os.path.getsize(path) // 1024} KiB")


if __name__ == "__main__":
    main()
