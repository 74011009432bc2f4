//! The resources of a submitted Bundle as evidence: each with an id, and references between
//! entries rewritten to `Type/id` as R4 "Resolving references in Bundles" reads them (the
//! same resolution a transaction stores).

use fhir_engine::bundle::references::FullUrls;
use fhir_engine::model::id::is_valid_id;
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

pub fn bundle_resources(bundle: &Value) -> Vec<Value> {
    let (full_urls, _) = FullUrls::of_bundle(bundle);
    let entries = bundle
        .get("entry")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    // (fullUrl, resource with its id)
    let mut resources: Vec<(Option<&str>, Value)> = Vec::new();
    let mut targets = HashMap::new();
    for (position, entry) in entries.iter().enumerate() {
        let Some(mut resource) = entry.get("resource").cloned() else {
            continue;
        };
        let full_url = entry.get("fullUrl").and_then(Value::as_str);
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
        targets.insert(position, format!("{rt}/{id}"));
        resources.push((full_url, resource));
    }
    resources
        .into_iter()
        .map(|(full_url, mut resource)| {
            full_urls.rewrite(&mut resource, full_url, |i| targets.get(&i).cloned());
            resource
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn relative_references_find_the_entries_with_absolute_full_urls() {
        let bundle = json!({"resourceType": "Bundle", "type": "message", "entry": [
            {"fullUrl": "http://ehr.example.org/fhir/Patient/p1",
             "resource": {"resourceType": "Patient"}},
            // the fullUrl, not the resource's id, is the entry's name in the Bundle
            {"fullUrl": "http://ehr.example.org/fhir/Observation/o1",
             "resource": {"resourceType": "Observation", "id": "o1-copy"}},
            {"fullUrl": "urn:uuid:5b1f0c4e-8a4e-4f0e-9a31-1c3f0d2b7e55",
             "resource": {"resourceType": "Condition"}},
            {"fullUrl": "http://ehr.example.org/fhir/ServiceRequest/s1",
             "resource": {"resourceType": "ServiceRequest", "id": "s1",
                          "subject": {"reference": "http://ehr.example.org/fhir/Patient/p1"},
                          "supportingInfo": [{"reference": "Observation/o1"}],
                          "reasonReference": [{"reference": "urn:uuid:5b1f0c4e-8a4e-4f0e-9a31-1c3f0d2b7e55"}]}},
        ]});
        let resources = bundle_resources(&bundle);
        assert_eq!(resources[0]["id"], "p1");
        let sr = &resources[3];
        assert_eq!(sr["subject"]["reference"], "Patient/p1");
        assert_eq!(sr["supportingInfo"][0]["reference"], "Observation/o1-copy");
        assert_eq!(
            sr["reasonReference"][0]["reference"],
            "Condition/5b1f0c4e-8a4e-4f0e-9a31-1c3f0d2b7e55"
        );
    }
}
