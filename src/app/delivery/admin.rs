//! Operators' view of the outbox: list deliveries (e.g. the dead letters) and re-queue one.
//! Used by `GET /admin/deliveries`, `POST /admin/deliveries/{id}/$retry` and
//! `hbpc-gateway deliveries list|retry`.

use super::task_sync;
use super::worker::{DeliveryWorker, WorkerError, WorkerHandle};
use crate::app::AppError;
use crate::config::DeliverySettings;
use crate::store::outbox::{DeliveryFilter, DeliveryOutbox, DeliveryRecord, DeliveryState};
use crate::store::{SharedStore, StoreError};
use fhir_engine::model::instant::{fhir_instant, now_millis};
use fhir_engine::outcome::{Issue, IssueType};
use serde_json::{json, Value};
use std::sync::Arc;

/// Most records one listing returns.
pub const MAX_LIST: usize = 1000;

#[derive(Clone)]
pub struct DeliveryAdmin {
    store: SharedStore,
    outbox: Option<Arc<dyn DeliveryOutbox>>,
}

impl DeliveryAdmin {
    pub fn new(store: &SharedStore) -> Self {
        Self {
            store: Arc::clone(store),
            outbox: store.outbox(),
        }
    }

    /// Starts the delivery worker when any upstream is configured.
    pub fn start_worker(
        &self,
        settings: &DeliverySettings,
    ) -> Result<Option<WorkerHandle>, WorkerError> {
        if settings.upstreams.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            DeliveryWorker::new(Arc::clone(&self.store), settings)?.spawn(),
        ))
    }

    fn outbox(&self) -> Result<&Arc<dyn DeliveryOutbox>, AppError> {
        self.outbox.as_ref().ok_or_else(|| {
            AppError::Store(StoreError::Unavailable(
                "this database has no delivery outbox".into(),
            ))
        })
    }

    /// Records per destination and state (`GET /metrics`); empty without an outbox.
    pub async fn counts(&self) -> Result<Vec<(String, String, u64)>, AppError> {
        match &self.outbox {
            Some(outbox) => outbox.counts().await.map_err(AppError::Store),
            None => Ok(Vec::new()),
        }
    }

    /// `state`: pending, retrying, delivered, dead or superseded; `task`: a Task id.
    pub async fn list(
        &self,
        state: Option<&str>,
        task: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<DeliveryRecord>, AppError> {
        let (stored_state, retrying_only) = match state {
            None => (None, false),
            Some("retrying") => (Some(DeliveryState::Pending), true),
            Some(s) => (
                Some(DeliveryState::parse(s).ok_or_else(|| {
                    AppError::invalid(
                        Issue::error(
                            IssueType::Value,
                            format!("unknown delivery state '{s}': use pending, retrying, delivered, dead or superseded"),
                        )
                        .at("state"),
                    )
                })?),
                false,
            ),
        };
        let filter = DeliveryFilter {
            state: stored_state,
            task_id: task.map(|t| t.trim_start_matches("Task/").to_string()),
            limit: limit.unwrap_or(100).clamp(1, MAX_LIST),
        };
        let mut records = self
            .outbox()?
            .list(&filter)
            .await
            .map_err(AppError::Store)?;
        if retrying_only {
            records.retain(|r| r.status() == "retrying");
        }
        Ok(records)
    }

    /// Makes a dead (or waiting) delivery due now with a fresh attempt budget.
    pub async fn retry(&self, id: &str) -> Result<DeliveryRecord, AppError> {
        let outbox = self.outbox()?;
        let requeued = outbox
            .requeue(id, now_millis())
            .await
            .map_err(AppError::Store)?;
        let record = outbox.get(id).await.map_err(AppError::Store)?;
        match (requeued, record) {
            (true, Some(r)) => {
                // The Task says `pending` again (the delivery itself is already re-queued).
                if let Err(e) =
                    task_sync::sync_task(self.store.as_ref(), outbox.as_ref(), id, &r.task_id, None)
                        .await
                {
                    tracing::warn!(delivery = %id, task = %r.task_id, error = %e, "cannot show the re-queued delivery on the Task");
                }
                Ok(r)
            }
            (_, None) => Err(AppError::NotFound(Issue::error(
                IssueType::NotFound,
                format!("no delivery {id}"),
            ))),
            (false, Some(r)) => {
                Err(AppError::Conflict(Issue::error(
                    IssueType::Conflict,
                    format!(
                    "delivery {id} is {} and cannot be re-queued (only dead or waiting ones can)",
                    if r.lease_until_ms.is_some() { "in flight" } else { r.status() }
                ),
                )))
            }
        }
    }
}

/// The JSON shape of a delivery for the admin endpoint and the CLI.
pub fn record_json(r: &DeliveryRecord) -> Value {
    let at = |ms: Option<i64>| ms.map(fhir_instant);
    json!({
        "id": r.id,
        "task": format!("Task/{}", r.task_id),
        "destination": r.destination,
        "status": r.status(),
        "resources": r.resources.iter().map(|k| k.reference()).collect::<Vec<_>>(),
        "attempts": r.attempts,
        "created": fhir_instant(r.created_ms),
        "nextAttempt": (r.state == DeliveryState::Pending).then(|| fhir_instant(r.next_attempt_ms)),
        "leaseUntil": at(r.lease_until_ms),
        "lastStatus": r.last_status,
        "lastError": r.last_error,
        "delivered": at(r.delivered_ms),
        "upstream": r.upstream,
    })
}
