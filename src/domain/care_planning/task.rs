//! The referral Task (profile hbpc-referral-task, BSeR ReferralTask style): the workflow state,
//! with the full determination in `output` and the evidence considered in `input`.

use super::PlanInput;
use crate::domain::eligibility::{Decision, Verdict};
use crate::domain::fhir::json_build::{object, reference, string};
use serde_json::{json, Value};

pub const PROFILE: &str = "http://hbpc.example.org/fhir/StructureDefinition/hbpc-referral-task";
const CANON: &str = "http://hbpc.example.org/fhir/CodeSystem/";
const BUSINESS_STATUS: &str = "http://hl7.org/fhir/us/bser/CodeSystem/TaskBusinessStatusCS";

fn parameter_type(code: &str, display: &str) -> Value {
    object([(
        "coding",
        Value::Array(vec![object([
            ("system", string(format!("{CANON}hbpc-task-parameter"))),
            ("code", string(code)),
            ("display", string(display)),
        ])]),
    )])
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

    let typed = |code: &str, display: &str, key: &str, value: Value| {
        let mut out = object([("type", parameter_type(code, display))]);
        out[key] = value;
        out
    };
    let mut output = vec![typed(
        "determination",
        "Eligibility determination",
        "valueReference",
        object([
            ("reference", string("#determination")),
            ("display", string("Eligibility determination")),
        ]),
    )];
    for finding in determination.with(Verdict::Unknown) {
        output.push(typed(
            "missing-evidence",
            "Missing evidence",
            "valueString",
            string(format!(
                "{}: {}",
                finding.criterion.code(),
                finding.criterion.evidence_needed()
            )),
        ));
    }
    if with_plan {
        for (code, display, kind) in [
            ("care-plan", "Generated CarePlan", "CarePlan"),
            ("care-team", "Generated CareTeam", "CareTeam"),
        ] {
            output.push(typed(
                code,
                display,
                "valueReference",
                reference(format!("{kind}/{}", input.identity.id(kind))),
            ));
        }
    }
    let input_refs: Vec<Value> = evidence_keys(input)
        .into_iter()
        .map(|key| {
            typed(
                "evidence",
                "Evidence considered",
                "valueReference",
                reference(key),
            )
        })
        .collect();

    let mut task = object([
        ("resourceType", string("Task")),
        ("id", string(input.identity.id("Task"))),
        ("meta", json!({"profile": [PROFILE]})),
        (
            "contained",
            Value::Array(vec![determination_parameters(input)]),
        ),
        (
            "identifier",
            Value::Array(vec![input.identity.identifier("Task")]),
        ),
        ("status", string(status)),
        (
            "businessStatus",
            json!({"coding": [{"system": BUSINESS_STATUS, "code": business, "display": business_display}],
                   "text": business_display}),
        ),
        ("intent", string("order")),
        (
            "code",
            json!({"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill",
                               "display": "Fulfill the focal request"}]}),
        ),
        (
            "description",
            string("Home Based Palliative Care referral: eligibility and plan of care"),
        ),
        ("focus", reference(ev.referral_key())),
        (
            "for",
            referral.get("subject").cloned().unwrap_or(Value::Null),
        ),
        ("authoredOn", string(authored)),
        ("lastModified", string(input.now)),
        (
            "requester",
            referral.get("requester").cloned().unwrap_or(Value::Null),
        ),
        ("owner", input.program.organization_ref()),
        ("input", Value::Array(input_refs)),
        ("output", Value::Array(output)),
    ]);
    if let Some(reason) = status_reason(input) {
        task["statusReason"] = object([("text", string(reason))]);
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
    let named = |name: &str, key: &str, value: Value| {
        let mut p = object([("name", string(name))]);
        p[key] = value;
        p
    };
    let coding = |system: &str, code: &str, display: &str| {
        object([
            ("system", string(format!("{CANON}{system}"))),
            ("code", string(code)),
            ("display", string(display)),
        ])
    };
    let mut parameters = vec![named("decision", "valueCode", string(decision))];
    for f in &d.findings {
        let mut part = vec![
            named(
                "code",
                "valueCoding",
                coding(
                    "hbpc-eligibility-criterion",
                    f.criterion.code(),
                    f.criterion.display(),
                ),
            ),
            named(
                "result",
                "valueCoding",
                coding(
                    "hbpc-eligibility-result",
                    f.verdict.code(),
                    f.verdict.display(),
                ),
            ),
            named("reason", "valueString", string(f.reason.as_str())),
        ];
        for key in &f.evidence {
            part.push(named("evidence", "valueReference", reference(key.as_str())));
        }
        part.push(named(
            "expression",
            "valueString",
            string(f.expression.as_str()),
        ));
        parameters.push(object([
            ("name", string("criterion")),
            ("part", Value::Array(part)),
        ]));
    }
    object([
        ("resourceType", string("Parameters")),
        ("id", string("determination")),
        ("parameter", Value::Array(parameters)),
    ])
}
