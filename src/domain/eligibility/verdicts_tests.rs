//! Every criterion three ways: met, not met (contrary evidence) and unknown (missing or
//! insufficient evidence), each with a reason that names the resource and element read; and the
//! preconditions that decide a referral before the criteria.

use super::tests::{coverage, physician_role, referral, rules, Codes};
use super::*;
use serde_json::{json, Value};

const ICD: &str = "http://hl7.org/fhir/sid/icd-10-cm";
const SCT: &str = "http://snomed.info/sct";

fn judge(extra: Value, resources: Vec<Value>, criterion: Criterion) -> (Verdict, String) {
    let mut ev = Evidence::new(referral(extra));
    for r in resources {
        ev.add(r);
    }
    let d = evaluate(&ev, &rules(), &Codes);
    let f = d
        .findings
        .into_iter()
        .find(|f| f.criterion == criterion)
        .expect("every criterion is evaluated");
    (f.verdict, f.reason)
}

fn assert_verdict(got: (Verdict, String), want: Verdict, mentions: &[&str]) {
    let (verdict, reason) = got;
    assert_eq!(verdict, want, "{reason}");
    for m in mentions {
        assert!(reason.contains(m), "'{m}' not in: {reason}");
    }
}

fn condition(
    id: &str,
    system: &str,
    code: &str,
    clinical: Option<&str>,
    ver: Option<&str>,
) -> Value {
    let mut c = json!({"resourceType": "Condition", "id": id, "subject": {"reference": "Patient/p"},
        "code": {"coding": [{"system": system, "code": code}]}});
    if let Some(s) = clinical {
        c["clinicalStatus"] = json!({"coding": [{"code": s}]});
    }
    if let Some(v) = ver {
        c["verificationStatus"] = json!({"coding": [{"code": v}]});
    }
    c
}

#[test]
fn plan_member() {
    let c = Criterion::PlanMember;
    let period = json!({"start": "2026-01-01", "end": "2026-12-31"});
    assert_verdict(
        judge(json!({}), coverage(period.clone(), "P1"), c),
        Verdict::Met,
        &["Coverage/c"],
    );
    assert_verdict(
        judge(json!({}), coverage(period.clone(), "P2"), c),
        Verdict::NotMet,
        &["Coverage/c", "Coverage.payor"],
    );
    assert_verdict(
        judge(json!({}), vec![], c),
        Verdict::Unknown,
        &["ServiceRequest.insurance", "Coverage/c"],
    );
    // a member id that is not sent is missing, not contrary
    let mut no_member_id = coverage(period, "P1");
    no_member_id[0]["identifier"] = json!([]);
    assert_verdict(
        judge(json!({}), no_member_id, c),
        Verdict::Unknown,
        &["Coverage.identifier"],
    );
}

#[test]
fn advanced_illness() {
    let c = Criterion::AdvancedIllness;
    let met = condition("dx", ICD, "C78.01", Some("active"), Some("confirmed"));
    assert_verdict(
        judge(json!({}), vec![met], c),
        Verdict::Met,
        &["Condition/dx", "Condition.code"],
    );
    // contrary: refuted (even if still "active"), or every diagnosis placed outside the set
    let refuted = condition("dx", ICD, "C78.01", Some("active"), Some("refuted"));
    assert_verdict(
        judge(json!({}), vec![refuted], c),
        Verdict::NotMet,
        &["Condition/dx", "verificationStatus"],
    );
    let resolved = condition("dx", ICD, "I50.84", Some("resolved"), Some("confirmed"));
    assert_verdict(
        judge(json!({}), vec![resolved], c),
        Verdict::NotMet,
        &["clinicalStatus"],
    );
    let other = condition("htn", ICD, "I10", Some("active"), Some("confirmed"));
    assert_verdict(
        judge(json!({}), vec![other], c),
        Verdict::NotMet,
        &["Condition/htn", "I10"],
    );
    // unknown: no status, unconfirmed, a code we cannot place, nothing sent, unreadable reference
    let no_status = condition("dx", ICD, "C78.01", None, None);
    assert_verdict(
        judge(json!({}), vec![no_status], c),
        Verdict::Unknown,
        &["Condition/dx", "clinicalStatus or verificationStatus"],
    );
    let provisional = condition("dx", ICD, "C78.01", Some("active"), Some("provisional"));
    assert_verdict(
        judge(json!({}), vec![provisional], c),
        Verdict::Unknown,
        &["provisional"],
    );
    let snomed = condition("dx", SCT, "93870000", Some("active"), Some("confirmed"));
    assert_verdict(
        judge(json!({}), vec![snomed], c),
        Verdict::Unknown,
        &["Condition/dx", "93870000"],
    );
    assert_verdict(
        judge(json!({}), vec![], c),
        Verdict::Unknown,
        &["ServiceRequest.reasonReference"],
    );
    let referenced = json!({"reasonReference": [{"reference": "Condition/gone"}]});
    let (verdict, reason) = judge(referenced, vec![], c);
    assert_eq!(verdict, Verdict::Unknown);
    assert!(
        reason.contains("Condition/gone") && reason.contains("could not be read"),
        "{reason}"
    );
    assert!(
        !reason.contains("no diagnosis Condition was sent"),
        "{reason}"
    );
    // entered in error is no evidence: with only it, nothing is known
    let error = condition("dx", ICD, "C78.01", None, Some("entered-in-error"));
    assert_verdict(judge(json!({}), vec![error], c), Verdict::Unknown, &[]);
    // a symptom is not a diagnosis placed outside the set
    let dyspnea = condition("sob", ICD, "R06.02", Some("active"), Some("confirmed"));
    assert_verdict(judge(json!({}), vec![dyspnea], c), Verdict::Unknown, &[]);
}

#[test]
fn symptom_management() {
    let c = Criterion::SymptomManagement;
    let score = |status: &str, n: i64| {
        json!({"resourceType": "Observation", "id": "ps", "status": status,
            "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
            "subject": {"reference": "Patient/p"}, "valueInteger": n})
    };
    assert_verdict(
        judge(json!({}), vec![score("final", 7)], c),
        Verdict::Met,
        &["Observation/ps"],
    );
    assert_verdict(
        judge(json!({}), vec![score("final", 0)], c),
        Verdict::NotMet,
        &["Observation/ps"],
    );
    let resolved = condition("pain", ICD, "R52", Some("resolved"), Some("confirmed"));
    assert_verdict(
        judge(json!({}), vec![resolved], c),
        Verdict::NotMet,
        &["Condition/pain", "clinicalStatus"],
    );
    assert_verdict(
        judge(json!({}), vec![score("preliminary", 7)], c),
        Verdict::Unknown,
        &["Observation/ps", "preliminary", "Observation.status"],
    );
    assert_verdict(
        judge(json!({}), vec![], c),
        Verdict::Unknown,
        &["reasonCode"],
    );
}

fn consent(status: &str, end: Option<&str>, deny_home: bool) -> Value {
    let mut provision = json!({"type": "permit", "code": [
        {"coding": [{"system": SCT, "code": "103735009"}]},
        {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0281", "code": "HOM"}]}]});
    if let Some(end) = end {
        provision["period"] = json!({"start": "2023-04-02", "end": end});
    }
    if deny_home {
        provision["provision"] = json!([{"type": "deny", "code": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0281", "code": "HOM"}]}]}]);
    }
    json!({"resourceType": "Consent", "id": "ok", "status": status, "dateTime": "2026-11-01",
        "patient": {"reference": "Patient/p"}, "performer": [{"reference": "Patient/p"}],
        "provision": provision})
}

#[test]
fn wants_home_care() {
    let c = Criterion::WantsHomeCare;
    assert_verdict(
        judge(json!({}), vec![consent("active", None, false)], c),
        Verdict::Met,
        &["Consent/ok"],
    );
    assert_verdict(
        judge(json!({}), vec![consent("active", None, true)], c),
        Verdict::NotMet,
        &["Consent/ok"],
    );
    assert_verdict(
        judge(
            json!({}),
            vec![consent("active", Some("2024-04-02"), false)],
            c,
        ),
        Verdict::Unknown,
        &["Consent/ok", "Consent.provision.period.end", "2024-04-02"],
    );
    assert_verdict(
        judge(json!({}), vec![consent("proposed", None, false)], c),
        Verdict::Unknown,
        &["Consent.status"],
    );
    assert_verdict(judge(json!({}), vec![], c), Verdict::Unknown, &["Consent"]);
}

#[test]
fn willing_participants() {
    let c = Criterion::WillingParticipants;
    assert_verdict(
        judge(json!({}), vec![consent("active", None, false)], c),
        Verdict::Met,
        &["Consent/ok"],
    );
    // a period still running on the referral date is in force
    assert_verdict(
        judge(
            json!({}),
            vec![consent("active", Some("2027-04-02"), false)],
            c,
        ),
        Verdict::Met,
        &[],
    );
    assert_verdict(
        judge(json!({}), vec![consent("rejected", None, false)], c),
        Verdict::NotMet,
        &["Consent/ok", "Consent.status"],
    );
    assert_verdict(
        judge(
            json!({}),
            vec![consent("active", Some("2024-04-02"), false)],
            c,
        ),
        Verdict::Unknown,
        &["Consent/ok", "provision.period"],
    );
    assert_verdict(judge(json!({}), vec![], c), Verdict::Unknown, &["Consent"]);
    // a caregiver who did not sign is not a willing participant; one we cannot read may be
    let son = json!({"resourceType": "RelatedPerson", "id": "son", "patient": {"reference": "Patient/p"},
        "relationship": [{"coding": [{"system": SCT, "code": "133932002"}]}]});
    assert_verdict(
        judge(
            json!({}),
            vec![consent("active", None, false), son.clone()],
            c,
        ),
        Verdict::NotMet,
        &["RelatedPerson/son", "Consent.performer"],
    );
    let mut signed_by_someone_unread = consent("active", None, false);
    signed_by_someone_unread["performer"]
        .as_array_mut()
        .unwrap()
        .push(json!({"reference": "RelatedPerson/elsewhere"}));
    assert_verdict(
        judge(json!({}), vec![signed_by_someone_unread, son], c),
        Verdict::Unknown,
        &["RelatedPerson/elsewhere", "could not be read"],
    );
}

fn certification(status: &str, performer: &str) -> Value {
    json!({"resourceType": "Observation", "id": "hb", "status": status,
        "code": {"coding": [{"system": SCT, "code": "160689007"}]},
        "subject": {"reference": "Patient/p"}, "effectiveDateTime": "2026-11-18",
        "performer": [{"reference": performer}], "valueBoolean": true})
}

#[test]
fn homebound_certified() {
    let c = Criterion::HomeboundCertified;
    let doc = physician_role("doc", "207RH0002X");
    let rn = physician_role("rn", "163W00000X");
    let unqualified = json!({"resourceType": "Practitioner", "id": "np1",
        "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "111"}]});
    let with = |obs: Value| vec![obs, doc.clone(), rn.clone(), unqualified.clone()];
    assert_verdict(
        judge(
            json!({}),
            with(certification("final", "PractitionerRole/doc")),
            c,
        ),
        Verdict::Met,
        &["Observation/hb"],
    );
    assert_verdict(
        judge(
            json!({}),
            with(certification("final", "PractitionerRole/rn")),
            c,
        ),
        Verdict::NotMet,
        &["Observation/hb", "Observation.performer"],
    );
    assert_verdict(
        judge(
            json!({}),
            with(certification("preliminary", "PractitionerRole/doc")),
            c,
        ),
        Verdict::Unknown,
        &["Observation/hb", "preliminary", "Observation.status"],
    );
    assert_verdict(
        judge(
            json!({}),
            with(certification("final", "Practitioner/np1")),
            c,
        ),
        Verdict::Unknown,
        &["Practitioner/np1", "qualification"],
    );
    assert_verdict(
        judge(json!({}), vec![], c),
        Verdict::Unknown,
        &["Observation", "160689007"],
    );
}

#[test]
fn service_area() {
    let c = Criterion::ServiceArea;
    let patient =
        |address: Value| vec![json!({"resourceType": "Patient", "id": "p", "address": [address]})];
    assert_verdict(
        judge(json!({}), patient(json!({"postalCode": "94510"})), c),
        Verdict::Met,
        &["Patient/p", "Patient.address"],
    );
    assert_verdict(
        judge(json!({}), patient(json!({"postalCode": "90012"})), c),
        Verdict::NotMet,
        &["Patient/p"],
    );
    assert_verdict(
        judge(json!({}), patient(json!({"city": "Oakland"})), c),
        Verdict::Unknown,
        &["Patient/p"],
    );
    assert_verdict(
        judge(json!({}), vec![], c),
        Verdict::Unknown,
        &["ServiceRequest.subject", "Patient/p"],
    );
}

#[test]
fn home_safe() {
    let c = Criterion::HomeSafe;
    let assessment = |status: &str, result: Option<&str>| {
        let mut o = json!({"resourceType": "Observation", "id": "hs", "status": status,
            "code": {"coding": [{"system": "urn:obs", "code": "home-safety-assessment"}]},
            "subject": {"reference": "Patient/p"}, "effectiveDateTime": "2026-11-18"});
        if let Some(r) = result {
            o["valueCodeableConcept"] = json!({"coding": [{"system": "urn:obs", "code": r}]});
        }
        o
    };
    assert_verdict(
        judge(json!({}), vec![assessment("final", Some("home-safe"))], c),
        Verdict::Met,
        &["Observation/hs"],
    );
    assert_verdict(
        judge(json!({}), vec![assessment("final", Some("home-unsafe"))], c),
        Verdict::NotMet,
        &["Observation/hs"],
    );
    assert_verdict(
        judge(json!({}), vec![assessment("final", None)], c),
        Verdict::Unknown,
        &["Observation.valueCodeableConcept"],
    );
    assert_verdict(
        judge(
            json!({}),
            vec![assessment("preliminary", Some("home-safe"))],
            c,
        ),
        Verdict::Unknown,
        &["Observation"],
    );
}

#[test]
fn physician_referral_and_plan_physician() {
    let referral_c = Criterion::PhysicianReferral;
    let plan_c = Criterion::PlanPhysicianDirects;
    let plan_doc = |qualified: bool| {
        let mut p = json!({"resourceType": "Practitioner", "id": "doc",
            "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "111"}]});
        if qualified {
            p["qualification"] = json!([{"code": {"coding": [
                {"system": "http://nucc.org/provider-taxonomy", "code": "207RH0002X"}]}}]);
        }
        p
    };
    let by_doc = json!({"requester": {"reference": "Practitioner/doc"}});
    assert_verdict(
        judge(by_doc.clone(), vec![plan_doc(true)], referral_c),
        Verdict::Met,
        &["Practitioner/doc"],
    );
    assert_verdict(
        judge(by_doc.clone(), vec![plan_doc(true)], plan_c),
        Verdict::Met,
        &["Practitioner/doc"],
    );
    // an NPI alone does not say who the referrer is
    assert_verdict(
        judge(by_doc.clone(), vec![plan_doc(false)], referral_c),
        Verdict::Unknown,
        &["Practitioner/doc", "qualification"],
    );
    assert_verdict(
        judge(by_doc, vec![plan_doc(false)], plan_c),
        Verdict::Unknown,
        &["Practitioner/doc", "qualification"],
    );
    let nurse = physician_role("doc", "363L00000X");
    assert_verdict(
        judge(json!({}), vec![nurse.clone()], referral_c),
        Verdict::NotMet,
        &["PractitionerRole/doc"],
    );
    assert_verdict(
        judge(json!({}), vec![nurse], plan_c),
        Verdict::NotMet,
        &["PractitionerRole/doc"],
    );
    let outside = physician_role("doc", "207RX0202X");
    assert_verdict(
        judge(json!({}), vec![outside], plan_c),
        Verdict::NotMet,
        &["plan-physician list"],
    );
    assert_verdict(
        judge(json!({}), vec![], referral_c),
        Verdict::Unknown,
        &["ServiceRequest.requester"],
    );
    // a requester contained in the referral is read
    let contained = json!({"requester": {"reference": "#req"},
        "contained": [{"resourceType": "Practitioner", "id": "req",
            "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "111"}]}]});
    assert_verdict(
        judge(contained, vec![], referral_c),
        Verdict::Unknown,
        &["Practitioner/#req", "qualification"],
    );
}

#[test]
fn a_deceased_patient_is_declined_before_the_criteria() {
    let mut ev = Evidence::new(referral(json!({})));
    ev.add(json!({"resourceType": "Patient", "id": "p", "deceasedDateTime": "2026-11-16"}));
    let d = evaluate(&ev, &rules(), &Codes);
    assert_eq!(d.decision(), Decision::Ineligible);
    assert!(d.findings.is_empty());
    let reason = d.precondition.as_ref().unwrap().reason();
    assert!(
        reason.contains("Patient/p")
            && reason.contains("deceasedDateTime")
            && reason.contains("4 day(s) before"),
        "{reason}"
    );
    let mut alive = Evidence::new(referral(json!({})));
    alive.add(json!({"resourceType": "Patient", "id": "p", "deceasedBoolean": false}));
    assert_eq!(evaluate(&alive, &rules(), &Codes).precondition, None);
}

#[test]
fn a_referral_that_is_not_active_is_not_evaluated() {
    for status in [
        "draft",
        "on-hold",
        "revoked",
        "completed",
        "entered-in-error",
        "unknown",
    ] {
        let ev = Evidence::new(referral(json!({"status": status})));
        let d = evaluate(&ev, &rules(), &Codes);
        assert_eq!(d.decision(), Decision::NotEvaluated, "{status}");
        let precondition = d.precondition.expect("a precondition");
        assert_eq!(precondition.referral_status(), Some(status));
        assert!(
            precondition.reason().contains("ServiceRequest/sr"),
            "{status}"
        );
    }
    // the referral's status comes first: a revoked referral for a deceased patient is cancelled
    let mut ev = Evidence::new(referral(json!({"status": "revoked"})));
    ev.add(json!({"resourceType": "Patient", "id": "p", "deceasedBoolean": true}));
    assert_eq!(
        evaluate(&ev, &rules(), &Codes).decision(),
        Decision::NotEvaluated
    );
}
