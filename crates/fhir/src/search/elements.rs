//! `_elements`: only the named top-level elements, plus the mandatory ones, tagged SUBSETTED.

use serde_json::{json, Map, Value};

pub fn subset(resource: &Value, elements: &[String]) -> Value {
    let Some(fields) = resource.as_object() else {
        return resource.clone();
    };
    let mut out = Map::new();
    for (key, value) in fields {
        // `_status` (a primitive's extensions) follows `status`
        let base = key.strip_prefix('_').unwrap_or(key);
        if matches!(key.as_str(), "resourceType" | "id" | "meta")
            || elements.iter().any(|e| e == base)
        {
            out.insert(key.clone(), value.clone());
        }
    }
    let meta = out
        .entry("meta")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .map(|m| m.entry("tag").or_insert_with(|| json!([])));
    if let Some(Value::Array(tags)) = meta {
        tags.push(json!({
            "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
            "code": "SUBSETTED",
            "display": "subsetted"
        }));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_named_and_mandatory() {
        let r = json!({"resourceType": "Patient", "id": "1", "gender": "male", "_gender": {"id": "x"},
                       "birthDate": "1950", "name": [{"family": "X"}]});
        let s = subset(&r, &["gender".to_string()]);
        assert_eq!(s["gender"], "male");
        assert!(s.get("_gender").is_some());
        assert!(s.get("name").is_none());
        assert_eq!(s["meta"]["tag"][0]["code"], "SUBSETTED");
    }
}
