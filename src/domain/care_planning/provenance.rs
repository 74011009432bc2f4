//! Provenance for an evaluation: what it generated, by the gateway for the program, from the
//! referral.

use super::{Generated, PlanInput};
use fhir_engine::json::build::{reference, reference_to, string, Shape};
use fhir_engine::json::member::Member;
use serde_json::{json, Value};
use std::sync::LazyLock;

/// What every Provenance repeats, built once.
struct Fragments {
    create: Value,
    update: Value,
    agent_type: Value,
    provenance: Shape,
    agent: Shape,
    entity: Shape,
}

static FRAGMENTS: LazyLock<Fragments> = LazyLock::new(|| {
    let activity = |code: &str, display: &str| {
        json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation",
                           "code": code, "display": display}]})
    };
    Fragments {
        create: activity("CREATE", "create"),
        update: activity("UPDATE", "revise"),
        agent_type: json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                       "code": "assembler", "display": "Assembler"}]}),
        provenance: Shape::new([
            "resourceType",
            "id",
            "target",
            "recorded",
            "activity",
            "agent",
            "entity",
        ]),
        agent: Shape::new(["type", "who", "onBehalfOf"]),
        entity: Shape::new(["role", "what"]),
    }
});

pub fn generate(input: &PlanInput, generated: &Generated) -> Value {
    let f = &*FRAGMENTS;
    let targets: Vec<Value> = generated
        .resources()
        .into_iter()
        .filter_map(|r| {
            let rt = r.member("resourceType")?.as_str()?;
            let id = r.member("id")?.as_str()?;
            (rt != "Provenance").then(|| reference_to(rt, id))
        })
        .collect();
    let activity = if input.prior.task.is_some() {
        &f.update
    } else {
        &f.create
    };
    f.provenance.with_nulls([
        string("Provenance"),
        string(input.identity.id("Provenance")),
        Value::Array(targets),
        string(input.now),
        activity.clone(),
        Value::Array(vec![f.agent.with_nulls([
            f.agent_type.clone(),
            input.program.device_ref(),
            input.program.organization_ref(),
        ])]),
        Value::Array(vec![f.entity.with_nulls([
            string("source"),
            reference(input.evidence.referral_key()),
        ])]),
    ])
}
