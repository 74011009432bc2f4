//! The program's default-profile policy: the HBPC profile a referral resource gets when it
//! declares none (`validation.default_profiles`).

use super::HBPC_CANONICAL;
use fhir_engine::validation::structure::DefaultProfiles;
use serde_json::Value;
use std::collections::HashMap;

/// The HBPC profile each referral type gets when it declares none. Condition and Observation
/// have several HBPC profiles and get theirs through the ServiceRequest's references.
pub const DEFAULT_PROFILES: &[(&str, &str)] = &[
    ("ServiceRequest", "hbpc-referral-servicerequest"),
    ("Coverage", "hbpc-coverage"),
    ("Consent", "hbpc-participation-consent"),
    ("Task", "hbpc-referral-task"),
    ("CarePlan", "hbpc-careplan"),
    ("CareTeam", "hbpc-careteam"),
];

/// A ServiceRequest based on another ServiceRequest (e.g. therapy ordered with a referral) is
/// an order placed under the referral, not a referral: it gets no default referral profile.
pub fn is_ancillary_order(resource: &Value, rt: &str) -> bool {
    rt == "ServiceRequest"
        && resource
            .get("basedOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|b| b.get("reference").and_then(Value::as_str))
            .any(|r| {
                r.starts_with("ServiceRequest/")
                    || r.contains("/ServiceRequest/")
                    || r.starts_with("urn:uuid:")
            })
}

/// [`DEFAULT_PROFILES`] as canonical URLs, with ancillary orders left out.
pub struct HbpcDefaultProfiles {
    by_type: HashMap<String, String>,
}

impl HbpcDefaultProfiles {
    pub fn new() -> Self {
        let by_type = DEFAULT_PROFILES
            .iter()
            .map(|(t, id)| {
                (
                    t.to_string(),
                    format!("{HBPC_CANONICAL}/StructureDefinition/{id}"),
                )
            })
            .collect();
        Self { by_type }
    }
}

impl Default for HbpcDefaultProfiles {
    fn default() -> Self {
        Self::new()
    }
}

impl DefaultProfiles for HbpcDefaultProfiles {
    fn default_profile(&self, resource_type: &str, resource: &Value) -> Option<&str> {
        if is_ancillary_order(resource, resource_type) {
            return None;
        }
        self.by_type.get(resource_type).map(String::as_str)
    }
}
