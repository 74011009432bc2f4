//! The HBPC implementation guide through the engine's validator: the fixtures validate clean,
//! and each profile rule the guide adds is caught with its exact issue code and expression.
//! One validator is shared, loaded as the gateway loads it (R4 core, the guide and its
//! default-profile policy), without an invariant engine.

use fhir_engine::outcome::{Issue, Severity};
use fhir_engine::validation::structure::value_sets::Membership;
use fhir_engine::validation::structure::{Request, StructureValidator};
use serde_json::{json, Value};
use std::sync::OnceLock;

const HBPC: &str = "http://hbpc.example.org/fhir/StructureDefinition/";

fn validator() -> &'static StructureValidator {
    static V: OnceLock<StructureValidator> = OnceLock::new();
    V.get_or_init(|| StructureValidator::load(&super::load_options()).expect("load"))
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

/// The HBPC profile of the resource's type, asked for explicitly: only a referral gets one by
/// default.
fn own(resource: Value) -> Vec<Issue> {
    let profile = match resource["resourceType"].as_str() {
        Some("Task") => "hbpc-referral-task",
        Some("CarePlan") => "hbpc-careplan",
        Some("CareTeam") => "hbpc-careteam",
        Some("Coverage") => "hbpc-coverage",
        _ => return defaulted(resource),
    };
    profiled(resource, &[&format!("{HBPC}{profile}")])
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
    let text = include_str!("../../../fixtures/referral-separate/13-servicerequest-referral.json");
    serde_json::from_str(text).expect("fixture")
}

fn transaction() -> Value {
    serde_json::from_str(include_str!("../../../fixtures/referral-transaction.json"))
        .expect("fixture")
}

fn coverage() -> Value {
    serde_json::from_str(include_str!(
        "../../../fixtures/referral-separate/06-coverage-coverage.json"
    ))
    .expect("fixture")
}

use Severity::{Error, Warning};

/// Every conformance resource compiled from the FSH into `profiles/` is embedded: a profile
/// added in FSH but not named in `HBPC_PROFILES` would be committed yet never loaded.
#[test]
fn every_guide_file_in_profiles_is_embedded() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/profiles");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .expect("profiles/")
        .map(|e| {
            format!(
                "profiles/{}",
                e.expect("entry").file_name().to_string_lossy()
            )
        })
        .filter(|name| name.ends_with(".json"))
        .collect();
    on_disk.sort();
    let mut embedded: Vec<String> = super::HBPC_PROFILES
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    embedded.sort();
    assert_eq!(on_disk, embedded);
}

#[test]
fn fixtures_validate_clean_against_the_hbpc_profiles() {
    assert_clean(&defaulted(referral()));
    assert_clean(&defaulted(transaction()));
    assert_clean(&own(coverage()));
}

#[test]
fn cardinality_at_every_depth() {
    let mut cov = coverage();
    cov["class"][0].as_object_mut().map(|c| c.remove("type"));
    assert_issue(&base(cov), Error, "required", "Coverage.class[0].type");
    let mut cov = coverage();
    cov["payor"] = json!([{"reference": "Organization/a"}, {"reference": "Organization/b"}]);
    assert_issue(&own(cov), Error, "structure", "Coverage.payor");
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
    // the qualifying Condition without clinicalStatus: no reasonReference target profile fits it
    bundle["entry"][6]["resource"]
        .as_object_mut()
        .map(|c| c.remove("clinicalStatus"));
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
fn fixed_and_pattern_values() {
    let mut sr = referral();
    sr["intent"] = json!("plan");
    assert_clean(&base(sr.clone()));
    assert_issue(&defaulted(sr), Error, "value", "ServiceRequest.intent");
    let homebound: Value = serde_json::from_str(include_str!(
        "../../../fixtures/referral-separate/10-observation-homebound.json"
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
        &profiled(sr, &[&format!("{HBPC}hbpc-referral-servicerequest")]),
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
}

#[test]
fn value_set_expansion_handles_filters_and_open_systems() {
    // the engine holds no ICD-10-CM or SNOMED CT: their filters leave the systems open
    let ai = validator()
        .expansion("http://hbpc.example.org/fhir/ValueSet/hbpc-advanced-illness")
        .expect("expanded");
    assert_eq!(
        ai.contains(Some("http://hl7.org/fhir/sid/icd-10-cm"), "C79.51"),
        Membership::Unknown
    );
    let scores = validator()
        .expansion("http://hbpc.example.org/fhir/ValueSet/hbpc-symptom-observation-code")
        .expect("expanded");
    assert_eq!(
        scores.contains(Some("http://loinc.org"), "72514-3"),
        Membership::In
    );
    assert_eq!(
        scores.contains(Some("http://loinc.org"), "8867-4"),
        Membership::NotIn
    );
}

/// The criteria's terminology places codes by the ICD-10-CM hierarchy and the SNOMED CT concepts
/// the sets name; what it cannot place is unknown, never "not in".
#[test]
fn clinical_terminology_places_codes_in_the_guide_value_sets() {
    use crate::domain::eligibility::{ClinicalTerminology, Terminology};
    let tx = ClinicalTerminology::new(std::sync::Arc::new(
        StructureValidator::load(&super::load_options()).expect("load"),
    ));
    let ai = "http://hbpc.example.org/fhir/ValueSet/hbpc-advanced-illness";
    let symptom = "http://hbpc.example.org/fhir/ValueSet/hbpc-symptom";
    let icd = Some("http://hl7.org/fhir/sid/icd-10-cm");
    let sct = Some("http://snomed.info/sct");
    for code in [
        "C34.90", "C25.9", "C79.51", "C7A.00", "C91.10", "I50.22", "I50.84", "I13.2", "J44.9",
        "J96.11", "N18.6", "K72.10", "K74.60", "G12.21", "G20", "G20.A1", "G35", "G30.9", "F03.90",
        "B20", "R54",
    ] {
        assert_eq!(tx.membership(ai, icd, code), Membership::In, "{code}");
    }
    // basal cell carcinoma of skin, in situ and benign neoplasms, hypertension, diabetes: out
    for code in ["C44.91", "D03.9", "D49.9", "I10", "E11.9", "K86.1", "R52"] {
        assert_eq!(tx.membership(ai, icd, code), Membership::NotIn, "{code}");
    }
    for code in ["363346000", "363358000", "49049000", "46177005", "52448006"] {
        assert_eq!(tx.membership(ai, sct, code), Membership::In, "{code}");
    }
    // a SNOMED CT descendant not listed, a local system, no system: cannot be placed
    assert_eq!(tx.membership(ai, sct, "1259409006"), Membership::Unknown);
    assert_eq!(
        tx.membership(ai, Some("http://ehr.example.org/dx"), "C34.90"),
        Membership::Unknown
    );
    assert_eq!(tx.membership(ai, None, "C34.90"), Membership::Unknown);
    for code in [
        "R52", "G89.3", "G89.29", "R06.0", "R06.02", "R11.0", "J18.9",
    ] {
        assert_eq!(tx.membership(symptom, icd, code), Membership::In, "{code}");
    }
    assert_eq!(tx.membership(symptom, icd, "C34.90"), Membership::NotIn);
    assert_eq!(tx.membership(symptom, sct, "267036007"), Membership::In);
    // the referral types, and a core ValueSet through the validator
    assert!(tx.in_value_set(
        "http://hbpc.example.org/fhir/ValueSet/hbpc-referral-type",
        sct,
        "306237005"
    ));
    assert!(!tx.in_value_set(
        "http://hbpc.example.org/fhir/ValueSet/hbpc-referral-type",
        sct,
        "385763009"
    ));
}

#[test]
fn advanced_illness_condition_profile_accepts_category_codes() {
    let condition: Value = serde_json::from_str(include_str!(
        "../../../fixtures/referral-separate/07-condition-metastatic-cancer.json"
    ))
    .expect("fixture");
    let profile = format!("{HBPC}hbpc-advanced-illness-condition");
    assert_clean(&profiled(condition.clone(), &[&profile]));
    let mut c = condition.clone();
    c["code"]["coding"][0]["code"] = json!("G35");
    assert_clean(&profiled(c, &[&profile]));
    let mut c = condition;
    c.as_object_mut().map(|c| c.remove("verificationStatus"));
    assert_issue(
        &profiled(c, &[&profile]),
        Error,
        "required",
        "Condition.verificationStatus",
    );
}

#[test]
fn slicing_by_pattern_value_and_profile() {
    // pattern: the member id slice (v2-0203#MB) is required
    let mut cov = coverage();
    cov["identifier"][0]["type"]["coding"][0]["code"] = json!("MR");
    assert_issue(&own(cov), Error, "required", "Coverage.identifier");
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
    assert!(own(task.clone()).is_empty(), "{:#?}", own(task.clone()));
    let mut t = task.clone();
    t["code"]["coding"][0]["code"] = json!("abort");
    assert_issue(&own(t), Error, "value", "Task.code");
    let mut t = task.clone();
    t["businessStatus"]["coding"][0]["code"] = json!("9.9");
    let issues = own(t);
    assert_issue(
        &issues,
        Warning,
        "code-invalid",
        "Task.businessStatus.coding[0]",
    );
    assert_clean(&issues);
    let mut t = task;
    t["focus"] = json!({"reference": "Patient/p1"});
    assert_issue(&own(t), Error, "structure", "Task.focus.reference");

    let careplan = json!({"resourceType": "CarePlan", "status": "active", "intent": "plan",
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Plan</div>"},
        "category": [{"coding": [{"system": "http://hl7.org/fhir/us/core/CodeSystem/careplan-category", "code": "assess-plan"}]}],
        "subject": {"reference": "Patient/p1"}});
    assert_clean(&own(careplan.clone()));
    let mut cp = careplan.clone();
    cp["text"]["status"] = json!("empty");
    assert_issue(&own(cp), Error, "code-invalid", "CarePlan.text.status");
    let mut cp = careplan;
    cp["category"][0]["coding"][0]["code"] = json!("other");
    assert_issue(&own(cp), Error, "required", "CarePlan.category");

    let careteam = json!({"resourceType": "CareTeam", "status": "active", "subject": {"reference": "Patient/p1"},
        "participant": [{"role": [{"text": "Caregiver"}], "member": {"reference": "RelatedPerson/c1"}}]});
    assert_clean(&own(careteam.clone()));
    let mut ct = careteam;
    ct["participant"][0]
        .as_object_mut()
        .map(|p| p.remove("member"));
    assert_issue(
        &own(ct),
        Error,
        "required",
        "CareTeam.participant[0].member",
    );

    let safety: Value = serde_json::from_str(include_str!(
        "../../../fixtures/referral-separate/11-observation-home-safety.json"
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
        "../../../fixtures/referral-separate/09-observation-pain-score.json"
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
fn only_referrals_get_the_default_referral_profile() {
    // a referral without its requester misses the referral profile
    let mut order = referral();
    order.as_object_mut().map(|o| o.remove("requester"));
    assert!(defaulted(order.clone()).iter().any(Issue::is_error));
    // the same order placed under the referral is not a referral
    let mut ancillary = order.clone();
    ancillary["basedOn"] = json!([{"reference": "ServiceRequest/r1"}]);
    assert_clean(&defaulted(ancillary));
    // nor is an order with another code, nor a Coverage, CarePlan or Task without meta.profile
    let mut hospice = order;
    hospice["code"]["coding"][0]["code"] = json!("385763009");
    assert_clean(&defaulted(hospice));
    let mut cov = coverage();
    cov.as_object_mut().map(|c| c.remove("period"));
    assert_clean(&defaulted(cov));
    // a referral recognised by its category
    let mut by_category = referral();
    by_category["code"] = json!({"text": "Home palliative care"});
    by_category["category"] =
        json!([{"coding": [{"system": "http://snomed.info/sct", "code": "306237005"}]}]);
    by_category.as_object_mut().map(|o| o.remove("requester"));
    assert!(defaulted(by_category).iter().any(Issue::is_error));
}
