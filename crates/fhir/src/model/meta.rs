//! Server-assigned `id` and `meta.versionId` / `meta.lastUpdated`.

use serde_json::{Map, Value};

/// Sets id and version metadata, keeping `resourceType`, `id`, `meta` first as FHIR JSON
/// convention has it, and every other member in the order the client sent it.
pub fn stamp(resource: &mut Value, id: &str, version_id: u64, last_updated: &str) {
    let Value::Object(fields) = resource else {
        return;
    };
    let received = std::mem::take(fields);
    let mut resource_type = None;
    let mut meta = Map::new();
    let mut rest = Vec::with_capacity(received.len());
    for (key, value) in received {
        match key.as_str() {
            "resourceType" => resource_type = Some(value),
            "id" => {}
            "meta" => {
                if let Value::Object(m) = value {
                    meta = m;
                }
            }
            _ => rest.push((key, value)),
        }
    }
    meta.insert("versionId".into(), Value::String(version_id.to_string()));
    meta.insert(
        "lastUpdated".into(),
        Value::String(last_updated.to_string()),
    );
    if let Some(rt) = resource_type {
        fields.insert("resourceType".into(), rt);
    }
    fields.insert("id".into(), Value::String(id.to_string()));
    fields.insert("meta".into(), Value::Object(meta));
    fields.extend(rest);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stamps_and_orders() {
        let mut r = json!({"status": "active", "resourceType": "Patient", "id": "old",
                           "meta": {"profile": ["p"]}});
        stamp(&mut r, "new", 2, "2026-01-01T00:00:00.000Z");
        assert_eq!(
            r.to_string(),
            r#"{"resourceType":"Patient","id":"new","meta":{"profile":["p"],"versionId":"2","lastUpdated":"2026-01-01T00:00:00.000Z"},"status":"active"}"#
        );
    }

    #[test]
    fn keeps_the_clients_order_of_the_other_members() {
        let mut r = json!({"resourceType": "Patient", "meta": {"versionId": "7", "profile": ["p"]},
                           "text": {"status": "generated"}, "identifier": [], "active": true,
                           "name": [], "address": []});
        stamp(&mut r, "p1", 8, "2026-01-01T00:00:00.000Z");
        assert_eq!(
            r.to_string(),
            r#"{"resourceType":"Patient","id":"p1","meta":{"versionId":"8","profile":["p"],"lastUpdated":"2026-01-01T00:00:00.000Z"},"text":{"status":"generated"},"identifier":[],"active":true,"name":[],"address":[]}"#
        );
    }
}
