//! "Desire to receive this care at home" and "You and your caregivers are willing
//! participants", both read from the participation Consent.

use super::evidence::refers_to;
use super::{Criterion, EligibilityRules, Finding, Scope, Verdict};
use fhir_engine::json::member::Member;
use fhir_engine::model::coding::CodeList;
use fhir_engine::temporal::{day_number, Edge};
use fhir_engine::text::concat;
use serde_json::Value;

const HOME_EXPRESSION: &str = "Consent.where(status = 'active' and provision.type = 'permit').provision.code.where(memberOf(%homeCareCodes)) and Consent.provision.descendants().where(type = 'deny' and code.memberOf(%homeCareCodes)).empty()";
const WILLING_EXPRESSION: &str = "Consent.where(status = 'active' and provision.type = 'permit' and provision.code.memberOf(%palliativeCareCodes)).performer contains %patient | RelatedPerson.where(relationship.memberOf(%caregiverCodes))";

/// Consents about the referral's patient, the most recent (`dateTime`) first: a later consent
/// replaces an earlier one.
pub(super) fn consents<'a>(ev: &Scope<'a>) -> Vec<(&'a str, &'a Value)> {
    let mut all: Vec<(&str, &Value)> = ev
        .evidence()
        .of_type("Consent")
        .filter(|(_, c)| ev.about_patient(c, "patient"))
        .filter(|(_, c)| c.member("status").and_then(Value::as_str) != Some("entered-in-error"))
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

/// Why a consent is not (or not yet) in force on the referral date, when it is not: a draft or
/// proposed consent, or one whose `provision.period` ended before the referral. That is the
/// absence of a current consent, not a refusal.
fn not_in_force(ev: &Scope, key: &str, consent: &Value) -> Option<String> {
    let status = consent
        .member("status")
        .and_then(Value::as_str)
        .unwrap_or("");
    if matches!(status, "draft" | "proposed") {
        return Some(format!(
            "{key} is {status}, not in force (Consent.status): a signed, active consent is needed"
        ));
    }
    let end = consent
        .member("provision")
        .and_then(|p| p.member("period"))
        .and_then(|p| p.member("end"))
        .and_then(Value::as_str)?;
    let referral = ev.referral().member("authoredOn").and_then(Value::as_str)?;
    let ended = day_number(end, Edge::End)? < day_number(referral, Edge::Start)?;
    ended.then(|| {
        format!(
            "{key} ended on {end} (Consent.provision.period.end), before the referral date {}: a consent in force on the referral date is needed",
            &referral[..referral.len().min(10)]
        )
    })
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

/// `consents`: as [`consents`] gives them.
pub(super) fn wants_home_care(
    ev: &Scope,
    rules: &EligibilityRules,
    consents: &[(&str, &Value)],
) -> Finding {
    let finding = |verdict, reason: String, evidence| {
        Finding::new(
            Criterion::WantsHomeCare,
            verdict,
            reason,
            evidence,
            HOME_EXPRESSION,
        )
    };
    let Some(&(key, consent)) = consents.first() else {
        return finding(
            Verdict::Unknown,
            "no participation Consent was sent or referenced (ServiceRequest.supportingInfo)"
                .into(),
            vec![],
        );
    };
    let evidence = vec![key.to_string()];
    if let Some(why) = not_in_force(ev, key, consent) {
        return finding(Verdict::Unknown, why, evidence);
    }
    let provision = consent.member("provision").unwrap_or(&Value::Null);
    if provision_covers(provision, "deny", &rules.home_care_codes) {
        return finding(
            Verdict::NotMet,
            concat([
                key,
                " declines care at home (a deny Consent.provision names it)",
            ]),
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
            concat([key, " for care at home is ", status, " (Consent.status)"]),
            evidence,
        );
    }
    if is_active_permit(consent) && home {
        return finding(
            Verdict::Met,
            concat([key, " permits care at home (Consent.provision.code)"]),
            evidence,
        );
    }
    finding(
        Verdict::Unknown,
        concat([
            key,
            " does not say where care is given (no home-care code in provision.code)",
        ]),
        evidence,
    )
}

/// `consents`: as [`consents`] gives them.
pub(super) fn willing_participants(
    ev: &Scope,
    rules: &EligibilityRules,
    consents: &[(&str, &Value)],
) -> Finding {
    let finding = |verdict, reason: String, evidence| {
        Finding::new(
            Criterion::WillingParticipants,
            verdict,
            reason,
            evidence,
            WILLING_EXPRESSION,
        )
    };
    let Some(&(latest_key, latest)) = consents.first() else {
        return finding(
            Verdict::Unknown,
            "no participation Consent was sent or referenced (ServiceRequest.supportingInfo)"
                .into(),
            vec![],
        );
    };
    if let Some(why) = not_in_force(ev, latest_key, latest) {
        return finding(Verdict::Unknown, why, vec![latest_key.to_string()]);
    }
    let covers_plan = |consent: &Value| {
        is_active_permit(consent)
            && not_in_force(ev, "", consent).is_none()
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
        return if is_active_permit(latest) {
            finding(
                Verdict::Unknown,
                concat([
                    latest_key,
                    " does not name the palliative plan of care (Consent.provision.code or Consent.category)",
                ]),
                vec![latest_key.to_string()],
            )
        } else {
            finding(
                Verdict::NotMet,
                concat([
                    latest_key,
                    " is not an active permit for the palliative plan (Consent.status '",
                    status,
                    "', Consent.provision.type)",
                ]),
                vec![latest_key.to_string()],
            )
        };
    }
    // everyone who has consented to the plan is a performer of one of these
    let consenting: Vec<&Value> = consents
        .iter()
        .filter(|(_, c)| covers_plan(c))
        .map(|(_, c)| *c)
        .collect();
    if ev
        .patient_key()
        .is_some_and(|p| !refers_to(latest, "performer", p))
    {
        return finding(
            Verdict::NotMet,
            concat([
                "the patient is not a performer of ",
                latest_key,
                " (Consent.performer)",
            ]),
            vec![latest_key.to_string()],
        );
    }
    let caregivers = caregivers(ev, rules);
    let missing: Vec<&String> = caregivers
        .iter()
        .filter(|c| {
            !consenting
                .iter()
                .any(|consent| refers_to(consent, "performer", c))
        })
        .collect();
    let mut evidence = vec![latest_key.to_string()];
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        evidence.extend(missing.iter().map(|s| s.to_string()));
        // a performer we cannot read may be the caregiver: that is not a refusal
        let unreadable: Vec<&str> = consenting
            .iter()
            .flat_map(|c| super::evidence::references(c, "performer"))
            .filter(|r| ev.resolve(r).is_none())
            .filter_map(|r| r.member("reference").and_then(Value::as_str))
            .filter(|r| !r.contains("Patient/"))
            .collect();
        if !unreadable.is_empty() {
            return finding(
                Verdict::Unknown,
                format!(
                    "caregiver(s) {} are not named as performers, and Consent.performer {} could not be read",
                    names.join(", "),
                    unreadable.join(", ")
                ),
                evidence,
            );
        }
        return finding(
            Verdict::NotMet,
            format!(
                "caregiver(s) {} have not consented (not a Consent.performer)",
                names.join(", ")
            ),
            evidence,
        );
    }
    evidence.extend(caregivers.iter().cloned());
    finding(
        Verdict::Met,
        concat([
            "the patient and ",
            &caregivers.len().to_string(),
            " caregiver(s) consent to the palliative plan (",
            latest_key,
            ")",
        ]),
        evidence,
    )
}

/// `RelatedPerson/id` of the patient's caregivers in the evidence.
pub fn caregivers(ev: &Scope, rules: &EligibilityRules) -> Vec<String> {
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
