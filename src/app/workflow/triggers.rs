//! Which referrals a set of writes asks us to (re)evaluate.

use crate::domain::eligibility::reference_key;
use crate::store::WriteOp;
use fhir_engine::model::identifier::{IdentifierToken, SystemMatch};
use serde_json::Value;
use std::collections::HashMap;

/// A referral named by a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferralRef {
    /// The referral is written by the op at this index.
    InOps(usize),
    /// `ServiceRequest/{id}` in the store.
    Stored(String),
    /// A logical reference by the placer identifier.
    Identifier(String, String),
}

/// Evidence that names the referral it is for (`basedOn`).
const EVIDENCE_TYPES: [&str; 2] = ["Observation", "QuestionnaireResponse"];

/// `matched`: conditional creates that found a stored resource (`Type/assigned` →
/// `Type/existing`). They write nothing, so they name no referral; evidence `basedOn` a matched
/// referral names the stored one.
pub fn referrals_named(
    ops: &[WriteOp],
    matched: &HashMap<String, String>,
    is_referral: impl Fn(&Value) -> bool,
) -> Vec<ReferralRef> {
    let mut found: Vec<ReferralRef> = Vec::new();
    let key_of = |op: &WriteOp| format!("{}/{}", op.resource_type(), op.id());
    let written: Vec<(usize, String)> = ops
        .iter()
        .enumerate()
        .filter(|(_, op)| {
            op.resource_type() == "ServiceRequest" && !matched.contains_key(&key_of(op))
        })
        .map(|(i, op)| (i, key_of(op)))
        .collect();
    for (i, op) in ops.iter().enumerate() {
        let resource = match op {
            WriteOp::Create { resource, .. } | WriteOp::Update { resource, .. } => resource,
            _ => continue,
        };
        if matched.contains_key(&key_of(op)) {
            continue;
        }
        if op.resource_type() == "ServiceRequest" && is_referral(resource) {
            push(&mut found, ReferralRef::InOps(i));
        }
        if !EVIDENCE_TYPES.contains(&op.resource_type()) {
            continue;
        }
        for based_on in resource
            .get("basedOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(key) = based_on
                .get("reference")
                .and_then(Value::as_str)
                .and_then(reference_key)
                .filter(|k| k.starts_with("ServiceRequest/"))
            {
                let key = matched.get(&key).cloned().unwrap_or(key);
                match written.iter().find(|(_, k)| *k == key) {
                    Some((index, _)) => {
                        if is_referral(ops_resource(&ops[*index])) {
                            push(&mut found, ReferralRef::InOps(*index));
                        }
                    }
                    None => push(&mut found, ReferralRef::Stored(key)),
                }
            } else if let Some(identifier) = based_on.get("identifier") {
                let system = identifier.get("system").and_then(Value::as_str);
                let value = identifier.get("value").and_then(Value::as_str);
                if let (Some(s), Some(v)) = (system, value) {
                    push(
                        &mut found,
                        ReferralRef::Identifier(s.to_string(), v.to_string()),
                    );
                }
            }
        }
    }
    found
}

fn ops_resource(op: &WriteOp) -> &Value {
    match op {
        WriteOp::Create { resource, .. } | WriteOp::Update { resource, .. } => resource,
        _ => &Value::Null,
    }
}

fn push(found: &mut Vec<ReferralRef>, r: ReferralRef) {
    if !found.contains(&r) {
        found.push(r);
    }
}

pub fn identifier_token(system: &str, value: &str) -> IdentifierToken {
    IdentifierToken {
        system: SystemMatch::Exactly(system.to_string()),
        value: value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create(rt: &str, id: &str, resource: Value) -> WriteOp {
        WriteOp::Create {
            resource_type: rt.into(),
            id: id.into(),
            resource,
            if_none_exist: None,
        }
    }

    fn referral() -> Value {
        json!({"resourceType": "ServiceRequest"})
    }

    #[test]
    fn a_matched_conditional_create_names_no_referral() {
        let ops = vec![create("ServiceRequest", "new", referral())];
        let none = HashMap::new();
        assert_eq!(
            referrals_named(&ops, &none, |_| true),
            vec![ReferralRef::InOps(0)]
        );
        let matched = HashMap::from([(
            "ServiceRequest/new".to_string(),
            "ServiceRequest/stored".to_string(),
        )]);
        assert!(referrals_named(&ops, &matched, |_| true).is_empty());
    }

    #[test]
    fn evidence_based_on_a_matched_referral_names_the_stored_one() {
        let ops = vec![
            create("ServiceRequest", "new", referral()),
            create(
                "Observation",
                "o",
                json!({"resourceType": "Observation",
                       "basedOn": [{"reference": "ServiceRequest/new"}]}),
            ),
        ];
        let matched = HashMap::from([(
            "ServiceRequest/new".to_string(),
            "ServiceRequest/stored".to_string(),
        )]);
        assert_eq!(
            referrals_named(&ops, &matched, |_| true),
            vec![ReferralRef::Stored("ServiceRequest/stored".into())]
        );
    }
}
