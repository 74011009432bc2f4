//! "Because of your illness or injury, you're homebound and a physician certifies that you're
//! homebound": the Housebound Observation, performed by a physician, within the look-back.

use super::evidence::effective_start;
use super::evidence::references;
use super::{Criterion, EligibilityRules, Finding, Scope, Verdict};
use fhir_engine::json::member::Member;
use fhir_engine::model::date::{day_number, Edge};
use fhir_engine::text::concat;
use serde_json::Value;

const EXPRESSION: &str = "Observation.where(code.memberOf(%homeboundCodes) and status in ('final' | 'amended' | 'corrected') and (value.empty() or value = true) and performer.resolve().is(physician) and effective >= ServiceRequest.authoredOn - %homeboundLookbackDays days)";
/// The certification may follow the referral by up to this many days (the face-to-face window).
const AFTER_REFERRAL_DAYS: i64 = 30;

pub fn evaluate(ev: &Scope, rules: &EligibilityRules) -> Finding {
    let finding = |verdict, reason: String, evidence| {
        Finding::new(
            Criterion::HomeboundCertified,
            verdict,
            reason,
            evidence,
            EXPRESSION,
        )
    };
    let certifications: Vec<(&str, &Value)> = ev
        .of_type("Observation")
        .filter(|(_, o)| ev.about_patient(o, "subject"))
        .filter(|(_, o)| {
            o.member("code")
                .is_some_and(|c| rules.homebound_codes.matches_concept(c))
        })
        .filter(|(_, o)| {
            !matches!(
                o.member("status").and_then(Value::as_str),
                Some("entered-in-error" | "cancelled")
            )
        })
        .collect();
    if certifications.is_empty() {
        return finding(
            Verdict::Unknown,
            "no homebound certification Observation was sent or referenced".into(),
            vec![],
        );
    }
    let referral_day = ev
        .referral()
        .member("authoredOn")
        .and_then(Value::as_str)
        .and_then(|d| day_number(d, Edge::Start));
    let mut problems = Vec::new();
    for (key, obs) in &certifications {
        match check(ev, rules, obs, referral_day) {
            Ok(()) => {
                return finding(
                    Verdict::Met,
                    concat([key, " certifies the patient homebound"]),
                    vec![key.to_string()],
                )
            }
            Err(problem) => problems.push(concat([key, " ", &problem])),
        }
    }
    finding(
        Verdict::NotMet,
        problems.join("; "),
        certifications.iter().map(|(k, _)| k.to_string()).collect(),
    )
}

fn check(
    ev: &Scope,
    rules: &EligibilityRules,
    obs: &Value,
    referral_day: Option<i64>,
) -> Result<(), String> {
    if !matches!(
        obs.member("status").and_then(Value::as_str),
        Some("final" | "amended" | "corrected")
    ) {
        return Err("is not final".into());
    }
    if obs.member("valueBoolean").and_then(Value::as_bool) == Some(false) {
        return Err("states the patient is not homebound".into());
    }
    let physician = references(obs, "performer").any(|p| {
        ev.resolve(p)
            .is_some_and(|(k, _)| super::physician::physician_key_qualifies(ev, rules, k))
    });
    if !physician {
        return Err("is not certified by a physician (performer)".into());
    }
    let effective = effective_start(obs).and_then(|d| day_number(d, Edge::Start));
    match (effective, referral_day) {
        (Some(day), Some(referral)) => {
            if day < referral - rules.homebound_lookback_days {
                Err(format!(
                    "is older than the {}-day look-back",
                    rules.homebound_lookback_days
                ))
            } else if day > referral + AFTER_REFERRAL_DAYS {
                Err("is dated too long after the referral".into())
            } else {
                Ok(())
            }
        }
        _ => Err("has no effective date to check against the look-back".into()),
    }
}
