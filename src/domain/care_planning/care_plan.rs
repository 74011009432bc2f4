//! The CarePlan (profile hbpc-careplan, US Core CarePlan rules).

use super::narrative::care_plan_div;
use super::services::PlannedService;
use super::PlanInput;
use crate::domain::fhir::date::{date_text, day_number, Edge};
use crate::domain::fhir::json_build::{object, reference, string};
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
            let mut detail = object([
                ("kind", string("ServiceRequest")),
                ("code", planned.service.concept()),
                ("status", string(activity_status)),
                ("description", string(planned.service.description())),
                (
                    "performer",
                    Value::Array(vec![input.program.role_ref(planned.service.role())]),
                ),
            ]);
            if let Some(symptom) = &planned.symptom {
                detail["description"] = Value::String(format!(
                    "Evaluate and manage {}.",
                    super::narrative::concept_label(&symptom.code)
                ));
                detail["reasonCode"] = Value::Array(vec![symptom.code.clone()]);
                if let Some(source) = &symptom.source {
                    detail["reasonReference"] = Value::Array(vec![reference(source.as_str())]);
                }
            }
            object([("detail", detail)])
        })
        .collect();
    let addresses: Vec<Value> = addressed_conditions(input)
        .into_iter()
        .map(reference)
        .collect();
    let goal_refs: Vec<Value> = goals
        .iter()
        .filter_map(|g| g.get("id").and_then(Value::as_str))
        .map(|id| reference(format!("Goal/{id}")))
        .collect();
    let mut plan = object([
        ("resourceType", string("CarePlan")),
        ("id", string(input.identity.id("CarePlan"))),
        ("meta", json!({"profile": [PROFILE]})),
        (
            "text",
            object([
                ("status", string("generated")),
                (
                    "div",
                    string(care_plan_div(
                        status,
                        services,
                        &input.program.organization_name,
                    )),
                ),
            ]),
        ),
        (
            "identifier",
            Value::Array(vec![input.identity.identifier("CarePlan")]),
        ),
        // R4 CarePlan.basedOn may only name a CarePlan: the referral is supporting information
        (
            "supportingInfo",
            Value::Array(vec![object([
                ("reference", string(ev.referral_key())),
                ("display", string("HBPC referral")),
            ])]),
        ),
        ("status", string(status)),
        ("intent", string("plan")),
        (
            "category",
            json!([
                {"coding": [{"system": "http://hl7.org/fhir/us/core/CodeSystem/careplan-category",
                             "code": "assess-plan", "display": "Assessment and Plan of Treatment"}]},
                {"coding": [{"system": "http://snomed.info/sct", "code": "734163000", "display": "Care plan"}]}
            ]),
        ),
        ("title", string("Home Based Palliative Care plan")),
        (
            "subject",
            referral.get("subject").cloned().unwrap_or(Value::Null),
        ),
        ("author", input.program.organization_ref()),
        (
            "careTeam",
            Value::Array(vec![reference(format!(
                "CareTeam/{}",
                input.identity.id("CareTeam")
            ))]),
        ),
        ("goal", Value::Array(goal_refs)),
        ("activity", Value::Array(activities)),
    ]);
    if let Some(start) = start {
        plan["period"] = object([("start", string(start))]);
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
