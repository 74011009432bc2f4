//! The delivery outbox (issue #5): records written by `WriteOp::EnqueueDelivery` in the same
//! transaction as the resources they name, then claimed under a lease by delivery workers.
//!
//! Guarantees shared by both backends:
//! - a record is claimed by one worker at a time (a lease; an expired lease makes it claimable
//!   again, which is how a crashed worker's records come back);
//! - records of the same task and destination are never in flight together, and a new record
//!   supersedes the older unclaimed ones (their resources are merged into it), so a late retry
//!   cannot overtake a newer version;
//! - a settlement only counts while the settling worker still holds the lease.

mod record;

pub use record::{DeliveryFilter, DeliveryRecord, DeliveryState, Settlement};

use super::delivery_request::ResourceKey;
use super::StoreError;
use async_trait::async_trait;

#[async_trait]
pub trait DeliveryOutbox: Send + Sync {
    /// Leases the next due record whose destination is not in `skip_destinations`, marking one
    /// more attempt. `owner` must be unique per claim.
    async fn claim(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        skip_destinations: &[String],
    ) -> Result<Option<DeliveryRecord>, StoreError>;

    /// Records the result of a claimed attempt. `false` when the lease was lost meanwhile
    /// (another worker owns the record now), in which case nothing changes.
    async fn settle(
        &self,
        id: &str,
        owner: &str,
        settlement: Settlement,
        now_ms: i64,
    ) -> Result<bool, StoreError>;

    async fn get(&self, id: &str) -> Result<Option<DeliveryRecord>, StoreError>;

    /// How many records each destination has in each state: `(destination, state, count)`.
    async fn counts(&self) -> Result<Vec<(String, String, u64)>, StoreError>;

    /// Newest first.
    async fn list(&self, filter: &DeliveryFilter) -> Result<Vec<DeliveryRecord>, StoreError>;

    /// A dead (or waiting) record becomes due now with a fresh attempt budget. `false` when
    /// there is no such record, or it is delivered, superseded or leased.
    async fn requeue(&self, id: &str, now_ms: i64) -> Result<bool, StoreError>;
}

/// `["Task/1","CarePlan/2"]`, the stored form of a resource list.
pub fn encode_resources(keys: &[ResourceKey]) -> String {
    serde_json::Value::from(keys.iter().map(ResourceKey::reference).collect::<Vec<_>>()).to_string()
}

pub fn decode_resources(text: &str) -> Vec<ResourceKey> {
    serde_json::from_str::<Vec<String>>(text)
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r.split_once('/').map(|(t, id)| ResourceKey::new(t, id)))
        .collect()
}

/// The new record's resources first (its order: Task, CarePlan, CareTeam…), then any the
/// superseded records named that it does not.
pub fn merge_resources(mut new: Vec<ResourceKey>, older: &[String]) -> Vec<ResourceKey> {
    for text in older {
        for key in decode_resources(text) {
            if !new.contains(&key) {
                new.push(key);
            }
        }
    }
    new
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_new_order_and_adds_missing() {
        let new = vec![
            ResourceKey::new("Task", "t"),
            ResourceKey::new("CarePlan", "c"),
        ];
        let old = encode_resources(&[ResourceKey::new("Goal", "g"), ResourceKey::new("Task", "t")]);
        let merged = merge_resources(new, &[old]);
        let refs: Vec<_> = merged.iter().map(ResourceKey::reference).collect();
        assert_eq!(refs, ["Task/t", "CarePlan/c", "Goal/g"]);
    }
}
