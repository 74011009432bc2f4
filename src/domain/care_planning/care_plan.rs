//! The CarePlan (profile hbpc-careplan, US Core CarePlan rules).

use super::narrative::care_plan_div;
use super::services::PlannedService;
use super::PlanInput;
use fhir_engine::json::build::{reference, reference_to, string, Shape};
use fhir_engine::json::member::Member;
use fhir_engine::temporal::{date_text, day_number, Edge};
use fhir_engine::text::concat;
use serde_json::{json, Value};
use std::sync::LazyLock;

pub const PROFILE: &str = "http://hbpc.example.org/fhir/StructureDefinition/hbpc-careplan";

/// What every CarePlan repeats, built once.
struct Fragments {
    meta: Value,
    category: Value,
    plan: Shape,
    text: Shape,
    supporting_info: Shape,
    activity: Shape,
    detail: Shape,
    period: Shape,
}

static FRAGMENTS: LazyLock<Fragments> = LazyLock::new(|| Fragments {
    meta: json!({"profile": [PROFILE]}),
    category: json!([
        {"coding": [{"system": "http://hl7.org/fhir/us/core/CodeSystem/careplan-category",
                     "code": "assess-plan", "display": "Assessment and Plan of Treatment"}]},
        {"coding": [{"system": "http://snomed.info/sct", "code": "734163000", "display": "Care plan"}]}
    ]),
    plan: Shape::new([
        "resourceType",
        "id",
        "meta",
        "text",
        "identifier",
        "supportingInfo",
        "status",
        "intent",
        "category",
        "title",
        "subject",
        "author",
        "careTeam",
        "goal",
        "activity",
        "period",
        "addresses",
    ]),
    text: Shape::new(["status", "div"]),
    supporting_info: Shape::new(["reference", "display"]),
    activity: Shape::new(["detail"]),
    detail: Shape::new([
        "kind",
        "code",
        "status",
        "description",
        "performer",
        // for a symptom
        "reasonCode",
        "reasonReference",
    ]),
    period: Shape::new(["start"]),
});

pub fn generate(
    input: &PlanInput,
    services: &[PlannedService],
    goals: &[Value],
    status: &str,
) -> Value {
    let f = &*FRAGMENTS;
    let ev = input.evidence;
    let referral = ev.referral();
    let start = referral
        .member("authoredOn")
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
            let (description, reason_code, reason_reference) = match &planned.symptom {
                Some(symptom) => {
                    let label = super::narrative::concept_label(&symptom.code);
                    (
                        string(concat(["Evaluate and manage ", &label, "."])),
                        Value::Array(vec![symptom.code.clone()]),
                        symptom.source.as_ref().map_or(Value::Null, |source| {
                            Value::Array(vec![reference(source.as_str())])
                        }),
                    )
                }
                None => (
                    string(planned.service.description()),
                    Value::Null,
                    Value::Null,
                ),
            };
            let detail = f.detail.with([
                string("ServiceRequest"),
                planned.service.concept(),
                string(activity_status),
                description,
                Value::Array(vec![input.program.role_ref(planned.service.role())]),
                reason_code,
                reason_reference,
            ]);
            f.activity.with([detail])
        })
        .collect();
    let addresses: Vec<Value> = addressed_conditions(input)
        .into_iter()
        .map(reference)
        .collect();
    let addresses = if addresses.is_empty() {
        Value::Null
    } else {
        Value::Array(addresses)
    };
    let goal_refs: Vec<Value> = goals
        .iter()
        .filter_map(|g| g.member("id").and_then(Value::as_str))
        .map(|id| reference_to("Goal", id))
        .collect();
    f.plan.with([
        string("CarePlan"),
        string(input.identity.id("CarePlan")),
        f.meta.clone(),
        f.text.with([
            string("generated"),
            string(care_plan_div(
                status,
                services,
                input.program.organization_name(),
            )),
        ]),
        Value::Array(vec![input.identity.identifier("CarePlan")]),
        // R4 CarePlan.basedOn may only name a CarePlan: the referral is supporting information
        Value::Array(vec![f
            .supporting_info
            .with([string(ev.referral_key()), string("HBPC referral")])]),
        string(status),
        string("plan"),
        f.category.clone(),
        string("Home Based Palliative Care plan"),
        referral.member("subject").cloned().unwrap_or(Value::Null),
        input.program.organization_ref(),
        Value::Array(vec![reference_to(
            "CareTeam",
            &input.identity.id("CareTeam"),
        )]),
        Value::Array(goal_refs),
        Value::Array(activities),
        start.map_or(Value::Null, |start| f.period.with([string(start)])),
        addresses,
    ])
}

/// The referral's reasons that are Conditions, then any other advanced-illness Condition.
fn addressed_conditions(input: &PlanInput) -> Vec<String> {
    let ev = input.evidence;
    let mut keys: Vec<String> = ev
        .resolve_all(ev.referral(), "reasonReference")
        .map(|(k, _)| k.to_string())
        .filter(|k| k.starts_with("Condition/"))
        .collect();
    for (key, condition) in ev.of_type("Condition") {
        let advanced = condition.member("code").is_some_and(|code| {
            fhir_engine::model::coding::codings(code).any(|(s, c)| {
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
