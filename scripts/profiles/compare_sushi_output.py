#!/usr/bin/env python3
"""Fails when the committed guide in profiles/ is stale against SUSHI's output from profiles/fsh.

Usage: scripts/profiles/compare_sushi_output.py SUSHI_RESOURCES_DIR PROFILES_DIR
(run by scripts/profiles/sushi.sh --check). Every StructureDefinition, ValueSet and CodeSystem
must be in both folders under the same file name, and equal as JSON (key order and whitespace
aside): the committed guide is SUSHI's output as SUSHI writes it (StructureDefinitions with their
differential only; the gateway generates the snapshots). Python 3 standard library only.
"""
import glob
import json
import os
import sys

KINDS = ("StructureDefinition", "ValueSet", "CodeSystem")


def resources(folder):
    out = {}
    for kind in KINDS:
        for path in glob.glob(os.path.join(folder, f"{kind}-*.json")):
            with open(path, encoding="utf-8") as f:
                out[os.path.basename(path)] = json.load(f)
    return out


def differences(ours, theirs, where):
    """Yields `where: what differs`, descending into objects and arrays."""
    if type(ours) is not type(theirs):
        yield f"{where}: SUSHI {json.dumps(theirs)[:160]}, committed {json.dumps(ours)[:160]}"
    elif isinstance(ours, dict):
        for key in sorted(set(ours) | set(theirs)):
            if key not in theirs:
                yield f"{where}.{key}: committed only"
            elif key not in ours:
                yield f"{where}.{key}: SUSHI only"
            else:
                yield from differences(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(ours, list) and all(isinstance(e, dict) and "id" in e for e in ours + theirs):
        # elements: named by id, so that one added or removed element reads as that
        ours_ids, theirs_ids = [e["id"] for e in ours], [e["id"] for e in theirs]
        if ours_ids != theirs_ids:
            yield f"{where}: SUSHI has elements {theirs_ids}, committed {ours_ids}"
        by_id = {e["id"]: e for e in theirs}
        for e in ours:
            if e["id"] in by_id:
                yield from differences(e, by_id[e["id"]], f"{where}[{e['id']}]")
    elif isinstance(ours, list):
        if len(ours) != len(theirs):
            yield f"{where}: SUSHI has {len(theirs)} items, committed {len(ours)}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            yield from differences(a, b, f"{where}[{i}]")
    elif ours != theirs:
        yield f"{where}: SUSHI {json.dumps(theirs)[:160]}, committed {json.dumps(ours)[:160]}"


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    sushi, committed = resources(sys.argv[1]), resources(sys.argv[2])
    problems = []
    for name in sorted(set(sushi) | set(committed)):
        if name not in committed:
            problems.append(f"{name}: compiled from the FSH, not committed")
            continue
        if name not in sushi:
            problems.append(f"{name}: committed, not in the FSH")
            continue
        problems.extend(f"{name}{d}" for d in differences(committed[name], sushi[name], ""))
    if problems:
        print("profiles/ is stale against profiles/fsh (SUSHI's output differs):", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        raise SystemExit(1)
    print(f"profiles/: {len(committed)} resources agree with SUSHI's output from profiles/fsh")


if __name__ == "__main__":
    main()
