//! Where a referral came from, for routing its delivery: the requester's organisation, read from
//! the referral (or its Task, which copies `requester`).

use super::DeliverySource;
use crate::store::{ResourceStore, StoreError};
use serde_json::Value;
use std::sync::Arc;

/// `requester` → `Organization/{id}`: directly, or through a PractitionerRole's `organization`
/// (looked up among the resources being written first, then in the store).
pub async fn from_requester(
    resource: &Value,
    at_hand: &[Arc<Value>],
    store: &dyn ResourceStore,
) -> Result<DeliverySource, StoreError> {
    let requester = resource
        .pointer("/requester/reference")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let organization = match requester.split_once('/') {
        Some(("Organization", _)) => Some(requester.to_string()),
        Some(("PractitionerRole", id)) => {
            let written = at_hand.iter().find(|r| {
                r.get("resourceType").and_then(Value::as_str) == Some("PractitionerRole")
                    && r.get("id").and_then(Value::as_str) == Some(id)
            });
            let role = match written {
                Some(r) => Some(Value::clone(r)),
                None => store
                    .read("PractitionerRole", id)
                    .await?
                    .filter(|s| !s.deleted)
                    .and_then(|s| s.body.as_deref().and_then(|b| serde_json::from_str(b).ok())),
            };
            role.and_then(|r| {
                r.pointer("/organization/reference")
                    .and_then(Value::as_str)
                    .filter(|o| o.starts_with("Organization/"))
                    .map(str::to_string)
            })
        }
        _ => None,
    };
    Ok(DeliverySource {
        message_source_endpoint: None,
        requester_organization: organization,
    })
}
