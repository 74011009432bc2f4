//! US Core 9.0.0 as its authors ship it: the guide's profiles and extensions are differential
//! only, so the validator generates every snapshot at load; then each of the guide's 230
//! examples is validated against the profiles in its own `meta.profile` (no default
//! profiles). At least 95% must have no errors, and every example that has errors must be
//! one docs/conformance.md lists with the reason (a real error in the example).
//!
//! The material is shared and stays outside the repository: `../shared/ig/us-core/`
//! relative to the repository root, or the folder `US_CORE_IG` names. Without it the test
//! says so and leaves a note that `scripts/test.sh` prints at the end.

// only `not_tested` is used here
#[allow(dead_code)]
mod support;

use fhir_engine::validation::structure::fhirpath_invariants::FhirPathInvariants;
use fhir_engine::validation::structure::{LoadOptions, Request, StructureValidator};
use serde_json::Value;
use std::path::PathBuf;

const US_CORE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/ig/us-core");

/// The share of examples that must validate without errors.
const MIN_CLEAN: f64 = 0.95;

fn us_core_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("US_CORE_IG").map_or_else(|| PathBuf::from(US_CORE), PathBuf::from);
    if dir.join("resources").is_dir() && dir.join("examples").is_dir() {
        return Some(dir);
    }
    support::not_tested(
        "us_core",
        &format!(
            "US Core 9.0.0 is not at {} (shared material: ../shared/ig/us-core beside the repository, or US_CORE_IG)",
            dir.display()
        ),
    );
    None
}

/// The examples docs/conformance.md lists as having real errors (the section "US Core 9.0.0
/// examples"): each line `- \`FILE\`: reason`.
fn listed_in_conformance_doc() -> Vec<String> {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/conformance.md"
    ))
    .expect("docs/conformance.md");
    let Some(start) = doc.find("### US Core 9.0.0 examples with errors") else {
        return Vec::new();
    };
    doc[start..]
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with('#'))
        .filter_map(|l| l.strip_prefix("- `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn us_core_examples_validate_against_their_differential_only_profiles() {
    let Some(dir) = us_core_dir() else { return };
    let validator = StructureValidator::load(&LoadOptions {
        ig_dirs: vec![dir.join("resources")],
        invariants: Some(std::sync::Arc::new(FhirPathInvariants::new())),
        ..LoadOptions::default()
    })
    .unwrap_or_else(|e| panic!("US Core loads: {e}"));
    // every profile and extension is generated, except the one whose base is in a package
    // that is not here (SDC's QuestionnaireResponse)
    let unavailable: Vec<&str> = validator
        .unavailable_profiles()
        .iter()
        .map(|e| e.url.as_str())
        .collect();
    assert_eq!(
        unavailable,
        ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-questionnaireresponse"]
    );
    assert_profiles_apply(&validator, &dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("examples"))
        .expect("the examples folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let request = Request::default();
    let listed = listed_in_conformance_doc();
    let mut failing = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("an example");
        let resource: Value = serde_json::from_str(&text).expect("example JSON");
        let errors: Vec<String> = validator
            .validate(&resource, &request)
            .all()
            .into_iter()
            .filter(|i| i.is_error())
            .map(|i| format!("{:?} {}", i.expression, i.text))
            .collect();
        if !errors.is_empty() {
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            failing.push((name, errors));
        }
    }
    let clean = files.len() - failing.len();
    let rate = clean as f64 / files.len() as f64;
    let report: Vec<String> = failing
        .iter()
        .map(|(name, errors)| format!("{name}:\n    {}", errors.join("\n    ")))
        .collect();
    assert_eq!(files.len(), 230, "US Core 9.0.0 ships 230 examples");
    assert!(
        rate >= MIN_CLEAN,
        "{clean} of {} US Core examples validate without errors ({:.1}%, at least {:.0}% needed):\n{}",
        files.len(),
        rate * 100.0,
        MIN_CLEAN * 100.0,
        report.join("\n")
    );
    let unlisted: Vec<&str> = failing
        .iter()
        .zip(&report)
        .filter(|((name, _), _)| !listed.contains(name))
        .map(|(_, r)| r.as_str())
        .collect();
    assert!(
        unlisted.is_empty(),
        "examples with errors that docs/conformance.md does not list:\n{}",
        unlisted.join("\n")
    );
    let stale: Vec<&String> = listed
        .iter()
        .filter(|name| !failing.iter().any(|(f, _)| f == *name))
        .collect();
    assert!(
        stale.is_empty(),
        "docs/conformance.md lists US Core examples that now validate clean: {stale:?}"
    );
}

fn example(dir: &std::path::Path, name: &str) -> Value {
    let text = std::fs::read_to_string(dir.join("examples").join(name)).expect("an example");
    serde_json::from_str(&text).expect("example JSON")
}

fn profile_errors(validator: &StructureValidator, resource: &Value) -> Vec<String> {
    validator
        .validate(resource, &Request::default())
        .profile
        .into_iter()
        .filter(|i| i.is_error())
        .map(|i| format!("{:?} {}", i.expression, i.text))
        .collect()
}

/// The generated profiles are applied: breaking what a profile (not the base R4 definition)
/// requires fails the example.
fn assert_profiles_apply(validator: &StructureValidator, dir: &std::path::Path) {
    // us-core-patient: identifier is 1..*
    let mut patient = example(dir, "patient-example.json");
    patient.as_object_mut().map(|p| p.remove("identifier"));
    let errors = profile_errors(validator, &patient);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("us-core-patient") && e.contains("identifier")),
        "{errors:?}"
    );
    // us-core-blood-pressure: the systolic component slice is 1..1
    let mut bp = example(dir, "blood-pressure.json");
    if let Some(components) = bp["component"].as_array_mut() {
        components.remove(0);
    }
    let errors = profile_errors(validator, &bp);
    assert!(errors.iter().any(|e| e.contains("systolic")), "{errors:?}");
    // us-core-bmi: the valueQuantity type slice fixes the unit code
    let mut bmi = example(dir, "bmi.json");
    bmi["valueQuantity"]["code"] = Value::String("kg".into());
    let errors = profile_errors(validator, &bmi);
    assert!(
        errors.iter().any(|e| e.contains("valueQuantity.code")),
        "{errors:?}"
    );
}
