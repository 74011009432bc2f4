//! The resource types a referral carries, which the gateway stores, and the search parameter
//! registry over them.

use fhir_engine::search::registry::Registry;

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

/// The registry of the indexed search parameters of the stored types (`search.indexed_parameters`,
/// see `indexed_parameters`). Search, index extraction and the CapabilityStatement all read
/// this one registry: what is advertised is what is indexed and searched.
pub fn search_registry() -> &'static Registry {
    super::indexed_parameters::indexed()
}
