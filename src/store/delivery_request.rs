//! The outbox write: "deliver these resources of this referral to this upstream", recorded in
//! the same transaction as the resources themselves (issue #5).

use serde::{Deserialize, Serialize};

/// A stored resource named by type and logical id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResourceKey {
    pub resource_type: String,
    pub id: String,
}

impl ResourceKey {
    pub fn new(resource_type: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            resource_type: resource_type.into(),
            id: id.into(),
        }
    }

    /// `Type/id`, the relative reference form.
    pub fn reference(&self) -> String {
        format!("{}/{}", self.resource_type, self.id)
    }
}

/// What `WriteOp::EnqueueDelivery` records: the set to deliver, Task first, then CarePlan,
/// CareTeam, Goals… The worker reads the current version of each when it sends, so the record
/// names resources, not versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRequest {
    pub task_id: String,
    /// The configured upstream's name (a key of `delivery.upstreams`).
    pub destination: String,
    pub resources: Vec<ResourceKey>,
}

impl DeliveryRequest {
    /// Points keys at the existing resources a conditional create matched in the same `apply`.
    pub fn redirect(&mut self, aliases: &fhir_engine::fast_hash::FastMap<String, String>) {
        if let Some(target) = aliases.get(&format!("Task/{}", self.task_id)) {
            if let Some((_, id)) = target.split_once('/') {
                self.task_id = id.to_string();
            }
        }
        for key in &mut self.resources {
            if let Some((rt, id)) = aliases
                .get(&key.reference())
                .and_then(|t| t.split_once('/'))
            {
                *key = ResourceKey::new(rt, id);
            }
        }
    }
}
