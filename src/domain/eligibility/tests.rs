//! Criterion edge cases over hand-built evidence (the fixtures cover the whole referrals).

use super::*;
use fhir_engine::model::coding::CodeList;
use serde_json::{json, Value};

pub(super) struct Codes;

/// ICD-10-CM codes are placed (in or out); any other system cannot be placed.
impl Terminology for Codes {
    fn membership(&self, value_set: &str, system: Option<&str>, code: &str) -> Membership {
        let icd = Some("http://hl7.org/fhir/sid/icd-10-cm");
        let listed = match value_set {
            "advanced" => ["C78.01", "I50.84"].contains(&code),
            "symptom" => ["R06.02", "R52"].contains(&code),
            "symptom-obs" => {
                return if system == Some("http://loinc.org") && code == "72514-3" {
                    Membership::In
                } else {
                    Membership::NotIn
                }
            }
            _ => return Membership::NotIn,
        };
        match (system == icd, listed) {
            (true, true) => Membership::In,
            (true, false) => Membership::NotIn,
            _ => Membership::Unknown,
        }
    }
}

pub(super) fn rules() -> EligibilityRules {
    let codes = |items: &[&str]| CodeList::parse(items).unwrap();
    EligibilityRules {
        plan_organizations: vec![("urn:plan".into(), "P1".into())],
        plan_physician_npis: vec!["111".into()],
        physician_codes: codes(&["http://nucc.org/provider-taxonomy|20*"]),
        service_area_zip_codes: vec!["90210".into()],
        service_area_zip3: vec!["945".into()],
        service_area_counties: vec!["Alameda County".into()],
        homebound_lookback_days: 90,
        homebound_codes: codes(&["http://snomed.info/sct|160689007"]),
        advanced_illness_value_set: "advanced".into(),
        symptom_value_set: "symptom".into(),
        symptom_observation_value_set: "symptom-obs".into(),
        home_care_codes: codes(&["http://terminology.hl7.org/CodeSystem/v2-0281|HOM"]),
        palliative_care_codes: codes(&["http://snomed.info/sct|103735009"]),
        caregiver_relationship_codes: codes(&["http://snomed.info/sct|133932002"]),
        home_safety_codes: codes(&["urn:obs|home-safety-assessment"]),
        home_safe_results: codes(&["urn:obs|home-safe"]),
        home_unsafe_results: codes(&["urn:obs|home-unsafe"]),
    }
}

pub(super) fn referral(extra: Value) -> Value {
    let mut sr = json!({"resourceType": "ServiceRequest", "id": "sr", "status": "active",
        "subject": {"reference": "Patient/p"}, "authoredOn": "2026-11-20T09:00:00-08:00",
        "requester": {"reference": "PractitionerRole/doc"},
        "insurance": [{"reference": "Coverage/c"}]});
    for (k, v) in extra.as_object().unwrap() {
        sr[k] = v.clone();
    }
    sr
}

fn verdict(resources: Vec<Value>, criterion: Criterion) -> (Verdict, String) {
    let mut ev = Evidence::new(referral(json!({})));
    for r in resources {
        ev.add(r);
    }
    let d = evaluate(&ev, &rules(), &Codes);
    let f = d
        .findings
        .into_iter()
        .find(|f| f.criterion == criterion)
        .unwrap();
    (f.verdict, f.reason)
}

pub(super) fn coverage(period: Value, payor: &str) -> Vec<Value> {
    vec![
        json!({"resourceType": "Coverage", "id": "c", "status": "active", "period": period,
            "identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MB"}]}, "value": "M1"}],
            "payor": [{"reference": "Organization/o"}]}),
        json!({"resourceType": "Organization", "id": "o", "identifier": [{"system": "urn:plan", "value": payor}]}),
    ]
}

#[test]
fn coverage_period_must_cover_the_referral_date() {
    use Criterion::PlanMember;
    assert_eq!(
        verdict(
            coverage(json!({"start": "2026-01-01", "end": "2026-12-31"}), "P1"),
            PlanMember
        )
        .0,
        Verdict::Met
    );
    // a month-precision end covers the whole month
    assert_eq!(
        verdict(
            coverage(json!({"start": "2026-01", "end": "2026-11"}), "P1"),
            PlanMember
        )
        .0,
        Verdict::Met
    );
    let (v, why) = verdict(
        coverage(json!({"start": "2026-01-01", "end": "2026-11-19"}), "P1"),
        PlanMember,
    );
    assert_eq!(v, Verdict::NotMet, "{why}");
    assert!(why.contains("period"), "{why}");
    assert_eq!(
        verdict(coverage(json!({"start": "2026-01-01"}), "P2"), PlanMember).0,
        Verdict::NotMet
    );
    assert_eq!(verdict(vec![], PlanMember).0, Verdict::Unknown);
}

#[test]
fn service_area_by_zip_prefix_zip_or_county() {
    let patient =
        |address: Value| vec![json!({"resourceType": "Patient", "id": "p", "address": [address]})];
    let area = |address| verdict(patient(address), Criterion::ServiceArea).0;
    assert_eq!(
        area(json!({"use": "home", "postalCode": "94510-1234"})),
        Verdict::Met
    );
    assert_eq!(area(json!({"postalCode": "90210"})), Verdict::Met);
    assert_eq!(
        area(json!({"use": "home", "district": "alameda county"})),
        Verdict::Met
    );
    assert_eq!(
        area(json!({"use": "home", "postalCode": "90012", "district": "Los Angeles County"})),
        Verdict::NotMet
    );
    assert_eq!(
        area(json!({"use": "work", "postalCode": "94610"})),
        Verdict::Unknown
    );
    assert_eq!(
        area(json!({"use": "home", "city": "Oakland"})),
        Verdict::Unknown
    );
}

pub(super) fn physician_role(id: &str, code: &str) -> Value {
    json!({"resourceType": "PractitionerRole", "id": id,
        "code": [{"coding": [{"system": "http://nucc.org/provider-taxonomy", "code": code}]}]})
}

#[test]
fn homebound_certification_needs_a_physician_within_the_look_back() {
    let certification = |date: &str, performer: &str| {
        json!({"resourceType": "Observation", "id": "hb", "status": "final",
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "160689007"}]},
            "subject": {"reference": "Patient/p"}, "effectiveDateTime": date,
            "performer": [{"reference": performer}], "valueBoolean": true})
    };
    let doc = physician_role("doc", "207RH0002X");
    let nurse = physician_role("rn", "163W00000X");
    let check = |obs| {
        verdict(
            vec![obs, doc.clone(), nurse.clone()],
            Criterion::HomeboundCertified,
        )
    };
    assert_eq!(
        check(certification("2026-11-18", "PractitionerRole/doc")).0,
        Verdict::Met
    );
    assert_eq!(
        check(certification("2026-08-22", "PractitionerRole/doc")).0,
        Verdict::Met,
        "90 days before"
    );
    // an old certification is not evidence against: a current one is needed
    let (v, why) = check(certification("2026-08-21", "PractitionerRole/doc"));
    assert_eq!(v, Verdict::Unknown);
    assert!(why.contains("look-back"), "{why}");
    let (v, why) = check(certification("2026-11-18", "PractitionerRole/rn"));
    assert_eq!(v, Verdict::NotMet);
    assert!(why.contains("physician"), "{why}");
    assert_eq!(
        verdict(vec![], Criterion::HomeboundCertified).0,
        Verdict::Unknown
    );
}

#[test]
fn the_latest_consent_and_every_caregiver_decide() {
    let consent = |id: &str, date: &str, performers: &[&str], nested_deny: bool| {
        let mut provision = json!({"type": "permit", "code": [
            {"coding": [{"system": "http://snomed.info/sct", "code": "103735009"}]},
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0281", "code": "HOM"}]}]});
        if nested_deny {
            provision["provision"] = json!([{"type": "deny", "code": [
                {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0281", "code": "HOM"}]}]}]);
        }
        json!({"resourceType": "Consent", "id": id, "status": "active", "dateTime": date,
            "patient": {"reference": "Patient/p"},
            "performer": performers.iter().map(|p| json!({"reference": p})).collect::<Vec<_>>(),
            "provision": provision})
    };
    let caregiver = json!({"resourceType": "RelatedPerson", "id": "son", "patient": {"reference": "Patient/p"},
        "relationship": [{"coding": [{"system": "http://snomed.info/sct", "code": "133932002"}]}]});
    let both = consent(
        "c1",
        "2026-11-01",
        &["Patient/p", "RelatedPerson/son"],
        false,
    );
    assert_eq!(
        verdict(
            vec![both.clone(), caregiver.clone()],
            Criterion::WillingParticipants
        )
        .0,
        Verdict::Met
    );
    let patient_only = consent("c1", "2026-11-01", &["Patient/p"], false);
    let (v, why) = verdict(
        vec![patient_only, caregiver.clone()],
        Criterion::WillingParticipants,
    );
    assert_eq!(v, Verdict::NotMet);
    assert!(why.contains("RelatedPerson/son"), "{why}");
    // a later consent declining care at home replaces an earlier one that wanted it
    let later_deny = consent("c2", "2026-11-10", &["Patient/p"], true);
    let (v, why) = verdict(vec![both.clone(), later_deny], Criterion::WantsHomeCare);
    assert_eq!(v, Verdict::NotMet, "{why}");
    let earlier_deny = consent("c0", "2026-10-01", &["Patient/p"], true);
    assert_eq!(
        verdict(vec![both, earlier_deny], Criterion::WantsHomeCare).0,
        Verdict::Met
    );
}

#[test]
fn symptoms_need_a_current_symptom() {
    let pain_score = |n: i64| {
        json!({"resourceType": "Observation", "id": format!("ps{n}"), "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
            "subject": {"reference": "Patient/p"}, "valueInteger": n})
    };
    assert_eq!(
        verdict(vec![pain_score(6)], Criterion::SymptomManagement).0,
        Verdict::Met
    );
    assert_eq!(
        verdict(vec![pain_score(0)], Criterion::SymptomManagement).0,
        Verdict::NotMet
    );
    assert_eq!(
        verdict(vec![], Criterion::SymptomManagement).0,
        Verdict::Unknown
    );
    // a coded reason on the referral is enough
    let mut ev = Evidence::new(referral(json!({"reasonCode": [
        {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "R52"}]}]})));
    ev.add(pain_score(0));
    let d = evaluate(&ev, &rules(), &Codes);
    assert_eq!(d.verdict(Criterion::SymptomManagement), Some(Verdict::Met));
}

#[test]
fn decision_follows_the_worst_result() {
    let ev = Evidence::new(referral(json!({})));
    let d = evaluate(&ev, &rules(), &Codes);
    assert_eq!(d.findings.len(), 10);
    assert_eq!(
        d.decision(),
        Decision::Pending,
        "nothing to read: every criterion unknown"
    );
    let mut with_bad_coverage = Evidence::new(referral(json!({})));
    for r in coverage(json!({"end": "2025-12-31"}), "P1") {
        with_bad_coverage.add(r);
    }
    assert_eq!(
        evaluate(&with_bad_coverage, &rules(), &Codes).decision(),
        Decision::Ineligible
    );
}
