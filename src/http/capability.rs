//! The CapabilityStatement, generated from the route table.

use super::routes::{resource_types, Interaction, SYSTEM_INTERACTIONS};
use crate::domain::fhir::instant::{fhir_instant, now_millis};
use crate::domain::fhir::FHIR_VERSION;
use serde_json::{json, Value};

pub fn capability_statement() -> Value {
    let interactions: Vec<Value> = Interaction::ALL
        .iter()
        .map(|i| json!({ "code": i.code() }))
        .collect();
    let resources: Vec<Value> = resource_types()
        .iter()
        .map(|t| {
            json!({
                "type": t,
                "profile": format!("http://hl7.org/fhir/StructureDefinition/{t}"),
                "interaction": interactions,
                "versioning": "versioned",
                "readHistory": true,
                "updateCreate": true,
                "conditionalCreate": true,
                "conditionalRead": "not-supported",
                "conditionalUpdate": false,
                "conditionalDelete": "not-supported",
            })
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": fhir_instant(now_millis()),
        "publisher": "hbpc-gateway",
        "kind": "instance",
        "software": { "name": "hbpc-gateway", "version": env!("CARGO_PKG_VERSION") },
        "implementation": { "description": "Home Based Palliative Care referral gateway" },
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "documentation": "Conditional create supports If-None-Exist: identifier=[system]|[value].",
            "resource": resources,
            "interaction": SYSTEM_INTERACTIONS.iter().map(|c| json!({ "code": c })).collect::<Vec<_>>(),
        }],
    })
}
