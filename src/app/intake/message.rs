//! `$process-message`: a referral sent as a FHIR message (BSeR push). The message's resources
//! are stored like a transaction, and the answer is a response message naming the Task.

use super::{Intake, Written};
use crate::app::AppError;
use crate::domain::care_planning::ReferralIdentity;
use fhir_engine::json::{parse_resource, resource_type_of};
use fhir_engine::model::instant::{fhir_instant, now_millis};
use fhir_engine::outcome::{Issue, IssueType};
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

        let transaction = as_transaction(&entries[1..]);
        let referral = entries
            .iter()
            .filter_map(|e| e.get("resource"))
            .find(|r| resource_type_of(r) == Some("ServiceRequest") && self.is_referral(r))
            .cloned()
            .ok_or_else(|| {
                AppError::Unprocessable(vec![Issue::error(
                    IssueType::NotFound,
                    "the message carries no HBPC referral ServiceRequest (code or category from hbpc-referral-type)",
                )
                .at("Bundle.entry")])
            })?;
        let result = self
            .transaction(
                transaction,
                header.pointer("/source/endpoint").and_then(Value::as_str),
            )
            .await
            .map_err(|e| relocate(e, &entries))?;
        let created = result.entries.iter().any(|e| {
            matches!(e, super::EntryOutcome::Written(Written::Created(s)) if s.resource_type == "ServiceRequest")
        });

        let task_id = ReferralIdentity::of(&referral).id("Task");
        let task = self
            .store
            .read("Task", &task_id)
            .await
            .map_err(AppError::Store)?
            .filter(|s| !s.deleted)
            .and_then(|s| s.resource());
        Ok(MessageOutcome {
            response: response_message(&header, header_id, task, base),
            created,
        })
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

/// The message's resources as transaction entries. The sender's own Task is not stored: the
/// referral's Task here is ours.
fn as_transaction(entries: &[Value]) -> Value {
    let converted: Vec<Value> = entries
        .iter()
        .filter_map(|entry| {
            let resource = entry.get("resource")?;
            let rt = resource_type_of(resource)?;
            if rt == "Task" || rt == "MessageHeader" {
                return None;
            }
            let mut request = json!({"method": "POST", "url": rt});
            if CONDITIONAL_TYPES.contains(&rt) {
                if let Some(query) = identifier_query(resource) {
                    request["ifNoneExist"] = Value::String(query);
                }
            }
            let mut out = json!({"resource": resource, "request": request});
            if let Some(full_url) = entry.get("fullUrl") {
                out["fullUrl"] = full_url.clone();
            }
            Some(out)
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "transaction", "entry": converted})
}

/// `identifier=system|value` of the placer identifier, else of the first full identifier.
fn identifier_query(resource: &Value) -> Option<String> {
    let identifiers = resource.get("identifier").and_then(Value::as_array)?;
    let full = |i: &&Value| i.get("system").is_some() && i.get("value").is_some();
    let chosen = identifiers
        .iter()
        .filter(full)
        .find(|i| i.pointer("/type/coding/0/code").and_then(Value::as_str) == Some("PLAC"))
        .or_else(|| identifiers.iter().find(full))?;
    Some(format!(
        "identifier={}|{}",
        chosen["system"].as_str()?,
        chosen["value"].as_str()?
    ))
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
    let fix = |issues: Vec<Issue>| -> Vec<Issue> {
        issues
            .into_iter()
            .map(|mut issue| {
                issue.expression = issue
                    .expression
                    .iter()
                    .map(|e| {
                        match e
                            .strip_prefix("Bundle.entry[")
                            .and_then(|r| r.split_once(']'))
                        {
                            Some((n, rest)) => {
                                match n.parse::<usize>().ok().and_then(|n| stored.get(n)) {
                                    Some(original) => format!("Bundle.entry[{original}]{rest}"),
                                    None => e.clone(),
                                }
                            }
                            None => e.clone(),
                        }
                    })
                    .collect();
                issue
            })
            .collect()
    };
    match error {
        AppError::Invalid(issues) => AppError::Invalid(fix(issues)),
        AppError::Unprocessable(issues) => AppError::Unprocessable(fix(issues)),
        other => other,
    }
}

fn response_message(request: &Value, request_id: &str, task: Option<Value>, base: &str) -> Value {
    let header_id = Uuid::new_v4().to_string();
    let mut header = json!({
        "resourceType": "MessageHeader",
        "id": header_id,
        "eventCoding": request.get("eventCoding").cloned().unwrap_or(Value::Null),
        "source": {"name": "hbpc-gateway", "software": "hbpc-gateway",
                   "version": env!("CARGO_PKG_VERSION"), "endpoint": base},
        "response": {"identifier": request_id, "code": "ok"},
    });
    if let Some(endpoint) = request.pointer("/source/endpoint") {
        header["destination"] = json!([{"endpoint": endpoint}]);
    }
    let mut entries = vec![json!({"fullUrl": format!("urn:uuid:{header_id}"), "resource": header})];
    if let Some(task) = task {
        let id = task
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        entries[0]["resource"]["focus"] = json!([{"reference": format!("Task/{id}")}]);
        entries.push(json!({"fullUrl": format!("{base}/Task/{id}"), "resource": task}));
    }
    json!({
        "resourceType": "Bundle",
        "id": Uuid::new_v4().to_string(),
        "identifier": {"system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{}", Uuid::new_v4())},
        "type": "message",
        "timestamp": fhir_instant(now_millis()),
        "entry": entries,
    })
}
