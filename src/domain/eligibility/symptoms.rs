//! "Need assistance with symptom management (such as pain, shortness of breath, frequent
//! infections)": an active symptom Condition, a symptom score above 0, or a coded reason.

use super::advanced_illness::{is_active, is_entered_in_error, status};
use super::weighed::{keys, reasons};
use super::{Criterion, EligibilityRules, Finding, Scope, Terminology, Verdict};
use fhir_engine::json::member::Member;
use fhir_engine::model::coding::{codings, label};
use fhir_engine::text::push_separated;
use serde_json::Value;

const EXPRESSION: &str = "Condition.where(code.memberOf(%symptomValueSet) and clinicalStatus.coding.code = 'active') | Observation.where(code.memberOf(%symptomObservationValueSet) and status in ('final' | 'amended' | 'corrected') and value > 0) | ServiceRequest.reasonCode.where(memberOf(%symptomValueSet))";

/// A symptom that needs managing, for the plan's per-symptom activities.
#[derive(Debug, Clone, PartialEq)]
pub struct Symptom {
    /// `Type/id` of the Condition or Observation, `None` for a coded reason on the referral.
    pub source: Option<String>,
    /// The symptom's CodeableConcept.
    pub code: Value,
}

fn in_value_set(resource: &Value, value_set: &str, tx: &dyn Terminology) -> bool {
    resource
        .member("code")
        .is_some_and(|code| codings(code).any(|(s, c)| tx.in_value_set(value_set, s, c)))
}

/// Active symptoms, one per code (first seen wins), in evidence order.
pub fn symptoms(ev: &Scope, rules: &EligibilityRules, tx: &dyn Terminology) -> Vec<Symptom> {
    let mut found: Vec<Symptom> = Vec::new();
    let mut push = |source: Option<String>, code: &Value| {
        let first = codings(code).next();
        let seen = found.iter().any(|s| codings(&s.code).next() == first);
        if !seen {
            found.push(Symptom {
                source,
                code: code.clone(),
            });
        }
    };
    for (key, condition) in ev.of_type("Condition") {
        if ev.about_patient(condition, "subject")
            && in_value_set(condition, &rules.symptom_value_set, tx)
            && is_active(condition)
            && !matches!(
                status(condition, "verificationStatus"),
                Some("refuted" | "entered-in-error")
            )
        {
            if let Some(code) = condition.member("code") {
                push(Some(key.to_string()), code);
            }
        }
    }
    for (key, observation) in ev.of_type("Observation") {
        if ev.about_patient(observation, "subject")
            && in_value_set(observation, &rules.symptom_observation_value_set, tx)
            && is_final(observation)
            && shows_symptom(observation)
        {
            if let Some(code) = observation.member("code") {
                push(Some(key.to_string()), code);
            }
        }
    }
    for reason in ev
        .referral()
        .member("reasonCode")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if codings(reason).any(|(s, c)| tx.in_value_set(&rules.symptom_value_set, s, c)) {
            push(None, reason);
        }
    }
    found
}

/// `active`: what [`symptoms`] found.
pub fn evaluate(
    ev: &Scope,
    rules: &EligibilityRules,
    tx: &dyn Terminology,
    active: &[Symptom],
) -> Finding {
    let finding = |verdict, reason: String, evidence| {
        Finding::new(
            Criterion::SymptomManagement,
            verdict,
            reason,
            evidence,
            EXPRESSION,
        )
    };
    if !active.is_empty() {
        let keys: Vec<String> = active.iter().filter_map(|s| s.source.clone()).collect();
        return finding(Verdict::Met, needing_management(active), keys);
    }
    // Only symptom evidence that shows no current symptom decides "not met"; evidence still
    // pending (a preliminary score, a Condition without clinicalStatus) leaves it unknown.
    let mut pending = Vec::new();
    let mut contrary = Vec::new();
    for (key, condition) in ev
        .of_type("Condition")
        .filter(|(_, c)| ev.about_patient(c, "subject") && !is_entered_in_error(c))
        .filter(|(_, c)| in_value_set(c, &rules.symptom_value_set, tx))
    {
        match (
            status(condition, "clinicalStatus"),
            status(condition, "verificationStatus"),
        ) {
            (_, Some("refuted")) => contrary.push((
                key,
                format!("{key} is refuted (Condition.verificationStatus)"),
            )),
            (None, _) => pending.push((key, format!("{key} has no Condition.clinicalStatus"))),
            (Some(c), _) => {
                contrary.push((key, format!("{key} is {c} (Condition.clinicalStatus)")))
            }
        }
    }
    for (key, observation) in ev
        .of_type("Observation")
        .filter(|(_, o)| ev.about_patient(o, "subject"))
        .filter(|(_, o)| in_value_set(o, &rules.symptom_observation_value_set, tx))
    {
        let obs_status = observation
            .member("status")
            .and_then(Value::as_str)
            .unwrap_or("");
        match obs_status {
            "entered-in-error" | "cancelled" => {}
            "final" | "amended" | "corrected" => contrary.push((
                key,
                format!("{key} scores no symptom (Observation.value is 0 or absent)"),
            )),
            other => pending.push((
                key,
                format!(
                    "{key} is {other}, not final (Observation.status): a final score is needed"
                ),
            )),
        }
    }
    if !pending.is_empty() {
        finding(Verdict::Unknown, reasons(&pending), keys(&pending))
    } else if !contrary.is_empty() {
        finding(
            Verdict::NotMet,
            format!(
                "the symptom evidence shows no current symptom: {}",
                reasons(&contrary)
            ),
            keys(&contrary),
        )
    } else {
        finding(
            Verdict::Unknown,
            "no symptom Condition, symptom score Observation or ServiceRequest.reasonCode was sent"
                .into(),
            vec![],
        )
    }
}

/// `symptoms need management: ` and each symptom's label, `; ` between.
fn needing_management(active: &[Symptom]) -> String {
    let mut reason = String::from("symptoms need management: ");
    push_separated(&mut reason, active, "; ", |reason, symptom| {
        reason.push_str(&label(&symptom.code));
        reason.push_str(" (");
        reason.push_str(
            symptom
                .source
                .as_deref()
                .unwrap_or("ServiceRequest.reasonCode"),
        );
        reason.push(')');
    });
    reason
}

fn is_final(observation: &Value) -> bool {
    matches!(
        observation.member("status").and_then(Value::as_str),
        Some("final" | "amended" | "corrected")
    )
}

/// A score above 0, a quantity above 0, `true`, or a coded value.
fn shows_symptom(observation: &Value) -> bool {
    if let Some(n) = observation.member("valueInteger").and_then(Value::as_i64) {
        return n > 0;
    }
    if let Some(q) = observation
        .member("valueQuantity")
        .and_then(|q| q.member("value"))
        .and_then(Value::as_f64)
    {
        return q > 0.0;
    }
    if let Some(b) = observation.member("valueBoolean").and_then(Value::as_bool) {
        return b;
    }
    observation.member("valueCodeableConcept").is_some()
        || observation.member("valueString").is_some()
}
