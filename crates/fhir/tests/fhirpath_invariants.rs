//! "Never reject what is right", for invariants: every FHIRPath constraint in the R4 core
//! resource StructureDefinitions compiles, and holds on the official R4 examples of that
//! resource (FHIR_R4_EXAMPLES), at every element the constraint applies to. Warnings
//! (csd-0 on the v2 code systems, …) may be false but must evaluate without error. `ele-1`
//! (on every element) is left to the unit tests and benches: here it would dominate the time.

mod support;

use fhir_engine::fhirpath::{CompiledPath, FhirPathEngine};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;

/// (constraint key, example file) pairs where the example itself breaks the invariant.
const EXAMPLE_VIOLATIONS: &[(&str, &str, &str)] = &[
    (
        "bdl-7",
        "Bundle-dataelements.json",
        "entries repeat fullUrls without versionIds",
    ),
    (
        "sdf-4",
        "StructureDefinition-Definition.json",
        "a non-abstract logical model without baseDefinition",
    ),
    (
        "sdf-4",
        "StructureDefinition-Event.json",
        "a non-abstract logical model without baseDefinition",
    ),
    (
        "sdf-4",
        "StructureDefinition-FiveWs.json",
        "a non-abstract logical model without baseDefinition",
    ),
    (
        "sdf-4",
        "StructureDefinition-Request.json",
        "a non-abstract logical model without baseDefinition",
    ),
];

struct Constraint {
    key: String,
    path: String,
    /// The element's first type code, for primitive foci.
    ty: String,
    warning: bool,
    compiled: CompiledPath,
}

fn examples_dir() -> Option<PathBuf> {
    support::examples_dir("fhirpath_invariants")
}

fn read(path: &std::path::Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// The nodes at an ElementDefinition path (`Observation.component.value[x]`), by reference.
fn nodes_at<'a>(resource: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut current = vec![resource];
    for seg in path.split('.').skip(1) {
        let mut next = Vec::new();
        for node in current {
            let Some(obj) = node.as_object() else {
                continue;
            };
            let children: Vec<&Value> = match seg.strip_suffix("[x]") {
                Some(prefix) => obj
                    .iter()
                    .filter(|(k, _)| {
                        k.strip_prefix(prefix)
                            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
                    })
                    .map(|(_, v)| v)
                    .collect(),
                None => obj.get(seg).into_iter().collect(),
            };
            for c in children {
                match c {
                    Value::Array(items) => next.extend(items.iter()),
                    other => next.push(other),
                }
            }
        }
        current = next;
    }
    current
}

fn type_code(element: &Value) -> String {
    let code = element["type"][0]["code"].as_str().unwrap_or("Element");
    match code.strip_prefix("http://hl7.org/fhirpath/System.") {
        Some("String") => "string".into(),
        Some("Boolean") => "boolean".into(),
        Some("Integer") => "integer".into(),
        Some("Decimal") => "decimal".into(),
        Some(other) => other.to_lowercase(),
        None => code.to_string(),
    }
}

#[test]
fn core_invariants_compile_and_hold_on_official_examples() {
    let Some(dir) = examples_dir() else { return };
    let engine = FhirPathEngine::new();
    let mut by_type: HashMap<String, Vec<Constraint>> = HashMap::new();
    let mut compile_errors = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for path in files.iter().filter(|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("StructureDefinition-"))
    }) {
        let Some(sd) = read(path) else { continue };
        if sd["derivation"] != "specialization" || sd["kind"] != "resource" {
            continue;
        }
        let Some(ty) = sd["type"].as_str() else {
            continue;
        };
        for element in sd["snapshot"]["element"].as_array().into_iter().flatten() {
            for c in element["constraint"].as_array().into_iter().flatten() {
                let (Some(key), Some(expr)) = (c["key"].as_str(), c["expression"].as_str()) else {
                    continue;
                };
                if key == "ele-1" {
                    continue;
                }
                match engine.compile(expr) {
                    Ok(compiled) => by_type.entry(ty.to_string()).or_default().push(Constraint {
                        key: key.to_string(),
                        path: element["path"].as_str().unwrap_or(ty).to_string(),
                        ty: type_code(element),
                        warning: c["severity"] == "warning",
                        compiled,
                    }),
                    Err(e) => compile_errors.push(format!("{ty} {key}: {e}: {expr}")),
                }
            }
        }
    }
    let constraints: usize = by_type.values().map(Vec::len).sum();
    let (mut evaluated, mut examples) = (0usize, 0usize);
    let mut violations = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let Some(rt) = name.split('-').next() else {
            continue;
        };
        let Some(list) = by_type.get(rt) else {
            continue;
        };
        let Some(resource) = read(path) else { continue };
        if resource["resourceType"] != rt {
            continue;
        }
        examples += 1;
        for c in list {
            for focus in nodes_at(&resource, &c.path) {
                evaluated += 1;
                // The element path types the focus as a validator would; choice elements
                // (`value[x]`) are found by locating them in the resource instead.
                let result = if !focus.is_object() {
                    c.compiled.holds_typed(&resource, focus, &c.ty)
                } else if c.path.contains("[x]") || !c.path.contains('.') {
                    c.compiled.holds(&resource, focus)
                } else {
                    c.compiled.holds_typed(&resource, focus, &c.path)
                };
                let known = EXAMPLE_VIOLATIONS
                    .iter()
                    .any(|(k, f, _)| *k == c.key && *f == name);
                match result {
                    Ok(true) => {}
                    Ok(false) if c.warning => {}
                    _ if known => {}
                    Ok(false) => violations.push(format!("{name} {} at {}: false", c.key, c.path)),
                    Err(e) => violations.push(format!("{name} {} at {}: {e}", c.key, c.path)),
                }
            }
        }
    }
    println!(
        "R4 core invariants: {constraints} compiled, {} failed to compile; {evaluated} evaluations on {examples} examples, {} violations",
        compile_errors.len(),
        violations.len()
    );
    assert!(examples > 1000, "only {examples} examples found");
    assert!(
        compile_errors.is_empty(),
        "{} constraints do not compile:\n{}",
        compile_errors.len(),
        compile_errors.join("\n")
    );
    let mut by_key: HashMap<&str, usize> = HashMap::new();
    for v in &violations {
        *by_key
            .entry(v.split(' ').nth(1).unwrap_or("?"))
            .or_default() += 1;
    }
    assert!(
        violations.is_empty(),
        "{} invariant violations on official examples, by key {by_key:?}; first ones:\n{}",
        violations.len(),
        violations
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
