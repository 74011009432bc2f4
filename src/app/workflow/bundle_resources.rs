//! The resources of a submitted Bundle as evidence: each with an id, and references between
//! entries (fullUrls) rewritten to `Type/id`, as a transaction would store them.

use fhir_engine::model::id::is_valid_id;
use fhir_engine::model::reference;
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

pub fn bundle_resources(bundle: &Value) -> Vec<Value> {
    let entries: Vec<(&Value, Option<&str>)> = bundle
        .get("entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| Some((e.get("resource")?, e.get("fullUrl").and_then(Value::as_str))))
        .collect();
    let mut targets = HashMap::new();
    let mut resources = Vec::new();
    for (resource, full_url) in entries {
        let mut resource = resource.clone();
        let Some(rt) = resource
            .get("resourceType")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            continue;
        };
        let id = resource
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                full_url
                    .and_then(|u| u.rsplit([':', '/']).next())
                    .filter(|id| is_valid_id(id))
                    .map(str::to_string)
            })
            .unwrap_or_else(|| Uuid::new_v4().to_string());
        resource["id"] = Value::String(id.clone());
        if let Some(url) = full_url {
            targets.insert(url.to_string(), format!("{rt}/{id}"));
        }
        resources.push(resource);
    }
    for resource in &mut resources {
        reference::rewrite(resource, &targets);
    }
    resources
}
