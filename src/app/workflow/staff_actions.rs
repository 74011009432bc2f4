//! Staff moving a referral Task by a normal update: only FHIR task-state transitions are
//! accepted, and ending the Task ends the plan.

use crate::app::AppError;
use crate::domain::care_planning::{task_state, GENERATED_SYSTEM_BASE};
use fhir_engine::outcome::{Issue, IssueType};
use serde_json::Value;

/// Whether a Task is one of our referral Tasks.
pub fn is_referral_task(task: &Value) -> bool {
    task.get("identifier")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|i| i.get("system").and_then(Value::as_str))
        .any(|s| s == format!("{GENERATED_SYSTEM_BASE}task"))
}

pub fn status(task: &Value) -> &str {
    task.get("status").and_then(Value::as_str).unwrap_or("")
}

pub fn check_transition(stored: &Value, updated: &Value) -> Result<(), AppError> {
    let (from, to) = (status(stored), status(updated));
    if task_state::allowed(from, to) {
        Ok(())
    } else {
        Err(AppError::Conflict(
            Issue::error(
                IssueType::BusinessRule,
                format!("a referral Task cannot move from '{from}' to '{to}'"),
            )
            .at("Task.status"),
        ))
    }
}

/// The plan's status once the Task ends this way, if it ends the plan.
pub fn plan_status_after(task_status: &str) -> Option<(&'static str, &'static str, &'static str)> {
    // (CarePlan.status, activity status, CareTeam.status)
    match task_status {
        "completed" => Some(("completed", "completed", "inactive")),
        "cancelled" | "failed" => Some(("revoked", "cancelled", "inactive")),
        "entered-in-error" => Some(("entered-in-error", "entered-in-error", "entered-in-error")),
        "in-progress" => Some(("active", "in-progress", "active")),
        _ => None,
    }
}

/// The plan resource with its status (and its activities' statuses) set.
pub fn with_status(mut resource: Value, status: &str, activity_status: Option<&str>) -> Value {
    resource["status"] = Value::String(status.to_string());
    if let (Some(activity_status), Some(activities)) = (
        activity_status,
        resource.get_mut("activity").and_then(Value::as_array_mut),
    ) {
        for activity in activities {
            if let Some(detail) = activity.get_mut("detail") {
                detail["status"] = Value::String(activity_status.to_string());
            }
        }
    }
    resource
}
