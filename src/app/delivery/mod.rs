//! Delivering accepted referrals' CarePlans, CareTeams (and the Task) to the upstream EHR
//! (issue #5): a transactional outbox drained by a worker, idempotent at the receiver.
//!
//! - `Delivery::enqueue` gives the referral workflow the outbox write to add to its `apply`;
//! - `worker` claims due records and sends them (`payload` builds what is sent from the current
//!   stored versions, `client` sends it with `auth`, `retry` decides what a failure means);
//! - `admin` lists and re-queues records for the admin endpoint and the CLI;
//! - `task_sync` shows each record's state on the referral Task (`Task.output`).

pub mod admin;
pub mod auth;
pub mod client;
mod jwk_key;
pub mod payload;
pub mod retry;
pub mod routing;
pub mod source;
pub mod task_sync;
pub mod worker;

use crate::config::DeliverySettings;
use crate::store::delivery_request::{DeliveryRequest, ResourceKey};
use crate::store::WriteOp;
use serde_json::Value;
use std::sync::Arc;

/// What a referral's delivery carries: the Task, CarePlan, CareTeam and Goals among the
/// workflow's generated resources, in that order (Provenance stays with us).
pub fn delivered_keys<'a>(resources: impl IntoIterator<Item = &'a Value>) -> Vec<ResourceKey> {
    const DELIVERED: [&str; 4] = ["Task", "CarePlan", "CareTeam", "Goal"];
    let mut keys: Vec<ResourceKey> = resources
        .into_iter()
        .filter_map(|r| {
            let rt = r.get("resourceType").and_then(Value::as_str)?;
            let id = r.get("id").and_then(Value::as_str)?;
            DELIVERED.contains(&rt).then(|| ResourceKey::new(rt, id))
        })
        .collect();
    keys.sort_by_key(|k| DELIVERED.iter().position(|t| *t == k.resource_type));
    keys
}

/// Where a referral came from, as far as routing it upstream cares.
#[derive(Debug, Clone, Default)]
pub struct DeliverySource {
    /// `MessageHeader.source.endpoint` when the referral came as a message.
    pub message_source_endpoint: Option<String>,
    /// The requester's organisation, `Organization/{id}`.
    pub requester_organization: Option<String>,
}

/// The workflow's handle on delivery; cheap to clone.
#[derive(Clone)]
pub struct Delivery {
    settings: Arc<DeliverySettings>,
}

impl Delivery {
    pub fn new(settings: &DeliverySettings) -> Self {
        Self {
            settings: Arc::new(settings.clone()),
        }
    }

    /// False when no upstream is configured (the default): nothing is ever enqueued.
    pub fn enabled(&self) -> bool {
        !self.settings.upstreams.is_empty()
    }

    /// The outbox write for these resources (Task first, then CarePlan, CareTeam, Goals…), to be
    /// applied in the same `apply()` as the resources themselves; `None` when no upstream takes
    /// referrals from this source.
    pub fn enqueue(
        &self,
        source: &DeliverySource,
        task_id: &str,
        resources: Vec<ResourceKey>,
    ) -> Option<WriteOp> {
        let destination = routing::upstream_for(&self.settings, source)?;
        if resources.is_empty() {
            return None;
        }
        Some(WriteOp::EnqueueDelivery(DeliveryRequest {
            task_id: task_id.to_string(),
            destination: destination.to_string(),
            resources,
        }))
    }
}
