//! "Diagnosed with a progressive and advanced medical condition": an active, confirmed
//! Condition coded from the advanced-illness ValueSet.
//!
//! Only contrary evidence makes it not met: a refuted or resolved advanced-illness diagnosis, or
//! diagnoses that are all placed outside the ValueSet. An unconfirmed diagnosis, one without
//! status, a code that cannot be placed or a referenced Condition that cannot be read leave it
//! unknown. Entered-in-error Conditions are no evidence at all.

use super::terminology::{concept_membership, Membership};
use super::weighed::{keys, reasons};
use super::{Criterion, EligibilityRules, Finding, Scope, Terminology, Verdict};
use fhir_engine::json::member::Member;
use fhir_engine::model::coding::{codings, first_code, label};
use serde_json::Value;

const EXPRESSION: &str = "Condition.where(verificationStatus.coding.code != 'entered-in-error' and clinicalStatus.coding.code in ('active' | 'recurrence' | 'relapse') and verificationStatus.coding.code = 'confirmed' and code.memberOf(%advancedIllnessValueSet))";

pub fn evaluate(ev: &Scope, rules: &EligibilityRules, tx: &dyn Terminology) -> Finding {
    let finding = |verdict, reason: String, evidence| {
        Finding::new(
            Criterion::AdvancedIllness,
            verdict,
            reason,
            evidence,
            EXPRESSION,
        )
    };
    type Keyed<'a> = Vec<(&'a str, &'a Value)>;
    let (set_aside, conditions): (Keyed, Keyed) = ev
        .of_type("Condition")
        .filter(|(_, c)| ev.about_patient(c, "subject"))
        .partition(|(_, c)| is_entered_in_error(c));
    let mut pending = Vec::new(); // (key, why unknown)
    let mut contrary = Vec::new(); // (key, why not met)
    let mut unplaced = Vec::new();
    let mut outside = Vec::new();
    for &(key, condition) in &conditions {
        let code = condition.member("code");
        let membership = code.map_or(Membership::Unknown, |c| {
            concept_membership(tx, &rules.advanced_illness_value_set, c)
        });
        match membership {
            Membership::In => {}
            Membership::Unknown => {
                // a symptom is not a diagnosis we failed to place
                if !code.is_some_and(|c| tx_in(tx, &rules.symptom_value_set, c)) {
                    unplaced.push((key, code));
                }
                continue;
            }
            Membership::NotIn => {
                if !code.is_some_and(|c| tx_in(tx, &rules.symptom_value_set, c)) {
                    outside.push((key, code));
                }
                continue;
            }
        }
        let diagnosis = code.map(label).unwrap_or_default();
        let clinical = status(condition, "clinicalStatus");
        let verification = status(condition, "verificationStatus");
        match (clinical, verification) {
            (Some("active" | "recurrence" | "relapse"), Some("confirmed")) => {
                return finding(
                    Verdict::Met,
                    format!(
                        "{key} (Condition.code {diagnosis}) is an advanced-illness diagnosis, clinicalStatus {} and verificationStatus confirmed",
                        clinical.unwrap_or_default()
                    ),
                    vec![key.to_string()],
                );
            }
            (_, Some("refuted")) => contrary.push((
                key,
                format!("{key} (Condition.code {diagnosis}) is refuted (Condition.verificationStatus)"),
            )),
            (Some(c @ ("inactive" | "remission" | "resolved")), _) => contrary.push((
                key,
                format!("{key} (Condition.code {diagnosis}) is {c} (Condition.clinicalStatus)"),
            )),
            (None, _) | (_, None) => pending.push((
                key,
                format!(
                    "{key} (Condition.code {diagnosis}) has no {}: a confirmed, active diagnosis is needed",
                    if clinical.is_none() && verification.is_none() {
                        "clinicalStatus or verificationStatus"
                    } else if clinical.is_none() {
                        "clinicalStatus"
                    } else {
                        "verificationStatus"
                    }
                ),
            )),
            (_, Some(v)) => pending.push((
                key,
                format!(
                    "{key} (Condition.code {diagnosis}) is {v}, not confirmed (Condition.verificationStatus): a confirmed diagnosis is needed"
                ),
            )),
        }
    }
    if !pending.is_empty() {
        return finding(Verdict::Unknown, reasons(&pending), keys(&pending));
    }
    if !contrary.is_empty() && unplaced.is_empty() {
        return finding(Verdict::NotMet, reasons(&contrary), keys(&contrary));
    }
    if !unplaced.is_empty() {
        let items: Vec<(&str, String)> = unplaced
            .iter()
            .map(|(key, code)| {
                let what = code.map(describe).unwrap_or_else(|| "no code".into());
                (
                    *key,
                    format!("{key} (Condition.code {what}) cannot be placed in the advanced-illness ValueSet: code it in ICD-10-CM or with a listed SNOMED CT concept"),
                )
            })
            .collect();
        return finding(Verdict::Unknown, reasons(&items), keys(&items));
    }
    let unreadable = unreadable_reasons(ev);
    if !unreadable.is_empty() {
        return finding(
            Verdict::Unknown,
            format!(
                "{} could not be read: the referenced diagnosis is needed",
                unreadable.join(", ")
            ),
            vec![],
        );
    }
    if !outside.is_empty() {
        let items: Vec<(&str, String)> = outside
            .iter()
            .map(|(key, code)| {
                let what = code.map(describe).unwrap_or_default();
                (*key, format!("{key} (Condition.code {what})"))
            })
            .collect();
        return finding(
            Verdict::NotMet,
            format!(
                "no diagnosis is an advanced illness: {} is outside the advanced-illness ValueSet",
                reasons(&items)
            ),
            keys(&items),
        );
    }
    if !set_aside.is_empty() {
        let keys: Vec<&str> = set_aside.iter().map(|(k, _)| *k).collect();
        return finding(
            Verdict::Unknown,
            format!(
                "{} entered-in-error (Condition.verificationStatus) and no other diagnosis was sent: a confirmed diagnosis is needed",
                if keys.len() == 1 {
                    format!("{} was", keys[0])
                } else {
                    format!("{} were", keys.join(", "))
                }
            ),
            keys.iter().map(|k| k.to_string()).collect(),
        );
    }
    finding(
        Verdict::Unknown,
        "no diagnosis Condition was sent or referenced (ServiceRequest.reasonReference)".into(),
        vec![],
    )
}

fn tx_in(tx: &dyn Terminology, value_set: &str, code: &Value) -> bool {
    codings(code).any(|(s, c)| tx.in_value_set(value_set, s, c))
}

/// `ServiceRequest.reasonReference[i] (reference)` of each Condition reason not in the evidence.
pub(super) fn unreadable_reasons(ev: &Scope) -> Vec<String> {
    super::evidence::references(ev.referral(), "reasonReference")
        .enumerate()
        .filter(|(_, r)| ev.resolve(r).is_none())
        .filter(|(_, r)| {
            r.member("type")
                .and_then(Value::as_str)
                .is_none_or(|t| t == "Condition")
                && r.member("reference")
                    .and_then(Value::as_str)
                    .is_none_or(|l| !l.contains("Observation/"))
        })
        .map(|(i, r)| {
            let text = r
                .member("reference")
                .and_then(Value::as_str)
                .or_else(|| r.member("display").and_then(Value::as_str))
                .unwrap_or("a logical reference");
            format!("ServiceRequest.reasonReference[{i}] ({text})")
        })
        .collect()
}

/// `system|code` of each coding, and the text, for a reason.
fn describe(code: &Value) -> String {
    let mut parts: Vec<String> = codings(code)
        .map(|(s, c)| format!("{}|{c}", s.unwrap_or("(no system)")))
        .collect();
    if let Some(text) = code.member("text").and_then(Value::as_str) {
        parts.push(format!("'{text}'"));
    }
    if parts.is_empty() {
        "without coding or text".into()
    } else {
        parts.join(" ")
    }
}

pub(super) fn is_active(condition: &Value) -> bool {
    matches!(
        status(condition, "clinicalStatus"),
        Some("active" | "recurrence" | "relapse")
    )
}

pub(super) fn is_entered_in_error(condition: &Value) -> bool {
    status(condition, "verificationStatus") == Some("entered-in-error")
}

pub(super) fn status<'a>(condition: &'a Value, element: &str) -> Option<&'a str> {
    condition.get(element).and_then(|c| first_code(c, None))
}
