//! `$process-message`: a referral sent as a FHIR message (BSeR push). The message's resources
//! are stored like a transaction, and the answer is a response message naming the Task.

use super::{Intake, Written};
use crate::app::AppError;
use crate::domain::care_planning::ReferralIdentity;
use crate::store::WriteOp;
use fhir_engine::json::{parse_resource, resource_type_of};
use fhir_engine::model::identifier::{IdentifierToken, SystemMatch};
use fhir_engine::model::instant::{fhir_instant, now_millis};
use fhir_engine::outcome::{operation_outcome, Issue, IssueType};
use serde_json::{json, Value};
use uuid::Uuid;

/// Events that mean "a referral": v2 REF^I12 (BSeR) and SNOMED CT referral procedures.
const REFERRAL_EVENTS: [(&str, &str); 3] = [
    ("http://terminology.hl7.org/CodeSystem/v2-0003", "I12"),
    ("http://snomed.info/sct", "3457005"),
    ("http://snomed.info/sct", "306237005"),
];

/// Types stored only once per identifier: a resent message finds them again.
const CONDITIONAL_TYPES: [&str; 7] = [
    "ServiceRequest",
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Coverage",
    "RelatedPerson",
];

pub struct MessageOutcome {
    /// The response message.
    pub response: Value,
    /// Whether the referral was new (201) or already known (200).
    pub created: bool,
}

impl Intake {
    /// `base` is the FHIR base URL as the client sees it.
    pub async fn process_message(
        &self,
        body: &[u8],
        base: &str,
    ) -> Result<MessageOutcome, AppError> {
        let bundle = parse_resource(body, self.limits.json())?;
        let rt = resource_type_of(&bundle).unwrap_or_default();
        if rt != "Bundle" || bundle.get("type").and_then(Value::as_str) != Some("message") {
            return Err(AppError::invalid(
                Issue::error(
                    IssueType::Invalid,
                    "$process-message takes a Bundle of type message",
                )
                .at(if rt == "Bundle" {
                    "Bundle.type"
                } else {
                    "resourceType"
                }),
            ));
        }
        let mut outcome = self.validator.check(&bundle);
        super::locate(body, &bundle, &mut outcome);
        super::rejection(outcome)?;
        let entries = bundle
            .get("entry")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let header = entries
            .first()
            .and_then(|e| e.get("resource"))
            .filter(|r| resource_type_of(r) == Some("MessageHeader"))
            .cloned()
            .ok_or_else(|| {
                AppError::invalid(
                    Issue::error(
                        IssueType::Structure,
                        "a message starts with its MessageHeader (bdl-12)",
                    )
                    .at("Bundle.entry[0].resource"),
                )
            })?;
        check_event(&header)?;
        let header_id = header.get("id").and_then(Value::as_str).ok_or_else(|| {
            AppError::invalid(
                Issue::error(
                    IssueType::Required,
                    "the MessageHeader needs an id, so that the response can name it",
                )
                .at("Bundle.entry[0].resource.id"),
            )
        })?;

        // The sender (R4: `source.endpoint` is required); a resend is known by it and the id.
        let source = header
            .pointer("/source/endpoint")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let receipt_id = receipt_id(&source, header_id);
        if let Some(response) = self.earlier_response(&receipt_id, base).await? {
            return Ok(MessageOutcome {
                response,
                created: false,
            });
        }

        let referral_at = entries
            .iter()
            .position(|e| {
                e.get("resource").is_some_and(|r| {
                    resource_type_of(r) == Some("ServiceRequest") && self.is_referral(r)
                })
            })
            .ok_or_else(|| {
                AppError::Unprocessable(vec![Issue::error(
                    IssueType::NotFound,
                    "the message carries no HBPC referral ServiceRequest (code or category from hbpc-referral-type)",
                )
                .at("Bundle.entry")])
            })?;
        let (transaction, warnings) = self.as_transaction(&entries, &source).await?;
        let referral = transaction["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e.get("resource"))
            .find(|r| resource_type_of(r) == Some("ServiceRequest") && self.is_referral(r))
            .cloned()
            .unwrap_or_else(|| entries[referral_at]["resource"].clone());
        let task_id = ReferralIdentity::of(&referral).id("Task");
        let receipt = receipt(&header, &receipt_id, &task_id, base, &warnings);
        let result = self
            .for_message(receipt)
            .transaction(
                transaction,
                Some(source.as_str()).filter(|s| !s.is_empty()),
                base,
            )
            .await;
        let result = match result {
            Ok(result) => result,
            Err(error) => {
                // the same message, sent twice at once: the other one was stored
                if let Some(response) = self.earlier_response(&receipt_id, base).await? {
                    return Ok(MessageOutcome {
                        response,
                        created: false,
                    });
                }
                return Err(relocate(error, &entries));
            }
        };
        let created = result.entries.iter().any(|e| {
            matches!(e, super::EntryOutcome::Written(Written::Created(s)) if s.resource_type == "ServiceRequest")
        });
        let response = self
            .earlier_response(&receipt_id, base)
            .await?
            .ok_or_else(|| {
                AppError::Store(crate::store::StoreError::Backend(
                    "the message's receipt was not stored".into(),
                ))
            })?;
        Ok(MessageOutcome { response, created })
    }

    /// The response to a message already processed: its stored receipt (our response
    /// MessageHeader) with the referral's Task as it was when the receipt was stored (the
    /// delivery worker and later messages make newer versions).
    async fn earlier_response(
        &self,
        receipt_id: &str,
        base: &str,
    ) -> Result<Option<Value>, AppError> {
        let store = self.store.as_ref();
        let Some(stored) = store
            .read(RECEIPT_TYPE, receipt_id)
            .await
            .map_err(AppError::Store)?
            .filter(|s| !s.deleted)
        else {
            return Ok(None);
        };
        let Some(receipt) = stored.resource() else {
            return Ok(None);
        };
        let task_id = receipt
            .pointer("/focus/0/reference")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("Task/"))
            .unwrap_or_default()
            .to_string();
        let mut task = store
            .read("Task", &task_id)
            .await
            .map_err(AppError::Store)?;
        while let Some(t) = task
            .as_ref()
            .filter(|t| t.last_updated_ms > stored.last_updated_ms && t.version_id > 1)
        {
            task = store
                .vread("Task", &task_id, t.version_id - 1)
                .await
                .map_err(AppError::Store)?;
        }
        let task = task
            .filter(|t| !t.deleted && t.last_updated_ms <= stored.last_updated_ms)
            .and_then(|t| t.resource());
        Ok(Some(response_message(receipt, task, base)))
    }

    /// The message's resources as transaction entries, with the warnings of the matching.
    /// The sender's own Task is not stored: the referral's Task here is ours.
    async fn as_transaction(
        &self,
        entries: &[Value],
        source: &str,
    ) -> Result<(Value, Vec<Issue>), AppError> {
        let mut warnings = Vec::new();
        let mut converted = Vec::new();
        for (index, entry) in entries.iter().enumerate().skip(1) {
            let Some(resource) = entry.get("resource") else {
                continue;
            };
            let Some(rt) = resource_type_of(resource) else {
                continue;
            };
            if rt == "Task" || rt == "MessageHeader" {
                continue;
            }
            let mut resource = resource.clone();
            let request = self
                .request_for(&mut resource, index, source, &mut warnings)
                .await?;
            let mut out = json!({"resource": resource, "request": request});
            if let Some(full_url) = entry.get("fullUrl") {
                out["fullUrl"] = full_url.clone();
            }
            converted.push(out);
        }
        Ok((
            json!({"resourceType": "Bundle", "type": "transaction", "entry": converted}),
            warnings,
        ))
    }

    /// How one of the message's resources is stored. A resource we already hold (by its
    /// identifier) is found again: a conditional create when exactly one matches and the
    /// message changes nothing we track; otherwise an update of the match, the most recently
    /// updated one when duplicates are stored (with a warning), so that they never fail a
    /// referral.
    async fn request_for(
        &self,
        resource: &mut Value,
        index: usize,
        source: &str,
        warnings: &mut Vec<Issue>,
    ) -> Result<Value, AppError> {
        let rt = resource_type_of(resource).unwrap_or_default().to_string();
        let post = json!({"method": "POST", "url": rt});
        if !CONDITIONAL_TYPES.contains(&rt.as_str()) {
            return Ok(post);
        }
        let Some((system, value)) = identifier_of(resource) else {
            return Ok(post);
        };
        let is_referral = rt == "ServiceRequest";
        // A placer identifier without system is the sender's own: scoped by its endpoint.
        let scoped = system.is_none() && is_referral;
        if system.is_none() && !scoped {
            return Ok(post);
        }
        if scoped {
            resource["meta"]["source"] = Value::String(source.to_string());
        }
        let token = IdentifierToken {
            system: system
                .clone()
                .map_or(SystemMatch::NoSystem, SystemMatch::Exactly),
            value: value.clone(),
        };
        let mut found = Vec::new();
        for id in self
            .store
            .find_by_identifier(&rt, &token)
            .await
            .map_err(AppError::Store)?
        {
            let Some(stored) = self
                .store
                .read(&rt, &id)
                .await
                .map_err(AppError::Store)?
                .filter(|s| !s.deleted)
            else {
                continue;
            };
            let body = stored.resource().unwrap_or_default();
            if scoped && body.pointer("/meta/source").and_then(Value::as_str) != Some(source) {
                continue;
            }
            found.push((stored.last_updated_ms, stored.id, body));
        }
        let query = |system: &str| format!("identifier={system}|{value}");
        match (found.as_slice(), &system) {
            ([], Some(system)) => {
                return Ok(json!({"method": "POST", "url": rt, "ifNoneExist": query(system)}))
            }
            ([], None) => return Ok(post),
            ([(_, _, stored)], Some(system)) if !is_referral || same_content(stored, resource) => {
                return Ok(json!({"method": "POST", "url": rt, "ifNoneExist": query(system)}))
            }
            _ => {}
        }
        // the most recently updated; the greatest id among equals, so that the choice is stable
        found.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let count = found.len();
        let Some((_, id, _)) = found.pop() else {
            return Ok(post);
        };
        if count > 1 {
            warnings.push(
                Issue::warning(
                    IssueType::Duplicate,
                    format!(
                        "{count} stored {rt} resources carry the identifier {}|{value}; the message updated the most recently updated one, {rt}/{id}",
                        system.as_deref().unwrap_or_default()
                    ),
                )
                .at(format!("Bundle.entry[{index}].resource.identifier")),
            );
        }
        resource["id"] = Value::String(id.clone());
        Ok(json!({"method": "PUT", "url": format!("{rt}/{id}")}))
    }

    fn is_referral(&self, resource: &Value) -> bool {
        self.workflow
            .as_ref()
            .is_some_and(|w| w.evaluator().is_referral(resource))
    }
}

fn check_event(header: &Value) -> Result<(), AppError> {
    let coding = header.get("eventCoding");
    let system = coding.and_then(|c| c.get("system")).and_then(Value::as_str);
    let code = coding.and_then(|c| c.get("code")).and_then(Value::as_str);
    if REFERRAL_EVENTS
        .iter()
        .any(|(s, c)| Some(*s) == system && Some(*c) == code)
    {
        return Ok(());
    }
    Err(AppError::Unprocessable(vec![Issue::error(
        IssueType::NotSupported,
        "this server processes referral messages only: eventCoding v2-0003#I12, or SNOMED CT 3457005 / 306237005",
    )
    .at("Bundle.entry[0].resource.eventCoding")]))
}

/// `(system, value)` of the placer identifier, else of the first identifier with a system and
/// a value.
fn identifier_of(resource: &Value) -> Option<(Option<String>, String)> {
    let identifiers = resource.get("identifier").and_then(Value::as_array)?;
    let text = |i: &Value, key: &str| i.get(key).and_then(Value::as_str).map(str::to_string);
    let placer = identifiers
        .iter()
        .find(|i| i.pointer("/type/coding/0/code").and_then(Value::as_str) == Some("PLAC"))
        .filter(|i| text(i, "value").is_some());
    let chosen = placer.or_else(|| {
        identifiers
            .iter()
            .find(|i| text(i, "system").is_some() && text(i, "value").is_some())
    })?;
    Some((text(chosen, "system"), text(chosen, "value")?))
}

/// Equal apart from the server's `id` and `meta`.
fn same_content(stored: &Value, sent: &Value) -> bool {
    let (Some(a), Some(b)) = (stored.as_object(), sent.as_object()) else {
        return false;
    };
    let kept = |m: &serde_json::Map<String, Value>| {
        m.iter()
            .filter(|(k, _)| k.as_str() != "id" && k.as_str() != "meta")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<serde_json::Map<String, Value>>()
    };
    kept(a) == kept(b)
}

/// Where a processed message is remembered: our response MessageHeader, stored (not served)
/// under an id derived from the sender and the request's MessageHeader.id.
const RECEIPT_TYPE: &str = "MessageHeader";
const RECEIPT_NAMESPACE: Uuid = Uuid::from_u128(0x6862_7063_2d6d_6573_7361_6765_2d72_6370);

fn receipt_id(source: &str, header_id: &str) -> String {
    Uuid::new_v5(
        &RECEIPT_NAMESPACE,
        format!("{source}|{header_id}").as_bytes(),
    )
    .to_string()
}

/// Our response MessageHeader, stored with the message's writes: a resend finds it and gets
/// the same response. Matching warnings travel in a contained OperationOutcome.
fn receipt(request: &Value, id: &str, task_id: &str, base: &str, warnings: &[Issue]) -> WriteOp {
    let mut header = json!({
        "resourceType": "MessageHeader",
        "id": id,
        "eventCoding": request.get("eventCoding").cloned().unwrap_or(Value::Null),
        "source": {"name": "hbpc-gateway", "software": "hbpc-gateway",
                   "version": env!("CARGO_PKG_VERSION"), "endpoint": base},
        "response": {"identifier": request.get("id").cloned().unwrap_or(Value::Null), "code": "ok"},
        "focus": [{"reference": format!("Task/{task_id}")}],
    });
    if let Some(endpoint) = request.pointer("/source/endpoint") {
        header["destination"] = json!([{"endpoint": endpoint}]);
    }
    if !warnings.is_empty() {
        let mut outcome = operation_outcome(warnings);
        outcome["id"] = Value::String("warnings".into());
        header["contained"] = json!([outcome]);
        header["response"]["details"] = json!({"reference": "#warnings"});
    }
    WriteOp::Create {
        resource_type: RECEIPT_TYPE.to_string(),
        id: id.to_string(),
        resource: header,
        if_none_exist: None,
    }
}

/// Transaction locations (`Bundle.entry[i]` of the converted Bundle) point at the message's
/// entries instead.
fn relocate(error: AppError, entries: &[Value]) -> AppError {
    let stored: Vec<usize> = entries[1..]
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            e.get("resource")
                .and_then(resource_type_of)
                .is_some_and(|rt| rt != "Task" && rt != "MessageHeader")
        })
        .map(|(i, _)| i + 1)
        .collect();
    error.map_issues(|mut issue| {
        issue.expression = issue
            .expression
            .iter()
            .map(|e| {
                match e
                    .strip_prefix("Bundle.entry[")
                    .and_then(|r| r.split_once(']'))
                {
                    Some((n, rest)) => match n.parse::<usize>().ok().and_then(|n| stored.get(n)) {
                        Some(original) => format!("Bundle.entry[{original}]{rest}"),
                        None => e.clone(),
                    },
                    None => e.clone(),
                }
            })
            .collect();
        issue
    })
}

/// The response message: the receipt (our MessageHeader) and the Task. Its ids and time stamp
/// derive from the receipt, so a resend gets the same message.
fn response_message(mut header: Value, task: Option<Value>, base: &str) -> Value {
    let header_id = header["id"].as_str().unwrap_or_default().to_string();
    let timestamp = header
        .pointer("/meta/lastUpdated")
        .cloned()
        .unwrap_or_else(|| Value::String(fhir_instant(now_millis())));
    if let Some(fields) = header.as_object_mut() {
        fields.remove("meta");
    }
    let derived = |kind: &str| {
        Uuid::new_v5(&RECEIPT_NAMESPACE, format!("{kind}|{header_id}").as_bytes()).to_string()
    };
    let mut entries = vec![json!({"fullUrl": format!("urn:uuid:{header_id}"), "resource": header})];
    if let Some(task) = task {
        let id = task
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        entries.push(json!({"fullUrl": format!("{base}/Task/{id}"), "resource": task}));
    }
    json!({
        "resourceType": "Bundle",
        "id": derived("Bundle"),
        "identifier": {"system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{}", derived("identifier"))},
        "type": "message",
        "timestamp": timestamp,
        "entry": entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placer_identifier_is_chosen_even_without_system() {
        let sr = json!({"identifier": [
            {"system": "urn:other", "value": "O-1"},
            {"type": {"coding": [{"code": "PLAC"}]}, "value": "EHR-1"}]});
        assert_eq!(identifier_of(&sr), Some((None, "EHR-1".to_string())));
        let patient = json!({"identifier": [{"value": "no-system"},
                                            {"system": "urn:mrn", "value": "M-1"}]});
        assert_eq!(
            identifier_of(&patient),
            Some((Some("urn:mrn".to_string()), "M-1".to_string()))
        );
    }

    #[test]
    fn content_is_compared_without_id_and_meta() {
        let stored = json!({"resourceType": "ServiceRequest", "id": "a",
                            "meta": {"versionId": "3"}, "priority": "routine"});
        let sent = json!({"resourceType": "ServiceRequest", "id": "b", "priority": "routine"});
        assert!(same_content(&stored, &sent));
        let changed = json!({"resourceType": "ServiceRequest", "priority": "urgent"});
        assert!(!same_content(&stored, &changed));
    }

    #[test]
    fn every_error_is_relocated_to_the_messages_own_entries() {
        // the message: header, a Task (not stored), then a Patient: transaction entry 0 is
        // message entry 2
        let entries = vec![
            json!({"resource": {"resourceType": "MessageHeader"}}),
            json!({"resource": {"resourceType": "Task"}}),
            json!({"resource": {"resourceType": "Patient"}}),
        ];
        let issue = Issue::error(IssueType::Duplicate, "x").at("Bundle.entry[0].resource.id");
        for error in [
            AppError::Invalid(vec![issue.clone()]),
            AppError::PreconditionFailed(issue.clone()),
            AppError::Conflict(issue.clone()),
        ] {
            assert_eq!(
                relocate(error, &entries).issues()[0].expression,
                vec!["Bundle.entry[2].resource.id"]
            );
        }
    }

    #[test]
    fn receipts_are_per_sender() {
        assert_ne!(
            receipt_id("https://a", "m-1"),
            receipt_id("https://b", "m-1")
        );
        assert_eq!(
            receipt_id("https://a", "m-1"),
            receipt_id("https://a", "m-1")
        );
    }
}
