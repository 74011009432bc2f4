//! Stable ids and business identifiers for what we generate, derived from the referral's
//! placer identifier: a resubmission or re-evaluation finds the same resources again.

use crate::domain::fhir::coding::first_code;
use serde_json::Value;
use uuid::Uuid;

/// Every generated resource's identifier system starts with this.
pub const GENERATED_SYSTEM_BASE: &str = "http://hbpc.example.org/fhir/sid/";
const NAMESPACE: Uuid = Uuid::from_u128(0x6862_7063_2d67_6174_6577_6179_2d69_6473);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralIdentity {
    /// `system|value` of the placer identifier, or `ServiceRequest/{id}` without one.
    key: String,
}

impl ReferralIdentity {
    pub fn of(referral: &Value) -> Self {
        let identifiers: Vec<&Value> = referral
            .get("identifier")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let placer = identifiers
            .iter()
            .find(|i| i.get("type").and_then(|t| first_code(t, None)) == Some("PLAC"))
            .or_else(|| identifiers.first());
        let key = placer
            .and_then(|i| {
                let system = i.get("system").and_then(Value::as_str).unwrap_or("");
                let value = i.get("value").and_then(Value::as_str)?;
                Some(format!("{system}|{value}"))
            })
            .unwrap_or_else(|| {
                let id = referral.get("id").and_then(Value::as_str).unwrap_or("");
                format!("ServiceRequest/{id}")
            });
        Self { key }
    }

    /// The id of the generated resource of `kind` (`Task`, `CarePlan`, `Goal-comfort`, …).
    pub fn id(&self, kind: &str) -> String {
        Uuid::new_v5(&NAMESPACE, format!("{kind}|{}", self.key).as_bytes()).to_string()
    }

    /// The business identifier of a generated resource.
    pub fn identifier(&self, kind: &str) -> Value {
        serde_json::json!({
            "system": format!("{GENERATED_SYSTEM_BASE}{}", kind.to_ascii_lowercase()),
            "value": self.id(kind),
        })
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
    }
}
