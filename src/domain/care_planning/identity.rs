//! Stable ids and business identifiers for what we generate, derived from the referral's
//! placer identifier: a resubmission or re-evaluation finds the same resources again.

use fhir_engine::json::build::{string, Shape};
use fhir_engine::json::member::Member;
use fhir_engine::model::coding::first_code;
use serde_json::Value;
use std::sync::{LazyLock, OnceLock};
use uuid::Uuid;

/// Every generated resource's identifier system starts with this.
pub const GENERATED_SYSTEM_BASE: &str = "http://hbpc.example.org/fhir/sid/";
const NAMESPACE: Uuid = Uuid::from_u128(0x6862_7063_2d67_6174_6577_6179_2d69_6473);

/// The kinds one evaluation generates, whose ids it remembers (each is asked for several times).
const KINDS: [&str; 6] = [
    "Task",
    "CarePlan",
    "CareTeam",
    "Goal-comfort",
    "Goal-symptom-control",
    "Provenance",
];

#[derive(Clone)]
pub struct ReferralIdentity {
    /// `system|value` of the placer identifier, or `ServiceRequest/{id}` without one.
    key: String,
    /// Ids of [`KINDS`] once computed (UUIDv5 hashes with SHA-1).
    ids: [OnceLock<String>; KINDS.len()],
}

impl PartialEq for ReferralIdentity {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for ReferralIdentity {}

impl ReferralIdentity {
    pub fn of(referral: &Value) -> Self {
        let identifiers: Vec<&Value> = referral
            .member("identifier")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let placer = identifiers
            .iter()
            .find(|i| i.member("type").and_then(|t| first_code(t, None)) == Some("PLAC"))
            .or_else(|| identifiers.first());
        // A placer identifier without a system (as BSeR sends it) is only unique per sender:
        // it is scoped by the sender recorded in `meta.source` (a message's source endpoint).
        let sender = referral
            .member("meta")
            .and_then(|m| m.member("source"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let key = placer
            .and_then(|i| {
                let system = i.member("system").and_then(Value::as_str).unwrap_or(sender);
                let value = i.member("value").and_then(Value::as_str)?;
                Some(format!("{system}|{value}"))
            })
            .unwrap_or_else(|| {
                let id = referral.member("id").and_then(Value::as_str).unwrap_or("");
                format!("ServiceRequest/{id}")
            });
        Self {
            key,
            ids: Default::default(),
        }
    }

    /// The id of the generated resource of `kind` (`Task`, `CarePlan`, `Goal-comfort`, …).
    pub fn id(&self, kind: &str) -> String {
        match KINDS.iter().position(|k| *k == kind) {
            Some(i) => self.ids[i].get_or_init(|| self.compute_id(kind)).clone(),
            None => self.compute_id(kind),
        }
    }

    fn compute_id(&self, kind: &str) -> String {
        let mut name = String::with_capacity(kind.len() + 1 + self.key.len());
        name.push_str(kind);
        name.push('|');
        name.push_str(&self.key);
        let mut text = Uuid::encode_buffer();
        Uuid::new_v5(&NAMESPACE, name.as_bytes())
            .hyphenated()
            .encode_lower(&mut text)
            .to_string()
    }

    /// The business identifier of a generated resource.
    pub fn identifier(&self, kind: &str) -> Value {
        static SHAPE: LazyLock<Shape> = LazyLock::new(|| Shape::new(["system", "value"]));
        let mut system = String::with_capacity(GENERATED_SYSTEM_BASE.len() + kind.len());
        system.push_str(GENERATED_SYSTEM_BASE);
        system.push_str(kind);
        // the kind in lower case, in place
        system[GENERATED_SYSTEM_BASE.len()..].make_ascii_lowercase();
        SHAPE.with([string(system), string(self.id(kind))])
    }
}

impl std::fmt::Debug for ReferralIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReferralIdentity")
            .field("key", &self.key)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_follow_the_placer_identifier_not_the_server_id() {
        let a = json!({"id": "1", "identifier": [
            {"system": "urn:x", "value": "F"},
            {"type": {"coding": [{"code": "PLAC"}]}, "system": "urn:ref", "value": "R-1"}]});
        let b = json!({"id": "2", "identifier": [
            {"type": {"coding": [{"code": "PLAC"}]}, "system": "urn:ref", "value": "R-1"}]});
        assert_eq!(
            ReferralIdentity::of(&a).id("Task"),
            ReferralIdentity::of(&b).id("Task")
        );
        assert_ne!(
            ReferralIdentity::of(&a).id("Task"),
            ReferralIdentity::of(&a).id("CarePlan")
        );
        let bare = ReferralIdentity::of(&json!({"id": "9"}));
        assert_eq!(bare.id("Task").len(), 36);
        // remembered ids are the computed ones, and kinds outside the list still work
        assert_eq!(bare.id("Task"), bare.id("Task"));
        assert_eq!(
            bare.id("Task"),
            ReferralIdentity::of(&json!({"id": "9"})).id("Task")
        );
        assert_eq!(
            bare.id("Goal-other"),
            Uuid::new_v5(&NAMESPACE, b"Goal-other|ServiceRequest/9").to_string()
        );
        assert_eq!(
            bare.id("Task"),
            Uuid::new_v5(&NAMESPACE, b"Task|ServiceRequest/9").to_string()
        );
    }

    #[test]
    fn a_placer_identifier_without_system_is_scoped_by_its_sender() {
        let from = |source: &str| {
            json!({"id": "1", "meta": {"source": source}, "identifier": [
                {"type": {"coding": [{"code": "PLAC"}]}, "value": "R-1"}]})
        };
        let a = ReferralIdentity::of(&from("https://a.example.org/fhir"));
        let b = ReferralIdentity::of(&from("https://b.example.org/fhir"));
        assert_ne!(a.id("Task"), b.id("Task"));
        assert_eq!(
            a.id("Task"),
            ReferralIdentity::of(&from("https://a.example.org/fhir")).id("Task")
        );
    }
}
