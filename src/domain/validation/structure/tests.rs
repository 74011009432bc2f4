//! Negative tests, one per rule kind, each asserting the exact issue code and expression.
//! One validator is shared: the embedded definitions, a few synthetic test profiles, and
//! the fake invariant engine.

use super::definitions::Definitions;
use super::invariants::fake::FakeEngine;
use super::value_sets::Membership;
use super::{Request, StructureValidator};
use crate::domain::fhir::operation_outcome::{Issue, Severity};
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};

const TEST: &str = "http://hbpc.example.org/fhir/StructureDefinition/test-";
const HBPC: &str = "http://hbpc.example.org/fhir/StructureDefinition/";

fn element(id: &str, min: u32, max: &str, extra: Value) -> Value {
    let mut e =
        json!({"id": id, "path": id.split(':').next().unwrap_or(id), "min": min, "max": max});
    let path: String = id
        .split('.')
        .map(|p| p.split(':').next().unwrap_or(p))
        .collect::<Vec<_>>()
        .join(".");
    e["path"] = json!(path);
    if let (Some(e), Some(extra)) = (e.as_object_mut(), extra.as_object()) {
        e.extend(extra.clone());
    }
    e
}

/// Patient profiles with a closed, ordered identifier slicing and an invariant.
fn synthetic() -> Vec<Value> {
    let sliced = |name: &str, rules: &str, ordered: bool, constraint: Value| {
        json!({
            "resourceType": "StructureDefinition", "url": format!("{TEST}{name}"), "id": format!("test-{name}"),
            "type": "Patient", "kind": "resource", "derivation": "constraint",
            "snapshot": {"element": [
                element("Patient", 0, "*", json!({"constraint": constraint})),
                element("Patient.identifier", 0, "*", json!({"base": {"max": "*"}, "type": [{"code": "Identifier"}],
                    "slicing": {"discriminator": [{"type": "value", "path": "system"}], "rules": rules, "ordered": ordered}})),
                element("Patient.identifier:mrn", 0, "1", json!({"sliceName": "mrn", "base": {"max": "*"}, "type": [{"code": "Identifier"}]})),
                element("Patient.identifier:mrn.system", 1, "1", json!({"type": [{"code": "uri"}], "fixedUri": "urn:mrn"})),
                element("Patient.identifier:mrn.value", 1, "1", json!({"type": [{"code": "string"}]})),
                element("Patient.identifier:ssn", 0, "1", json!({"sliceName": "ssn", "base": {"max": "*"}, "type": [{"code": "Identifier"}]})),
                element("Patient.identifier:ssn.system", 1, "1", json!({"type": [{"code": "uri"}], "fixedUri": "urn:ssn"})),
                element("Patient.active", 0, "1", json!({"type": [{"code": "boolean"}]})),
                element("Patient.gender", 0, "1", json!({"type": [{"code": "code"}],
                    "binding": {"strength": "preferred", "valueSet": "http://hbpc.example.org/fhir/ValueSet/hbpc-narrative-status"}})),
            ]}
        })
    };
    vec![
        sliced("closed", "closed", true, json!([])),
        sliced(
            "invariant",
            "open",
            false,
            json!([
                {"key": "tst-1", "severity": "error", "human": "a test patient says whether it is active", "expression": "has(active)"},
                {"key": "tst-2", "severity": "warning", "human": "never holds", "expression": "false"},
                {"key": "tst-3", "severity": "error", "human": "not understood by the fake engine", "expression": "name.exists()"}
            ]),
        ),
    ]
}

fn validator() -> &'static StructureValidator {
    static V: OnceLock<StructureValidator> = OnceLock::new();
    V.get_or_init(|| {
        let mut defs = Definitions::embedded().expect("embedded definitions");
        for sd in synthetic() {
            defs.add(sd, false);
        }
        StructureValidator::compile(defs, Some(Arc::new(FakeEngine))).expect("compile")
    })
}

fn base(resource: Value) -> Vec<Issue> {
    validator().validate_base(&resource)
}

fn profiled(resource: Value, profiles: &[&str]) -> Vec<Issue> {
    let request = Request {
        profiles: profiles.iter().map(|p| p.to_string()).collect(),
        default_profiles: false,
    };
    validator().validate(&resource, &request).all()
}

fn defaulted(resource: Value) -> Vec<Issue> {
    let request = Request {
        profiles: Vec::new(),
        default_profiles: true,
    };
    validator().validate(&resource, &request).all()
}

#[track_caller]
fn assert_issue(issues: &[Issue], severity: Severity, code: &str, expression: &str) {
    assert!(
        issues.iter().any(|i| i.severity == severity
            && i.code.code() == code
            && i.expression.iter().any(|e| e == expression)),
        "expected {severity:?} {code} at {expression}, got {issues:#?}"
    );
}

#[track_caller]
fn assert_clean(issues: &[Issue]) {
    assert!(!issues.iter().any(Issue::is_error), "{issues:#?}");
}

fn referral() -> Value {
    let text =
        include_str!("../../../../fixtures/referral-separate/13-servicerequest-referral.json");
    serde_json::from_str(text).expect("fixture")
}

fn transaction() -> Value {
    serde_json::from_str(include_str!(
        "../../../../fixtures/referral-transaction.json"
    ))
    .expect("fixture")
}

fn coverage() -> Value {
    serde_json::from_str(include_str!(
        "../../../../fixtures/referral-separate/06-coverage-coverage.json"
    ))
    .expect("fixture")
}

use Severity::{Error, Warning};

#[test]
fn fixtures_validate_clean_against_the_hbpc_profiles() {
    assert_clean(&defaulted(referral()));
    assert_clean(&defaulted(transaction()));
    assert_clean(&defaulted(coverage()));
}

#[test]
fn unknown_elements_and_resource_types() {
    let issues = base(json!({"resourceType": "Patient", "birthdate": "1941-03-14"}));
    assert_issue(&issues, Error, "structure", "Patient.birthdate");
    let issues = base(
        json!({"resourceType": "Patient", "contained": [{"resourceType": "Patientt", "id": "x"}]}),
    );
    assert_issue(
        &issues,
        Error,
        "structure",
        "Patient.contained[0].resourceType",
    );
    let issues = base(json!({"resourceType": "Nope"}));
    assert_issue(&issues, Error, "not-supported", "Nope.resourceType");
}

#[test]
fn choice_types() {
    let issues = base(
        json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueFoo": 1}),
    );
    assert_issue(&issues, Error, "structure", "Observation.valueFoo");
    let issues = base(
        json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueBoolean": true, "valueString": "x"}),
    );
    assert_issue(&issues, Error, "structure", "Observation.valueString");
    let ok = base(
        json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueCodeableConcept": {"text": "y"}}),
    );
    assert_clean(&ok);
}

#[test]
fn primitive_formats_and_empty_values() {
    let issues = base(json!({"resourceType": "Patient", "birthDate": "14/03/1941"}));
    assert_issue(&issues, Error, "value", "Patient.birthDate");
    let issues = base(json!({"resourceType": "Patient", "active": "true"}));
    assert_issue(&issues, Error, "value", "Patient.active");
    let issues = base(json!({"resourceType": "Patient", "id": "not valid!"}));
    assert_issue(&issues, Error, "value", "Patient.id");
    let issues = base(json!({"resourceType": "Patient", "gender": ""}));
    assert_issue(&issues, Error, "value", "Patient.gender");
    let issues = base(json!({"resourceType": "Patient", "name": []}));
    assert_issue(&issues, Error, "structure", "Patient.name");
    let issues = base(json!({"resourceType": "Patient", "maritalStatus": {}}));
    assert_issue(&issues, Error, "structure", "Patient.maritalStatus");
}

#[test]
fn primitive_extensions() {
    let ok = base(
        json!({"resourceType": "Patient", "_birthDate": {"extension": [
        {"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "1941-03-14T06:30:00Z"}]}}),
    );
    assert_clean(&ok);
    let issues = base(json!({"resourceType": "Patient", "_birthDate": "x"}));
    assert_issue(&issues, Error, "structure", "Patient.birthDate");
    let issues = base(json!({"resourceType": "Patient", "_birthDate": {"foo": 1}}));
    assert_issue(&issues, Error, "structure", "Patient.birthDate.foo");
    // a null in a repeating primitive needs its `_` twin
    let ok = base(
        json!({"resourceType": "Patient", "name": [{"given": ["A", null], "_given": [null, {"id": "g2"}]}]}),
    );
    assert_clean(&ok);
    let issues = base(json!({"resourceType": "Patient", "name": [{"given": ["A", null]}]}));
    assert_issue(&issues, Error, "structure", "Patient.name[0].given[1]");
}

#[test]
fn cardinality_at_every_depth() {
    let issues = base(
        json!({"resourceType": "ServiceRequest", "intent": "order", "subject": {"reference": "Patient/1"}}),
    );
    assert_issue(&issues, Error, "required", "ServiceRequest.status");
    let mut cov = coverage();
    cov["class"][0].as_object_mut().map(|c| c.remove("type"));
    assert_issue(&base(cov), Error, "required", "Coverage.class[0].type");
    let issues = base(json!({"resourceType": "Patient", "gender": ["female"]}));
    assert_issue(&issues, Error, "structure", "Patient.gender");
    let issues = base(json!({"resourceType": "Patient", "name": {"family": "x"}}));
    assert_issue(&issues, Error, "structure", "Patient.name");
    let mut cov = coverage();
    cov["payor"] = json!([{"reference": "Organization/a"}, {"reference": "Organization/b"}]);
    assert_issue(&defaulted(cov), Error, "structure", "Coverage.payor");
}

#[test]
fn reference_target_types() {
    let mut sr = referral();
    sr["subject"] = json!({"reference": "Practitioner/x"});
    assert_issue(
        &base(sr),
        Error,
        "structure",
        "ServiceRequest.subject.reference",
    );
    let mut sr = referral();
    sr["subject"] = json!({"reference": "Group/x"});
    assert_clean(&base(sr.clone()));
    assert_issue(
        &defaulted(sr),
        Error,
        "structure",
        "ServiceRequest.subject.reference",
    );
}

#[test]
fn reference_target_profiles_inside_a_bundle() {
    let mut bundle = transaction();
    // the qualifying Condition becomes hypertension: no reasonReference target profile fits it
    bundle["entry"][6]["resource"]["code"] =
        json!({"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I10"}]});
    let issues = defaulted(bundle);
    assert!(
        issues.iter().any(|i| i.is_error()
            && i.expression
                .iter()
                .any(|e| e.starts_with("Bundle.entry[12].resource.reasonReference[0]"))),
        "{issues:#?}"
    );
}

#[test]
fn contained_and_local_references() {
    let issues = base(
        json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
        "subject": {"reference": "#p1"}}),
    );
    assert_issue(&issues, Error, "not-found", "Observation.subject.reference");
    let ok = base(
        json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
        "contained": [{"resourceType": "Patient", "id": "p1"}], "subject": {"reference": "#p1"}}),
    );
    assert_clean(&ok);
}

#[test]
fn fixed_and_pattern_values() {
    let mut sr = referral();
    sr["intent"] = json!("plan");
    assert_clean(&base(sr.clone()));
    assert_issue(&defaulted(sr), Error, "value", "ServiceRequest.intent");
    let homebound: Value = serde_json::from_str(include_str!(
        "../../../../fixtures/referral-separate/10-observation-homebound.json"
    ))
    .expect("fixture");
    let mut obs = homebound.clone();
    obs["code"]["coding"][0]["code"] = json!("160685001");
    assert_issue(
        &profiled(obs, &[&format!("{HBPC}hbpc-homebound-observation")]),
        Error,
        "value",
        "Observation.code",
    );
    assert_clean(&profiled(
        homebound,
        &[&format!("{HBPC}hbpc-homebound-observation")],
    ));
}

#[test]
fn bindings_by_strength() {
    let mut sr = referral();
    sr["status"] = json!("bogus");
    assert_issue(&base(sr), Error, "code-invalid", "ServiceRequest.status");
    let mut sr = referral();
    sr["code"]["coding"][0]["code"] = json!("385763009");
    assert_issue(
        &defaulted(sr),
        Error,
        "code-invalid",
        "ServiceRequest.code.coding[0]",
    );
    // extensible: a warning, not an error
    assert_issue(
        &base(coverage()),
        Warning,
        "code-invalid",
        "Coverage.identifier[0].type.coding[0]",
    );
    // preferred: information only
    let issues = profiled(
        json!({"resourceType": "Patient", "gender": "female"}),
        &[&format!("{TEST}closed")],
    );
    assert_issue(
        &issues,
        Severity::Information,
        "code-invalid",
        "Patient.gender",
    );
    assert_clean(&issues);
    // example bindings and unknown systems (SNOMED in an open value set) never fail
    let ok = base(
        json!({"resourceType": "Condition", "subject": {"reference": "Patient/1"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "1234"}]}}),
    );
    assert_clean(&ok);
}

#[test]
fn value_set_expansion_handles_filters_and_open_systems() {
    let v = validator();
    // administrative-gender: an enumerated HL7 code system we hold
    let gender = v
        .expansion("http://hl7.org/fhir/ValueSet/administrative-gender")
        .expect("expanded");
    assert_eq!(
        gender.contains(Some("http://hl7.org/fhir/administrative-gender"), "female"),
        Membership::In
    );
    assert_eq!(
        gender.contains(Some("http://hl7.org/fhir/administrative-gender"), "woman"),
        Membership::NotIn
    );
    // HBPC advanced illness: billable codes in, category heads out
    let ai = v
        .expansion("http://hbpc.example.org/fhir/ValueSet/hbpc-advanced-illness")
        .expect("expanded");
    assert_eq!(
        ai.contains(Some("http://hl7.org/fhir/sid/icd-10-cm"), "C79.51"),
        Membership::In
    );
    assert_eq!(
        ai.contains(Some("http://hl7.org/fhir/sid/icd-10-cm"), "G20"),
        Membership::NotIn
    );
}

#[test]
fn advanced_illness_value_set_rejects_non_billable_categories() {
    let condition: Value = serde_json::from_str(include_str!(
        "../../../../fixtures/referral-separate/07-condition-metastatic-cancer.json"
    ))
    .expect("fixture");
    let profile = format!("{HBPC}hbpc-advanced-illness-condition");
    assert_clean(&profiled(condition.clone(), &[&profile]));
    let mut c = condition;
    c["code"]["coding"][0]["code"] = json!("G35");
    assert_issue(
        &profiled(c, &[&profile]),
        Error,
        "code-invalid",
        "Condition.code.coding[0]",
    );
}

#[test]
fn slicing_by_pattern_value_and_profile() {
    // pattern: the member id slice (v2-0203#MB) is required
    let mut cov = coverage();
    cov["identifier"][0]["type"]["coding"][0]["code"] = json!("MR");
    assert_issue(&defaulted(cov), Error, "required", "Coverage.identifier");
    // value, closed, ordered
    let closed = format!("{TEST}closed");
    let p = json!({"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "1"}, {"system": "urn:other", "value": "2"}]});
    assert_issue(
        &profiled(p, &[&closed]),
        Error,
        "structure",
        "Patient.identifier[1]",
    );
    let p = json!({"resourceType": "Patient", "identifier": [{"system": "urn:ssn", "value": "2"}, {"system": "urn:mrn", "value": "1"}]});
    assert_issue(
        &profiled(p, &[&closed]),
        Error,
        "structure",
        "Patient.identifier[1]",
    );
    let p = json!({"resourceType": "Patient", "identifier": [{"system": "urn:mrn"}]});
    assert_issue(
        &profiled(p, &[&closed]),
        Error,
        "required",
        "Patient.identifier[0].value",
    );
    let p = json!({"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "1"}, {"system": "urn:mrn", "value": "2"}]});
    assert_issue(
        &profiled(p, &[&closed]),
        Error,
        "structure",
        "Patient.identifier",
    );
    // profile (resolve()): without the targets the slices stay undecided and nothing fails
    let mut sr = referral();
    sr["supportingInfo"] = json!([{"reference": "Observation/a"}, {"reference": "Observation/b"}, {"reference": "Observation/c"}]);
    let issues = defaulted(sr);
    assert!(
        !issues.iter().any(|i| i.is_error()
            && i.expression
                .iter()
                .any(|e| e.starts_with("ServiceRequest.supportingInfo"))),
        "{issues:#?}"
    );
}

#[test]
fn extensions_by_their_definitions() {
    let issues = base(json!({"resourceType": "Patient", "extension": [
        {"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace", "valueString": "Oakland"}]}));
    assert_issue(
        &issues,
        Error,
        "structure",
        "Patient.extension[0].valueString",
    );
    let issues = base(
        json!({"resourceType": "Patient", "extension": [{"url": "http://acme.test/x", "valueString": "a"}]}),
    );
    assert_issue(&issues, Warning, "extension", "Patient.extension[0]");
    assert_clean(&issues);
    let issues = base(
        json!({"resourceType": "Patient", "modifierExtension": [{"url": "http://acme.test/x", "valueString": "a"}]}),
    );
    assert_issue(&issues, Error, "extension", "Patient.modifierExtension[0]");
    let issues = base(json!({"resourceType": "Patient", "extension": [{"valueString": "a"}]}));
    assert_issue(&issues, Error, "required", "Patient.extension[0].url");
}

#[test]
fn meta_profile_is_applied_or_warned_about() {
    let mut sr = referral();
    sr["meta"] = json!({"profile": ["http://acme.test/StructureDefinition/unknown"]});
    let issues = defaulted(sr);
    assert_issue(
        &issues,
        Warning,
        "not-supported",
        "ServiceRequest.meta.profile[0]",
    );
    let mut cov = coverage();
    cov.as_object_mut().map(|c| c.remove("period"));
    cov["meta"] = json!({"profile": [format!("{HBPC}hbpc-coverage")]});
    let request = Request::default();
    let outcome = validator().validate(&cov, &request);
    assert!(outcome.base.iter().all(|i| !i.is_error()));
    assert_issue(&outcome.profile, Error, "required", "Coverage.period");
}

#[test]
fn bundle_rules() {
    let mut bundle = transaction();
    bundle["entry"][1]["fullUrl"] = bundle["entry"][0]["fullUrl"].clone();
    assert_issue(&base(bundle), Error, "duplicate", "Bundle.entry[1].fullUrl");
    let mut bundle = transaction();
    bundle["entry"][12]["resource"]["subject"]["reference"] =
        json!("urn:uuid:00000000-0000-4000-8000-000000000000");
    assert_issue(
        &base(bundle),
        Error,
        "not-found",
        "Bundle.entry[12].resource.subject.reference",
    );
    let message = json!({"resourceType": "Bundle", "type": "message", "timestamp": "2026-11-20T09:16:02-08:00",
        "entry": [{"fullUrl": "urn:uuid:0a6f7c1e-2a43-4a8b-9d0e-1b2c3d4e5f60", "resource": {"resourceType": "Patient"}}]});
    assert_issue(&base(message), Error, "invariant", "Bundle.entry[0]");
}

#[test]
fn invariants_run_through_the_pluggable_engine() {
    let profile = format!("{TEST}invariant");
    let p = json!({"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "1"}]});
    let issues = profiled(p, &[&profile]);
    assert_issue(&issues, Error, "invariant", "Patient");
    assert_issue(&issues, Warning, "invariant", "Patient");
    assert!(
        issues.iter().all(|i| !i.text.contains("tst-3")),
        "uncompiled invariants are skipped"
    );
    let p = json!({"resourceType": "Patient", "active": true});
    let issues = profiled(p, &[&profile]);
    assert!(
        !issues.iter().any(|i| i.text.contains("tst-1")),
        "{issues:#?}"
    );
    let stats = validator().invariant_stats();
    assert!(
        stats.engine && stats.compiled >= 2 && stats.not_compiled > 100,
        "{stats:?}"
    );
}

#[test]
fn without_an_engine_invariants_are_skipped() {
    let mut defs = Definitions::embedded().expect("embedded");
    for sd in synthetic() {
        defs.add(sd, false);
    }
    let v = StructureValidator::compile(defs, None).expect("compile");
    let request = Request {
        profiles: vec![format!("{TEST}invariant")],
        default_profiles: false,
    };
    let outcome = v.validate(&json!({"resourceType": "Patient"}), &request);
    assert!(outcome.all().is_empty(), "{:?}", outcome.all());
    assert!(!v.invariant_stats().engine);
}

#[test]
fn one_issue_per_wrong_element() {
    let mut sr = referral();
    sr["priority"] = json!("urgent ");
    let issues = defaulted(sr);
    let at: Vec<_> = issues
        .iter()
        .filter(|i| i.expression.iter().any(|e| e == "ServiceRequest.priority"))
        .collect();
    assert_eq!(at.len(), 1, "{issues:#?}");
}

#[test]
fn bad_input_never_panics() {
    for v in [
        json!(null),
        json!([]),
        json!({"resourceType": 5}),
        json!({"resourceType": "Bundle", "entry": "x"}),
        json!({"resourceType": "Bundle", "entry": [{"resource": 5}]}),
        json!({"resourceType": "Patient", "contained": [5]}),
    ] {
        let _ = defaulted(v);
    }
}

/// The output profiles (CarePlan, CareTeam, Task) and the other inputs, one good and one
/// broken resource each.
#[test]
fn output_and_observation_profiles() {
    let task = json!({"resourceType": "Task", "status": "received", "intent": "order",
        "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]},
        "focus": {"reference": "ServiceRequest/r1"}, "for": {"reference": "Patient/p1"},
        "authoredOn": "2026-11-20T09:16:02-08:00", "requester": {"reference": "PractitionerRole/pr1"},
        "owner": {"reference": "Organization/hbpc"},
        "businessStatus": {"coding": [{"system": "http://hl7.org/fhir/us/bser/CodeSystem/TaskBusinessStatusCS", "code": "3.0"}]}});
    assert!(
        defaulted(task.clone()).is_empty(),
        "{:#?}",
        defaulted(task.clone())
    );
    let mut t = task.clone();
    t["code"]["coding"][0]["code"] = json!("abort");
    assert_issue(&defaulted(t), Error, "value", "Task.code");
    let mut t = task.clone();
    t["businessStatus"]["coding"][0]["code"] = json!("9.9");
    let issues = defaulted(t);
    assert_issue(
        &issues,
        Warning,
        "code-invalid",
        "Task.businessStatus.coding[0]",
    );
    assert_clean(&issues);
    let mut t = task;
    t["focus"] = json!({"reference": "Patient/p1"});
    assert_issue(&defaulted(t), Error, "structure", "Task.focus.reference");

    let careplan = json!({"resourceType": "CarePlan", "status": "active", "intent": "plan",
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Plan</div>"},
        "category": [{"coding": [{"system": "http://hl7.org/fhir/us/core/CodeSystem/careplan-category", "code": "assess-plan"}]}],
        "subject": {"reference": "Patient/p1"}});
    assert_clean(&defaulted(careplan.clone()));
    let mut cp = careplan.clone();
    cp["text"]["status"] = json!("empty");
    assert_issue(
        &defaulted(cp),
        Error,
        "code-invalid",
        "CarePlan.text.status",
    );
    let mut cp = careplan;
    cp["category"][0]["coding"][0]["code"] = json!("other");
    assert_issue(&defaulted(cp), Error, "required", "CarePlan.category");

    let careteam = json!({"resourceType": "CareTeam", "status": "active", "subject": {"reference": "Patient/p1"},
        "participant": [{"role": [{"text": "Caregiver"}], "member": {"reference": "RelatedPerson/c1"}}]});
    assert_clean(&defaulted(careteam.clone()));
    let mut ct = careteam;
    ct["participant"][0]
        .as_object_mut()
        .map(|p| p.remove("member"));
    assert_issue(
        &defaulted(ct),
        Error,
        "required",
        "CareTeam.participant[0].member",
    );

    let safety: Value = serde_json::from_str(include_str!(
        "../../../../fixtures/referral-separate/11-observation-home-safety.json"
    ))
    .expect("fixture");
    let profile = format!("{HBPC}hbpc-home-safety-observation");
    assert_clean(&profiled(safety.clone(), &[&profile]));
    let mut s = safety;
    s.as_object_mut().map(|o| o.remove("valueCodeableConcept"));
    s["valueBoolean"] = json!(true);
    let issues = profiled(s, &[&profile]);
    assert_issue(&issues, Error, "structure", "Observation.valueBoolean");
    assert_eq!(
        issues.iter().filter(|i| i.is_error()).count(),
        1,
        "{issues:#?}"
    );

    let pain: Value = serde_json::from_str(include_str!(
        "../../../../fixtures/referral-separate/09-observation-pain-score.json"
    ))
    .expect("fixture");
    let profile = format!("{HBPC}hbpc-symptom-observation");
    assert_clean(&profiled(pain.clone(), &[&profile]));
    let mut p = pain;
    p["code"]["coding"][0]["code"] = json!("8867-4");
    assert_issue(
        &profiled(p, &[&profile]),
        Error,
        "code-invalid",
        "Observation.code.coding[0]",
    );
}

#[test]
fn the_deepest_accepted_input_fits_a_worker_stack() {
    // limits.max_json_depth allows up to 120 levels; nest extensions to about that depth
    let mut ext = json!({"url": "http://acme.test/x", "valueString": "leaf"});
    for _ in 0..58 {
        ext = json!({"url": "http://acme.test/x", "extension": [ext]});
    }
    let patient = json!({"resourceType": "Patient", "extension": [ext]});
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || defaulted(patient).len())
        .expect("thread");
    assert!(handle.join().expect("no stack overflow") > 0);
}

#[test]
fn referral_bundle_profile() {
    let profile = format!("{HBPC}hbpc-referral-bundle");
    assert_clean(&profiled(transaction(), &[&profile]));
    let mut batch = transaction();
    batch["type"] = json!("batch");
    assert_issue(
        &profiled(batch, &[&profile]),
        Error,
        "code-invalid",
        "Bundle.type",
    );
    let mut no_full_url = transaction();
    no_full_url["entry"][12]
        .as_object_mut()
        .map(|e| e.remove("fullUrl"));
    assert_issue(
        &profiled(no_full_url, &[&profile]),
        Error,
        "required",
        "Bundle.entry[12].fullUrl",
    );
}

#[test]
fn an_invariant_answer_for_absent_members_is_not_reused_when_they_are_present() {
    let engine = super::fhirpath_invariants::FhirPathInvariants::new();
    let defs = Definitions::embedded().expect("embedded definitions");
    let v = StructureValidator::compile(defs, Some(Arc::new(engine))).expect("compile");
    let obs = |extra: Value| {
        let mut o = json!({"resourceType": "Observation", "status": "final",
                           "code": {"text": "pain"}});
        if let (Some(o), Some(extra)) = (o.as_object_mut(), extra.as_object()) {
            o.extend(extra.clone());
        }
        v.validate_base(&o)
    };
    let obs_6 = |issues: &[Issue]| issues.iter().any(|i| i.text.starts_with("obs-6"));
    // neither value nor dataAbsentReason: obs-6 holds (the cached answer)
    assert!(!obs_6(&obs(json!({}))));
    // both: obs-6 is broken, whatever was cached
    let both = obs(json!({"valueString": "x", "dataAbsentReason": {"text": "asked"}}));
    assert!(obs_6(&both), "{both:#?}");
    assert_issue(&both, Error, "invariant", "Observation");
    assert!(!obs_6(&obs(json!({}))));
    // a primitive's `_value` extension counts as the member
    let ext = obs(
        json!({"_valueString": {"extension": [{"url": "http://example.org/x", "valueCode": "y"}]},
                         "dataAbsentReason": {"text": "asked"}}),
    );
    assert!(obs_6(&ext), "{ext:#?}");
}
