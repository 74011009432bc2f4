use super::{generate_missing, SnapshotError};
use crate::validation::structure::definitions::Definitions;
use serde_json::{json, Value};
use std::collections::HashMap;

const BASE: &str = "http://example.org/StructureDefinition/";

fn core() -> HashMap<String, Value> {
    Definitions::r4_core()
        .expect("the vendored core loads")
        .structure_definitions
}

fn profile(name: &str, base: &str, type_name: &str, elements: Value) -> Value {
    json!({
        "resourceType": "StructureDefinition",
        "url": format!("{BASE}{name}"),
        "name": name,
        "type": type_name,
        "kind": "resource",
        "derivation": "constraint",
        "baseDefinition": base,
        "differential": {"element": elements}
    })
}

fn generate(profiles: Vec<Value>) -> Result<HashMap<String, Value>, SnapshotError> {
    let mut sds = core();
    for p in profiles {
        sds.insert(p["url"].as_str().unwrap_or_default().to_string(), p);
    }
    generate_missing(&mut sds)?;
    Ok(sds)
}

fn snapshot<'s>(sds: &'s HashMap<String, Value>, name: &str) -> &'s [Value] {
    sds[&format!("{BASE}{name}")]["snapshot"]["element"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn element<'s>(elements: &'s [Value], id: &str) -> &'s Value {
    elements
        .iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("no element {id}"))
}

fn failure(profiles: Vec<Value>) -> SnapshotError {
    match generate(profiles) {
        Ok(_) => panic!("the snapshot was generated"),
        Err(e) => e,
    }
}

const PATIENT: &str = "http://hl7.org/fhir/StructureDefinition/Patient";
const OBSERVATION: &str = "http://hl7.org/fhir/StructureDefinition/Observation";

#[test]
fn a_narrowed_cardinality_lands_on_the_base_element_and_keeps_the_rest() {
    let sds = generate(vec![profile(
        "p",
        PATIENT,
        "Patient",
        json!([{"id": "Patient.birthDate", "path": "Patient.birthDate", "min": 1}]),
    )])
    .unwrap();
    let generated = snapshot(&sds, "p");
    let base = sds[PATIENT]["snapshot"]["element"].as_array().unwrap();
    let ids = |es: &[Value]| es.iter().map(|e| e["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(generated), ids(base));
    assert_eq!(element(generated, "Patient.birthDate")["min"], 1);
    assert_eq!(element(generated, "Patient.birthDate")["max"], "1");
}

#[test]
fn a_lowered_minimum_is_reported_at_the_element() {
    let e = failure(vec![profile(
        "p",
        OBSERVATION,
        "Observation",
        json!([{"id": "Observation.status", "path": "Observation.status", "min": 0}]),
    )]);
    assert_eq!(e.url, format!("{BASE}p"));
    assert_eq!(e.element, "Observation.status");
    assert!(e.message.contains("below the base minimum 1"), "{e}");
}

#[test]
fn a_raised_maximum_is_reported_at_the_element() {
    let e = failure(vec![profile(
        "p",
        PATIENT,
        "Patient",
        json!([{"id": "Patient.birthDate", "path": "Patient.birthDate", "max": "*"}]),
    )]);
    assert_eq!(e.element, "Patient.birthDate");
    assert!(e.message.contains("above the base maximum 1"), "{e}");
}

#[test]
fn an_element_the_base_does_not_have_is_named() {
    let e = failure(vec![profile(
        "p",
        PATIENT,
        "Patient",
        json!([{"id": "Patient.nickname", "path": "Patient.nickname", "min": 1}]),
    )]);
    assert_eq!(e.element, "Patient.nickname");
    assert!(e.message.contains("no element Patient.nickname"), "{e}");
}

#[test]
fn a_cycle_of_base_definitions_is_reported() {
    let e = failure(vec![
        profile("a", &format!("{BASE}b"), "Patient", json!([])),
        profile("b", &format!("{BASE}a"), "Patient", json!([])),
    ]);
    assert!(e.message.contains("a cycle of definitions"), "{e}");
    assert!(
        e.message.contains(&format!("{BASE}a → {BASE}b → {BASE}a")),
        "{e}"
    );
}

#[test]
fn a_profile_whose_base_is_not_loaded_is_left_out_and_reported() {
    let mut sds = core();
    let p = profile("p", &format!("{BASE}missing"), "Patient", json!([]));
    sds.insert(format!("{BASE}p"), p);
    let report = generate_missing(&mut sds).expect("an incomplete package set is no error");
    let [e] = report.unavailable.as_slice() else {
        panic!("one profile unavailable: {report:?}");
    };
    assert_eq!(e.url, format!("{BASE}p"));
    assert_eq!(e.element, "Patient");
    assert!(e.message.contains("missing is not loaded"), "{e}");
    assert!(!sds.contains_key(&format!("{BASE}p")));
}

#[test]
fn a_second_slice_of_an_unsliced_element_is_reported() {
    // a lone slice names the element itself (as the R4 generator has it); a second is wrong
    let e = failure(vec![profile(
        "p",
        PATIENT,
        "Patient",
        json!([
            {"id": "Patient.identifier:mrn", "path": "Patient.identifier", "sliceName": "mrn", "min": 1},
            {"id": "Patient.identifier:local", "path": "Patient.identifier", "sliceName": "local"}
        ]),
    )]);
    assert_eq!(e.element, "Patient.identifier:local");
    assert!(e.message.contains("which is not sliced"), "{e}");
}

#[test]
fn a_re_slice_without_its_parent_slice_is_reported() {
    let e = failure(vec![profile(
        "p",
        PATIENT,
        "Patient",
        json!([
            {"id": "Patient.identifier", "path": "Patient.identifier",
             "slicing": {"discriminator": [{"type": "value", "path": "system"}], "rules": "open"}},
            {"id": "Patient.identifier:mrn/local", "path": "Patient.identifier", "sliceName": "mrn/local"}
        ]),
    )]);
    assert_eq!(e.element, "Patient.identifier:mrn/local");
    assert!(e.message.contains("parent slice is not defined"), "{e}");
}

#[test]
fn a_type_the_base_does_not_allow_is_reported() {
    let e = failure(vec![profile(
        "p",
        OBSERVATION,
        "Observation",
        json!([{"id": "Observation.subject", "path": "Observation.subject", "type": [{"code": "string"}]}]),
    )]);
    assert_eq!(e.element, "Observation.subject");
    assert!(
        e.message.contains("type string is not one the base allows"),
        "{e}"
    );
}

#[test]
fn constraining_below_a_choice_of_several_types_is_reported() {
    let e = failure(vec![profile(
        "p",
        OBSERVATION,
        "Observation",
        json!([{"id": "Observation.value[x].system", "path": "Observation.value[x].system", "min": 1}]),
    )]);
    assert_eq!(e.element, "Observation.value[x].system");
    assert!(e.message.contains("several types"), "{e}");
}

#[test]
fn slices_step_into_the_data_type_of_the_sliced_element() {
    let sds = generate(vec![profile(
        "p",
        OBSERVATION,
        "Observation",
        json!([
            {"id": "Observation.code.coding", "path": "Observation.code.coding",
             "slicing": {"discriminator": [{"type": "value", "path": "system"}], "rules": "open"}},
            {"id": "Observation.code.coding:loinc", "path": "Observation.code.coding", "sliceName": "loinc", "min": 1, "max": "1"},
            {"id": "Observation.code.coding:loinc.system", "path": "Observation.code.coding.system", "min": 1, "fixedUri": "http://loinc.org"}
        ]),
    )])
    .unwrap();
    let generated = snapshot(&sds, "p");
    let ids: Vec<&str> = generated.iter().filter_map(|e| e["id"].as_str()).collect();
    let at = |id: &str| {
        ids.iter()
            .position(|i| *i == id)
            .unwrap_or_else(|| panic!("no {id}"))
    };
    assert!(at("Observation.code") < at("Observation.code.coding"));
    assert!(at("Observation.code.coding") < at("Observation.code.coding:loinc"));
    assert!(at("Observation.code.coding:loinc") < at("Observation.code.coding:loinc.system"));
    assert!(at("Observation.code.coding:loinc.system") < at("Observation.code.text"));
    let system = element(generated, "Observation.code.coding:loinc.system");
    assert_eq!(system["path"], "Observation.code.coding.system");
    assert_eq!(system["fixedUri"], "http://loinc.org");
    assert_eq!(system["min"], 1);
    let slice = element(generated, "Observation.code.coding:loinc");
    assert_eq!(slice["sliceName"], "loinc");
    assert_eq!(slice["base"]["max"], "*");
    assert!(slice.get("slicing").is_none());
}

#[test]
fn a_type_renamed_path_is_a_type_slice_of_the_choice() {
    let sds = generate(vec![profile(
        "p",
        OBSERVATION,
        "Observation",
        json!([
            {"id": "Observation.valueQuantity", "path": "Observation.valueQuantity", "min": 1},
            {"id": "Observation.valueQuantity.system", "path": "Observation.valueQuantity.system", "fixedUri": "http://unitsofmeasure.org"}
        ]),
    )])
    .unwrap();
    let generated = snapshot(&sds, "p");
    let choice = element(generated, "Observation.value[x]");
    assert_eq!(choice["slicing"]["discriminator"][0]["type"], "type");
    assert_eq!(choice["type"], json!([{"code": "Quantity"}]));
    let slice = element(generated, "Observation.value[x]:valueQuantity");
    assert_eq!(slice["min"], 1);
    let system = element(generated, "Observation.value[x]:valueQuantity.system");
    assert_eq!(system["path"], "Observation.value[x].system");
}

#[test]
fn an_extension_slice_starts_from_the_extension_definition_with_implied_url_slicing() {
    let sds = generate(vec![profile(
        "p",
        PATIENT,
        "Patient",
        json!([{"id": "Patient.extension:birthPlace", "path": "Patient.extension", "sliceName": "birthPlace",
                "type": [{"code": "Extension", "profile": ["http://hl7.org/fhir/StructureDefinition/patient-birthPlace"]}]}]),
    )])
    .unwrap();
    let generated = snapshot(&sds, "p");
    let extension = element(generated, "Patient.extension");
    assert_eq!(extension["slicing"]["discriminator"][0]["path"], "url");
    let slice = element(generated, "Patient.extension:birthPlace");
    // the cardinality stays the base's (patient-birthPlace's root is 0..1), as in HL7's
    // published snapshots; its constraints come from the extension's root
    assert_eq!(slice["max"], "*");
    assert!(slice["constraint"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["key"] == "ext-1")));
    assert_eq!(slice["base"]["path"], "DomainResource.extension");
}

#[test]
fn a_content_reference_is_stepped_into() {
    let sds = generate(vec![profile(
        "p",
        "http://hl7.org/fhir/StructureDefinition/Questionnaire",
        "Questionnaire",
        json!([{"id": "Questionnaire.item.item.linkId", "path": "Questionnaire.item.item.linkId", "maxLength": 10}]),
    )])
    .unwrap();
    let generated = snapshot(&sds, "p");
    assert_eq!(
        element(generated, "Questionnaire.item.item.linkId")["maxLength"],
        10
    );
}

#[test]
fn a_profile_on_a_profile_generates_its_base_first() {
    let sds = generate(vec![
        profile(
            "child",
            &format!("{BASE}parent"),
            "Patient",
            json!([{"id": "Patient.gender", "path": "Patient.gender", "min": 1}]),
        ),
        profile(
            "parent",
            PATIENT,
            "Patient",
            json!([{"id": "Patient.birthDate", "path": "Patient.birthDate", "min": 1}]),
        ),
    ])
    .unwrap();
    let generated = snapshot(&sds, "child");
    assert_eq!(element(generated, "Patient.birthDate")["min"], 1);
    assert_eq!(element(generated, "Patient.gender")["min"], 1);
}
