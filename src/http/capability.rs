//! The CapabilityStatement, generated from the route table.

use super::routes::{
    conformance_types, resource_types, Interaction, OPERATIONS, SYSTEM_INTERACTIONS,
    SYSTEM_OPERATIONS, TYPE_OPERATIONS,
};
use crate::domain::fhir::instant::{fhir_instant, now_millis};
use crate::domain::fhir::FHIR_VERSION;
use crate::domain::search::registry;
use serde_json::{json, Value};

/// `supported_profiles`: (resource type, profile URL) of every profile the validator applies.
pub fn capability_statement(supported_profiles: &[(String, String)]) -> Value {
    let operations: Vec<Value> = OPERATIONS
        .iter()
        .map(|(name, definition)| json!({ "name": name, "definition": definition }))
        .collect();
    let interactions: Vec<Value> = Interaction::ALL
        .iter()
        .map(|i| json!({ "code": i.code() }))
        .collect();
    let resources: Vec<Value> =
        resource_types()
            .iter()
            .map(|t| {
                let profiles: Vec<&str> = supported_profiles
                    .iter()
                    .filter(|(rt, _)| rt == t)
                    .map(|(_, url)| url.as_str())
                    .collect();
                let search = registry();
                let search_params: Vec<Value> = search
                    .params(t)
                    .iter()
                    .map(|p| {
                        json!({
                            "name": p.code,
                            "definition": p.url,
                            "type": p.kind.code(),
                            "documentation": format!(
                                "{}; modifiers: {}",
                                p.expression,
                                p.kind.modifiers().join(", ")
                            ),
                        })
                    })
                    .collect();
                let mut type_operations = operations.clone();
                type_operations.extend(TYPE_OPERATIONS.iter().filter(|(rt, _, _)| rt == t).map(
                    |(_, name, definition)| json!({ "name": name, "definition": definition }),
                ));
                json!({
                    "type": t,
                    "supportedProfile": profiles,
                    "operation": type_operations,
                    "profile": format!("http://hl7.org/fhir/StructureDefinition/{t}"),
                    "interaction": interactions,
                    "versioning": "versioned",
                    "readHistory": true,
                    "updateCreate": true,
                    "conditionalCreate": true,
                    "conditionalRead": "not-match",
                    "conditionalUpdate": true,
                    "conditionalDelete": "single",
                    "searchInclude": search.includes(t),
                    "searchRevInclude": search.revincludes(t),
                    "searchParam": search_params,
                })
            })
            .chain(conformance_types().iter().map(|t| {
                json!({
                    "type": t,
                    "interaction": [{ "code": "read" }, { "code": "search-type" }],
                    "searchParam": [{ "name": "url", "type": "uri" }],
                    "operation": operations,
                })
            }))
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
            "documentation": "Conditional create supports If-None-Exist: identifier=[system]|[value]. \
    Conditional update and delete take any search criteria (PUT/DELETE [type]?criteria). \
    Search: chaining on reference parameters (e.g. CarePlan?patient.identifier=system|value), \
    _include/_revinclude (with :iterate), _count, _sort (_id, _lastUpdated, date parameters), \
    _summary=count, _total=accurate, _elements; Prefer: handling=strict refuses unknown parameters. \
    See docs/search.md.",
            "resource": resources,
            "interaction": SYSTEM_INTERACTIONS.iter().map(|c| json!({ "code": c })).collect::<Vec<_>>(),
            "operation": operations.iter().cloned().chain(SYSTEM_OPERATIONS.iter().map(
                |(name, definition)| json!({ "name": name, "definition": definition }),
            )).collect::<Vec<_>>(),
        }],
    })
}
