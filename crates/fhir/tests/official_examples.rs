//! "Never reject what is right": every official R4 resource example validates against its
//! base definition with zero errors, except the few that HL7's own examples get wrong
//! (listed in docs/conformance.md). The examples come from npm `hl7.fhir.r4.examples@4.0.1`,
//! which scripts/test.sh fetches and names in FHIR_R4_EXAMPLES.

mod support;

use fhir_engine::validation::structure::fhirpath_invariants::FhirPathInvariants;
use fhir_engine::validation::structure::{LoadOptions, StructureValidator};
use serde_json::Value;

/// Examples with errors in the published package itself; see docs/conformance.md.
const KNOWN_BAD: &[&str] = &[
    "Questionnaire-qs1.json",
    "Bundle-dataelements.json",
    "Bundle-v2-valuesets.json",
    "MedicationRequest-medrx0301.json",
    "Observation-clinical-gender.json",
    "DeviceUseStatement-example.json",
    "DeviceMetric-example.json",
    "Bundle-10bb101f-a121-4264-a920-67be9cb82c74.json",
    "Bundle-3a0707d3-549e-4467-b8b8-5a2ab3800efe.json",
    "Bundle-lri-example.json",
    "DiagnosticReport-example-pgx.json",
];

/// Conformance resources are definitions, not examples of data.
const DEFINITION_TYPES: &[&str] = &[
    "StructureDefinition",
    "ValueSet",
    "CodeSystem",
    "SearchParameter",
    "OperationDefinition",
    "CapabilityStatement",
    "CompartmentDefinition",
    "ConceptMap",
    "NamingSystem",
    "ImplementationGuide",
    "StructureMap",
    "GraphDefinition",
    "MessageDefinition",
    "TerminologyCapabilities",
];

fn examples_dir() -> Option<std::path::PathBuf> {
    support::examples_dir("official_examples")
}

fn validator() -> StructureValidator {
    // The same engine as intake: FHIRPath invariants included.
    StructureValidator::load(&LoadOptions {
        invariants: Some(std::sync::Arc::new(FhirPathInvariants::new())),
        ..LoadOptions::default()
    })
    .expect("definitions load")
}

fn errors(validator: &StructureValidator, resource: &Value) -> Vec<String> {
    validator
        .validate_base(resource)
        .into_iter()
        .filter(|i| i.is_error())
        .map(|i| format!("{:?} {}", i.expression, i.text))
        .collect()
}

#[test]
fn every_official_resource_example_validates_against_its_base_definition() {
    let Some(dir) = examples_dir() else { return };
    let validator = validator();
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut known_bad_caught = 0;
    for entry in std::fs::read_dir(&dir).expect("examples directory") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".json") || name == "package.json" {
            continue;
        }
        let Ok(resource) = serde_json::from_slice::<Value>(&std::fs::read(&path).unwrap()) else {
            continue;
        };
        let Some(rt) = resource["resourceType"].as_str() else {
            continue;
        };
        let prefix = name.split('-').next().unwrap_or_default();
        if DEFINITION_TYPES.contains(&rt) || prefix != rt {
            continue;
        }
        checked += 1;
        let errors = errors(&validator, &resource);
        if KNOWN_BAD.contains(&name.as_str()) {
            assert!(
                !errors.is_empty(),
                "{name} is listed as known-bad but validates clean"
            );
            known_bad_caught += 1;
        } else if !errors.is_empty() {
            failures.push(format!("{name}: {errors:?}"));
        }
    }
    assert!(
        checked > 500,
        "only {checked} examples found in {}",
        dir.display()
    );
    assert_eq!(known_bad_caught, KNOWN_BAD.len());
    assert!(
        failures.is_empty(),
        "{} of {checked} rejected:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn official_transaction_bundles_pass_intake_validation() {
    let Some(dir) = examples_dir() else { return };
    let validator = validator();
    for name in [
        "Bundle-bundle-transaction.json",
        "Bundle-bundle-references.json",
        "Bundle-3ad0687e-f477-468c-afd5-fcc2bf897809.json",
    ] {
        let bundle: Value =
            serde_json::from_slice(&std::fs::read(dir.join(name)).unwrap()).unwrap();
        let errors = errors(&validator, &bundle);
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
}

#[test]
fn broken_official_examples_are_caught_with_their_location() {
    let Some(dir) = examples_dir() else { return };
    let validator = validator();
    let mut sr: Value = serde_json::from_slice(
        &std::fs::read(dir.join("ServiceRequest-myringotomy.json")).unwrap(),
    )
    .unwrap();
    sr["status"] = Value::from(42);
    sr["requester"]["refrence"] = Value::from("Practitioner/x");
    let issues = validator.validate_base(&sr);
    let expressions: Vec<&str> = issues
        .iter()
        .flat_map(|i| i.expression.iter().map(String::as_str))
        .collect();
    assert!(expressions.contains(&"ServiceRequest.status"), "{issues:?}");
    assert!(
        expressions.contains(&"ServiceRequest.requester.refrence"),
        "{issues:?}"
    );
}
