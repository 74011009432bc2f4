//! The referral Task (profile hbpc-referral-task, BSeR ReferralTask style): the workflow state,
//! with the full determination in `output` and the evidence considered in `input`.

use super::{task_state, PlanInput};
use crate::domain::eligibility::{
    Criterion, Decision, Determination, Evidence, Precondition, Verdict,
};
use fhir_engine::json::build::{object, reference, reference_to, string, Shape};
use fhir_engine::json::member::Member;
use fhir_engine::text::push_separated;
use serde_json::{json, Value};
use std::sync::LazyLock;

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

/// What every Task repeats, built once: parameter types, codings and the object shapes.
struct Fragments {
    meta: Value,
    code: Value,
    /// Eligible, ineligible, pending, and cancelled (an accepted referral revoked, or a
    /// revoked order).
    business_status: [Value; 4],
    determination_type: Value,
    determination_ref: Value,
    missing_type: Value,
    care_plan_type: Value,
    care_team_type: Value,
    evidence_type: Value,
    typed_reference: Shape,
    typed_string: Shape,
    task: Shape,
    status_reason: Shape,
    /// The determination's `code` parameter, per criterion (in `Criterion::ALL` order).
    criterion_codes: Vec<Value>,
    /// The determination's `result` parameter, per verdict.
    results: [Value; 3],
    named_code: Shape,
    named_string: Shape,
    named_reference: Shape,
    criterion: Shape,
    parameters: Shape,
}

static FRAGMENTS: LazyLock<Fragments> = LazyLock::new(|| {
    let business = |code: &str, display: &str| {
        json!({"coding": [{"system": BUSINESS_STATUS, "code": code, "display": display}],
               "text": display})
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
    let result = |verdict: Verdict| {
        named(
            "result",
            "valueCoding",
            coding("hbpc-eligibility-result", verdict.code(), verdict.display()),
        )
    };
    Fragments {
        meta: json!({"profile": [PROFILE]}),
        code: json!({"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill",
                                 "display": "Fulfill the focal request"}]}),
        business_status: [
            business("3.0", "Service Request Accepted"),
            business("4.0", "Service Request Declined"),
            business("2.0", "Service Request Created"),
            business("6.0", "Service Request Fulfillment Cancelled"),
        ],
        determination_type: parameter_type("determination", "Eligibility determination"),
        determination_ref: object([
            ("reference", string("#determination")),
            ("display", string("Eligibility determination")),
        ]),
        missing_type: parameter_type("missing-evidence", "Missing evidence"),
        care_plan_type: parameter_type("care-plan", "Generated CarePlan"),
        care_team_type: parameter_type("care-team", "Generated CareTeam"),
        evidence_type: parameter_type("evidence", "Evidence considered"),
        typed_reference: Shape::new(["type", "valueReference"]),
        typed_string: Shape::new(["type", "valueString"]),
        task: Shape::new([
            "resourceType",
            "id",
            "meta",
            "contained",
            "identifier",
            "status",
            "businessStatus",
            "intent",
            "code",
            "description",
            "focus",
            "for",
            "authoredOn",
            "lastModified",
            "requester",
            "owner",
            "input",
            "output",
            // when rejected or on hold, and when the referral has one
            "statusReason",
            "priority",
        ]),
        status_reason: Shape::new(["text"]),
        criterion_codes: Criterion::ALL
            .into_iter()
            .map(|c| {
                named(
                    "code",
                    "valueCoding",
                    coding("hbpc-eligibility-criterion", c.code(), c.display()),
                )
            })
            .collect(),
        results: [
            result(Verdict::Met),
            result(Verdict::NotMet),
            result(Verdict::Unknown),
        ],
        named_code: Shape::new(["name", "valueCode"]),
        named_string: Shape::new(["name", "valueString"]),
        named_reference: Shape::new(["name", "valueReference"]),
        criterion: Shape::new(["name", "part"]),
        parameters: Shape::new(["resourceType", "id", "parameter"]),
    }
});

fn verdict_index(verdict: Verdict) -> usize {
    match verdict {
        Verdict::Met => 0,
        Verdict::NotMet => 1,
        Verdict::Unknown => 2,
    }
}

pub fn generate(input: &PlanInput, with_plan: bool) -> Value {
    let f = &*FRAGMENTS;
    let ev = input.evidence;
    let determination = input.determination;
    let decision = determination.decision();
    let (decided, decided_business) = match decision {
        Decision::Eligible => ("accepted", Some(0)),
        Decision::Ineligible => ("rejected", Some(1)),
        Decision::Pending => ("on-hold", Some(2)),
        Decision::NotEvaluated => status_for_referral(
            determination
                .precondition
                .as_ref()
                .and_then(Precondition::referral_status)
                .unwrap_or("unknown"),
        ),
    };
    // The EHR holds a copy of this Task: it moves only as the Task state machine allows.
    let prior_status = input
        .prior
        .task
        .as_ref()
        .and_then(|t| t.member("status"))
        .and_then(Value::as_str);
    let status = task_state::after_evaluation(prior_status, decided);
    let business = match status {
        "cancelled" => Some(3),
        _ => decided_business,
    };
    let referral = ev.referral();
    let authored = input
        .prior
        .task
        .as_ref()
        .and_then(|t| t.member("authoredOn"))
        .and_then(Value::as_str)
        .unwrap_or(input.now);

    let mut output = vec![f
        .typed_reference
        .with([f.determination_type.clone(), f.determination_ref.clone()])];
    output.extend(missing_evidence(determination));
    if with_plan {
        for (parameter_type, kind) in [
            (&f.care_plan_type, "CarePlan"),
            (&f.care_team_type, "CareTeam"),
        ] {
            output.push(f.typed_reference.with([
                parameter_type.clone(),
                reference_to(kind, &input.identity.id(kind)),
            ]));
        }
    }
    let (requester, contained) = requester_and_contained(referral, determination_parameters(input));
    let input_refs: Vec<Value> = evidence_keys(input)
        .map(|key| {
            f.typed_reference
                .with([f.evidence_type.clone(), reference(key)])
        })
        .collect();

    f.task.with([
        string("Task"),
        string(input.identity.id("Task")),
        f.meta.clone(),
        Value::Array(contained),
        Value::Array(vec![input.identity.identifier("Task")]),
        string(status),
        business.map_or(Value::Null, |b| f.business_status[b].clone()),
        string("order"),
        f.code.clone(),
        string("Home Based Palliative Care referral: eligibility and plan of care"),
        reference(ev.referral_key()),
        referral.member("subject").cloned().unwrap_or(Value::Null),
        string(authored),
        string(input.now),
        requester,
        input.program.organization_ref(),
        Value::Array(input_refs),
        Value::Array(output),
        status_reason(input, status)
            .map_or(Value::Null, |reason| f.status_reason.with([string(reason)])),
        referral.member("priority").cloned().unwrap_or(Value::Null),
    ])
}

/// One `missing-evidence` output per criterion the determination could not decide.
pub fn missing_evidence(determination: &Determination) -> Vec<Value> {
    let f = &*FRAGMENTS;
    determination
        .with(Verdict::Unknown)
        .map(|finding| {
            let code = finding.criterion.code();
            let needed = finding.criterion.evidence_needed();
            let mut text = String::with_capacity(code.len() + 2 + needed.len());
            text.push_str(code);
            text.push_str(": ");
            text.push_str(needed);
            f.typed_string
                .with([f.missing_type.clone(), Value::String(text)])
        })
        .collect()
}

/// Whether a Task output is a `missing-evidence` one.
pub fn is_missing_evidence(output: &Value) -> bool {
    output
        .pointer("/type/coding/0/code")
        .and_then(Value::as_str)
        == Some("missing-evidence")
}

/// The Task's requester (the referral's) and contained resources: the determination, and the
/// requester when the referral contains it (`#id` must resolve inside the Task too).
fn requester_and_contained(referral: &Value, determination: Value) -> (Value, Vec<Value>) {
    let requester = referral.member("requester").cloned().unwrap_or(Value::Null);
    let mut contained = vec![determination];
    let Some(local) = requester
        .member("reference")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
    else {
        return (requester, contained);
    };
    let found = referral
        .member("contained")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| {
            c.member("id").and_then(Value::as_str) == Some(local) && local != "determination"
        });
    match found {
        Some(resource) => {
            contained.push(resource.clone());
            (requester, contained)
        }
        // a dangling local reference is not copied: the display, if any, stays
        None => {
            let mut requester = requester;
            if let Value::Object(fields) = &mut requester {
                fields.remove("reference");
            }
            (requester, contained)
        }
    }
}

/// The Task a referral that is not an active order gets (docs/eligibility.md): its status and
/// business status (an index into the fragments' business statuses).
fn status_for_referral(referral_status: &str) -> (&'static str, Option<usize>) {
    match referral_status {
        // not signed yet: nothing to act on, and BSeR 2.0-4.0 all describe a placed order
        "draft" => ("draft", None),
        "on-hold" => ("on-hold", Some(2)),
        "revoked" => ("cancelled", Some(3)),
        "completed" => ("completed", None),
        "entered-in-error" => ("entered-in-error", None),
        _ => ("on-hold", None),
    }
}

/// Why the Task is rejected, cancelled, on hold or not acted on, naming the criteria or the
/// precondition.
fn status_reason(input: &PlanInput, status: &str) -> Option<String> {
    let d = input.determination;
    if let Some(precondition) = &d.precondition {
        return Some(match precondition {
            Precondition::Deceased { reason } => format!("Not eligible: {reason}"),
            Precondition::ReferralStatus { reason, .. } => format!("Not evaluated: {reason}"),
        });
    }
    let (mut text, verdict) = match d.decision() {
        Decision::Ineligible if status == "cancelled" => (
            String::from("Accepted earlier, no longer eligible: "),
            Verdict::NotMet,
        ),
        Decision::Ineligible => (String::from("Not eligible: "), Verdict::NotMet),
        Decision::Pending => (String::from("Waiting for evidence: "), Verdict::Unknown),
        Decision::Eligible | Decision::NotEvaluated => return None,
    };
    // `display [code] (reason)` of each
    push_separated(&mut text, d.with(verdict), "; ", |text, finding| {
        text.push_str(finding.criterion.display());
        text.push_str(" [");
        text.push_str(finding.criterion.code());
        text.push_str("] (");
        text.push_str(&finding.reason);
        text.push(')');
    });
    Some(text)
}

/// Every evidence resource considered, referral first (a later evaluation starts from these).
fn evidence_keys<'a>(input: &'a PlanInput) -> impl Iterator<Item = &'a str> {
    let ev = input.evidence;
    std::iter::once(ev.referral_key()).chain(
        ev.keys()
            .filter(|k| *k != ev.referral_key() && !Evidence::is_contained_key(k)),
    )
}

/// The determination as a contained Parameters, one `criterion` per program criterion.
fn determination_parameters(input: &PlanInput) -> Value {
    let f = &*FRAGMENTS;
    let d = input.determination;
    let decision = match d.decision() {
        Decision::Eligible => "eligible",
        Decision::Ineligible => "ineligible",
        Decision::Pending => "pending",
        Decision::NotEvaluated => "not-evaluated",
    };
    let mut parameters = Vec::with_capacity(2 + d.findings.len());
    parameters.push(f.named_code.with([string("decision"), string(decision)]));
    if let Some(precondition) = &d.precondition {
        parameters.push(
            f.named_string
                .with([string("precondition"), string(precondition.reason())]),
        );
    }
    for finding in &d.findings {
        let mut part = Vec::with_capacity(4 + finding.evidence.len());
        part.push(f.criterion_codes[finding.criterion as usize].clone());
        part.push(f.results[verdict_index(finding.verdict)].clone());
        part.push(
            f.named_string
                .with([string("reason"), string(finding.reason.as_str())]),
        );
        for key in finding
            .evidence
            .iter()
            .filter(|k| !Evidence::is_contained_key(k))
        {
            part.push(
                f.named_reference
                    .with([string("evidence"), reference(key.as_str())]),
            );
        }
        part.push(
            f.named_string
                .with([string("expression"), string(finding.expression)]),
        );
        parameters.push(f.criterion.with([string("criterion"), Value::Array(part)]));
    }
    f.parameters.with([
        string("Parameters"),
        string("determination"),
        Value::Array(parameters),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_parameters_follow_the_criteria_and_verdicts() {
        let f = &*FRAGMENTS;
        for (i, criterion) in Criterion::ALL.into_iter().enumerate() {
            assert_eq!(criterion as usize, i);
            assert_eq!(
                f.criterion_codes[i]["valueCoding"]["code"],
                criterion.code()
            );
        }
        for verdict in [Verdict::Met, Verdict::NotMet, Verdict::Unknown] {
            assert_eq!(
                f.results[verdict_index(verdict)]["valueCoding"]["code"],
                verdict.code()
            );
        }
    }
}
