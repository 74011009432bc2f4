//! The plan's goals: comfort and quality of life, and symptom control (program text: "achieve
//! comfort, improve quality of life", "pain and symptom control").

use super::services::{PlannedService, SERVICES_SYSTEM};
use super::PlanInput;
use fhir_engine::json::build::{reference, string, Shape};
use fhir_engine::json::member::Member;
use serde_json::{json, Value};
use std::sync::LazyLock;

const GOAL_KEYS: [&str; 7] = [
    "resourceType",
    "id",
    "identifier",
    "lifecycleStatus",
    "description",
    "subject",
    "expressedBy",
];

/// What every plan's goals repeat, built once.
struct Fragments {
    comfort: Value,
    symptom_control: Value,
    goal: Shape,
    /// A goal with `addresses`.
    addressing_goal: Shape,
}

static FRAGMENTS: LazyLock<Fragments> = LazyLock::new(|| {
    let description = |code: &str, display: &str| {
        json!({"coding": [{"system": SERVICES_SYSTEM, "code": code, "display": display}],
               "text": display})
    };
    Fragments {
        comfort: description("comfort", "Comfort and quality of life"),
        symptom_control: description(
            "symptom-control",
            "Symptoms controlled to the patient's satisfaction",
        ),
        goal: Shape::new(GOAL_KEYS),
        addressing_goal: Shape::new(GOAL_KEYS).and("addresses"),
    }
});

/// The goals; the symptom-control goal addresses the symptoms the plan manages (`services`).
pub fn generate(input: &PlanInput, plan_status: &str, services: &[PlannedService]) -> Vec<Value> {
    let f = &*FRAGMENTS;
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
        .member("subject")
        .cloned()
        .unwrap_or(Value::Null);
    let symptoms: Vec<Value> = services
        .iter()
        .filter_map(|s| s.symptom.as_ref()?.source.as_deref())
        .filter(|k| k.starts_with("Condition/") || k.starts_with("Observation/"))
        .map(reference)
        .collect();
    // `subject` stays even when null, as it always has
    let fields = |kind: &str, description: &Value, subject: Value| {
        [
            string("Goal"),
            string(input.identity.id(kind)),
            Value::Array(vec![input.identity.identifier(kind)]),
            string(lifecycle),
            description.clone(),
            subject,
            input.program.organization_ref(),
        ]
    };
    let comfort = f
        .goal
        .with_nulls(fields("Goal-comfort", &f.comfort, subject.clone()));
    let control = fields("Goal-symptom-control", &f.symptom_control, subject);
    let control = if symptoms.is_empty() {
        f.goal.with_nulls(control)
    } else {
        let [rt, id, identifier, lifecycle, description, subject, expressed_by] = control;
        f.addressing_goal.with_nulls([
            rt,
            id,
            identifier,
            lifecycle,
            description,
            subject,
            expressed_by,
            Value::Array(symptoms),
        ])
    };
    vec![comfort, control]
}
