//! Delivering accepted referrals' CarePlans, CareTeams (and the Task) to the upstream EHR
//! (issue #5): a transactional outbox drained by a worker, idempotent at the receiver.
//!
//! - `Delivery::enqueue` gives the referral workflow the outbox write to add to its `apply`;
//! - `worker` claims due records and sends them (`payload` builds what is sent from the current
//!   stored versions, `client` sends it with `auth`, `retry` decides what a failure means);
//! - `admin` lists and re-queues records for the admin endpoint and the CLI.

pub mod admin;
pub mod auth;
pub mod client;
mod jwk_key;
pub mod payload;
pub mod retry;
pub mod routing;
pub mod worker;

use crate::config::DeliverySettings;
use crate::store::delivery_request::{DeliveryRequest, ResourceKey};
use crate::store::WriteOp;
use std::sync::Arc;

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
        Some(WriteOp::EnqueueDelivery(DeliveryRequest {
            task_id: task_id.to_string(),
            destination: destination.to_string(),
            resources,
        }))
    }
}
