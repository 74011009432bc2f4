//! The plan-specific values the criteria are evaluated against (built from configuration).

use crate::domain::fhir::coding::CodeList;

#[derive(Debug, Clone, Default)]
pub struct EligibilityRules {
    /// Identifiers (`system|value`) of the plan organisation(s): Coverage payor, physicians' employer.
    pub plan_organizations: Vec<(String, String)>,
    pub plan_physician_npis: Vec<String>,
    pub physician_codes: CodeList,
    pub service_area_zip_codes: Vec<String>,
    pub service_area_zip3: Vec<String>,
    /// Compared case-insensitively.
    pub service_area_counties: Vec<String>,
    pub homebound_lookback_days: i64,
    pub homebound_codes: CodeList,
    pub advanced_illness_value_set: String,
    pub symptom_value_set: String,
    pub symptom_observation_value_set: String,
    pub home_care_codes: CodeList,
    pub palliative_care_codes: CodeList,
    pub caregiver_relationship_codes: CodeList,
    pub home_safety_codes: CodeList,
    pub home_safe_results: CodeList,
    pub home_unsafe_results: CodeList,
}

/// ValueSet membership, answered by the loaded implementation guide.
pub trait Terminology: Send + Sync {
    fn in_value_set(&self, value_set: &str, system: Option<&str>, code: &str) -> bool;
}
