//! "Desire to receive this care at home" and "You and your caregivers are willing
//! participants", both read from the participation Consent.

use super::evidence::reference_keys;
use super::{Criterion, EligibilityRules, Evidence, Finding, Verdict};
use crate::domain::fhir::coding::CodeList;
use crate::domain::fhir::date::{day_number, Edge};
use crate::domain::fhir::member::Member;
use serde_json::Value;

const HOME_EXPRESSION: &str = "Consent.where(status = 'active' and provision.type = 'permit').provision.code.where(memberOf(%homeCareCodes)) and Consent.provision.descendants().where(type = 'deny' and code.memberOf(%homeCareCodes)).empty()";
const WILLING_EXPRESSION: &str = "Consent.where(status = 'active' and provision.type = 'permit' and provision.code.memberOf(%palliativeCareCodes)).performer contains %patient | RelatedPerson.where(relationship.memberOf(%caregiverCodes))";

/// Consents about the referral's patient, the most recent (`dateTime`) first: a later consent
/// replaces an earlier one.
fn consents(ev: &Evidence) -> Vec<(&str, &Value)> {
    let mut all: Vec<(&str, &Value)> = ev
        .of_type("Consent")
        .filter(|(_, c)| ev.about_patient(c, "patient"))
        .collect();
    let day = |c: &Value| {
        c.member("dateTime")
            .and_then(Value::as_str)
            .and_then(|d| day_number(d, Edge::Start))
            .unwrap_or(i64::MIN)
    };
    all.sort_by(|(ka, a), (kb, b)| {
        day(b)
            .cmp(&day(a))
            .then_with(|| {
                b.member("dateTime")
                    .and_then(Value::as_str)
                    .cmp(&a.member("dateTime").and_then(Value::as_str))
            })
            .then_with(|| ka.cmp(kb))
    });
    all
}

fn is_active_permit(consent: &Value) -> bool {
    consent.member("status").and_then(Value::as_str) == Some("active")
        && consent
            .member("provision")
            .and_then(|p| p.member("type"))
            .and_then(Value::as_str)
            == Some("permit")
}

/// Whether a provision (or a nested one) of `kind` names one of `codes`.
fn provision_covers(provision: &Value, kind: &str, codes: &CodeList) -> bool {
    let this_kind = provision.member("type").and_then(Value::as_str);
    (this_kind == Some(kind) && codes.matches_any(provision, "code"))
        || provision
            .member("provision")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|nested| provision_covers(nested, kind, codes))
}

pub fn wants_home_care(ev: &Evidence, rules: &EligibilityRules) -> Finding {
    let finding = |verdict, reason: String, evidence| {
        Finding::new(
            Criterion::WantsHomeCare,
            verdict,
            reason,
            evidence,
            HOME_EXPRESSION,
        )
    };
    let Some((key, consent)) = consents(ev).into_iter().next() else {
        return finding(
            Verdict::Unknown,
            "no participation Consent was sent or referenced".into(),
            vec![],
        );
    };
    let evidence = vec![key.to_string()];
    let provision = consent.member("provision").unwrap_or(&Value::Null);
    if provision_covers(provision, "deny", &rules.home_care_codes) {
        return finding(
            Verdict::NotMet,
            format!("{key} declines care at home"),
            evidence,
        );
    }
    let status = consent
        .member("status")
        .and_then(Value::as_str)
        .unwrap_or("");
    let home = rules.home_care_codes.matches_any(provision, "code");
    if matches!(status, "rejected" | "inactive") && home {
        return finding(
            Verdict::NotMet,
            format!("{key} for care at home is {status}"),
            evidence,
        );
    }
    if is_active_permit(consent) && home {
        return finding(
            Verdict::Met,
            format!("{key} permits care at home"),
            evidence,
        );
    }
    finding(
        Verdict::Unknown,
        format!("{key} does not say where care is given (no home-care code in provision.code)"),
        evidence,
    )
}

pub fn willing_participants(ev: &Evidence, rules: &EligibilityRules) -> Finding {
    let finding = |verdict, reason: String, evidence| {
        Finding::new(
            Criterion::WillingParticipants,
            verdict,
            reason,
            evidence,
            WILLING_EXPRESSION,
        )
    };
    let all = consents(ev);
    let Some((latest_key, latest)) = all.first().copied() else {
        return finding(
            Verdict::Unknown,
            "no participation Consent was sent or referenced".into(),
            vec![],
        );
    };
    let covers_plan = |consent: &Value| {
        is_active_permit(consent)
            && (consent
                .member("provision")
                .is_some_and(|p| provision_covers(p, "permit", &rules.palliative_care_codes))
                || rules.palliative_care_codes.matches_any(consent, "category"))
    };
    if !covers_plan(latest) {
        let status = latest
            .member("status")
            .and_then(Value::as_str)
            .unwrap_or("");
        return finding(
            Verdict::NotMet,
            format!(
                "{latest_key} is not an active consent to the palliative plan (status '{status}')"
            ),
            vec![latest_key.to_string()],
        );
    }
    // everyone who has consented to the plan, in any active consent
    let consenting: Vec<String> = all
        .iter()
        .filter(|(_, c)| covers_plan(c))
        .flat_map(|(_, c)| performers(c))
        .collect();
    if ev
        .patient_key()
        .is_some_and(|p| !performers(latest).contains(&p))
    {
        return finding(
            Verdict::NotMet,
            format!("the patient is not a performer of {latest_key}"),
            vec![latest_key.to_string()],
        );
    }
    let caregivers = caregivers(ev, rules);
    let missing: Vec<&String> = caregivers
        .iter()
        .filter(|c| !consenting.contains(c))
        .collect();
    let mut evidence = vec![latest_key.to_string()];
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        evidence.extend(missing.iter().map(|s| s.to_string()));
        return finding(
            Verdict::NotMet,
            format!("caregiver(s) {} have not consented", names.join(", ")),
            evidence,
        );
    }
    evidence.extend(caregivers.iter().cloned());
    finding(
        Verdict::Met,
        format!(
            "the patient and {} caregiver(s) consent to the palliative plan ({latest_key})",
            caregivers.len()
        ),
        evidence,
    )
}

fn performers(consent: &Value) -> Vec<String> {
    reference_keys(consent, "performer")
}

/// `RelatedPerson/id` of the patient's caregivers in the evidence.
pub fn caregivers(ev: &Evidence, rules: &EligibilityRules) -> Vec<String> {
    ev.of_type("RelatedPerson")
        .filter(|(_, r)| ev.about_patient(r, "patient"))
        .filter(|(_, r)| {
            rules
                .caregiver_relationship_codes
                .matches_any(r, "relationship")
        })
        .filter(|(_, r)| r.member("active").and_then(Value::as_bool) != Some(false))
        .map(|(k, _)| k.to_string())
        .collect()
}
