//! The plan's goals: comfort and quality of life, and symptom control (program text: "achieve
//! comfort, improve quality of life", "pain and symptom control").

use super::services::SERVICES_SYSTEM;
use super::PlanInput;
use serde_json::{json, Value};

pub fn generate(input: &PlanInput, plan_status: &str) -> Vec<Value> {
    let lifecycle = match plan_status {
        "active" => "active",
        "draft" => "proposed",
        "on-hold" => "on-hold",
        "completed" => "completed",
        _ => "cancelled",
    };
    let subject = input
        .evidence
        .referral()
        .get("subject")
        .cloned()
        .unwrap_or(Value::Null);
    let symptoms: Vec<Value> =
        crate::domain::eligibility::symptoms(input.evidence, input.eligibility, input.terminology)
            .into_iter()
            .filter_map(|s| s.source)
            .filter(|k| k.starts_with("Condition/") || k.starts_with("Observation/"))
            .map(|k| json!({"reference": k}))
            .collect();
    let goal = |kind: &str, code: &str, display: &str| {
        json!({
            "resourceType": "Goal",
            "id": input.identity.id(kind),
            "identifier": [input.identity.identifier(kind)],
            "lifecycleStatus": lifecycle,
            "description": {"coding": [{"system": SERVICES_SYSTEM, "code": code, "display": display}],
                            "text": display},
            "subject": subject,
            "expressedBy": input.program.organization_ref(),
        })
    };
    let comfort = goal("Goal-comfort", "comfort", "Comfort and quality of life");
    let mut control = goal(
        "Goal-symptom-control",
        "symptom-control",
        "Symptoms controlled to the patient's satisfaction",
    );
    if !symptoms.is_empty() {
        control["addresses"] = Value::Array(symptoms);
    }
    vec![comfort, control]
}
