//! "Diagnosed with a progressive and advanced medical condition": an active, confirmed
//! Condition coded from the advanced-illness ValueSet.

use super::{Criterion, EligibilityRules, Finding, Scope, Terminology, Verdict};
use fhir_engine::json::member::Member;
use fhir_engine::model::coding::{codings, first_code, label};
use fhir_engine::text::concat;
use serde_json::Value;

const EXPRESSION: &str = "Condition.where(clinicalStatus.coding.code in ('active' | 'recurrence' | 'relapse') and verificationStatus.coding.code = 'confirmed' and code.memberOf(%advancedIllnessValueSet))";

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
    let advanced: Vec<(&str, &Value)> = ev
        .of_type("Condition")
        .filter(|(_, c)| ev.about_patient(c, "subject"))
        .filter(|(_, c)| in_value_set(c, &rules.advanced_illness_value_set, tx))
        .collect();
    if advanced.is_empty() {
        return if ev.of_type("Condition").next().is_some() {
            finding(
                Verdict::NotMet,
                "no Condition carries a diagnosis from the advanced-illness ValueSet".into(),
                vec![],
            )
        } else {
            finding(
                Verdict::Unknown,
                "no Condition was sent or referenced".into(),
                vec![],
            )
        };
    }
    if let Some((key, condition)) = advanced
        .iter()
        .find(|(_, c)| is_active(c) && is_confirmed(c))
    {
        let diagnosis = condition.member("code").map(label).unwrap_or_default();
        return finding(
            Verdict::Met,
            concat([
                key,
                " (",
                &diagnosis,
                ") is an active, confirmed advanced-illness diagnosis",
            ]),
            vec![key.to_string()],
        );
    }
    let reasons: Vec<String> = advanced
        .iter()
        .map(|(k, c)| {
            format!(
                "{k} is {} and {}",
                status(c, "clinicalStatus"),
                status(c, "verificationStatus")
            )
        })
        .collect();
    finding(
        Verdict::NotMet,
        format!(
            "no advanced-illness diagnosis is both active and confirmed: {}",
            reasons.join("; ")
        ),
        advanced.iter().map(|(k, _)| k.to_string()).collect(),
    )
}

pub(super) fn in_value_set(resource: &Value, value_set: &str, tx: &dyn Terminology) -> bool {
    resource
        .member("code")
        .is_some_and(|code| codings(code).any(|(s, c)| tx.in_value_set(value_set, s, c)))
}

pub(super) fn is_active(condition: &Value) -> bool {
    matches!(
        status(condition, "clinicalStatus"),
        "active" | "recurrence" | "relapse"
    )
}

fn is_confirmed(condition: &Value) -> bool {
    status(condition, "verificationStatus") == "confirmed"
}

fn status<'a>(condition: &'a Value, element: &str) -> &'a str {
    condition
        .get(element)
        .and_then(|c| first_code(c, None))
        .unwrap_or("without status")
}
