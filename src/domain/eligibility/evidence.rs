//! The resources a referral is judged on: the referral itself and what it references, other
//! resources sent with it, and evidence recorded by earlier evaluations.

use crate::domain::fhir::identifier::identifiers_of;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Evidence {
    referral_key: String,
    /// By `Type/id`; ordered so that every evaluation reads them in the same order.
    resources: BTreeMap<String, Value>,
}

impl Evidence {
    /// `referral` must carry its `id`.
    pub fn new(referral: Value) -> Self {
        let key = resource_key(&referral).unwrap_or_else(|| "ServiceRequest/".into());
        let mut resources = BTreeMap::new();
        resources.insert(key.clone(), referral);
        Self {
            referral_key: key,
            resources,
        }
    }

    /// Adds a resource with an `id`; the referral is never replaced.
    pub fn add(&mut self, resource: Value) {
        if let Some(key) = resource_key(&resource) {
            if key != self.referral_key {
                self.resources.insert(key, resource);
            }
        }
    }

    pub fn contains(&self, key: &str) -> bool {
        self.resources.contains_key(key)
    }

    pub fn referral(&self) -> &Value {
        &self.resources[&self.referral_key]
    }

    pub fn referral_key(&self) -> &str {
        &self.referral_key
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.resources.get(key)
    }

    /// Every resource of a type, in key order.
    pub fn of_type<'a>(
        &'a self,
        resource_type: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Value)> {
        self.resources
            .iter()
            .filter(move |(k, _)| k.split('/').next() == Some(resource_type))
            .map(|(k, v)| (k.as_str(), v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.resources.keys().map(String::as_str)
    }

    /// The resource a Reference points to: by literal reference, or logically by identifier.
    pub fn resolve<'a>(&'a self, reference: &Value) -> Option<(&'a str, &'a Value)> {
        if let Some(key) = reference
            .get("reference")
            .and_then(Value::as_str)
            .and_then(reference_key)
        {
            return self
                .resources
                .get_key_value(&key)
                .map(|(k, v)| (k.as_str(), v));
        }
        let identifier = reference.get("identifier")?;
        let system = identifier.get("system").and_then(Value::as_str);
        let value = identifier.get("value").and_then(Value::as_str)?;
        let wanted_type = reference.get("type").and_then(Value::as_str);
        self.resources
            .iter()
            .filter(|(k, _)| wanted_type.is_none_or(|t| k.split('/').next() == Some(t)))
            .find(|(_, r)| {
                identifiers_of(r)
                    .iter()
                    .any(|i| i.value == value && system.is_none_or(|s| i.system == s))
            })
            .map(|(k, v)| (k.as_str(), v))
    }

    /// Resolves each Reference in an element that may repeat.
    pub fn resolve_all<'a>(
        &'a self,
        resource: &'a Value,
        element: &str,
    ) -> Vec<(&'a str, &'a Value)> {
        references(resource, element)
            .filter_map(|r| self.resolve(r))
            .collect()
    }

    /// The patient the referral is about, as `Patient/id`.
    pub fn patient_key(&self) -> Option<String> {
        self.referral()
            .get("subject")
            .and_then(|s| s.get("reference"))
            .and_then(Value::as_str)
            .and_then(reference_key)
    }

    /// Whether a resource is about the referral's patient (when it says).
    pub fn about_patient(&self, resource: &Value, element: &str) -> bool {
        let Some(patient) = self.patient_key() else {
            return true;
        };
        match resource
            .get(element)
            .and_then(|s| s.get("reference"))
            .and_then(Value::as_str)
            .and_then(reference_key)
        {
            Some(key) => key == patient,
            None => true,
        }
    }
}

/// The References in an element that may repeat.
pub fn references<'a>(resource: &'a Value, element: &str) -> impl Iterator<Item = &'a Value> {
    let items: Vec<&Value> = match resource.get(element) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item @ Value::Object(_)) => vec![item],
        _ => Vec::new(),
    };
    items.into_iter()
}

/// `Type/id` of each literal reference in an element that may repeat.
pub fn reference_keys(resource: &Value, element: &str) -> Vec<String> {
    references(resource, element)
        .filter_map(|r| r.get("reference").and_then(Value::as_str))
        .filter_map(reference_key)
        .collect()
}

/// When an Observation took effect: `effectiveDateTime`, `effectivePeriod.start` or
/// `effectiveInstant`.
pub fn effective_start(observation: &Value) -> Option<&str> {
    observation
        .get("effectiveDateTime")
        .or_else(|| observation.pointer("/effectivePeriod/start"))
        .or_else(|| observation.get("effectiveInstant"))
        .and_then(Value::as_str)
}

/// `Type/id` of a resource.
pub fn resource_key(resource: &Value) -> Option<String> {
    let rt = resource.get("resourceType").and_then(Value::as_str)?;
    let id = resource.get("id").and_then(Value::as_str)?;
    Some(format!("{rt}/{id}"))
}

/// `Type/id` of a literal reference, relative or absolute, without its `_history` part.
pub fn reference_key(reference: &str) -> Option<String> {
    if reference.starts_with('#') || reference.starts_with("urn:") {
        return None;
    }
    let path = reference.split("/_history/").next()?;
    let mut segments = path.rsplit('/');
    let id = segments.next().filter(|s| !s.is_empty())?;
    let rt = segments
        .next()
        .filter(|s| s.chars().next().is_some_and(|c| c.is_ascii_uppercase()))?;
    Some(format!("{rt}/{id}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reference_keys() {
        assert_eq!(reference_key("Patient/1").as_deref(), Some("Patient/1"));
        assert_eq!(
            reference_key("https://x.org/fhir/Patient/1/_history/2").as_deref(),
            Some("Patient/1")
        );
        assert_eq!(reference_key("#p"), None);
        assert_eq!(reference_key("urn:uuid:1"), None);
        assert_eq!(reference_key("patient"), None);
    }

    #[test]
    fn resolves_literal_and_logical_references() {
        let mut ev = Evidence::new(json!({"resourceType": "ServiceRequest", "id": "sr"}));
        ev.add(json!({"resourceType": "Patient", "id": "p",
            "identifier": [{"system": "urn:mrn", "value": "7"}]}));
        assert!(ev.resolve(&json!({"reference": "Patient/p"})).is_some());
        assert!(ev
            .resolve(&json!({"type": "Patient", "identifier": {"system": "urn:mrn", "value": "7"}}))
            .is_some());
        assert!(ev.resolve(&json!({"reference": "Patient/q"})).is_none());
    }
}
