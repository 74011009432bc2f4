//! Plan-specific settings of the referral workflow: the program, the eligibility criteria's
//! values and care planning. Defaults describe the fixtures' fictional Evergreen Health Plan.

use serde::{Deserialize, Serialize};

const SCT: &str = "http://snomed.info/sct";
const ICD: &str = "http://hl7.org/fhir/sid/icd-10-cm";
const HBPC_OBS: &str = "http://hbpc.example.org/fhir/CodeSystem/hbpc-observation-codes";

fn codes(system: &str, list: &[&str]) -> Vec<String> {
    list.iter().map(|c| format!("{system}|{c}")).collect()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramSettings {
    /// Id of the program Organization (author of CarePlans, owner of referral Tasks).
    pub organization_id: String,
    pub organization_name: String,
    /// `system|value` identifier of the program Organization.
    pub organization_identifier: String,
    /// Id of the Device that stands for this gateway in Provenance.
    pub device_id: String,
}

impl Default for ProgramSettings {
    fn default() -> Self {
        Self {
            organization_id: "hbpc-program".into(),
            organization_name: "Home Based Palliative Care program".into(),
            organization_identifier: "http://hbpc.example.org/fhir/sid/organization|hbpc-program"
                .into(),
            device_id: "hbpc-gateway".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EligibilitySettings {
    /// Identifiers (`system|value`) of the plan organisation(s): the Coverage payor, and the
    /// employer of plan physicians (PractitionerRole.organization).
    pub plan_payor_identifiers: Vec<String>,
    /// NPIs of physicians who direct care for the plan.
    pub plan_physician_npis: Vec<String>,
    /// Qualification or role codes of a physician (`system|code`, `*` for a prefix).
    pub physician_codes: Vec<String>,
    pub service_area_zip_codes: Vec<String>,
    pub service_area_zip3: Vec<String>,
    pub service_area_counties: Vec<String>,
    /// How old the homebound certification may be, before the referral date.
    pub homebound_lookback_days: u32,
    pub homebound_codes: Vec<String>,
    pub advanced_illness_value_set: String,
    pub symptom_value_set: String,
    pub symptom_observation_value_set: String,
    /// Consent provision codes that mean care at home.
    pub home_care_codes: Vec<String>,
    /// Consent provision codes that mean the palliative plan of care.
    pub palliative_care_codes: Vec<String>,
    pub caregiver_relationship_codes: Vec<String>,
    pub home_safety_codes: Vec<String>,
    pub home_safe_results: Vec<String>,
    pub home_unsafe_results: Vec<String>,
}

impl Default for EligibilitySettings {
    fn default() -> Self {
        let vs = |name: &str| format!("http://hbpc.example.org/fhir/ValueSet/{name}");
        Self {
            plan_payor_identifiers: vec!["http://hl7.org/fhir/sid/us-npi|1234567893".into()],
            plan_physician_npis: vec!["1548293750".into()],
            physician_codes: vec!["http://nucc.org/provider-taxonomy|20*".into()],
            service_area_zip_codes: Vec::new(),
            service_area_zip3: vec!["945".into(), "946".into(), "947".into()],
            service_area_counties: vec!["Alameda County".into(), "Contra Costa County".into()],
            homebound_lookback_days: 90,
            homebound_codes: codes(SCT, &["160689007"]),
            advanced_illness_value_set: vs("hbpc-advanced-illness"),
            symptom_value_set: vs("hbpc-symptom"),
            symptom_observation_value_set: vs("hbpc-symptom-observation-code"),
            home_care_codes: [
                codes("http://terminology.hl7.org/CodeSystem/v2-0281", &["HOM"]),
                codes(SCT, &["439708006"]),
            ]
            .concat(),
            palliative_care_codes: codes(SCT, &["103735009", "306237005", "306288008"]),
            caregiver_relationship_codes: codes(SCT, &["133932002"]),
            home_safety_codes: codes(HBPC_OBS, &["home-safety-assessment"]),
            home_safe_results: codes(HBPC_OBS, &["home-safe"]),
            home_unsafe_results: codes(HBPC_OBS, &["home-unsafe"]),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarePlanSettings {
    /// Codes showing a need for personal care: plan a home health aide.
    pub personal_care_need_codes: Vec<String>,
    /// Order codes (ServiceRequest.code of an order based on the referral, or its orderDetail).
    pub physical_therapy_orders: Vec<String>,
    pub occupational_therapy_orders: Vec<String>,
    pub speech_therapy_orders: Vec<String>,
    /// Generate a draft CarePlan while a referral waits for evidence.
    pub draft_when_on_hold: bool,
}

impl Default for CarePlanSettings {
    fn default() -> Self {
        Self {
            personal_care_need_codes: codes(ICD, &["Z74.1", "Z74.01", "Z74.09", "Z74.2"]),
            physical_therapy_orders: codes(SCT, &["91251008", "308447003"]),
            occupational_therapy_orders: codes(SCT, &["84478008", "308453003"]),
            speech_therapy_orders: codes(SCT, &["311555007", "5154007", "308452008"]),
            draft_when_on_hold: false,
        }
    }
}
