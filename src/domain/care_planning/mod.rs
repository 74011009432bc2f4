//! Care planning: from a determination to the referral Task and, for an eligible patient, the
//! CarePlan, CareTeam, Goals and Provenance. Deterministic: the same evidence gives the same
//! resources (only timestamps differ), with ids derived from the referral's business identity.

mod care_plan;
mod care_team;
pub mod delivery_output;
mod goals;
mod identity;
mod narrative;
mod program;
mod provenance;
pub mod reevaluation;
mod services;
pub mod submitter;
mod task;
pub mod task_state;

pub use identity::{ReferralIdentity, GENERATED_SYSTEM_BASE};
pub use narrative::concept_label as symptom_label;
pub use program::Program;
pub use services::{PlannedService, Role, Service};

use crate::domain::eligibility::{Decision, Determination, EligibilityRules, Scope, Terminology};
use fhir_engine::model::coding::CodeList;
use serde_json::Value;

/// Plan-specific inputs to planning (from configuration).
#[derive(Debug, Clone, Default)]
pub struct PlanningRules {
    /// Conditions or reasons showing a need for personal care (home health aide).
    pub personal_care_need_codes: CodeList,
    pub physical_therapy_orders: CodeList,
    pub occupational_therapy_orders: CodeList,
    pub speech_therapy_orders: CodeList,
    /// Generate a draft CarePlan while the referral waits for evidence.
    pub draft_when_on_hold: bool,
}

/// What an earlier evaluation left, read before re-evaluating.
#[derive(Debug, Clone, Default)]
pub struct Prior {
    pub task: Option<Value>,
    pub care_plan: Option<Value>,
    pub care_team: Option<Value>,
}

pub struct PlanInput<'a> {
    /// The evaluation's view of the evidence.
    pub evidence: &'a Scope<'a>,
    pub determination: &'a Determination,
    pub identity: &'a ReferralIdentity,
    pub program: &'a Program,
    pub eligibility: &'a EligibilityRules,
    pub planning: &'a PlanningRules,
    pub terminology: &'a dyn Terminology,
    pub prior: &'a Prior,
    /// FHIR instant of this evaluation.
    pub now: &'a str,
}

/// The resources one evaluation writes, each with its `id`.
#[derive(Debug, Clone)]
pub struct Generated {
    pub task: Value,
    pub care_plan: Option<Value>,
    pub care_team: Option<Value>,
    pub goals: Vec<Value>,
    pub provenance: Value,
    pub services: Vec<PlannedService>,
}

impl Generated {
    /// Every generated resource, Task first.
    pub fn resources(&self) -> Vec<&Value> {
        let mut all = vec![&self.task];
        all.extend(self.care_plan.iter());
        all.extend(self.care_team.iter());
        all.extend(self.goals.iter());
        all.push(&self.provenance);
        all
    }
}

pub fn generate(input: &PlanInput) -> Generated {
    let decision = input.determination.decision();
    let plan_status = match decision {
        Decision::Eligible => Some("active"),
        Decision::Pending if input.planning.draft_when_on_hold => Some("draft"),
        // An earlier plan is withdrawn rather than left active.
        Decision::Pending if input.prior.care_plan.is_some() => Some("on-hold"),
        Decision::Ineligible if input.prior.care_plan.is_some() => Some("revoked"),
        // the referral is no longer an active order: an earlier plan follows its status
        Decision::NotEvaluated if input.prior.care_plan.is_some() => Some(
            match input
                .determination
                .precondition
                .as_ref()
                .and_then(|p| p.referral_status())
            {
                Some("completed") => "completed",
                Some("revoked" | "entered-in-error") => "revoked",
                _ => "on-hold",
            },
        ),
        _ => None,
    };
    let services = if plan_status.is_some() {
        services::plan(input)
    } else {
        Vec::new()
    };
    let (care_plan, care_team, goals) = match plan_status {
        Some(status) => {
            let team_status = match status {
                "active" => "active",
                "draft" => "proposed",
                "on-hold" => "suspended",
                _ => "inactive",
            };
            let goals = goals::generate(input, status, &services);
            let team = care_team::generate(input, &services, team_status);
            let plan = care_plan::generate(input, &services, &goals, status);
            (Some(plan), Some(team), goals)
        }
        None => (None, None, Vec::new()),
    };
    let task = task::generate(input, care_plan.is_some());
    let mut generated = Generated {
        task,
        care_plan,
        care_team,
        goals,
        provenance: Value::Null,
        services,
    };
    generated.provenance = provenance::generate(input, &generated);
    generated
}
