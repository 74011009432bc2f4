//! The resource types a referral carries, which the gateway stores, and the search parameter
//! registry over them.

use fhir_engine::search::registry::{Registry, R4_SEARCH_PARAMETERS};
use std::sync::OnceLock;

/// Types accepted by create/read/update/delete: the referral, its supporting resources and
/// what the workflow generates.
pub const REFERRAL_RESOURCE_TYPES: &[&str] = &[
    "ServiceRequest",
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Coverage",
    "Condition",
    "Observation",
    "Consent",
    "RelatedPerson",
    "DocumentReference",
    "QuestionnaireResponse",
    // the visit an encounter diagnosis (US Core Condition) was recorded in
    "Encounter",
    // what the referral workflow generates
    "Task",
    "CarePlan",
    "CareTeam",
    "Goal",
    "Provenance",
    "Device",
];

pub fn is_referral_type(resource_type: &str) -> bool {
    REFERRAL_RESOURCE_TYPES.contains(&resource_type)
}

/// The search parameter registry of the stored types, built once per process. Search, index
/// extraction and the CapabilityStatement all read this one registry.
pub fn search_registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        // The vendored file is part of the build; a parse failure is a build defect that the
        // registry test catches, so an empty registry here only disables search.
        Registry::from_json(R4_SEARCH_PARAMETERS, REFERRAL_RESOURCE_TYPES).unwrap_or_default()
    })
}
