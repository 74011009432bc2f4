//! "Because of your illness or injury, you're homebound and a physician certifies that you're
//! homebound": the Housebound Observation, performed by a physician, within the look-back.

use super::evidence::effective_start;
use super::evidence::references;
use super::weighed::{Problem, Problems};
use super::{Criterion, EligibilityRules, Finding, Scope, Verdict};
use fhir_engine::json::member::Member;
use fhir_engine::temporal::{day_number, Edge};
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
            "no homebound certification Observation (SNOMED 160689007) was sent or referenced"
                .into(),
            vec![],
        );
    }
    let referral_day = ev
        .referral()
        .member("authoredOn")
        .and_then(Value::as_str)
        .and_then(|d| day_number(d, Edge::Start));
    let mut problems = Problems::default();
    for (key, obs) in &certifications {
        match check(ev, rules, obs, referral_day) {
            Ok(()) => {
                return finding(
                    Verdict::Met,
                    concat([
                        key,
                        " certifies the patient homebound (Observation.code, .status, .performer a physician, .effective)",
                    ]),
                    vec![key.to_string()],
                )
            }
            Err(problem) => problems.add(key, problem),
        }
    }
    let keys = certifications.iter().map(|(k, _)| k.to_string()).collect();
    let (verdict, reason) = problems.verdict();
    finding(verdict, reason, keys)
}

fn check(
    ev: &Scope,
    rules: &EligibilityRules,
    obs: &Value,
    referral_day: Option<i64>,
) -> Result<(), Problem> {
    let status = obs.member("status").and_then(Value::as_str).unwrap_or("");
    if !matches!(status, "final" | "amended" | "corrected") {
        return Err(Problem::Pending(format!(
            "is {status}, not final (Observation.status): a final homebound certification signed by a physician is needed"
        )));
    }
    if obs.member("valueBoolean").and_then(Value::as_bool) == Some(false) {
        return Err(Problem::Contrary(
            "states the patient is not homebound (Observation.valueBoolean false)".into(),
        ));
    }
    let performers: Vec<(&str, Option<bool>)> = references(obs, "performer")
        .map(|p| match ev.resolve(p) {
            Some((k, _)) => (k, super::physician::physician_key_status(ev, rules, k)),
            None => (
                p.member("reference")
                    .and_then(Value::as_str)
                    .unwrap_or("a performer"),
                None,
            ),
        })
        .collect();
    if !performers.iter().any(|(_, p)| *p == Some(true)) {
        let unknown: Vec<&str> = performers
            .iter()
            .filter(|(_, p)| p.is_none())
            .map(|(k, _)| *k)
            .collect();
        return Err(if performers.is_empty() {
            Problem::Pending("names no certifying physician (Observation.performer)".into())
        } else if unknown.is_empty() {
            Problem::Contrary(
                "is not certified by a physician (Observation.performer is not a physician)".into(),
            )
        } else {
            Problem::Pending(format!(
                "names a performer not known to be a physician ({}: Practitioner.qualification or PractitionerRole.code is needed)",
                unknown.join(", ")
            ))
        });
    }
    let effective = effective_start(obs).and_then(|d| day_number(d, Edge::Start));
    match (effective, referral_day) {
        (Some(day), Some(referral)) => {
            if day < referral - rules.homebound_lookback_days {
                Err(Problem::Pending(format!(
                    "is older than the {}-day look-back (Observation.effective): a current certification is needed",
                    rules.homebound_lookback_days
                )))
            } else if day > referral + AFTER_REFERRAL_DAYS {
                Err(Problem::Pending(
                    "is dated more than 30 days after the referral (Observation.effective)".into(),
                ))
            } else {
                Ok(())
            }
        }
        (None, _) => Err(Problem::Pending(
            "has no date (Observation.effective) to check against the look-back".into(),
        )),
        (_, None) => Err(Problem::Pending(
            "cannot be checked against the referral date (ServiceRequest.authoredOn)".into(),
        )),
    }
}
