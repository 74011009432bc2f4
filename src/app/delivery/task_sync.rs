//! Keeps the referral Task's delivery outputs in step with its newest outbox record, after a
//! worker settles an attempt and after a re-queue.
//!
//! - A new Task version is written only on a transition of the state shown (pending,
//!   delivered, failed-retrying, dead), never for another retry of a failing delivery.
//! - The write goes straight to the store (one transaction, version-checked like `If-Match`),
//!   not through the workflow: it enqueues no delivery, so it cannot loop.
//! - A concurrent re-evaluation wins: on a version conflict the Task and the record are read
//!   again, and a record superseded by a newer one leaves the Task alone (the newer record's
//!   Task version already says `pending`).

use crate::domain::care_planning::delivery_output::{self, DeliveryStatus, UpstreamCopy};
use crate::store::outbox::{DeliveryFilter, DeliveryOutbox, DeliveryRecord, DeliveryState};
use crate::store::{OpFailure, ResourceStore, StoreError, WriteOp};
use fhir_engine::model::instant::{fhir_instant, now_millis};
use serde_json::Value;

/// Version conflicts tolerated before giving up (each means someone else wrote the Task).
const CONFLICT_RETRIES: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskSync {
    /// A new Task version shows the record's state.
    Written,
    /// The Task already shows it (or a retry of an already failing delivery).
    Unchanged,
    /// A newer record for the Task exists, or the Task or record is gone.
    LeftAlone,
}

/// What the Task should show for `record`; `None` for a superseded record.
/// `upstream_base` makes the upstream's relative locations absolute.
pub fn status_of(record: &DeliveryRecord, upstream_base: Option<&str>) -> Option<DeliveryStatus> {
    Some(match record.state {
        DeliveryState::Pending if failed_since_queued(record) => {
            DeliveryStatus::FailedRetrying(record.last_status)
        }
        DeliveryState::Pending => DeliveryStatus::Pending,
        DeliveryState::Delivered => DeliveryStatus::Delivered(copies(record, upstream_base)),
        DeliveryState::Dead => DeliveryStatus::Dead(record.last_status),
        DeliveryState::Superseded => return None,
    })
}

/// Whether an attempt failed since the record was enqueued or re-queued. A re-queue resets
/// `attempts` to 0 but keeps the dead letter's error; a claim counts an attempt and takes the
/// lease, which a settlement clears. So the kept error is an old one while no attempt was made,
/// or while the first one is still in flight (or died with its worker).
fn failed_since_queued(record: &DeliveryRecord) -> bool {
    let first_unsettled =
        record.attempts == 0 || (record.attempts == 1 && record.lease_until_ms.is_some());
    record.last_error.is_some() && !first_unsettled
}

fn copies(record: &DeliveryRecord, base: Option<&str>) -> Vec<UpstreamCopy> {
    record
        .upstream
        .as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let ours = entry.get("resource")?.as_str()?.to_string();
            let location = entry.get("location")?.as_str()?;
            Some(UpstreamCopy {
                ours,
                version: entry.get("version").and_then(Value::as_u64),
                location: absolute(location, base),
            })
        })
        .collect()
}

fn absolute(location: &str, base: Option<&str>) -> String {
    match base {
        Some(base) if !location.contains("://") => {
            format!(
                "{}/{}",
                base.trim_end_matches('/'),
                location.trim_start_matches('/')
            )
        }
        _ => location.to_string(),
    }
}

/// Whether the Task must be rewritten to show `wanted`.
fn is_transition(task: &Value, wanted: &[Value], status: &DeliveryStatus) -> bool {
    let shown = delivery_output::delivery_outputs(task);
    if shown == wanted {
        return false;
    }
    // Another failed attempt of a failing delivery is not a transition, whatever its status.
    !(matches!(status, DeliveryStatus::FailedRetrying(_))
        && delivery_output::state_code(task).as_deref() == Some(status.code()))
}

/// Brings the Task of record `record_id` in step with it.
pub async fn sync_task(
    store: &dyn ResourceStore,
    outbox: &dyn DeliveryOutbox,
    record_id: &str,
    task_id: &str,
    upstream_base: Option<&str>,
) -> Result<TaskSync, StoreError> {
    for _ in 0..CONFLICT_RETRIES {
        // The Task first, then the record: a re-evaluation committed in between is either seen
        // as a newer record, or makes the version-checked write below fail.
        let Some(stored) = store.read("Task", task_id).await?.filter(|s| !s.deleted) else {
            return Ok(TaskSync::LeftAlone);
        };
        let Some(mut task) = stored.resource() else {
            return Ok(TaskSync::LeftAlone);
        };
        let newest = outbox
            .list(&DeliveryFilter {
                state: None,
                task_id: Some(task_id.to_string()),
                limit: 1,
            })
            .await?;
        let Some(record) = newest.into_iter().next().filter(|r| r.id == record_id) else {
            return Ok(TaskSync::LeftAlone);
        };
        let Some(status) = status_of(&record, upstream_base) else {
            return Ok(TaskSync::LeftAlone);
        };
        let wanted = status.outputs();
        if !is_transition(&task, &wanted, &status) {
            return Ok(TaskSync::Unchanged);
        }
        delivery_output::replace(&mut task, wanted);
        task["lastModified"] = Value::String(fhir_instant(now_millis()));
        let write = WriteOp::Update {
            resource_type: "Task".into(),
            id: task_id.to_string(),
            resource: task,
            if_match: Some(stored.version_id),
        };
        match store.apply(vec![write]).await {
            Ok(_) => return Ok(TaskSync::Written),
            Err(StoreError::Op {
                failure: OpFailure::VersionConflict { .. },
                ..
            }) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(TaskSync::LeftAlone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(state: DeliveryState, attempts: u32, error: Option<&str>) -> DeliveryRecord {
        DeliveryRecord {
            id: "d".into(),
            task_id: "t".into(),
            destination: "ehr".into(),
            resources: Vec::new(),
            state,
            attempts,
            created_ms: 0,
            age_from_ms: 0,
            next_attempt_ms: 0,
            lease_until_ms: None,
            last_status: error.map(|_| 503),
            last_error: error.map(str::to_string),
            delivered_ms: None,
            upstream: Some(json!([
                {"resource": "CarePlan/cp", "version": 2, "location": "CarePlan/9/_history/1"},
                {"resource": "Goal/g", "version": 1, "location": null}
            ])),
        }
    }

    #[test]
    fn a_requeued_record_is_pending_again() {
        let failing = record(DeliveryState::Pending, 2, Some("HTTP 503"));
        assert_eq!(
            status_of(&failing, None),
            Some(DeliveryStatus::FailedRetrying(Some(503)))
        );
        let requeued = record(DeliveryState::Pending, 0, Some("HTTP 503"));
        assert_eq!(status_of(&requeued, None), Some(DeliveryStatus::Pending));
        // ...and still while its first attempt is in flight.
        let mut in_flight = record(DeliveryState::Pending, 1, Some("HTTP 503"));
        in_flight.lease_until_ms = Some(1);
        assert_eq!(status_of(&in_flight, None), Some(DeliveryStatus::Pending));
        // A second attempt in flight follows a failure since.
        in_flight.attempts = 2;
        assert_eq!(
            status_of(&in_flight, None),
            Some(DeliveryStatus::FailedRetrying(Some(503)))
        );
        assert_eq!(
            status_of(&record(DeliveryState::Superseded, 1, None), None),
            None
        );
    }

    #[test]
    fn delivered_locations_are_absolute() {
        let done = record(DeliveryState::Delivered, 1, None);
        let Some(DeliveryStatus::Delivered(copies)) = status_of(&done, Some("http://ehr/fhir/"))
        else {
            panic!("not delivered");
        };
        assert_eq!(copies.len(), 1, "entries without a location are left out");
        assert_eq!(copies[0].location, "http://ehr/fhir/CarePlan/9/_history/1");
        assert_eq!(
            absolute("https://x/fhir/Task/1", Some("http://ehr")),
            "https://x/fhir/Task/1"
        );
    }

    #[test]
    fn another_failure_is_no_transition() {
        let mut task = json!({"resourceType": "Task"});
        delivery_output::replace(
            &mut task,
            DeliveryStatus::FailedRetrying(Some(500)).outputs(),
        );
        let again = DeliveryStatus::FailedRetrying(None);
        assert!(!is_transition(&task, &again.outputs(), &again));
        let dead = DeliveryStatus::Dead(Some(500));
        assert!(is_transition(&task, &dead.outputs(), &dead));
    }
}
