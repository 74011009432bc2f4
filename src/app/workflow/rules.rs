//! Workflow rules from configuration: the domain's eligibility and planning inputs.

use crate::config::{CarePlanSettings, EligibilitySettings, ProgramSettings};
use crate::domain::care_planning::{PlanningRules, Program};
use crate::domain::eligibility::EligibilityRules;
use fhir_engine::model::coding::CodeList;
use thiserror::Error;

/// The referral ValueSet: a ServiceRequest coded from it is an HBPC referral.
pub const REFERRAL_VALUE_SET: &str = "http://hbpc.example.org/fhir/ValueSet/hbpc-referral-type";

#[derive(Debug, Error)]
#[error("setting `{setting}`: {message}")]
pub struct RulesError {
    pub setting: String,
    pub message: String,
}

#[derive(Debug, Clone, Default)]
pub struct WorkflowRules {
    pub eligibility: EligibilityRules,
    pub planning: PlanningRules,
    pub program: Program,
}

fn list(setting: &str, items: &[String]) -> Result<CodeList, RulesError> {
    CodeList::parse(items).map_err(|e| RulesError {
        setting: setting.into(),
        message: e.to_string(),
    })
}

fn token(setting: &str, item: &str) -> Result<(String, String), RulesError> {
    item.split_once('|')
        .filter(|(s, v)| !s.is_empty() && !v.is_empty())
        .map(|(s, v)| (s.to_string(), v.to_string()))
        .ok_or_else(|| RulesError {
            setting: setting.into(),
            message: format!("'{item}' is not system|value"),
        })
}

impl WorkflowRules {
    pub fn from_settings(
        program: &ProgramSettings,
        e: &EligibilitySettings,
        c: &CarePlanSettings,
        known_value_set: impl Fn(&str) -> bool,
    ) -> Result<Self, RulesError> {
        for (setting, url) in [
            (
                "eligibility.advanced_illness_value_set",
                &e.advanced_illness_value_set,
            ),
            ("eligibility.symptom_value_set", &e.symptom_value_set),
            (
                "eligibility.symptom_observation_value_set",
                &e.symptom_observation_value_set,
            ),
        ] {
            if !known_value_set(url) {
                return Err(RulesError {
                    setting: setting.into(),
                    message: format!(
                        "ValueSet {url} is not loaded (add its guide with validation.ig_dirs)"
                    ),
                });
            }
        }
        let eligibility = EligibilityRules {
            plan_organizations: e
                .plan_payor_identifiers
                .iter()
                .map(|i| token("eligibility.plan_payor_identifiers", i))
                .collect::<Result<_, _>>()?,
            plan_physician_npis: e.plan_physician_npis.clone(),
            physician_codes: list("eligibility.physician_codes", &e.physician_codes)?,
            service_area_zip_codes: e.service_area_zip_codes.clone(),
            service_area_zip3: e.service_area_zip3.clone(),
            service_area_counties: e.service_area_counties.clone(),
            homebound_lookback_days: i64::from(e.homebound_lookback_days),
            homebound_codes: list("eligibility.homebound_codes", &e.homebound_codes)?,
            advanced_illness_value_set: e.advanced_illness_value_set.clone(),
            symptom_value_set: e.symptom_value_set.clone(),
            symptom_observation_value_set: e.symptom_observation_value_set.clone(),
            home_care_codes: list("eligibility.home_care_codes", &e.home_care_codes)?,
            palliative_care_codes: list(
                "eligibility.palliative_care_codes",
                &e.palliative_care_codes,
            )?,
            caregiver_relationship_codes: list(
                "eligibility.caregiver_relationship_codes",
                &e.caregiver_relationship_codes,
            )?,
            home_safety_codes: list("eligibility.home_safety_codes", &e.home_safety_codes)?,
            home_safe_results: list("eligibility.home_safe_results", &e.home_safe_results)?,
            home_unsafe_results: list("eligibility.home_unsafe_results", &e.home_unsafe_results)?,
        };
        let planning = PlanningRules {
            personal_care_need_codes: list(
                "care_plan.personal_care_need_codes",
                &c.personal_care_need_codes,
            )?,
            physical_therapy_orders: list(
                "care_plan.physical_therapy_orders",
                &c.physical_therapy_orders,
            )?,
            occupational_therapy_orders: list(
                "care_plan.occupational_therapy_orders",
                &c.occupational_therapy_orders,
            )?,
            speech_therapy_orders: list(
                "care_plan.speech_therapy_orders",
                &c.speech_therapy_orders,
            )?,
            draft_when_on_hold: c.draft_when_on_hold,
        };
        let identifier = token(
            "program.organization_identifier",
            &program.organization_identifier,
        )?;
        let program = Program::new(
            program.organization_id.clone(),
            program.organization_name.clone(),
            identifier,
            program.device_id.clone(),
        );
        Ok(Self {
            eligibility,
            planning,
            program,
        })
    }
}
