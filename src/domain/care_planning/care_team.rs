//! The CareTeam (profile hbpc-careteam, US Core CareTeam rules): physicians, program staff for
//! the planned services, the patient and consenting caregivers.

use super::services::{PlannedService, Role};
use super::PlanInput;
use crate::domain::eligibility::{managing_physician, refers_to, Evidence, Scope};
use fhir_engine::json::build::{reference, string, Shape};
use fhir_engine::json::member::Member;
use fhir_engine::temporal::{date_text, day_number, Edge};
use serde_json::{json, Value};
use std::sync::LazyLock;

pub const PROFILE: &str = "http://hbpc.example.org/fhir/StructureDefinition/hbpc-careteam";
const SCT: &str = "http://snomed.info/sct";
const NUCC: &str = "http://nucc.org/provider-taxonomy";

/// What every CareTeam repeats, built once.
struct Fragments {
    meta: Value,
    category: Value,
    patient_role: Value,
    caregiver_role: Value,
    participant: Shape,
    /// A physician's role: their NUCC coding and our label, or the label alone.
    coded_role: Shape,
    nucc_coding: Shape,
    text_role: Shape,
    team: Shape,
    period: Shape,
}

static FRAGMENTS: LazyLock<Fragments> = LazyLock::new(|| Fragments {
    meta: json!({"profile": [PROFILE]}),
    category: json!([{"coding": [{"system": "http://loinc.org", "code": "LA28866-4",
                                  "display": "Home & Community Based Services (HCBS)-focused care team"}]}]),
    patient_role: json!([{"coding": [{"system": SCT, "code": "116154003", "display": "Patient"}], "text": "Patient"}]),
    caregiver_role: json!([{"coding": [{"system": SCT, "code": "133932002", "display": "Caregiver"}], "text": "Caregiver"}]),
    participant: Shape::new(["role", "member"]),
    coded_role: Shape::new(["coding", "text"]),
    nucc_coding: Shape::new(["system", "code", "display"]),
    text_role: Shape::new(["text"]),
    team: Shape::new([
        "resourceType",
        "id",
        "meta",
        "identifier",
        "status",
        "category",
        "name",
        "subject",
        "participant",
        "managingOrganization",
        "period",
    ]),
    period: Shape::new(["start"]),
});

pub fn generate(input: &PlanInput, services: &[PlannedService], status: &str) -> Value {
    let f = &*FRAGMENTS;
    let ev = input.evidence;
    let mut participants = Vec::new();
    let managing = managing_physician(ev).map(|(k, _)| k.to_string());
    if let Some(key) = &managing {
        participants.push(physician(ev, key, "Managing physician"));
    }
    let requester = ev
        .referral()
        .member("requester")
        .and_then(|r| ev.resolve(r))
        .map(|(k, _)| k.to_string());
    if let Some(key) = requester
        .filter(|r| Some(r) != managing.as_ref() && !same_person(ev, r, managing.as_deref()))
    {
        participants.push(physician(ev, &key, "Referring physician"));
    }
    let mut roles: Vec<Role> = Vec::new();
    for planned in services {
        let role = planned.service.role();
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    for role in roles {
        participants.push(f.participant.with_nulls([
            Value::Array(vec![role.concept()]),
            input.program.role_ref(role),
        ]));
    }
    if let Some(patient) = ev.patient_key() {
        participants.push(
            f.participant
                .with_nulls([f.patient_role.clone(), reference(patient)]),
        );
    }
    for caregiver in consenting_caregivers(input) {
        participants.push(
            f.participant
                .with_nulls([f.caregiver_role.clone(), reference(caregiver)]),
        );
    }
    let referral = ev.referral();
    let start = referral
        .member("authoredOn")
        .and_then(Value::as_str)
        .and_then(|d| day_number(d, Edge::Start));
    f.team.with([
        string("CareTeam"),
        string(input.identity.id("CareTeam")),
        f.meta.clone(),
        Value::Array(vec![input.identity.identifier("CareTeam")]),
        string(status),
        f.category.clone(),
        string("Home Based Palliative Care team"),
        referral.member("subject").cloned().unwrap_or(Value::Null),
        Value::Array(participants),
        Value::Array(vec![input.program.organization_ref()]),
        start.map_or(Value::Null, |start| {
            f.period.with_nulls([string(date_text(start))])
        }),
    ])
}

/// A physician participant, with their own NUCC code as the role when they carry one.
fn physician(ev: &Scope, key: &str, label: &str) -> Value {
    let resource = ev.get(key);
    let practitioner = resource
        .and_then(|r| r.member("practitioner"))
        .and_then(|p| ev.resolve(p))
        .map(|(_, p)| p);
    let nucc = resource
        .and_then(|r| nucc_code(r.member("code")))
        .or_else(|| resource.and_then(qualification_nucc))
        .or_else(|| practitioner.and_then(qualification_nucc));
    let f = &*FRAGMENTS;
    let role = match nucc {
        Some((code, display)) => f.coded_role.with([
            Value::Array(vec![f.nucc_coding.with([
                string(NUCC),
                string(code),
                display.map_or(Value::Null, Value::String),
            ])]),
            string(label),
        ]),
        None => f.text_role.with([string(label)]),
    };
    f.participant
        .with_nulls([Value::Array(vec![role]), member(ev, key)])
}

/// A reference to the participant; one contained in the referral cannot be referenced from the
/// CareTeam, so it is named by its type and first identifier (its NPI) instead.
fn member(ev: &Scope, key: &str) -> Value {
    if !Evidence::is_contained_key(key) {
        return reference(key);
    }
    let rt = key.split('/').next().unwrap_or_default();
    let identifier = ev
        .get(key)
        .and_then(|r| r.member("identifier"))
        .and_then(Value::as_array)
        .and_then(|ids| ids.first())
        .cloned();
    let mut logical = serde_json::json!({"type": rt});
    if let Some(identifier) = identifier {
        logical["identifier"] = identifier;
    }
    logical
}

fn nucc_code(concepts: Option<&Value>) -> Option<(String, Option<String>)> {
    let items: Vec<&Value> = match concepts? {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    items.into_iter().find_map(|concept| {
        let coding = concept
            .member("coding")
            .and_then(Value::as_array)?
            .iter()
            .find(|c| c.member("system").and_then(Value::as_str) == Some(NUCC))?;
        let code = coding.member("code").and_then(Value::as_str)?;
        Some((
            code.to_string(),
            coding
                .member("display")
                .and_then(Value::as_str)
                .map(str::to_string),
        ))
    })
}

fn qualification_nucc(practitioner: &Value) -> Option<(String, Option<String>)> {
    practitioner
        .member("qualification")
        .and_then(Value::as_array)?
        .iter()
        .find_map(|q| nucc_code(q.member("code")))
}

/// Whether two Practitioner(Role)s are the same person.
fn same_person(ev: &Scope, a: &str, b: Option<&str>) -> bool {
    let person = |key: &str| -> Option<String> {
        if key.starts_with("Practitioner/") {
            return Some(key.to_string());
        }
        ev.get(key)?
            .member("practitioner")
            .and_then(|p| ev.resolve(p))
            .map(|(k, _)| k.to_string())
    };
    match (person(a), b.and_then(person)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// Caregivers who are performers of an active permit Consent.
fn consenting_caregivers(input: &PlanInput) -> Vec<String> {
    let ev = input.evidence;
    let caregivers = crate::domain::eligibility::caregivers(ev, input.eligibility);
    let active: Vec<&Value> = ev
        .of_type("Consent")
        .map(|(_, c)| c)
        .filter(|c| c.member("status").and_then(Value::as_str) == Some("active"))
        .collect();
    caregivers
        .into_iter()
        .filter(|c| {
            active
                .iter()
                .any(|consent| refers_to(consent, "performer", c))
        })
        .collect()
}
