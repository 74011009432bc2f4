//! What a clinician checks before the criteria: that the referral is an order in force, and that
//! the patient is alive. Either one, when it fails, decides the referral without the criteria.

use super::Scope;
use fhir_engine::json::member::Member;
use fhir_engine::temporal::{day_number, Edge};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Precondition {
    /// The referral ServiceRequest is not `active`: its status decides the Task (docs/eligibility.md).
    ReferralStatus { status: String, reason: String },
    /// The patient has died: not eligible, and no plan of care.
    Deceased { reason: String },
}

impl Precondition {
    pub fn reason(&self) -> &str {
        match self {
            Precondition::ReferralStatus { reason, .. } | Precondition::Deceased { reason } => {
                reason
            }
        }
    }

    /// The referral's status when that is what stopped the evaluation.
    pub fn referral_status(&self) -> Option<&str> {
        match self {
            Precondition::ReferralStatus { status, .. } => Some(status),
            Precondition::Deceased { .. } => None,
        }
    }
}

/// The first precondition that fails, if any: the referral's status, then the patient's death.
pub(super) fn check(ev: &Scope) -> Option<Precondition> {
    referral_status(ev).or_else(|| deceased(ev))
}

fn referral_status(ev: &Scope) -> Option<Precondition> {
    let status = ev
        .referral()
        .member("status")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let what = match status {
        "active" => return None,
        "draft" => "is a draft (ServiceRequest.status 'draft'): the order is not signed yet; it is evaluated once it is active",
        "on-hold" => "is on hold (ServiceRequest.status 'on-hold'): the referrer has suspended it; it is evaluated once it is active again",
        "revoked" => "was revoked (ServiceRequest.status 'revoked'): the referrer has withdrawn it",
        "completed" => "is completed (ServiceRequest.status 'completed'): there is nothing left to act on",
        "entered-in-error" => "was entered in error (ServiceRequest.status 'entered-in-error')",
        _ => "has status 'unknown': the sender does not know whether the order is in force; it is evaluated once it is active",
    };
    Some(Precondition::ReferralStatus {
        status: status.to_string(),
        reason: format!("{} {what}", ev.referral_key()),
    })
}

fn deceased(ev: &Scope) -> Option<Precondition> {
    let key = ev.patient_key()?;
    let patient = ev.get(key)?;
    if let Some(date) = patient.member("deceasedDateTime").and_then(Value::as_str) {
        let referral = ev.referral().member("authoredOn").and_then(Value::as_str);
        let days = referral
            .and_then(|r| day_number(r, Edge::Start))
            .zip(day_number(date, Edge::Start))
            .map(|(r, d)| r - d);
        let when = match days {
            Some(d) if d > 0 => format!(", {d} day(s) before the referral's authoredOn"),
            Some(0) => ", the day of the referral".to_string(),
            Some(d) => format!(", {} day(s) after the referral's authoredOn", -d),
            None => String::new(),
        };
        return Some(Precondition::Deceased {
            reason: format!(
                "{key} is deceased (Patient.deceasedDateTime {date}{when}): the program serves living patients"
            ),
        });
    }
    (patient.member("deceasedBoolean").and_then(Value::as_bool) == Some(true)).then(|| {
        Precondition::Deceased {
            reason: format!(
                "{key} is deceased (Patient.deceasedBoolean true): the program serves living patients"
            ),
        }
    })
}
