//! `ServiceRequest/$evaluate-eligibility`: what intake would decide for a referral, with
//! nothing stored. Takes a Bundle, or Parameters with the Bundle in `referral` (or `resource`).

use super::Intake;
use crate::app::workflow::{bundle_resources, Evaluation};
use crate::app::AppError;
use fhir_engine::json::{parse_resource, resource_type_of};
use fhir_engine::outcome::{Issue, IssueType};
use serde_json::{json, Value};

impl Intake {
    pub async fn evaluate_eligibility(&self, body: &[u8]) -> Result<Value, AppError> {
        let parsed = parse_resource(body, self.limits.json())?;
        let (bundle, from_parameters) = match resource_type_of(&parsed) {
            Some("Bundle") => (parsed, false),
            Some("Parameters") => (bundle_parameter(&parsed)?, true),
            other => {
                return Err(AppError::invalid(
                    Issue::error(
                        IssueType::Invalid,
                        format!(
                            "$evaluate-eligibility takes a Bundle or Parameters, not a {}",
                            other.unwrap_or("resource")
                        ),
                    )
                    .at("resourceType"),
                ))
            }
        };
        let mut outcome = self.validator.check(&bundle);
        if !from_parameters {
            super::locate(body, &bundle, &mut outcome);
        }
        super::rejection(outcome)?;
        let Some(workflow) = &self.workflow else {
            return Err(AppError::Unprocessable(vec![
                crate::app::workflow::not_a_referral("Bundle.entry"),
            ]));
        };
        let resources = bundle_resources(&bundle);
        let evaluations = workflow
            .dry_run(&resources)
            .await
            .map_err(AppError::Store)?;
        if evaluations.is_empty() {
            return Err(AppError::Unprocessable(vec![
                crate::app::workflow::not_a_referral("Bundle.entry"),
            ]));
        }
        Ok(parameters(&evaluations))
    }
}

fn bundle_parameter(parameters: &Value) -> Result<Value, AppError> {
    parameters
        .get("parameter")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|p| {
            matches!(
                p.get("name").and_then(Value::as_str),
                Some("referral" | "resource")
            )
        })
        .and_then(|p| p.get("resource"))
        .filter(|r| resource_type_of(r) == Some("Bundle"))
        .cloned()
        .ok_or_else(|| {
            AppError::invalid(
                Issue::error(
                    IssueType::Required,
                    "Parameters must carry the referral Bundle in parameter 'referral'",
                )
                .at("Parameters.parameter"),
            )
        })
}

/// The evaluations as Parameters: per referral its decision, Task (with the determination
/// contained), CarePlan, CareTeam and Goals.
pub fn parameters(evaluations: &[Evaluation]) -> Value {
    let mut parameters = Vec::new();
    for evaluation in evaluations {
        let decision = evaluation.determination.decision().code();
        let g = &evaluation.generated;
        parameters.push(json!({"name": "decision", "valueCode": decision}));
        parameters.push(json!({"name": "task", "resource": g.task}));
        if let Some(plan) = &g.care_plan {
            parameters.push(json!({"name": "carePlan", "resource": plan}));
        }
        if let Some(team) = &g.care_team {
            parameters.push(json!({"name": "careTeam", "resource": team}));
        }
        for goal in &g.goals {
            parameters.push(json!({"name": "goal", "resource": goal}));
        }
    }
    json!({"resourceType": "Parameters", "parameter": parameters})
}
