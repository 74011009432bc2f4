//! The CapabilityStatement, generated from the route table.

use super::routes::{
    conformance_types, resource_types, Interaction, OPERATIONS, SYSTEM_INTERACTIONS,
    SYSTEM_OPERATIONS, TYPE_OPERATIONS,
};
use crate::domain::guide::resource_types::search_registry;
use fhir_engine::model::instant::{fhir_instant, now_millis};
use fhir_engine::search::Compartment;
use fhir_engine::FHIR_VERSION;
use serde_json::{json, Value};

/// `supported_profiles`: (resource type, profile URL) of every profile the validator applies.
/// How clients authorize, for `rest.security`: `None` with auth off.
pub struct SecurityAdvert<'a> {
    /// The token endpoint when configured (`auth.token_url`); else clients use `/auth/token`
    /// on this server, announced by `.well-known/smart-configuration`.
    pub token_url: Option<&'a str>,
}

pub fn capability_statement(
    supported_profiles: &[(String, String)],
    security: Option<SecurityAdvert>,
) -> Value {
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
                let search = search_registry();
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
    let security = security.map(|s| {
        let mut security = json!({
            "cors": false,
            "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                     "code": "SMART-on-FHIR"}]}],
            "description": "SMART Backend Services: client_credentials with a private_key_jwt assertion (RS384 or ES384) at the token endpoint of .well-known/smart-configuration; system/ scopes per resource type and interaction, system/$<operation> per operation.",
        });
        if let Some(token) = s.token_url.filter(|t| !t.is_empty()) {
            security["extension"] = json!([{
                "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                "extension": [{"url": "token", "valueUri": token}],
            }]);
        }
        security
    });
    let mut statement = json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": fhir_instant(now_millis()),
        "publisher": "hbpc-gateway",
        "kind": "instance",
        "software": { "name": "hbpc-gateway", "version": env!("CARGO_PKG_VERSION") },
        "implementation": { "description": "Home Based Palliative Care referral gateway" },
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json", "application/fhir+xml", "xml"],
        "rest": [{
            "mode": "server",
            "documentation": "Conditional create supports If-None-Exist: identifier=[system]|[value], or the same criteria in the query of POST [type]?criteria. \
    Transaction and batch: references between entries resolved by fullUrl (R4 Bundle rules), conditional URLs, ifMatch, conditional references, GET reads and searches; see docs/api.md. \
    Conditional update, patch and delete take any search criteria (PUT/PATCH/DELETE [type]?criteria). \
    PATCH takes JSON Patch (application/json-patch+json) or FHIRPath Patch (a Parameters resource). \
    Compartment search: GET Patient/[id]/[type] (the R4 Patient compartment). \
    Search: chaining on reference parameters (e.g. CarePlan?patient.identifier=system|value), \
    reverse chaining (_has:Type:reference:parameter), \
    _include/_revinclude (with :iterate), _count, _sort (_id, _lastUpdated, date parameters), \
    _summary=count, _total=accurate, _elements. Unknown parameters are refused (400) unless \
    the request says Prefer: handling=lenient. \
    See docs/search.md.",
            "resource": resources,
            "compartment": [Compartment::patient().url.clone()],
            "interaction": SYSTEM_INTERACTIONS.iter().map(|c| json!({ "code": c })).collect::<Vec<_>>(),
            "operation": operations.iter().cloned().chain(SYSTEM_OPERATIONS.iter().map(
                |(name, definition)| json!({ "name": name, "definition": definition }),
            )).collect::<Vec<_>>(),
        }],
    });
    if let Some(security) = security {
        statement["rest"][0]["security"] = security;
    }
    statement
}
