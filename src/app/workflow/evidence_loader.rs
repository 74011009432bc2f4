//! Gathers a referral's evidence: the resources being written with it, what it references,
//! and what earlier evaluations recorded on its Task.

use crate::domain::eligibility::{reference_key, reference_keys, Evidence};
use crate::store::{ResourceStore, StoreError, WriteOp};
use serde_json::Value;
use std::sync::Arc;

/// Elements of the referral whose targets are evidence.
const REFERRAL_LINKS: [&str; 6] = [
    "subject",
    "requester",
    "performer",
    "reasonReference",
    "insurance",
    "supportingInfo",
];

/// Second-level links: from evidence to the people and organisations it names.
const NESTED_LINKS: [(&str, &[&str]); 5] = [
    ("PractitionerRole", &["practitioner", "organization"]),
    ("Coverage", &["payor"]),
    ("Consent", &["performer"]),
    ("Observation", &["performer"]),
    ("ServiceRequest", &["requester", "performer"]),
];

/// Resources of the writes (Create/Update), each with its id.
pub fn written_resources(ops: &[WriteOp]) -> Vec<Value> {
    ops.iter()
        .filter_map(|op| match op {
            WriteOp::Create { resource, id, .. } | WriteOp::Update { resource, id, .. } => {
                let mut r = resource.clone();
                if let Value::Object(fields) = &mut r {
                    fields.insert("id".into(), Value::String(id.clone()));
                }
                Some(r)
            }
            _ => None,
        })
        .collect()
}

/// Which evidence recorded on the referral's Task still counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriorEvidence {
    /// All of it: new evidence arrived for a referral that stands as it was.
    All,
    /// Only what was sent separately for the referral (`basedOn` it): the referral itself was
    /// sent again and restates the rest. This keeps resubmissions from piling up evidence.
    SentSeparately,
}

/// Builds the evidence; `store` is read for anything referenced but not at hand.
pub async fn gather(
    referral: Value,
    at_hand: &[Arc<Value>],
    prior_task: Option<&Value>,
    prior_scope: PriorEvidence,
    store: Option<&dyn ResourceStore>,
) -> Result<Evidence, StoreError> {
    let mut ev = Evidence::new(referral);
    for r in at_hand {
        ev.add(Arc::clone(r));
    }
    let mut wanted: Vec<String> = Vec::new();
    for link in REFERRAL_LINKS {
        wanted.extend(reference_keys(ev.referral(), link));
    }
    let mut prior_keys: Vec<String> = Vec::new();
    if let Some(task) = prior_task {
        let focus = task
            .get("focus")
            .and_then(|f| f.get("reference"))
            .and_then(Value::as_str)
            .and_then(reference_key);
        for input in task
            .get("input")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(key) = input
                .get("valueReference")
                .and_then(|r| r.get("reference"))
                .and_then(Value::as_str)
                .and_then(reference_key)
            {
                if Some(&key) != focus.as_ref() {
                    prior_keys.push(key);
                }
            }
        }
    }
    let Some(store) = store else { return Ok(ev) };
    load(&mut ev, wanted, store, |_| true).await?;
    let referral_key = ev.referral_key().to_string();
    let separately = |r: &Value| {
        prior_scope == PriorEvidence::All || reference_keys(r, "basedOn").contains(&referral_key)
    };
    load(&mut ev, prior_keys, store, separately).await?;
    let mut nested = Vec::new();
    for (rt, links) in NESTED_LINKS {
        for (_, resource) in ev.of_type(rt) {
            for link in links {
                nested.extend(reference_keys(resource, link));
            }
        }
    }
    load(&mut ev, nested, store, |_| true).await?;
    Ok(ev)
}

async fn load(
    ev: &mut Evidence,
    keys: Vec<String>,
    store: &dyn ResourceStore,
    keep: impl Fn(&Value) -> bool,
) -> Result<(), StoreError> {
    for key in keys {
        if ev.contains(&key) {
            continue;
        }
        let Some((rt, id)) = key.split_once('/') else {
            continue;
        };
        if let Some(stored) = store.read(rt, id).await? {
            if !stored.deleted {
                if let Some(resource) = stored.resource().filter(|r| keep(r)) {
                    ev.add(resource);
                }
            }
        }
    }
    Ok(())
}
