//! Server-assigned `id` and `meta.versionId` / `meta.lastUpdated`.

use serde_json::{Map, Value};

/// Sets id and version metadata, keeping `resourceType`, `id`, `meta` first as FHIR JSON
/// convention has it, and every other member in the order the client sent it.
pub fn stamp(resource: &mut Value, id: &str, version_id: u64, last_updated: &str) {
    let Value::Object(fields) = resource else {
        return;
    };
    // moved in place: rebuilding the map would hash every member's key again
    let mut meta = match fields.shift_remove("meta") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    meta.insert("versionId".into(), Value::String(version_id.to_string()));
    meta.insert(
        "lastUpdated".into(),
        Value::String(last_updated.to_string()),
    );
    // resourceType first (where clients almost always send it already)
    if fields.keys().next().map(String::as_str) != Some("resourceType") {
        if let Some(rt) = fields.shift_remove("resourceType") {
            fields.shift_insert(0, "resourceType".into(), rt);
        }
    }
    let at = usize::from(fields.contains_key("resourceType"));
    fields.shift_insert(at, "id".into(), Value::String(id.to_string()));
    fields.shift_insert(at + 1, "meta".into(), Value::Object(meta));
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

    #[test]
    fn without_a_type_the_id_comes_first_and_a_bad_meta_is_replaced() {
        let mut r = json!({"status": "active", "meta": "bad", "id": "old"});
        stamp(&mut r, "a", 1, "2026-01-01T00:00:00.000Z");
        assert_eq!(
            r.to_string(),
            r#"{"id":"a","meta":{"versionId":"1","lastUpdated":"2026-01-01T00:00:00.000Z"},"status":"active"}"#
        );
    }
}
