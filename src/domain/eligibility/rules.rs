//! The plan-specific values the criteria are evaluated against (built from configuration).

use super::Evidence;
use fhir_engine::model::coding::CodeList;
use fhir_engine::model::identifier::identifiers_of;
use serde_json::Value;

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

impl EligibilityRules {
    /// Whether a Reference names a plan organisation: logically by identifier, or by the
    /// identifiers of the Organization it resolves to.
    pub fn is_plan_organization(&self, ev: &Evidence, reference: &Value) -> bool {
        let matches = |system: &str, value: &str| {
            self.plan_organizations
                .iter()
                .any(|(s, v)| s == system && v == value)
        };
        let logical = reference.get("identifier").is_some_and(|i| {
            matches(
                i.get("system").and_then(Value::as_str).unwrap_or(""),
                i.get("value").and_then(Value::as_str).unwrap_or(""),
            )
        });
        logical
            || ev.resolve(reference).is_some_and(|(_, org)| {
                identifiers_of(org)
                    .iter()
                    .any(|i| matches(&i.system, &i.value))
            })
    }
}
