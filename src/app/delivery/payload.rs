//! What goes upstream, built at send time from the CURRENT stored version of each resource, so
//! a late retry never sends an older version than one already sent.
//!
//! Each resource is sent as a conditional update on its stable business identifier (system
//! under `http://hbpc.example.org/fhir/sid/`), so a resend never duplicates. Our ids and
//! `meta.versionId`/`lastUpdated` are dropped: the EHR assigns its own. References:
//! - to another resource of the same delivery: its `urn:uuid` fullUrl in a transaction, or a
//!   logical reference by its business identifier in per-resource mode;
//! - to any other resource of ours (Patient, ServiceRequest, Practitioner…): a logical reference
//!   by that resource's identifier, preferring the EHR's own (non-HBPC) identifier system, since
//!   our ids mean nothing upstream; left unchanged when the target has no identifier.
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
    let mut outside: HashMap<String, Option<Value>> = HashMap::new();
    for item in &mut items {
        let mut refs = Vec::new();
        collect_relative_references(&item.resource, &mut refs);
        for r in refs {
            if within.contains_key(&r) || outside.contains_key(&r) {
                continue;
            }
            let target = match r.split_once('/') {
                Some((rt, id)) => logical_for_stored(store, rt, id).await?,
                None => None,
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

/// A logical reference to a resource of ours, by the identifier the EHR is most likely to know.
async fn logical_for_stored(
    store: &dyn ResourceStore,
    resource_type: &str,
    id: &str,
) -> Result<Option<Value>, StoreError> {
    let Some(stored) = store.read(resource_type, id).await? else {
        return Ok(None);
    };
    let Some(resource) = stored
        .body
        .as_deref()
        .filter(|_| !stored.deleted)
        .and_then(|b| serde_json::from_str::<Value>(b).ok())
    else {
        return Ok(None);
    };
    let identifiers = identifiers_of(&resource);
    let best = identifiers
        .iter()
        .find(|i| !i.system.is_empty() && !i.system.starts_with(BUSINESS_ID_PREFIX))
        .or_else(|| identifiers.iter().find(|i| !i.system.is_empty()));
    Ok(best.map(|i| logical(resource_type, i)))
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
/// keeping the object's other elements (`display`, extensions…).
fn rewrite_references(
    value: &mut Value,
    within: &HashMap<String, Value>,
    outside: &HashMap<String, Option<Value>>,
) {
    match value {
        Value::Object(fields) => {
            let target = fields
                .get("reference")
                .and_then(Value::as_str)
                .and_then(|r| within.get(r).or_else(|| outside.get(r)?.as_ref()))
                .cloned();
            if let Some(Value::Object(replacement)) = target {
                fields.remove("reference");
                for (k, v) in replacement {
                    fields.insert(k, v);
                }
                return;
            }
            for (_, child) in fields.iter_mut() {
                rewrite_references(child, within, outside);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|c| rewrite_references(c, within, outside)),
        _ => {}
    }
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
                Some(logical(
                    "Patient",
                    &Identifier {
                        system: "urn:mrn".into(),
                        value: "7".into(),
                    },
                )),
            ),
            ("ServiceRequest/unknown".to_string(), None),
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
