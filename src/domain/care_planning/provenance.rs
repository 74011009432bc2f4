//! Provenance for an evaluation: what it generated, by the gateway for the program, from the
//! referral.

use super::{Generated, PlanInput};
use crate::domain::fhir::json_build::reference;
use serde_json::{json, Value};

pub fn generate(input: &PlanInput, generated: &Generated) -> Value {
    let targets: Vec<Value> = generated
        .resources()
        .into_iter()
        .filter_map(|r| {
            let rt = r.get("resourceType")?.as_str()?;
            let id = r.get("id")?.as_str()?;
            (rt != "Provenance").then(|| reference(format!("{rt}/{id}")))
        })
        .collect();
    let activity = if input.prior.task.is_some() {
        ("UPDATE", "revise")
    } else {
        ("CREATE", "create")
    };
    let mut provenance = json!({
        "resourceType": "Provenance",
        "id": input.identity.id("Provenance"),
        "target": Value::Null,
        "recorded": input.now,
        "activity": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation",
                                 "code": activity.0, "display": activity.1}]},
        "agent": [{
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                 "code": "assembler", "display": "Assembler"}]},
            "who": input.program.device_ref(),
            "onBehalfOf": input.program.organization_ref(),
        }],
        "entity": [{"role": "source", "what": {"reference": input.evidence.referral_key()}}],
    });
    provenance["target"] = Value::Array(targets);
    provenance
}
