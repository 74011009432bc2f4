//! What goes upstream, built at send time from the CURRENT stored version of each resource, so
//! a late retry never sends an older version than one already sent.
//!
//! Each resource is sent as a conditional update on its stable business identifier (system
//! under `http://hbpc.example.org/fhir/sid/`), so a resend never duplicates. Our ids and
//! `meta.versionId`/`lastUpdated` are dropped: the EHR assigns its own. References:
//! - to another resource of the same delivery: its `urn:uuid` fullUrl in a transaction, or a
//!   logical reference by its business identifier in per-resource mode;
//! - to any other resource we hold (Patient, ServiceRequest, Practitioner…): a logical reference
//!   by that resource's identifier, preferring the EHR's own (non-HBPC) identifier system, since
//!   our ids mean nothing upstream;
//! - to a resource we hold that has no identifier (most Conditions, Observations, Consents):
//!   `Condition/{our id}` would dangle at the EHR, so the reference is left out. The Reference
//!   keeps `type` and a `display` (its own, or the target's name or code) when there is one;
//!   otherwise it is removed, with the element that only carried it (a `Task.input`, a
//!   Parameters part, a CareTeam participant) and any array it leaves empty;
//! - to a resource we never held: unchanged (it is the sender's own reference).
//!
//! The Task goes without its delivery outputs (`delivery`, `delivery-location`,
//! `delivery-http-status`): they are our bookkeeping about this very exchange.

use crate::config::DeliveryMode;
use crate::domain::care_planning::delivery_output;
use crate::store::delivery_request::ResourceKey;
use crate::store::{ResourceStore, StoreError};
use fhir_engine::model::identifier::{identifiers_of, Identifier};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use thiserror::Error;

/// Systems of the identifiers we assign to generated resources.
pub const BUSINESS_ID_PREFIX: &str = "http://hbpc.example.org/fhir/sid/";

#[derive(Debug, Error)]
pub enum PayloadError {
    /// Retryable: the store did not answer.
    #[error("cannot read the resources to deliver: {0}")]
    Store(#[from] StoreError),
    /// Permanent until the resource changes: it cannot be sent idempotently.
    #[error("{0} has no identifier with a system under {BUSINESS_ID_PREFIX}")]
    NoBusinessIdentifier(String),
    #[error("{0} is not readable JSON")]
    Unreadable(String),
}

/// One resource ready to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub key: ResourceKey,
    /// The stored version that was read.
    pub version_id: u64,
    pub identifier: Identifier,
    /// `urn:uuid:…`, used in transaction mode.
    pub full_url: String,
    pub resource: Value,
}

impl Outgoing {
    /// `CarePlan?identifier=system|value`, relative to the upstream base.
    pub fn conditional_url(&self) -> String {
        format!(
            "{}?identifier={}|{}",
            self.key.resource_type,
            query_escape(&self.identifier.system),
            query_escape(&self.identifier.value)
        )
    }
}

/// Escapes what would end or alter a query parameter value; keeps `:` and `/` readable.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Reads the current version of each key (deleted or missing ones are skipped) and prepares it.
pub async fn collect(
    store: &dyn ResourceStore,
    keys: &[ResourceKey],
    mode: DeliveryMode,
) -> Result<Vec<Outgoing>, PayloadError> {
    let mut items = Vec::with_capacity(keys.len());
    for key in keys {
        let Some(stored) = store.read(&key.resource_type, &key.id).await? else {
            continue;
        };
        let Some(body) = stored.body.as_deref().filter(|_| !stored.deleted) else {
            continue;
        };
        let mut resource: Value =
            serde_json::from_str(body).map_err(|_| PayloadError::Unreadable(key.reference()))?;
        if key.resource_type == "Task" {
            // Our delivery bookkeeping means nothing upstream (and would only churn its Task).
            resource = delivery_output::without(&resource);
        }
        let identifier = identifiers_of(&resource)
            .into_iter()
            .find(|i| i.system.starts_with(BUSINESS_ID_PREFIX))
            .ok_or_else(|| PayloadError::NoBusinessIdentifier(key.reference()))?;
        items.push(Outgoing {
            key: key.clone(),
            version_id: stored.version_id,
            identifier,
            full_url: format!("urn:uuid:{}", uuid::Uuid::new_v4()),
            resource,
        });
    }
    // How delivered resources refer to each other upstream.
    let within: HashMap<String, Value> = items
        .iter()
        .map(|o| {
            let target = match mode {
                DeliveryMode::Transaction => json!({"reference": o.full_url}),
                DeliveryMode::PerResource => logical(&o.key.resource_type, &o.identifier),
            };
            (o.key.reference(), target)
        })
        .collect();
    let mut outside: HashMap<String, Outside> = HashMap::new();
    for item in &mut items {
        let mut refs = Vec::new();
        collect_relative_references(&item.resource, &mut refs);
        for r in refs {
            if within.contains_key(&r) || outside.contains_key(&r) {
                continue;
            }
            let target = match r.split_once('/') {
                Some((rt, id)) => outside_target(store, rt, id).await?,
                None => Outside::Unchanged,
            };
            outside.insert(r, target);
        }
        rewrite_references(&mut item.resource, &within, &outside);
        strip_server_fields(&mut item.resource);
    }
    Ok(items)
}

/// The transaction Bundle: one conditional `PUT` per resource, in the record's order.
pub fn transaction_bundle(items: &[Outgoing]) -> Value {
    let entries: Vec<Value> = items
        .iter()
        .map(|o| {
            json!({
                "fullUrl": o.full_url,
                "resource": o.resource,
                "request": {"method": "PUT", "url": o.conditional_url()},
            })
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

fn logical(resource_type: &str, identifier: &Identifier) -> Value {
    let mut ident = Map::new();
    if !identifier.system.is_empty() {
        ident.insert("system".into(), Value::from(identifier.system.as_str()));
    }
    ident.insert("value".into(), Value::from(identifier.value.as_str()));
    json!({"type": resource_type, "identifier": Value::Object(ident)})
}

/// How a reference to a resource outside the delivery goes upstream.
#[derive(Debug, Clone, PartialEq)]
enum Outside {
    /// A logical reference (`type`, `identifier`) replacing `reference`.
    Logical(Value),
    /// Ours, without an identifier (or deleted): `Type/{our id}` would dangle at the EHR, so
    /// the Reference says what it was (`type`, and `display` from the target's name or code)
    /// when it can, and is left out otherwise.
    Described(Option<String>),
    /// Not a resource we ever held: the sender's own reference, sent as it came.
    Unchanged,
}

/// A logical reference to a resource of ours, by the identifier the EHR is most likely to know.
async fn outside_target(
    store: &dyn ResourceStore,
    resource_type: &str,
    id: &str,
) -> Result<Outside, StoreError> {
    let Some(stored) = store.read(resource_type, id).await? else {
        return Ok(Outside::Unchanged);
    };
    let Some(resource) = stored
        .body
        .as_deref()
        .filter(|_| !stored.deleted)
        .and_then(|b| serde_json::from_str::<Value>(b).ok())
    else {
        return Ok(Outside::Described(None));
    };
    let identifiers = identifiers_of(&resource);
    let best = identifiers
        .iter()
        .find(|i| !i.system.is_empty() && !i.system.starts_with(BUSINESS_ID_PREFIX))
        .or_else(|| identifiers.iter().find(|i| !i.system.is_empty()));
    Ok(match best {
        Some(i) => Outside::Logical(logical(resource_type, i)),
        None => Outside::Described(display_of(&resource)),
    })
}

/// A human-readable name for a resource the EHR cannot look up: its `name` (HumanName text, or
/// given and family names; or a plain string), else its `code`'s text or first display.
fn display_of(resource: &Value) -> Option<String> {
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    };
    let name = match resource.get("name") {
        Some(name @ Value::String(_)) => text(Some(name)),
        Some(Value::Array(names)) => names.first().and_then(|n| {
            text(n.get("text")).or_else(|| {
                let parts: Vec<&str> = n
                    .get("given")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .chain(n.get("family"))
                    .filter_map(Value::as_str)
                    .collect();
                (!parts.is_empty()).then(|| parts.join(" "))
            })
        }),
        _ => None,
    };
    name.or_else(|| {
        let code = resource.get("code")?;
        text(code.get("text")).or_else(|| {
            code.get("coding")?
                .as_array()?
                .iter()
                .find_map(|c| text(c.get("display")))
        })
    })
}

fn is_relative(reference: &str) -> bool {
    match reference.split_once('/') {
        Some((rt, id)) => {
            rt.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && rt.chars().all(|c| c.is_ascii_alphanumeric())
                && !id.is_empty()
                && !id.contains('/')
        }
        None => false,
    }
}

fn collect_relative_references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (key, child) in fields {
                match (key.as_str(), child) {
                    ("reference", Value::String(s)) if is_relative(s) => out.push(s.clone()),
                    _ => collect_relative_references(child, out),
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|c| collect_relative_references(c, out)),
        _ => {}
    }
}

/// Replaces the `reference` of each Reference object found in the maps by the mapped form,
/// keeping the object's other elements (`display`, extensions…). Returns true when `value` must
/// be removed by its holder: a Reference left out without a display, or an element that only
/// existed to carry such a value (`valueReference` of a `Task.input`, a Parameters part…).
fn rewrite_references(
    value: &mut Value,
    within: &HashMap<String, Value>,
    outside: &HashMap<String, Outside>,
) -> bool {
    match value {
        Value::Object(fields) => {
            if let Some(r) = fields.get("reference").and_then(Value::as_str) {
                let mapped = within
                    .get(r)
                    .map(|v| Outside::Logical(v.clone()))
                    .or_else(|| outside.get(r).cloned());
                match mapped {
                    Some(Outside::Logical(Value::Object(replacement))) => {
                        fields.remove("reference");
                        fields.extend(replacement);
                        return false;
                    }
                    Some(Outside::Described(display)) => {
                        let resource_type = r.split_once('/').map(|(rt, _)| rt.to_string());
                        fields.remove("reference");
                        if let Some(display) = display {
                            fields.entry("display").or_insert(Value::String(display));
                        }
                        if !fields.contains_key("display") {
                            return true;
                        }
                        if let Some(rt) = resource_type {
                            fields.entry("type").or_insert(Value::String(rt));
                        }
                        return false;
                    }
                    _ => {}
                }
            }
            let mut removed = Vec::new();
            for (key, child) in fields.iter_mut() {
                let gone = rewrite_references(child, within, outside)
                    || child.as_array().is_some_and(Vec::is_empty);
                if gone {
                    removed.push(key.clone());
                }
            }
            let mut lost_point = false;
            for key in removed {
                fields.remove(&key);
                lost_point |= carries_its_holder(&key);
            }
            lost_point || fields.is_empty()
        }
        Value::Array(items) => {
            items.retain_mut(|c| !rewrite_references(c, within, outside));
            false
        }
        _ => false,
    }
}

/// An element without which its holder means nothing: the value[x] (`valueReference`…) of an
/// input, output, parameter or extension, or the `member` of a CareTeam participant.
fn carries_its_holder(key: &str) -> bool {
    key == "member"
        || key
            .strip_prefix("value")
            .and_then(|rest| rest.chars().next())
            .is_some_and(|c| c.is_ascii_uppercase())
}

/// Our logical id and version stamps mean nothing upstream.
fn strip_server_fields(resource: &mut Value) {
    let Some(fields) = resource.as_object_mut() else {
        return;
    };
    fields.remove("id");
    let empty_meta = match fields.get_mut("meta").and_then(Value::as_object_mut) {
        Some(meta) => {
            meta.remove("versionId");
            meta.remove("lastUpdated");
            meta.remove("source");
            meta.is_empty()
        }
        None => false,
    };
    if empty_meta {
        fields.remove("meta");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_within_and_outside_references() {
        let mut r = json!({
            "resourceType": "CarePlan", "id": "cp", "meta": {"versionId": "2", "lastUpdated": "x"},
            "subject": {"reference": "Patient/p", "display": "P"},
            "careTeam": [{"reference": "CareTeam/ct"}],
            "basedOn": [{"reference": "ServiceRequest/unknown"}],
            "contained": [], "note": [{"text": "Patient/p is not a reference here"}]
        });
        let within = HashMap::from([(
            "CareTeam/ct".to_string(),
            json!({"reference": "urn:uuid:1"}),
        )]);
        let outside = HashMap::from([
            (
                "Patient/p".to_string(),
                Outside::Logical(logical(
                    "Patient",
                    &Identifier {
                        system: "urn:mrn".into(),
                        value: "7".into(),
                    },
                )),
            ),
            ("ServiceRequest/unknown".to_string(), Outside::Unchanged),
        ]);
        rewrite_references(&mut r, &within, &outside);
        strip_server_fields(&mut r);
        assert_eq!(r["careTeam"][0], json!({"reference": "urn:uuid:1"}));
        assert_eq!(
            r["subject"],
            json!({"display": "P", "type": "Patient", "identifier": {"system": "urn:mrn", "value": "7"}})
        );
        assert_eq!(r["basedOn"][0]["reference"], "ServiceRequest/unknown");
        assert!(r.get("id").is_none() && r.get("meta").is_none());
    }

    #[test]
    fn references_to_our_resources_without_identifier_are_described_or_left_out() {
        let mut task = json!({
            "resourceType": "Task",
            "input": [
                {"type": {"text": "evidence"}, "valueReference": {"reference": "Condition/c1"}},
                {"type": {"text": "evidence"}, "valueReference": {"reference": "Patient/p"}}
            ],
            "contained": [{"resourceType": "Parameters", "id": "determination", "parameter": [
                {"name": "criterion", "part": [
                    {"name": "reason", "valueString": "active and confirmed"},
                    {"name": "evidence", "valueReference": {"reference": "Condition/c1"}}
                ]}
            ]}],
            "output": [{"type": {"text": "determination"}, "valueReference": {"reference": "#determination"}}]
        });
        let mut plan = json!({
            "resourceType": "CarePlan",
            "addresses": [{"reference": "Condition/c1"}],
            "supportingInfo": [{"reference": "Observation/o1", "display": "Housebound"}]
        });
        let mut team = json!({
            "resourceType": "CareTeam",
            "reasonReference": [{"reference": "Condition/c2"}],
            "participant": [
                {"role": [{"text": "caregiver"}], "member": {"reference": "RelatedPerson/r1"}},
                {"role": [{"text": "caregiver"}], "member": {"reference": "RelatedPerson/r2"}}
            ]
        });
        let outside = HashMap::from([
            ("Condition/c1".to_string(), Outside::Described(None)),
            ("Observation/o1".to_string(), Outside::Described(None)),
            (
                "Condition/c2".to_string(),
                Outside::Described(display_of(&json!({"resourceType": "Condition",
                    "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm",
                                         "code": "C78.01", "display": "Secondary malignant neoplasm of right lung"}]}}))),
            ),
            (
                "RelatedPerson/r1".to_string(),
                Outside::Described(display_of(&json!({"resourceType": "RelatedPerson",
                    "name": [{"given": ["Maria"], "family": "Lopez"}]}))),
            ),
            ("RelatedPerson/r2".to_string(), Outside::Described(None)),
            (
                "Patient/p".to_string(),
                Outside::Logical(json!({"type": "Patient", "identifier": {"value": "7"}})),
            ),
        ]);
        rewrite_references(&mut task, &HashMap::new(), &outside);
        rewrite_references(&mut plan, &HashMap::new(), &outside);
        rewrite_references(&mut team, &HashMap::new(), &outside);
        assert_eq!(
            team["reasonReference"][0],
            json!({"type": "Condition", "display": "Secondary malignant neoplasm of right lung"})
        );
        assert_eq!(
            team["participant"],
            json!([{"role": [{"text": "caregiver"}],
                    "member": {"type": "RelatedPerson", "display": "Maria Lopez"}}]),
            "a participant nobody can name is left out"
        );
        assert!(!task.to_string().contains("Condition/"), "{task}");
        assert_eq!(task["input"].as_array().unwrap().len(), 1, "{task}");
        assert_eq!(task["input"][0]["valueReference"]["type"], "Patient");
        let part = &task["contained"][0]["parameter"][0]["part"];
        assert_eq!(part.as_array().unwrap().len(), 1, "{part}");
        assert_eq!(
            task["output"][0]["valueReference"]["reference"],
            "#determination"
        );
        assert!(plan.get("addresses").is_none(), "{plan}");
        assert_eq!(
            plan["supportingInfo"][0],
            json!({"type": "Observation", "display": "Housebound"})
        );
    }

    #[test]
    fn conditional_url_escapes_the_value() {
        let o = Outgoing {
            key: ResourceKey::new("CarePlan", "c"),
            version_id: 1,
            identifier: Identifier {
                system: "http://hbpc.example.org/fhir/sid/careplan".into(),
                value: "a b&c|d".into(),
            },
            full_url: String::new(),
            resource: Value::Null,
        };
        assert_eq!(
            o.conditional_url(),
            "CarePlan?identifier=http://hbpc.example.org/fhir/sid/careplan|a%20b%26c%7Cd"
        );
    }
}
