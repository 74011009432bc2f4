//! R4 core rules that the HL7 reference validator reports and that live in FHIRPath invariants
//! (ext-1, ele-1, que-2) or in required bindings (SearchParameter and CapabilityStatement
//! resource types, search parameter types), run with the FHIRPath engine intake uses. Each case
//! is written here in our own words after a class of case in the HL7 validator's test material.

use fhir_engine::outcome::Issue;
use fhir_engine::validation::structure::fhirpath_invariants::FhirPathInvariants;
use fhir_engine::validation::structure::{LoadOptions, StructureValidator};
use serde_json::{json, Value};
use std::sync::OnceLock;

fn validator() -> &'static StructureValidator {
    static V: OnceLock<StructureValidator> = OnceLock::new();
    V.get_or_init(|| {
        StructureValidator::load(&LoadOptions {
            invariants: Some(std::sync::Arc::new(FhirPathInvariants::new())),
            ..LoadOptions::default()
        })
        .expect("definitions load")
    })
}

fn errors(resource: Value) -> Vec<Issue> {
    validator()
        .validate_base(&resource)
        .into_iter()
        .filter(Issue::is_error)
        .collect()
}

#[track_caller]
fn assert_error_at(resource: Value, expression: &str, says: &str) {
    let errors = errors(resource);
    assert!(
        errors
            .iter()
            .any(|i| i.expression.iter().any(|e| e == expression) && i.text.contains(says)),
        "expected an error at {expression} saying '{says}', got {errors:#?}"
    );
}

#[track_caller]
fn assert_valid(resource: Value) {
    let errors = errors(resource);
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn a_primitives_extension_has_a_value_or_extensions_not_both() {
    let list = |ext: Value| {
        json!({"resourceType": "List", "status": "current", "mode": "working",
               "_status": {"extension": [ext]}})
    };
    assert_valid(list(
        json!({"url": "http://example.org/fhir/StructureDefinition/note", "valueString": "x"}),
    ));
    assert_error_at(
        list(
            json!({"url": "http://example.org/fhir/StructureDefinition/note", "valueString": "x",
            "extension": [{"url": "http://example.org/fhir/StructureDefinition/part", "valueString": "y"}]}),
        ),
        "List.status.extension[0]",
        "ext-1",
    );
}

#[test]
fn every_element_has_a_value_or_children() {
    assert_error_at(
        json!({"resourceType": "Patient", "_birthDate": {"id": "b1"}}),
        "Patient.birthDate",
        "ele-1",
    );
}

#[test]
fn questionnaire_link_ids_are_unique() {
    let questionnaire = |second: &str| {
        json!({"resourceType": "Questionnaire", "status": "active", "item": [
            {"linkId": "1", "type": "group", "item": [{"linkId": second, "type": "string"}]}]})
    };
    assert_valid(questionnaire("1.1"));
    assert_error_at(questionnaire("1"), "Questionnaire", "que-2");
}

#[test]
fn search_parameters_and_capability_statements_name_real_types() {
    let parameter = |base: &str, kind: &str| {
        json!({"resourceType": "SearchParameter", "url": "http://example.org/fhir/SearchParameter/p",
            "name": "p", "status": "active", "description": "a parameter", "code": "p",
            "base": [base], "type": kind, "expression": "Patient.name"})
    };
    assert_valid(parameter("Patient", "string"));
    assert_error_at(
        parameter("Patiant", "string"),
        "SearchParameter.base[0]",
        "Patiant",
    );
    assert_error_at(parameter("Patient", "text"), "SearchParameter.type", "text");
    let capability = |kind: &str, param: &str| {
        json!({"resourceType": "CapabilityStatement", "status": "active", "date": "2026-11-20",
            "kind": "instance", "fhirVersion": "4.0.1", "format": ["json"],
            "implementation": {"description": "a server"},
            "rest": [{"mode": "server", "resource": [{"type": kind,
                "searchParam": [{"name": "name", "type": param}]}]}]})
    };
    assert_valid(capability("Patient", "string"));
    assert_error_at(
        capability("Patients", "string"),
        "CapabilityStatement.rest[0].resource[0].type",
        "Patients",
    );
    assert_error_at(
        capability("Patient", "strings"),
        "CapabilityStatement.rest[0].resource[0].searchParam[0].type",
        "strings",
    );
}
