//! "You're a plan member": an active Coverage from the plan covering the referral date.

use super::evidence::references;
use super::{Criterion, EligibilityRules, Finding, Scope, Verdict};
use fhir_engine::json::member::Member;
use fhir_engine::model::coding::first_code;
use fhir_engine::model::date::{day_number, Edge};
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
        return finding(
            Verdict::Unknown,
            "no Coverage referenced by ServiceRequest.insurance could be read".into(),
            vec![],
        );
    }
    let mut problems = Vec::new();
    for (key, coverage) in &coverages {
        match check(ev, rules, coverage, referral_day) {
            Ok(payor) => {
                let mut evidence = vec![key.to_string()];
                evidence.extend(payor);
                return finding(
                    Verdict::Met,
                    concat([
                        key,
                        " is an active plan membership covering the referral date",
                    ]),
                    evidence,
                );
            }
            Err(problem) => problems.push(concat([key, " ", &problem])),
        }
    }
    finding(
        Verdict::NotMet,
        problems.join("; "),
        coverages.iter().map(|(k, _)| k.to_string()).collect(),
    )
}

/// The payor's key when the coverage qualifies, else why not.
fn check(
    ev: &Scope,
    rules: &EligibilityRules,
    coverage: &Value,
    referral_day: Option<i64>,
) -> Result<Option<String>, String> {
    let status = coverage
        .member("status")
        .and_then(Value::as_str)
        .unwrap_or("");
    if status != "active" {
        return Err(format!("has status '{status}', not active"));
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
        return Err("has no member id (identifier type MB)".into());
    }
    let Some(payor) = references(coverage, "payor").find(|p| rules.is_plan_organization(ev, p))
    else {
        return Err("is not from the plan: its payor is not a plan organisation".into());
    };
    let payor_key = ev.resolve(payor).map(|(k, _)| k.to_string());
    let Some(day) = referral_day else {
        return Err("cannot be checked against the referral date (authoredOn missing)".into());
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
        return Err("does not cover the referral date (period)".into());
    }
    Ok(payor_key)
}
