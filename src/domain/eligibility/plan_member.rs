//! "You're a plan member": an active Coverage from the plan covering the referral date.

use super::evidence::references;
use super::weighed::{Problem, Problems};
use super::{Criterion, EligibilityRules, Finding, Scope, Verdict};
use fhir_engine::json::member::Member;
use fhir_engine::model::coding::first_code;
use fhir_engine::temporal::{day_number, Edge};
use fhir_engine::text::concat;
use serde_json::Value;

const EXPRESSION: &str = "ServiceRequest.insurance.resolve().where(status = 'active' and identifier.type.coding.code = 'MB' and payor.resolve().identifier in %planOrganizations and period covers ServiceRequest.authoredOn)";

pub fn evaluate(ev: &Scope, rules: &EligibilityRules) -> Finding {
    let finding = |verdict, reason: String, evidence| {
        Finding::new(Criterion::PlanMember, verdict, reason, evidence, EXPRESSION)
    };
    let referral_day = ev
        .referral()
        .member("authoredOn")
        .and_then(Value::as_str)
        .and_then(|d| day_number(d, Edge::Start));
    let coverages: Vec<(&str, &Value)> = ev
        .resolve_all(ev.referral(), "insurance")
        .filter(|(k, _)| k.starts_with("Coverage/"))
        .collect();
    if coverages.is_empty() {
        let named: Vec<&str> = references(ev.referral(), "insurance")
            .filter_map(|r| r.member("reference").and_then(Value::as_str))
            .collect();
        let reason = if named.is_empty() {
            "the referral names no Coverage (ServiceRequest.insurance)".to_string()
        } else {
            format!(
                "the Coverage in ServiceRequest.insurance ({}) could not be read",
                named.join(", ")
            )
        };
        return finding(Verdict::Unknown, reason, vec![]);
    }
    let mut problems = Problems::default();
    for (key, coverage) in &coverages {
        match check(ev, rules, coverage, referral_day) {
            Ok(payor) => {
                let mut evidence = vec![key.to_string()];
                evidence.extend(payor);
                return finding(
                    Verdict::Met,
                    concat([
                        key,
                        " is an active plan membership covering the referral date (Coverage.status, .identifier, .payor, .period)",
                    ]),
                    evidence,
                );
            }
            Err(problem) => problems.add(key, problem),
        }
    }
    let keys = coverages.iter().map(|(k, _)| k.to_string()).collect();
    let (verdict, reason) = problems.verdict();
    finding(verdict, reason, keys)
}

/// The payor's key when the coverage qualifies, else why not.
fn check(
    ev: &Scope,
    rules: &EligibilityRules,
    coverage: &Value,
    referral_day: Option<i64>,
) -> Result<Option<String>, Problem> {
    let status = coverage
        .member("status")
        .and_then(Value::as_str)
        .unwrap_or("");
    match status {
        "active" => {}
        "draft" => {
            return Err(Problem::Pending(
                "is a draft (Coverage.status): an active coverage is needed".into(),
            ))
        }
        _ => {
            return Err(Problem::Contrary(format!(
                "has status '{status}', not active (Coverage.status)"
            )))
        }
    }
    let member_id = coverage
        .member("identifier")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|i| {
            i.member("type")
                .and_then(|t| first_code(t, Some("http://terminology.hl7.org/CodeSystem/v2-0203")))
                == Some("MB")
        });
    if !member_id {
        return Err(Problem::Pending(
            "has no member id (Coverage.identifier with type v2-0203#MB)".into(),
        ));
    }
    let Some(payor) = references(coverage, "payor").find(|p| rules.is_plan_organization(ev, p))
    else {
        // a payor we cannot read may still be the plan
        let unreadable = references(coverage, "payor")
            .any(|p| p.member("identifier").is_none() && ev.resolve(p).is_none());
        return Err(if unreadable {
            Problem::Pending("names a payor that could not be read (Coverage.payor)".into())
        } else {
            Problem::Contrary(
                "is not from the plan: its payor is not a plan organisation (Coverage.payor)"
                    .into(),
            )
        });
    };
    let payor_key = ev.resolve(payor).map(|(k, _)| k.to_string());
    let Some(day) = referral_day else {
        return Err(Problem::Pending(
            "cannot be checked against the referral date (ServiceRequest.authoredOn is missing)"
                .into(),
        ));
    };
    let period = coverage.member("period");
    let start = period
        .and_then(|p| p.member("start"))
        .and_then(Value::as_str)
        .and_then(|d| day_number(d, Edge::Start));
    let end = period
        .and_then(|p| p.member("end"))
        .and_then(Value::as_str)
        .and_then(|d| day_number(d, Edge::End));
    if start.is_some_and(|s| day < s) || end.is_some_and(|e| day > e) {
        return Err(Problem::Contrary(
            "does not cover the referral date (Coverage.period)".into(),
        ));
    }
    Ok(payor_key)
}
