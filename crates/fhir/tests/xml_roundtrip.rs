//! FHIR XML written from the JSON form reads back to the same JSON, on every official R4
//! example (npm `hl7.fhir.r4.examples@4.0.1`, fetched by scripts/test.sh into
//! FHIR_R4_EXAMPLES): element order, arrays, primitives with `_name`, choice types,
//! contained and nested resources, narratives (two of them over 1 MB) and decimal digits all
//! survive.

mod support;

use fhir_engine::json::JsonLimits;
use fhir_engine::xml::{parse_resource, write_resource};
use serde_json::Value;

const LIMITS: JsonLimits = JsonLimits {
    max_depth: 128,
    max_elements: 5_000_000,
};

#[test]
fn json_to_xml_to_json_is_the_identity_on_every_official_example() {
    let Some(dir) = support::examples_dir("xml_roundtrip") else {
        return;
    };
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let Ok(resource) = serde_json::from_slice::<Value>(&std::fs::read(&path).unwrap()) else {
            continue;
        };
        if resource
            .get("resourceType")
            .and_then(Value::as_str)
            .is_none()
        {
            continue; // package.json, .index.json
        }
        checked += 1;
        let xml = write_resource(&resource);
        match parse_resource(xml.as_bytes(), LIMITS) {
            Ok(back) if back == resource => {}
            Ok(back) => failures.push(format!(
                "{name}: {}",
                first_difference(&resource, &back, String::new())
            )),
            Err(e) => failures.push(format!("{name}: the XML does not read back: {e}")),
        }
    }
    assert!(
        checked > 2000,
        "only {checked} examples found in {}",
        dir.display()
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} examples changed through XML:\n{}",
        failures.len(),
        failures
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Where two JSON values first differ, as a path.
fn first_difference(a: &Value, b: &Value, path: String) -> String {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    None => return format!("{path}.{k} missing after the round trip"),
                    Some(w) if w != v => return first_difference(v, w, format!("{path}.{k}")),
                    _ => {}
                }
            }
            match y.keys().find(|k| !x.contains_key(*k)) {
                Some(k) => format!("{path}.{k} added by the round trip"),
                None => format!("{path}: differs"),
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                if v != w {
                    return first_difference(v, w, format!("{path}[{i}]"));
                }
            }
            format!("{path}: differs")
        }
        _ => format!("{path}: {a} became {b}"),
    }
}
