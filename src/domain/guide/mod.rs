//! The HBPC implementation guide as the FHIR engine sees it: the program's conformance
//! resources (top-level `profiles/`, authored in FSH in `profiles/fsh/`), the profile
//! each referral type gets when it declares none, and the resource types a referral carries,
//! whose search parameters the store indexes. The engine (`fhir_engine`) knows none of this:
//! the gateway hands it in through `LoadOptions` and `Registry::from_json`.

pub mod default_profiles;
pub mod indexed_parameters;
pub mod resource_types;

#[cfg(test)]
mod tests;

use fhir_engine::validation::structure::definitions::EmbeddedSource;
use fhir_engine::validation::structure::LoadOptions;
use std::sync::Arc;

/// The canonical base of every HBPC artifact.
pub const HBPC_CANONICAL: &str = "http://hbpc.example.org/fhir";

macro_rules! guide {
    ($($file:literal),* $(,)?) => {
        &[$(EmbeddedSource {
            name: concat!("profiles/", $file),
            json: include_str!(concat!("../../../profiles/", $file)),
        }),*]
    };
}

/// The HBPC implementation guide (profiles/README.md says how it is made).
pub const HBPC_PROFILES: &[EmbeddedSource] = guide![
    "StructureDefinition-hbpc-referral-servicerequest.json",
    "StructureDefinition-hbpc-coverage.json",
    "StructureDefinition-hbpc-advanced-illness-condition.json",
    "StructureDefinition-hbpc-symptom-condition.json",
    "StructureDefinition-hbpc-symptom-observation.json",
    "StructureDefinition-hbpc-homebound-observation.json",
    "StructureDefinition-hbpc-home-safety-observation.json",
    "StructureDefinition-hbpc-participation-consent.json",
    "StructureDefinition-hbpc-referral-bundle.json",
    "StructureDefinition-hbpc-referral-task.json",
    "StructureDefinition-hbpc-careplan.json",
    "StructureDefinition-hbpc-careteam.json",
    "ValueSet-hbpc-referral-type.json",
    "ValueSet-hbpc-advanced-illness.json",
    "ValueSet-hbpc-symptom.json",
    "ValueSet-hbpc-symptom-observation-code.json",
    "ValueSet-hbpc-home-safety-code.json",
    "ValueSet-hbpc-referral-bundle-type.json",
    "ValueSet-hbpc-task-business-status.json",
    "ValueSet-hbpc-narrative-status.json",
    "ValueSet-hbpc-care-plan-activity.json",
    "ValueSet-hbpc-careteam-role.json",
    "ValueSet-hbpc-task-parameter-type.json",
    "ValueSet-hbpc-delivery-state.json",
    "CodeSystem-hbpc-observation-codes.json",
    "CodeSystem-hbpc-services.json",
    "CodeSystem-hbpc-eligibility-criterion.json",
    "CodeSystem-hbpc-eligibility-result.json",
    "CodeSystem-hbpc-task-parameter.json",
    "CodeSystem-hbpc-delivery-state.json",
];

/// What the gateway's validator loads besides the R4 core: the HBPC guide and its
/// default-profile policy. Callers add operator IG folders and the invariant engine:
/// `LoadOptions { ig_paths, invariants, ..guide::load_options() }`.
pub fn load_options() -> LoadOptions {
    LoadOptions {
        sources: HBPC_PROFILES.to_vec(),
        default_profiles: Some(Arc::new(default_profiles::HbpcDefaultProfiles::new())),
        ..LoadOptions::default()
    }
}
