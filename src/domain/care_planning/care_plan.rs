//! The CarePlan (profile hbpc-careplan, US Core CarePlan rules).

use super::narrative::care_plan_div;
use super::services::PlannedService;
use super::PlanInput;
use crate::domain::fhir::date::{date_text, day_number, Edge};
use serde_json::{json, Value};

pub const PROFILE: &str = "http://hbpc.example.org/fhir/StructureDefinition/hbpc-careplan";

pub fn generate(
    input: &PlanInput,
    services: &[PlannedService],
    goals: &[Value],
    status: &str,
) -> Value {
    let ev = input.evidence;
    let referral = ev.referral();
    let start = referral
        .get("authoredOn")
        .and_then(Value::as_str)
        .and_then(|d| day_number(d, Edge::Start))
        .map(date_text);
    let activity_status = match status {
        "active" | "draft" => "not-started",
        "on-hold" => "on-hold",
        "completed" => "completed",
        _ => "cancelled",
    };
    let activities: Vec<Value> = services
        .iter()
        .map(|planned| {
            let mut detail = json!({
                "kind": "ServiceRequest",
                "code": planned.service.concept(),
                "status": activity_status,
                "description": planned.service.description(),
                "performer": [input.program.role_ref(planned.service.role())],
            });
            if let Some(symptom) = &planned.symptom {
                detail["description"] = Value::String(format!(
                    "Evaluate and manage {}.",
                    super::narrative::concept_label(&symptom.code)
                ));
                detail["reasonCode"] = json!([symptom.code]);
                if let Some(source) = &symptom.source {
                    detail["reasonReference"] = json!([{"reference": source}]);
                }
            }
            json!({"detail": detail})
        })
        .collect();
    let addresses: Vec<Value> = addressed_conditions(input)
        .into_iter()
        .map(|k| json!({"reference": k}))
        .collect();
    let mut plan = json!({
        "resourceType": "CarePlan",
        "id": input.identity.id("CarePlan"),
        "meta": {"profile": [PROFILE]},
        "text": {"status": "generated",
                 "div": care_plan_div(status, services, &input.program.organization_name)},
        "identifier": [input.identity.identifier("CarePlan")],
        // R4 CarePlan.basedOn may only name a CarePlan: the referral is supporting information
        "supportingInfo": [{"reference": ev.referral_key(), "display": "HBPC referral"}],
        "status": status,
        "intent": "plan",
        "category": [
            {"coding": [{"system": "http://hl7.org/fhir/us/core/CodeSystem/careplan-category",
                         "code": "assess-plan", "display": "Assessment and Plan of Treatment"}]},
            {"coding": [{"system": "http://snomed.info/sct", "code": "734163000", "display": "Care plan"}]}
        ],
        "title": "Home Based Palliative Care plan",
        "subject": referral.get("subject").cloned().unwrap_or(Value::Null),
        "author": input.program.organization_ref(),
        "careTeam": [{"reference": format!("CareTeam/{}", input.identity.id("CareTeam"))}],
        "goal": goals.iter().filter_map(|g| g.get("id").and_then(Value::as_str))
            .map(|id| json!({"reference": format!("Goal/{id}")})).collect::<Vec<_>>(),
        "activity": activities,
    });
    if let Some(start) = start {
        plan["period"] = json!({"start": start});
    }
    if !addresses.is_empty() {
        plan["addresses"] = Value::Array(addresses);
    }
    plan
}

/// The referral's reasons that are Conditions, then any other advanced-illness Condition.
fn addressed_conditions(input: &PlanInput) -> Vec<String> {
    let ev = input.evidence;
    let mut keys: Vec<String> = ev
        .resolve_all(ev.referral(), "reasonReference")
        .into_iter()
        .map(|(k, _)| k.to_string())
        .filter(|k| k.starts_with("Condition/"))
        .collect();
    for (key, condition) in ev.of_type("Condition") {
        let advanced = condition.get("code").is_some_and(|code| {
            crate::domain::fhir::coding::codings(code).any(|(s, c)| {
                input
                    .terminology
                    .in_value_set(&input.eligibility.advanced_illness_value_set, s, c)
            })
        });
        if advanced && ev.about_patient(condition, "subject") && !keys.iter().any(|k| k == key) {
            keys.push(key.to_string());
        }
    }
    keys
}
