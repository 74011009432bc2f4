//! "The home is a place where services can be given safely and effectively": the home safety
//! assessment's coded result.

use super::evidence::effective_start;
use super::{Criterion, EligibilityRules, Finding, Scope, Verdict};
use fhir_engine::json::member::Member;
use fhir_engine::temporal::{day_number, Edge};
use fhir_engine::text::concat;
use serde_json::Value;

const EXPRESSION: &str = "Observation.where(code.memberOf(%homeSafetyCodes) and status in ('final' | 'amended' | 'corrected')).value.ofType(CodeableConcept)";

pub fn evaluate(ev: &Scope, rules: &EligibilityRules) -> Finding {
    let finding = |verdict, reason: String, evidence| {
        Finding::new(Criterion::HomeSafe, verdict, reason, evidence, EXPRESSION)
    };
    let assessments: Vec<(&str, &Value)> = ev
        .of_type("Observation")
        .filter(|(_, o)| ev.about_patient(o, "subject"))
        .filter(|(_, o)| {
            o.member("code")
                .is_some_and(|c| rules.home_safety_codes.matches_concept(c))
        })
        .filter(|(_, o)| {
            matches!(
                o.member("status").and_then(Value::as_str),
                Some("final" | "amended" | "corrected")
            )
        })
        .collect();
    if assessments.is_empty() {
        return finding(
            Verdict::Unknown,
            "no completed (final) home safety assessment Observation was sent or referenced".into(),
            vec![],
        );
    }
    // the most recent assessment with a coded result decides
    let mut decided: Vec<(&str, &Value, Verdict)> = assessments
        .iter()
        .filter_map(|(key, obs)| {
            let result = obs.member("valueCodeableConcept")?;
            let verdict = if rules.home_unsafe_results.matches_concept(result) {
                Verdict::NotMet
            } else if rules.home_safe_results.matches_concept(result) {
                Verdict::Met
            } else {
                return None;
            };
            Some((*key, *obs, verdict))
        })
        .collect();
    decided.sort_by(|a, b| {
        effective(b.1)
            .cmp(&effective(a.1))
            .then_with(|| a.0.cmp(b.0))
    });
    if let Some((key, _, verdict)) = decided.first() {
        let reason = match verdict {
            Verdict::NotMet => concat([
                key,
                " (Observation.valueCodeableConcept) found the home unsafe for in-home services",
            ]),
            _ => concat([
                key,
                " (Observation.valueCodeableConcept) found the home safe for in-home services",
            ]),
        };
        return finding(*verdict, reason, vec![key.to_string()]);
    }
    finding(
        Verdict::Unknown,
        "the home safety assessment has no coded result, safe or unsafe (Observation.valueCodeableConcept)".into(),
        assessments.iter().map(|(k, _)| k.to_string()).collect(),
    )
}

/// The assessment's date, for ordering (undated sorts first, i.e. oldest).
fn effective(obs: &Value) -> (i64, &str) {
    let text = effective_start(obs).unwrap_or("");
    (day_number(text, Edge::Start).unwrap_or(i64::MIN), text)
}
