//! An update that sends what is stored changes nothing: no new version, so no re-evaluation
//! and no delivery (as HAPI's no-op update detection). An EHR resending an unchanged referral or
//! resource after a timeout is the usual case.

use super::Intake;
use crate::app::AppError;
use crate::store::StoredResource;
use serde_json::Value;

impl Intake {
    /// The stored current version of `resource_type/id` when `resource` equals it (apart from
    /// the server's `meta.versionId` and `meta.lastUpdated`) and `if_match`, when given, names
    /// it. Otherwise the update goes ahead (and a stale `if_match` gets its 412 there).
    pub(super) async fn unchanged(
        &self,
        resource_type: &str,
        id: &str,
        resource: &Value,
        if_match: Option<u64>,
    ) -> Result<Option<StoredResource>, AppError> {
        let Some(stored) = self
            .store
            .read(resource_type, id)
            .await
            .map_err(AppError::Store)?
        else {
            return Ok(None);
        };
        if stored.deleted || if_match.is_some_and(|v| v != stored.version_id) {
            return Ok(None);
        }
        let Some(current) = stored.resource() else {
            return Ok(None);
        };
        Ok((without_stamp(current) == without_stamp(resource.clone())).then_some(stored))
    }
}

/// The resource without what the server stamps on each version.
fn without_stamp(mut resource: Value) -> Value {
    let meta_now_empty = match resource.get_mut("meta").and_then(Value::as_object_mut) {
        Some(meta) => {
            meta.remove("versionId");
            meta.remove("lastUpdated");
            meta.is_empty()
        }
        None => false,
    };
    if meta_now_empty {
        if let Some(fields) = resource.as_object_mut() {
            fields.remove("meta");
        }
    }
    resource
}

#[cfg(test)]
mod tests {
    use super::without_stamp;
    use serde_json::json;

    #[test]
    fn only_the_servers_stamp_is_ignored() {
        let stored = json!({"resourceType": "Patient", "id": "p",
            "meta": {"versionId": "3", "lastUpdated": "2026-12-07T10:00:00Z"}, "active": true});
        let sent = json!({"resourceType": "Patient", "id": "p", "active": true});
        assert_eq!(without_stamp(stored.clone()), without_stamp(sent));
        let sent = json!({"resourceType": "Patient", "id": "p", "active": false});
        assert_ne!(without_stamp(stored.clone()), without_stamp(sent));
        let tagged = json!({"resourceType": "Patient", "id": "p",
            "meta": {"tag": [{"code": "x"}]}, "active": true});
        assert_ne!(without_stamp(stored), without_stamp(tagged));
    }
}
