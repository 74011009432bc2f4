//! "Never reject what is right": every official R4 example of a type we accept passes intake
//! validation. The examples come from npm `hl7.fhir.r4.examples@4.0.1`, which scripts/test.sh
//! fetches and names in HBPC_TEST_R4_EXAMPLES.

use hbpc_gateway::domain::fhir::resource_type::REFERRAL_RESOURCE_TYPES;
use hbpc_gateway::domain::validation::json_schema::JsonSchemaValidator;
use hbpc_gateway::domain::validation::IntakeValidator;
use serde_json::Value;

fn examples_dir() -> Option<std::path::PathBuf> {
    match std::env::var("HBPC_TEST_R4_EXAMPLES") {
        Ok(dir) => Some(dir.into()),
        Err(_) => {
            eprintln!("SKIPPED: HBPC_TEST_R4_EXAMPLES is not set (scripts/test.sh sets it)");
            None
        }
    }
}

#[test]
fn official_examples_of_referral_types_pass_intake_validation() {
    let Some(dir) = examples_dir() else { return };
    let validator = JsonSchemaValidator::load_embedded().unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("examples directory") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let Some(rt) = name.split('-').next() else {
            continue;
        };
        if !REFERRAL_RESOURCE_TYPES.contains(&rt) || !name.ends_with(".json") {
            continue;
        }
        let resource: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        if resource["resourceType"] != rt {
            continue;
        }
        checked += 1;
        let errors: Vec<_> = validator
            .validate(&resource)
            .into_iter()
            .filter(|i| i.is_error())
            .collect();
        if !errors.is_empty() {
            failures.push(format!("{name}: {errors:?}"));
        }
    }
    assert!(
        checked > 100,
        "only {checked} examples found in {}",
        dir.display()
    );
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
    let validator = JsonSchemaValidator::load_embedded().unwrap();
    let mut checked = 0;
    for name in [
        "Bundle-bundle-transaction.json",
        "Bundle-bundle-references.json",
        "Bundle-3ad0687e-f477-468c-afd5-fcc2bf897809.json",
    ] {
        let bundle: Value =
            serde_json::from_slice(&std::fs::read(dir.join(name)).unwrap()).unwrap();
        let errors: Vec<_> = validator
            .validate(&bundle)
            .into_iter()
            .filter(|i| i.is_error())
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        checked += 1;
    }
    assert_eq!(checked, 3);
}

#[test]
fn broken_official_examples_are_caught_with_their_location() {
    let Some(dir) = examples_dir() else { return };
    let validator = JsonSchemaValidator::load_embedded().unwrap();
    let mut sr: Value = serde_json::from_slice(
        &std::fs::read(dir.join("ServiceRequest-myringotomy.json")).unwrap(),
    )
    .unwrap();
    sr["status"] = Value::from(42);
    sr["requester"]["refrence"] = Value::from("Practitioner/x");
    let issues = validator.validate(&sr);
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
