//! Negative tests, one per rule kind, each asserting the exact issue code and expression.
//! One validator is shared: the R4 core definitions, a few synthetic test profiles, the fake
//! invariant engine and a default-profile policy of its own. The tests of the gateway's
//! implementation guide live with it (`src/domain/guide/tests.rs` in the gateway).

use super::definitions::Definitions;
use super::invariants::fake::FakeEngine;
use super::value_sets::Membership;
use super::{DefaultProfiles, Request, StructureValidator};
use crate::outcome::{Issue, Severity};
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};

const TEST: &str = "http://example.org/fhir/StructureDefinition/test-";

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
                    "binding": {"strength": "preferred", "valueSet": "http://hl7.org/fhir/ValueSet/narrative-status"}})),
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

/// The test policy: a Patient gets the closed test profile, unless it is inactive.
struct TestDefaults(String);

impl DefaultProfiles for TestDefaults {
    fn default_profile(&self, resource_type: &str, resource: &Value) -> Option<&str> {
        (resource_type == "Patient" && resource.get("active") != Some(&json!(false)))
            .then_some(self.0.as_str())
    }
}

fn validator() -> &'static StructureValidator {
    static V: OnceLock<StructureValidator> = OnceLock::new();
    V.get_or_init(|| {
        let mut defs = Definitions::r4_core().expect("R4 core definitions");
        for sd in synthetic() {
            defs.add(sd, false);
        }
        let mut v = StructureValidator::compile(defs, Some(Arc::new(FakeEngine))).expect("compile");
        v.defaults = Some(Arc::new(TestDefaults(format!("{TEST}closed"))));
        v
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

use Severity::{Error, Warning};

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

/// R4 limits `string` (and the types written as strings) to 1 MB, not `base64Binary` or `xhtml`.
#[test]
fn strings_over_one_megabyte_are_too_long_unless_base64_or_xhtml() {
    let over = super::primitives::MAX_STRING_BYTES + 1;
    let issues = base(json!({"resourceType": "Patient", "name": [{"family": "x".repeat(over)}]}));
    assert_issue(&issues, Error, "too-long", "Patient.name[0].family");
    let data = "QUFB".repeat(over / 4 + 1);
    let div = format!(
        "<div xmlns=\"http://www.w3.org/1999/xhtml\">{}</div>",
        "x".repeat(over)
    );
    assert_clean(&base(
        json!({"resourceType": "DocumentReference", "status": "current",
        "text": {"status": "generated", "div": div},
        "content": [{"attachment": {"contentType": "text/plain", "data": data}}]}),
    ));
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
    // a null in a repeating primitive needs its `_` twin, with extensions (ele-1: an id alone
    // is neither a value nor children)
    let ok = base(
        json!({"resourceType": "Patient", "name": [{"given": ["A", null], "_given": [null, {"id": "g2",
            "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}]}]}]}),
    );
    assert_clean(&ok);
    let issues = base(
        json!({"resourceType": "Patient", "name": [{"given": ["A", null], "_given": [null, {"id": "g2"}]}]}),
    );
    assert_issue(&issues, Error, "invariant", "Patient.name[0].given[1]");
    let issues = base(json!({"resourceType": "Patient", "name": [{"given": ["A", null]}]}));
    assert_issue(&issues, Error, "structure", "Patient.name[0].given[1]");
}

#[test]
fn cardinality_at_every_depth() {
    let issues = base(
        json!({"resourceType": "ServiceRequest", "intent": "order", "subject": {"reference": "Patient/1"}}),
    );
    assert_issue(&issues, Error, "required", "ServiceRequest.status");
    let issues = base(json!({"resourceType": "Coverage", "status": "active",
        "beneficiary": {"reference": "Patient/1"}, "payor": [{"reference": "Organization/1"}],
        "class": [{"value": "gold"}]}));
    assert_issue(&issues, Error, "required", "Coverage.class[0].type");
    let issues = base(json!({"resourceType": "Patient", "gender": ["female"]}));
    assert_issue(&issues, Error, "structure", "Patient.gender");
    let issues = base(json!({"resourceType": "Patient", "name": {"family": "x"}}));
    assert_issue(&issues, Error, "structure", "Patient.name");
}

#[test]
fn bindings_by_strength() {
    let issues = base(
        json!({"resourceType": "ServiceRequest", "status": "bogus", "intent": "order", "subject": {"reference": "Patient/1"}}),
    );
    assert_issue(&issues, Error, "code-invalid", "ServiceRequest.status");
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
}

#[test]
fn slicing_by_pattern_value_and_profile() {
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
}

#[test]
fn default_profiles_come_from_the_callers_policy() {
    let p =
        json!({"resourceType": "Patient", "identifier": [{"system": "urn:other", "value": "2"}]});
    // the policy's profile applies when asked for and none is declared
    assert_issue(
        &defaulted(p.clone()),
        Error,
        "structure",
        "Patient.identifier[0]",
    );
    assert_clean(&profiled(p.clone(), &[]));
    // the policy decides per resource
    let mut inactive = p.clone();
    inactive["active"] = json!(false);
    assert_clean(&defaulted(inactive));
    // a declared profile replaces the default
    let mut declared = p;
    declared["meta"] = json!({"profile": [format!("{TEST}invariant")]});
    assert!(!defaulted(declared)
        .iter()
        .any(|i| i.expression.iter().any(|e| e == "Patient.identifier[0]")));
    // types the policy has no profile for get none
    assert_clean(&defaulted(
        json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}}),
    ));
}

#[test]
fn bundle_rules() {
    let transaction = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111",
         "resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": "urn:uuid:22222222-2222-4222-8222-222222222222",
         "resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                      "subject": {"reference": "urn:uuid:11111111-1111-4111-8111-111111111111"}},
         "request": {"method": "POST", "url": "Observation"}}]});
    assert_clean(&base(transaction.clone()));
    let mut bundle = transaction.clone();
    bundle["entry"][1]["fullUrl"] = bundle["entry"][0]["fullUrl"].clone();
    assert_issue(&base(bundle), Error, "duplicate", "Bundle.entry[1].fullUrl");
    let mut bundle = transaction;
    bundle["entry"][1]["resource"]["subject"]["reference"] =
        json!("urn:uuid:00000000-0000-4000-8000-000000000000");
    assert_issue(
        &base(bundle),
        Error,
        "not-found",
        "Bundle.entry[1].resource.subject.reference",
    );
    let message = json!({"resourceType": "Bundle", "type": "message", "timestamp": "2026-11-20T09:16:02-08:00",
        "entry": [{"fullUrl": "urn:uuid:0a6f7c1e-2a43-4a8b-9d0e-1b2c3d4e5f60", "resource": {"resourceType": "Patient"}}]});
    assert_issue(&base(message), Error, "invariant", "Bundle.entry[0]");
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
    let mut defs = Definitions::r4_core().expect("R4 core");
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
fn an_invariant_answer_for_absent_members_is_not_reused_when_they_are_present() {
    let engine = super::fhirpath_invariants::FhirPathInvariants::new();
    let defs = Definitions::r4_core().expect("R4 core definitions");
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

#[test]
fn dates_and_times_are_calendar_valid() {
    let patient = |birth: &str| json!({"resourceType": "Patient", "birthDate": birth});
    assert_clean(&base(patient("2024-02-29")));
    for bad in ["2026-02-30", "2025-02-29", "2026-13-01", "2026-04-31"] {
        assert_issue(&base(patient(bad)), Error, "value", "Patient.birthDate");
    }
    let observation = |when: &str| {
        json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
               "effectiveDateTime": when})
    };
    assert_clean(&base(observation("2026-11-20T23:59:60Z")));
    for bad in [
        "2026-11-20T24:00:00Z",
        "2026-11-20T09:15:00+14:30",
        "2026-11-20T09:15:00",
        "2026-11-20T09:15Z",
    ] {
        assert_issue(
            &base(observation(bad)),
            Error,
            "value",
            "Observation.effectiveDateTime",
        );
    }
}

#[test]
fn attachment_size_and_hash_describe_the_data() {
    // "the attachment content": 22 bytes
    let media = |size: Value, hash: &str| {
        json!({"resourceType": "Media", "status": "completed", "content": {
            "contentType": "text/plain", "data": "dGhlIGF0dGFj\r\naG1lbnQgY29udGVudA==",
            "size": size, "hash": hash}})
    };
    assert_clean(&base(media(json!(22), "4bbODytEV/HI2NNJUm4Lk/R8Y9g=")));
    assert_issue(
        &base(media(json!(100), "4bbODytEV/HI2NNJUm4Lk/R8Y9g=")),
        Error,
        "value",
        "Media.content",
    );
    assert_issue(
        &base(media(json!(22), "LEZwlbCg5nvlH2vQD4DLIRiEbdw=")),
        Error,
        "value",
        "Media.content",
    );
    // malformed base64 is the primitive's error, not a size mismatch on top
    let mut bad = media(json!(22), "4bbODytEV/HI2NNJUm4Lk/R8Y9g=");
    bad["content"]["data"] = json!("%%%2@()()");
    let issues = base(bad);
    assert_issue(&issues, Error, "value", "Media.content.data");
    assert!(!issues
        .iter()
        .any(|i| i.expression == ["Media.content".to_string()]));
}

#[test]
fn bundle_full_urls_name_their_resources() {
    let collection = |full_url: &str, id: Value| {
        let mut patient = json!({"resourceType": "Patient"});
        if !id.is_null() {
            patient["id"] = id;
        }
        json!({"resourceType": "Bundle", "type": "collection",
               "entry": [{"fullUrl": full_url, "resource": patient}]})
    };
    assert_clean(&base(collection(
        "http://ehr.example.org/fhir/Patient/p1",
        json!("p1"),
    )));
    assert_clean(&base(collection(
        "urn:uuid:5b1f0c4e-8a4e-4f0e-9a31-1c3f0d2b7e55",
        json!("p1"),
    )));
    assert_issue(
        &base(collection(
            "http://ehr.example.org/fhir/Patient/p2",
            json!("p1"),
        )),
        Error,
        "invalid",
        "Bundle.entry[0].fullUrl",
    );
    assert_issue(
        &base(collection(
            "http://ehr.example.org/fhir/Observation/p1",
            json!("p1"),
        )),
        Error,
        "invalid",
        "Bundle.entry[0].fullUrl",
    );
    assert_issue(
        &base(collection(
            "http://ehr.example.org/fhir/Patient/p1",
            Value::Null,
        )),
        Error,
        "invalid",
        "Bundle.entry[0].resource",
    );
    assert_issue(
        &base(collection("Patient/p1", json!("p1"))),
        Error,
        "invalid",
        "Bundle.entry[0].fullUrl",
    );
    // a transaction's POST and conditional PUT get their ids from the server
    let transaction = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "http://ehr.example.org/fhir/Patient/p1", "resource": {"resourceType": "Patient"},
         "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": "http://ehr.example.org/fhir/Patient/p2", "resource": {"resourceType": "Patient"},
         "request": {"method": "PUT", "url": "Patient?identifier=urn:mrn|2"}},
        {"fullUrl": "http://ehr.example.org/fhir/Patient/p3", "resource": {"resourceType": "Patient"},
         "request": {"method": "PUT", "url": "Patient/p3"}}]});
    let issues = base(transaction);
    assert_issue(&issues, Error, "invalid", "Bundle.entry[2].resource");
    assert!(
        !issues
            .iter()
            .any(|i| i.expression[0].starts_with("Bundle.entry[0]")
                || i.expression[0].starts_with("Bundle.entry[1]")),
        "{issues:#?}"
    );
    // without fullUrls, one resource appears once
    let twice = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1"}},
        {"resource": {"resourceType": "Patient", "id": "p1"}}]});
    assert_issue(
        &base(twice),
        Error,
        "duplicate",
        "Bundle.entry[1].resource.id",
    );
}

#[test]
fn documents_and_messages_contain_what_they_refer_to() {
    let document = json!({"resourceType": "Bundle", "type": "document",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"},
        "timestamp": "2026-11-20T09:16:02-08:00", "entry": [
        {"fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111", "resource": {
            "resourceType": "Composition", "status": "final", "type": {"text": "summary"},
            "date": "2026-11-20", "title": "Summary",
            "subject": {"reference": "urn:uuid:22222222-2222-4222-8222-222222222222"},
            "author": [{"reference": "urn:uuid:33333333-3333-4333-8333-333333333333"}],
            "section": [{"title": "s", "entry": [{"reference": "urn:uuid:44444444-4444-4444-8444-444444444444"}]}]}},
        {"fullUrl": "urn:uuid:22222222-2222-4222-8222-222222222222", "resource": {"resourceType": "Patient"}},
        {"fullUrl": "urn:uuid:33333333-3333-4333-8333-333333333333", "resource": {"resourceType": "Practitioner"}},
        {"fullUrl": "urn:uuid:44444444-4444-4444-8444-444444444444", "resource": {
            "resourceType": "Observation", "status": "final", "code": {"text": "x"}}}]});
    assert_clean(&base(document.clone()));
    // a section entry outside the Bundle
    let mut outside = document.clone();
    outside["entry"][0]["resource"]["section"][0]["entry"][0]["reference"] =
        json!("Observation/elsewhere");
    let issues = base(outside);
    assert_issue(
        &issues,
        Error,
        "not-found",
        "Bundle.entry[0].resource.section[0].entry[0].reference",
    );
    // … which leaves the Observation entry unreached
    assert_issue(&issues, Error, "invalid", "Bundle.entry[3]");
    // a Provenance pointing back at the Composition is fine
    let mut provenance = document.clone();
    provenance["entry"].as_array_mut().unwrap().push(json!({
        "fullUrl": "urn:uuid:55555555-5555-4555-8555-555555555555", "resource": {
            "resourceType": "Provenance", "recorded": "2026-11-20T09:16:02-08:00",
            "target": [{"reference": "urn:uuid:11111111-1111-4111-8111-111111111111"}],
            "agent": [{"who": {"reference": "urn:uuid:33333333-3333-4333-8333-333333333333"}}]}}));
    let issues = base(provenance);
    assert_clean(&issues);
    assert!(
        !issues
            .iter()
            .any(|i| i.expression[0].starts_with("Bundle.entry[4]")),
        "{issues:#?}"
    );
    let mut empty = document;
    empty.as_object_mut().unwrap().remove("entry");
    assert_issue(&base(empty), Error, "invariant", "Bundle");

    let message = json!({"resourceType": "Bundle", "type": "message", "timestamp": "2026-11-20T09:16:02-08:00",
        "entry": [
        {"fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111", "resource": {
            "resourceType": "MessageHeader", "eventCoding": {"system": "urn:example", "code": "referral"},
            "source": {"endpoint": "urn:example:sender"},
            "focus": [{"reference": "urn:uuid:22222222-2222-4222-8222-222222222222"}]}},
        {"fullUrl": "urn:uuid:22222222-2222-4222-8222-222222222222", "resource": {
            "resourceType": "ServiceRequest", "status": "active", "intent": "order",
            "subject": {"reference": "urn:uuid:33333333-3333-4333-8333-333333333333"}}},
        {"fullUrl": "urn:uuid:33333333-3333-4333-8333-333333333333", "resource": {"resourceType": "Patient"}}]});
    assert_clean(&base(message.clone()));
    let mut lost = message;
    lost["entry"][0]["resource"]["focus"][0]["reference"] = json!("ServiceRequest/elsewhere");
    let issues = base(lost);
    assert_issue(
        &issues,
        Error,
        "not-found",
        "Bundle.entry[0].resource.focus[0].reference",
    );
    // in a message an unreached entry is only a warning
    assert_issue(&issues, Warning, "invalid", "Bundle.entry[1]");
}

#[test]
fn enable_when_names_an_earlier_item_and_matches_its_type() {
    let questionnaire = |condition: Value| {
        json!({"resourceType": "Questionnaire", "status": "active", "item": [
            {"linkId": "smokes", "type": "boolean", "text": "Do you smoke?"},
            {"linkId": "stage", "type": "choice", "text": "Stage"},
            {"linkId": "packs", "type": "integer", "text": "Packs a day", "enableWhen": [condition],
             "item": [{"linkId": "brand", "type": "string"}]}]})
    };
    let at = "Questionnaire.item[2].enableWhen[0]";
    assert_clean(&base(questionnaire(
        json!({"question": "smokes", "operator": "=", "answerBoolean": true}),
    )));
    assert_clean(&base(questionnaire(
        json!({"question": "stage", "operator": "!=", "answerCoding": {"code": "iv"}}),
    )));
    let cases = [
        (
            json!({"question": "nowhere", "operator": "=", "answerBoolean": true}),
            "question",
        ),
        (
            json!({"question": "packs", "operator": ">", "answerInteger": 1}),
            "question",
        ),
        (
            json!({"question": "brand", "operator": "exists", "answerBoolean": true}),
            "question",
        ),
        (
            json!({"question": "smokes", "operator": "=", "answerString": "yes"}),
            "answerString",
        ),
        (
            json!({"question": "stage", "operator": ">", "answerCoding": {"code": "iv"}}),
            "answerCoding",
        ),
    ];
    for (condition, element) in cases {
        let issues = base(questionnaire(condition.clone()));
        assert_issue(&issues, Error, "business-rule", &format!("{at}.{element}"));
    }
    // a later item is allowed, with a warning
    let mut later =
        questionnaire(json!({"question": "smokes", "operator": "exists", "answerBoolean": true}));
    later["item"][0]["enableWhen"] =
        json!([{"question": "stage", "operator": "exists", "answerBoolean": true}]);
    let issues = base(later);
    assert_clean(&issues);
    assert_issue(
        &issues,
        Warning,
        "business-rule",
        "Questionnaire.item[0].enableWhen[0].question",
    );
}

#[test]
fn a_response_answers_the_questionnaire_at_hand() {
    let response = |items: Value| {
        json!({"resourceType": "QuestionnaireResponse", "status": "completed", "questionnaire": "#q",
            "contained": [{"resourceType": "Questionnaire", "id": "q", "status": "active", "item": [
                {"linkId": "smokes", "type": "boolean", "text": "Do you smoke?"},
                {"linkId": "history", "type": "group", "item": [
                    {"linkId": "since", "type": "date", "text": "Since"},
                    {"linkId": "brands", "type": "string", "repeats": true}]}]}],
            "item": items})
    };
    assert_clean(&base(response(json!([
        {"linkId": "smokes", "answer": [{"valueBoolean": true}]},
        {"linkId": "history", "item": [
            {"linkId": "since", "answer": [{"valueDate": "2001"}]},
            {"linkId": "brands", "answer": [{"valueString": "a"}, {"valueString": "b"}]}]}]))));
    let issues = base(response(json!([
        {"linkId": "smokes", "answer": [{"valueString": "yes"}, {"valueBoolean": true}]},
        {"linkId": "unknown", "answer": [{"valueBoolean": true}]},
        {"linkId": "history", "answer": [{"valueBoolean": true}]}])));
    assert_issue(
        &issues,
        Error,
        "structure",
        "QuestionnaireResponse.item[0].answer[0].valueString",
    );
    assert_issue(
        &issues,
        Error,
        "structure",
        "QuestionnaireResponse.item[0].answer[1]",
    );
    assert_issue(
        &issues,
        Error,
        "structure",
        "QuestionnaireResponse.item[1].linkId",
    );
    assert_issue(
        &issues,
        Error,
        "structure",
        "QuestionnaireResponse.item[2].answer[0]",
    );
    // without the Questionnaire at hand nothing is assumed
    let mut elsewhere =
        response(json!([{"linkId": "unknown", "answer": [{"valueBoolean": true}]}]));
    elsewhere["questionnaire"] = json!("http://example.org/Questionnaire/elsewhere");
    elsewhere.as_object_mut().unwrap().remove("contained");
    assert_clean(&base(elsewhere));
}

#[test]
fn extensions_are_used_where_their_context_allows() {
    let birth_place = json!({"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
        "valueAddress": {"city": "Fresno"}});
    let own_prefix = json!({"url": "http://hl7.org/fhir/StructureDefinition/humanname-own-prefix",
        "valueString": "van"});
    let absent = json!({"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
        "valueCode": "unknown"});
    // context Patient, HumanName.family (a primitive's extension) and Element
    assert_clean(&base(
        json!({"resourceType": "Patient", "extension": [birth_place.clone()],
        "name": [{"family": "Beethoven", "_family": {"extension": [own_prefix.clone()]}}],
        "_birthDate": {"extension": [absent.clone()]}}),
    ));
    let issues = base(json!({"resourceType": "Observation", "status": "final",
        "code": {"text": "x"}, "extension": [birth_place.clone()]}));
    assert_issue(&issues, Error, "extension", "Observation.extension[0]");
    let issues = base(json!({"resourceType": "Patient",
        "name": [{"family": "Beethoven", "extension": [own_prefix]}]}));
    assert_issue(&issues, Error, "extension", "Patient.name[0].extension[0]");
    // inside a Bundle entry and a contained resource the host is that resource
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111", "resource": {
            "resourceType": "Observation", "status": "final", "code": {"text": "x"},
            "contained": [{"resourceType": "Patient", "id": "p", "extension": [birth_place.clone()]}],
            "subject": {"reference": "#p"}}}]});
    assert_clean(&base(bundle.clone()));
    let mut wrong = bundle;
    wrong["entry"][0]["resource"]["extension"] = json!([birth_place]);
    assert_issue(
        &base(wrong),
        Error,
        "extension",
        "Bundle.entry[0].resource.extension[0]",
    );
}

#[test]
fn security_labels_are_an_extensible_binding() {
    let labelled = |system: &str, code: &str| json!({"resourceType": "Patient", "meta": {"security": [{"system": system, "code": code}]}});
    let confidentiality = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
    let issues = base(labelled(confidentiality, "R"));
    assert!(issues.is_empty(), "{issues:#?}");
    // a label from elsewhere is allowed, with a warning, as extensible bindings are
    let issues = base(labelled("http://example.org/labels", "secret"));
    assert_clean(&issues);
    assert_issue(&issues, Warning, "code-invalid", "Patient.meta.security[0]");
    // so is a code its code system does not have
    let issues = base(labelled(confidentiality, "Q"));
    assert_clean(&issues);
    assert_issue(&issues, Warning, "code-invalid", "Patient.meta.security[0]");
}
