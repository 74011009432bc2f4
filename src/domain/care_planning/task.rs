//! The referral Task (profile hbpc-referral-task, BSeR ReferralTask style): the workflow state,
//! with the full determination in `output` and the evidence considered in `input`.

use super::PlanInput;
use crate::domain::eligibility::{Decision, Verdict};
use serde_json::{json, Value};

pub const PROFILE: &str = "http://hbpc.example.org/fhir/StructureDefinition/hbpc-referral-task";
const CANON: &str = "http://hbpc.example.org/fhir/CodeSystem/";
const BUSINESS_STATUS: &str = "http://hl7.org/fhir/us/bser/CodeSystem/TaskBusinessStatusCS";

fn parameter_type(code: &str, display: &str) -> Value {
    json!({"coding": [{"system": format!("{CANON}hbpc-task-parameter"), "code": code, "display": display}]})
}

pub fn generate(input: &PlanInput, with_plan: bool) -> Value {
    let ev = input.evidence;
    let determination = input.determination;
    let decision = determination.decision();
    let (status, business, business_display) = match decision {
        Decision::Eligible => ("accepted", "3.0", "Service Request Accepted"),
        Decision::Ineligible => ("rejected", "4.0", "Service Request Declined"),
        Decision::Pending => ("on-hold", "2.0", "Service Request Created"),
    };
    let referral = ev.referral();
    let authored = input
        .prior
        .task
        .as_ref()
        .and_then(|t| t.get("authoredOn"))
        .and_then(Value::as_str)
        .unwrap_or(input.now);

    let mut output = vec![json!({
        "type": parameter_type("determination", "Eligibility determination"),
        "valueReference": {"reference": "#determination", "display": "Eligibility determination"},
    })];
    for finding in determination.with(Verdict::Unknown) {
        output.push(json!({
            "type": parameter_type("missing-evidence", "Missing evidence"),
            "valueString": format!("{}: {}", finding.criterion.code(), finding.criterion.evidence_needed()),
        }));
    }
    if with_plan {
        output.push(json!({
            "type": parameter_type("care-plan", "Generated CarePlan"),
            "valueReference": {"reference": format!("CarePlan/{}", input.identity.id("CarePlan"))},
        }));
        output.push(json!({
            "type": parameter_type("care-team", "Generated CareTeam"),
            "valueReference": {"reference": format!("CareTeam/{}", input.identity.id("CareTeam"))},
        }));
    }
    let input_refs: Vec<Value> = evidence_keys(input)
        .into_iter()
        .map(|key| {
            json!({"type": parameter_type("evidence", "Evidence considered"),
                          "valueReference": {"reference": key}})
        })
        .collect();

    let mut task = json!({
        "resourceType": "Task",
        "id": input.identity.id("Task"),
        "meta": {"profile": [PROFILE]},
        "contained": [determination_parameters(input)],
        "identifier": [input.identity.identifier("Task")],
        "status": status,
        "businessStatus": {"coding": [{"system": BUSINESS_STATUS, "code": business, "display": business_display}],
                           "text": business_display},
        "intent": "order",
        "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill",
                             "display": "Fulfill the focal request"}]},
        "description": "Home Based Palliative Care referral: eligibility and plan of care",
        "focus": {"reference": ev.referral_key()},
        "for": referral.get("subject").cloned().unwrap_or(Value::Null),
        "authoredOn": authored,
        "lastModified": input.now,
        "requester": referral.get("requester").cloned().unwrap_or(Value::Null),
        "owner": input.program.organization_ref(),
        "input": input_refs,
        "output": output,
    });
    if let Some(reason) = status_reason(input) {
        task["statusReason"] = json!({"text": reason});
    }
    if let Some(priority) = referral.get("priority") {
        task["priority"] = priority.clone();
    }
    task
}

/// Why the Task is rejected or on hold, naming the criteria.
fn status_reason(input: &PlanInput) -> Option<String> {
    let d = input.determination;
    let list = |verdict| {
        d.with(verdict)
            .map(|f| format!("{} ({})", f.criterion.display(), f.reason))
            .collect::<Vec<_>>()
    };
    match d.decision() {
        Decision::Ineligible => Some(format!(
            "Not eligible: {}",
            list(Verdict::NotMet).join("; ")
        )),
        Decision::Pending => Some(format!(
            "Waiting for evidence: {}",
            list(Verdict::Unknown).join("; ")
        )),
        Decision::Eligible => None,
    }
}

/// Every evidence resource considered, referral first (a later evaluation starts from these).
fn evidence_keys(input: &PlanInput) -> Vec<String> {
    let ev = input.evidence;
    let mut keys = vec![ev.referral_key().to_string()];
    keys.extend(
        ev.keys()
            .filter(|k| *k != ev.referral_key())
            .map(str::to_string),
    );
    keys
}

/// The determination as a contained Parameters, one `criterion` per program criterion.
fn determination_parameters(input: &PlanInput) -> Value {
    let d = input.determination;
    let decision = match d.decision() {
        Decision::Eligible => "eligible",
        Decision::Ineligible => "ineligible",
        Decision::Pending => "pending",
    };
    let mut parameters = vec![json!({"name": "decision", "valueCode": decision})];
    for f in &d.findings {
        let mut part = vec![
            json!({"name": "code", "valueCoding": {"system": format!("{CANON}hbpc-eligibility-criterion"),
                    "code": f.criterion.code(), "display": f.criterion.display()}}),
            json!({"name": "result", "valueCoding": {"system": format!("{CANON}hbpc-eligibility-result"),
                    "code": f.verdict.code(), "display": f.verdict.display()}}),
            json!({"name": "reason", "valueString": f.reason}),
        ];
        for key in &f.evidence {
            part.push(json!({"name": "evidence", "valueReference": {"reference": key}}));
        }
        part.push(json!({"name": "expression", "valueString": f.expression}));
        parameters.push(json!({"name": "criterion", "part": part}));
    }
    json!({"resourceType": "Parameters", "id": "determination", "parameter": parameters})
}
