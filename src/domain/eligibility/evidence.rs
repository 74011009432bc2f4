//! The resources a referral is judged on: the referral itself and what it references, other
//! resources sent with it, and evidence recorded by earlier evaluations.

use fhir_engine::json::member::{member, member_str, repeated, Member};
use fhir_engine::model::identifier::identifiers_of;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Evidence {
    referral_key: String,
    /// By `Type/id`; ordered so that every evaluation reads them in the same order. Shared:
    /// the resources of a request are evidence for each referral in it, and are not copied.
    resources: BTreeMap<String, Arc<Value>>,
}

impl Evidence {
    /// `referral` must carry its `id`. Its contained resources are evidence too, under
    /// `Type/#id` (a key no stored resource can have), so that `#id` references resolve.
    pub fn new(referral: Value) -> Self {
        let key = resource_key(&referral).unwrap_or_else(|| "ServiceRequest/".into());
        let mut resources = BTreeMap::new();
        for contained in referral
            .member("contained")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let rt = contained.member("resourceType").and_then(Value::as_str);
            let id = contained.member("id").and_then(Value::as_str);
            if let (Some(rt), Some(id)) = (rt, id) {
                resources.insert(format!("{rt}/#{id}"), Arc::new(contained.clone()));
            }
        }
        resources.insert(key.clone(), Arc::new(referral));
        Self {
            referral_key: key,
            resources,
        }
    }

    /// Whether `key` names a resource contained in the referral (not one that can be referenced
    /// from another resource).
    pub fn is_contained_key(key: &str) -> bool {
        key.contains("/#")
    }

    /// Adds a resource with an `id`; the referral is never replaced.
    pub fn add(&mut self, resource: impl Into<Arc<Value>>) {
        let resource = resource.into();
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
        self.resources.get(key).map(|r| &**r)
    }

    /// Every resource of a type, in key order.
    pub fn of_type<'a>(
        &'a self,
        resource_type: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Value)> {
        self.resources
            .iter()
            .filter(move |(k, _)| is_of_type(k, resource_type))
            .map(|(k, v)| (k.as_str(), &**v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.resources.keys().map(String::as_str)
    }

    /// The resource a Reference points to: by literal reference, or logically by identifier.
    pub fn resolve<'a>(&'a self, reference: &Value) -> Option<(&'a str, &'a Value)> {
        if let Some(literal) = member_str(reference, "reference") {
            if let Some(local) = literal.strip_prefix('#') {
                return self
                    .resources
                    .iter()
                    .find(|(k, _)| {
                        k.split_once("/#")
                            .is_some_and(|(_, id)| id == local && !local.is_empty())
                    })
                    .map(|(k, v)| (k.as_str(), &**v));
            }
            if let Some((rt, id)) = reference_parts(literal) {
                return self.get_parts(literal, rt, id);
            }
        }
        let identifier = reference.member("identifier")?;
        let system = identifier.member("system").and_then(Value::as_str);
        let value = identifier.member("value").and_then(Value::as_str)?;
        let wanted_type = reference.member("type").and_then(Value::as_str);
        self.resources
            .iter()
            .filter(|(k, _)| wanted_type.is_none_or(|t| is_of_type(k, t)))
            .find(|(_, r)| {
                identifiers_of(r)
                    .iter()
                    .any(|i| i.value == value && system.is_none_or(|s| i.system == s))
            })
            .map(|(k, v)| (k.as_str(), &**v))
    }

    /// Resolves each Reference in an element that may repeat.
    pub fn resolve_all<'a>(
        &'a self,
        resource: &'a Value,
        element: &str,
    ) -> impl Iterator<Item = (&'a str, &'a Value)> {
        references(resource, element).filter_map(|r| self.resolve(r))
    }

    /// The patient the referral is about, as `Patient/id`.
    pub fn patient_key(&self) -> Option<String> {
        self.referral()
            .member("subject")
            .and_then(|s| s.member("reference"))
            .and_then(Value::as_str)
            .and_then(reference_key)
    }

    /// Whether a resource is about the referral's patient (when it says).
    pub fn about_patient(&self, resource: &Value, element: &str) -> bool {
        PatientReference::covers(PatientReference::of(self.referral()), resource, element)
    }

    /// The entry a literal reference with parts `(rt, id)` points to; a relative reference is
    /// its own key, so only other forms build one.
    fn get_parts(&self, literal: &str, rt: &str, id: &str) -> Option<(&str, &Value)> {
        let found = if literal.len() == rt.len() + 1 + id.len() {
            self.resources.get_key_value(literal)
        } else {
            self.resources.get_key_value(type_and_id(rt, id).as_str())
        };
        found.map(|(k, v)| (k.as_str(), &**v))
    }
}

/// The referral's `subject.reference`: its text, and `(Type, id)` when readable.
#[derive(Debug, Clone, Copy)]
pub(super) struct PatientReference<'a> {
    literal: &'a str,
    pub(super) parts: Option<(&'a str, &'a str)>,
}

impl<'a> PatientReference<'a> {
    pub(super) fn of(referral: &'a Value) -> Option<Self> {
        let literal = literal(referral, "subject")?;
        Some(Self {
            literal,
            parts: reference_parts(literal),
        })
    }

    /// Whether `resource`'s `element` names the patient `patient` (or either is unreadable,
    /// which also counts as about them).
    pub(super) fn covers(patient: Option<Self>, resource: &Value, element: &str) -> bool {
        let (Some(patient), Some(other)) = (patient, literal(resource, element)) else {
            return true;
        };
        // the same text is the same patient
        if patient.literal == other {
            return true;
        }
        match (patient.parts, reference_parts(other)) {
            (Some(p), Some(o)) => p == o,
            _ => true,
        }
    }
}

/// `element.reference` of a resource.
fn literal<'v>(resource: &'v Value, element: &str) -> Option<&'v str> {
    member_str(member(resource, element)?, "reference")
}

/// Whether `key` (`Type/id`) is of `resource_type`.
fn is_of_type(key: &str, resource_type: &str) -> bool {
    key.len() > resource_type.len()
        && key.as_bytes()[resource_type.len()] == b'/'
        && key.starts_with(resource_type)
}

/// The References in an element that may repeat.
pub fn references<'a>(resource: &'a Value, element: &str) -> impl Iterator<Item = &'a Value> {
    repeated(resource, element)
}

/// Whether a literal reference in `element` (that may repeat) points to `key` (`Type/id`), as
/// [`reference_keys`] would list it, without building the keys.
pub fn refers_to(resource: &Value, element: &str, key: &str) -> bool {
    references(resource, element)
        .filter_map(|r| member_str(r, "reference"))
        .filter_map(reference_parts)
        .any(|(rt, id)| is_type_and_id(key, rt, id))
}

/// Whether `key` is `{rt}/{id}`.
fn is_type_and_id(key: &str, rt: &str, id: &str) -> bool {
    key.len() == rt.len() + 1 + id.len()
        && key.as_bytes()[rt.len()] == b'/'
        && key.starts_with(rt)
        && key.ends_with(id)
}

/// `Type/id` of each literal reference in an element that may repeat.
pub fn reference_keys(resource: &Value, element: &str) -> Vec<String> {
    references(resource, element)
        .filter_map(|r| member_str(r, "reference"))
        .filter_map(reference_key)
        .collect()
}

/// When an Observation took effect: `effectiveDateTime`, `effectivePeriod.start` or
/// `effectiveInstant`.
pub fn effective_start(observation: &Value) -> Option<&str> {
    observation
        .member("effectiveDateTime")
        .or_else(|| observation.pointer("/effectivePeriod/start"))
        .or_else(|| observation.member("effectiveInstant"))
        .and_then(Value::as_str)
}

/// `Type/id` of a resource.
pub fn resource_key(resource: &Value) -> Option<String> {
    let rt = resource.member("resourceType").and_then(Value::as_str)?;
    let id = resource.member("id").and_then(Value::as_str)?;
    Some(type_and_id(rt, id))
}

/// `Type/id` of a literal reference, relative or absolute, without its `_history` part.
pub fn reference_key(reference: &str) -> Option<String> {
    let (rt, id) = reference_parts(reference)?;
    Some(type_and_id(rt, id))
}

/// `Type/id`, allocated once at its final size.
pub(super) fn type_and_id(rt: &str, id: &str) -> String {
    let mut key = String::with_capacity(rt.len() + 1 + id.len());
    key.push_str(rt);
    key.push('/');
    key.push_str(id);
    key
}

/// `(Type, id)` of a literal reference, as [`reference_key`] reads it, borrowed. Searches with
/// memchr (word at a time): the criteria read a few dozen references per referral.
fn reference_parts(reference: &str) -> Option<(&str, &str)> {
    if reference.starts_with('#') || reference.starts_with("urn:") {
        return None;
    }
    if reference.as_bytes().contains(&b'_') {
        return versioned_reference_parts(reference);
    }
    // a byte loop: references are short, and `rfind` goes through the general pattern searcher
    let last = last_slash(reference.as_bytes())?;
    let (head, id) = (&reference[..last], &reference[last + 1..]);
    let rt = last_slash(head.as_bytes()).map_or(head, |i| &head[i + 1..]);
    (!id.is_empty() && rt.as_bytes().first().is_some_and(u8::is_ascii_uppercase))
        .then_some((rt, id))
}

fn last_slash(text: &[u8]) -> Option<usize> {
    text.iter().rposition(|&b| b == b'/')
}

/// [`reference_parts`] for a reference that may carry `/_history/{version}`.
fn versioned_reference_parts(reference: &str) -> Option<(&str, &str)> {
    let path = reference.split("/_history/").next()?;
    let mut segments = path.rsplit('/');
    let id = segments.next().filter(|s| !s.is_empty())?;
    let rt = segments
        .next()
        .filter(|s| s.as_bytes().first().is_some_and(u8::is_ascii_uppercase))?;
    Some((rt, id))
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
        assert_eq!(reference_key("Patient/"), None);
        assert_eq!(reference_key("Patient"), None);
        assert_eq!(reference_key("a/Patient/1").as_deref(), Some("Patient/1"));
        assert_eq!(reference_key("x//1"), None);
        for reference in [
            "Patient/1",
            "https://x.org/fhir/Patient/1",
            "Patient/1/_history/2",
            "Patient/a_b",
            "Patient/a_b/_history/2",
            "x/_history/1",
            "Patient",
            "/1",
            "Patient/",
            "patient/1",
        ] {
            assert_eq!(
                reference_parts(reference),
                versioned_reference_parts(reference),
                "{reference}"
            );
        }
        assert_eq!(reference_key("/1"), None);
        assert_eq!(reference_key("Patient/a_b").as_deref(), Some("Patient/a_b"));
        assert_eq!(
            reference_key("Patient/1/_history/").as_deref(),
            Some("Patient/1")
        );
        assert!(is_of_type("Patient/1", "Patient"));
        assert!(!is_of_type("PatientX/1", "Patient"));
        assert!(!is_of_type("Patient", "Patient"));
        assert!(!is_of_type("Pat/1", "Patient"));
    }

    #[test]
    fn refers_to_what_reference_keys_lists() {
        let consent = json!({"performer": [{"reference": "Patient/p"},
            {"reference": "https://x.org/fhir/RelatedPerson/r/_history/2"}, {"display": "x"}]});
        for key in [
            "Patient/p",
            "RelatedPerson/r",
            "Patient/q",
            "Patient/pp",
            "Patientp",
            "P/p",
        ] {
            assert_eq!(
                refers_to(&consent, "performer", key),
                super::reference_keys(&consent, "performer")
                    .iter()
                    .any(|k| k == key),
                "{key}"
            );
        }
        let single = json!({"performer": {"reference": "Patient/p"}});
        assert!(refers_to(&single, "performer", "Patient/p"));
        assert!(!refers_to(&json!({}), "performer", "Patient/p"));
    }

    #[test]
    fn about_the_referral_patient() {
        let ev = Evidence::new(json!({"resourceType": "ServiceRequest", "id": "sr",
            "subject": {"reference": "https://x.org/fhir/Patient/p/_history/3"}}));
        assert!(ev.about_patient(&json!({"subject": {"reference": "Patient/p"}}), "subject"));
        assert!(ev.about_patient(
            &json!({"subject": {"reference": "https://x.org/fhir/Patient/p/_history/3"}}),
            "subject"
        ));
        let unreadable = Evidence::new(json!({"resourceType": "ServiceRequest", "id": "sr",
            "subject": {"reference": "urn:uuid:1"}}));
        assert!(
            unreadable.about_patient(&json!({"subject": {"reference": "urn:uuid:1"}}), "subject")
        );
        assert!(
            unreadable.about_patient(&json!({"subject": {"reference": "Patient/q"}}), "subject")
        );
        assert!(!ev.about_patient(&json!({"subject": {"reference": "Patient/q"}}), "subject"));
        assert!(ev.about_patient(&json!({"subject": {"display": "x"}}), "subject"));
        let unknown = Evidence::new(json!({"resourceType": "ServiceRequest", "id": "sr"}));
        assert!(unknown.about_patient(&json!({"subject": {"reference": "Patient/q"}}), "subject"));
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
