//! "Your physician has referred you" and "All of your medical care is received under the
//! direction of a plan physician".

use super::{Criterion, EligibilityRules, Finding, Scope, Verdict};
use fhir_engine::json::member::Member;
use fhir_engine::model::identifier::identifiers_of;
use fhir_engine::text::concat;
use serde_json::Value;

const NPI: &str = "http://hl7.org/fhir/sid/us-npi";
const REFERRAL_EXPRESSION: &str = "ServiceRequest.requester.resolve().select(qualification.code | code | practitioner.resolve().qualification.code).where(memberOf(%physicianCodes))";
const PLAN_EXPRESSION: &str = "(ServiceRequest.performer.resolve().ofType(Practitioner | PractitionerRole) | ServiceRequest.requester.resolve()).first().where(identifier.where(system = 'http://hl7.org/fhir/sid/us-npi').value in %planPhysicianNpis or organization.resolve().identifier in %planOrganizations)";

/// Whether the Practitioner or PractitionerRole at `key` is a physician: `Some(false)` only when
/// its credentials say otherwise, `None` when nothing says (no qualification, no role code).
fn is_physician(ev: &Scope, rules: &EligibilityRules, key: &str, resource: &Value) -> Option<bool> {
    let qualified = |practitioner: &Value| -> Option<bool> {
        let codes: Vec<&Value> = practitioner
            .member("qualification")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|q| q.member("code"))
            .collect();
        if codes.is_empty() {
            None
        } else {
            Some(
                codes
                    .iter()
                    .any(|c| rules.physician_codes.matches_concept(c)),
            )
        }
    };
    if key.starts_with("Practitioner/") {
        return qualified(resource);
    }
    if rules.physician_codes.matches_any(resource, "code") {
        return Some(true);
    }
    let by_practitioner = resource
        .member("practitioner")
        .and_then(|p| ev.resolve(p))
        .and_then(|(_, p)| qualified(p));
    let has_role_code = resource
        .member("code")
        .and_then(Value::as_array)
        .is_some_and(|codes| codes.iter().any(|c| c.member("coding").is_some()));
    match by_practitioner {
        Some(true) => Some(true),
        Some(false) => Some(false),
        None if has_role_code => Some(false),
        None => None,
    }
}

/// Why `key` is not known to be a physician, naming the element that would say.
fn credential_missing(key: &str) -> String {
    if key.starts_with("PractitionerRole/") {
        concat([
            key,
            " has no physician role code (PractitionerRole.code) and its Practitioner no qualification (Practitioner.qualification)",
        ])
    } else {
        concat([key, " has no qualification (Practitioner.qualification): an NPI alone does not make a physician"])
    }
}

/// The resolved requester.
fn requester<'a>(ev: &Scope<'a>) -> Option<(&'a str, &'a Value)> {
    ev.referral()
        .member("requester")
        .and_then(|r| ev.evidence().resolve(r))
}

/// The physician directing care: the referral's performer when it is a person, else the requester.
pub fn managing_physician<'a>(ev: &Scope<'a>) -> Option<(&'a str, &'a Value)> {
    ev.evidence()
        .resolve_all(ev.referral(), "performer")
        .find(|(k, _)| k.starts_with("Practitioner/") || k.starts_with("PractitionerRole/"))
        .or_else(|| requester(ev))
        .filter(|(k, _)| k.starts_with("Practitioner/") || k.starts_with("PractitionerRole/"))
}

pub fn physician_referral(ev: &Scope, rules: &EligibilityRules) -> Finding {
    let finding = |verdict, reason: String, evidence| {
        Finding::new(
            Criterion::PhysicianReferral,
            verdict,
            reason,
            evidence,
            REFERRAL_EXPRESSION,
        )
    };
    match requester(ev) {
        None => finding(
            Verdict::Unknown,
            match ev
                .referral()
                .member("requester")
                .and_then(|r| r.member("reference"))
                .and_then(Value::as_str)
            {
                Some(r) => concat([
                    "the requester (ServiceRequest.requester ",
                    r,
                    ") could not be read",
                ]),
                None => "the referral names no requester (ServiceRequest.requester)".into(),
            },
            vec![],
        ),
        Some((key, r)) => match is_physician(ev, rules, key, r) {
            Some(true) => finding(
                Verdict::Met,
                concat([
                    "the requester ",
                    key,
                    " is a physician (Practitioner.qualification or PractitionerRole.code)",
                ]),
                vec![key.to_string()],
            ),
            Some(false) => finding(
                Verdict::NotMet,
                concat([
                    "the requester ",
                    key,
                    " is not a physician (qualification or role code)",
                ]),
                vec![key.to_string()],
            ),
            None => finding(
                Verdict::Unknown,
                concat(["the requester ", &credential_missing(key)]),
                vec![key.to_string()],
            ),
        },
    }
}

pub fn plan_physician_directs(ev: &Scope, rules: &EligibilityRules) -> Finding {
    let finding = |verdict, reason: String, evidence| {
        Finding::new(
            Criterion::PlanPhysicianDirects,
            verdict,
            reason,
            evidence,
            PLAN_EXPRESSION,
        )
    };
    let Some((key, physician)) = managing_physician(ev) else {
        return finding(
            Verdict::Unknown,
            "the managing physician (performer or requester) could not be read".into(),
            vec![],
        );
    };
    match is_physician(ev, rules, key, physician) {
        Some(true) => {}
        Some(false) => {
            return finding(
                Verdict::NotMet,
                concat(["the managing clinician ", key, " is not a physician"]),
                vec![key.to_string()],
            )
        }
        None => {
            return finding(
                Verdict::Unknown,
                concat(["the managing clinician ", &credential_missing(key)]),
                vec![key.to_string()],
            )
        }
    }
    let practitioner = if key.starts_with("PractitionerRole/") {
        physician.member("practitioner").and_then(|p| ev.resolve(p))
    } else {
        Some((key, physician))
    };
    let on_list = practitioner.is_some_and(|(_, p)| {
        identifiers_of(p)
            .iter()
            .any(|i| i.system == NPI && rules.plan_physician_npis.contains(&i.value))
    });
    let in_plan_org = key.starts_with("PractitionerRole/")
        && physician
            .member("organization")
            .is_some_and(|o| rules.is_plan_organization(ev, o));
    let mut evidence = vec![key.to_string()];
    if let Some((p, _)) = practitioner.filter(|(p, _)| *p != key) {
        evidence.push(p.to_string());
    }
    if on_list || in_plan_org {
        let how = if on_list {
            "is on the plan-physician list (NPI in Practitioner.identifier)"
        } else {
            "works for the plan (PractitionerRole.organization)"
        };
        finding(
            Verdict::Met,
            concat(["the managing physician ", key, " ", how]),
            evidence,
        )
    } else {
        finding(
            Verdict::NotMet,
            concat([
                "the managing physician ",
                key,
                " is neither on the plan-physician list nor with a plan organisation",
            ]),
            evidence,
        )
    }
}

/// Whether the Practitioner(Role) at `key` is a physician, `None` when its credentials do not say.
pub(super) fn physician_key_status(
    ev: &Scope,
    rules: &EligibilityRules,
    key: &str,
) -> Option<bool> {
    ev.get(key).and_then(|r| is_physician(ev, rules, key, r))
}
