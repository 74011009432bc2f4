//! Server-assigned `id` and `meta.versionId` / `meta.lastUpdated`.

use serde_json::{Map, Value};

/// Sets id and version metadata, keeping `resourceType`, `id`, `meta` first as FHIR JSON convention has it.
pub fn stamp(resource: &mut Value, id: &str, version_id: u64, last_updated: &str) {
    let Value::Object(fields) = resource else {
        return;
    };
    let mut meta = match fields.remove("meta") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    meta.insert("versionId".into(), Value::String(version_id.to_string()));
    meta.insert(
        "lastUpdated".into(),
        Value::String(last_updated.to_string()),
    );

    let mut ordered = Map::with_capacity(fields.len() + 2);
    if let Some(rt) = fields.remove("resourceType") {
        ordered.insert("resourceType".into(), rt);
    }
    fields.remove("id");
    ordered.insert("id".into(), Value::String(id.to_string()));
    ordered.insert("meta".into(), Value::Object(meta));
    ordered.extend(std::mem::take(fields));
    *fields = ordered;
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
}
