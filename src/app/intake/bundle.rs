//! Transaction Bundles (all or nothing, internal references resolved) and batch Bundles
//! (entry by entry).

use super::{check_supported_type, single::check_id, Intake, Written};
use crate::app::conditional::{parse_etag_version, parse_if_none_exist};
use crate::app::AppError;
use crate::store::{WriteOp, WriteOutcome};
use fhir_engine::bundle::{entry_requests, kind_of, BundleKind, EntryRequest, Method};
use fhir_engine::json::{parse_resource, resource_type_of};
use fhir_engine::model::reference;
use fhir_engine::model::server_id::new_server_id;
use fhir_engine::outcome::{Issue, IssueType};
use futures_util::future::join_all;
use serde_json::Value;
use std::collections::HashMap;

pub struct BundleOutcome {
    pub kind: BundleKind,
    /// One per `Bundle.entry`, in the request's order.
    pub entries: Vec<EntryOutcome>,
    /// Validation warnings by entry index: accepted, and returned in `response.outcome`.
    pub warnings: HashMap<usize, Vec<Issue>>,
}

pub enum EntryOutcome {
    Written(Written),
    /// The tombstone's version, `None` when there was nothing to delete.
    Deleted(Option<u64>),
    /// Only in a batch: this entry failed, the others stand.
    Failed(AppError),
}

impl Intake {
    pub async fn process_bundle(&self, body: &[u8]) -> Result<BundleOutcome, AppError> {
        let bundle = parse_resource(body, self.limits.json())?;
        let rt = resource_type_of(&bundle).unwrap_or_default();
        if rt != "Bundle" {
            return Err(AppError::invalid(
                Issue::error(
                    IssueType::Invalid,
                    format!("POST [base] takes a Bundle, not a {rt}"),
                )
                .at(format!("{rt}.resourceType")),
            ));
        }
        let kind = kind_of(&bundle).map_err(AppError::invalid)?;
        let count = bundle
            .get("entry")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if count > self.limits.max_bundle_entries {
            return Err(AppError::invalid(
                Issue::error(
                    IssueType::TooCostly,
                    format!(
                        "the Bundle has {count} entries; the limit is {}",
                        self.limits.max_bundle_entries
                    ),
                )
                .at("Bundle.entry"),
            ));
        }
        let mut outcome = self.validator.check(&bundle);
        super::locate(body, &bundle, &mut outcome);
        let mut warnings: HashMap<usize, Vec<Issue>> = HashMap::new();
        for issue in outcome.all().into_iter().filter(|i| !i.is_error()) {
            if let Some(i) = issue.expression.first().and_then(|e| entry_index(e)) {
                warnings.entry(i).or_default().push(issue);
            }
        }
        let mut result = match kind {
            BundleKind::Transaction => {
                super::rejection(outcome)?;
                self.transaction(bundle, None).await
            }
            BundleKind::Batch => {
                let profile = !outcome.base_errors();
                let issues: Vec<Issue> =
                    outcome.all().into_iter().filter(Issue::is_error).collect();
                self.batch(bundle, issues, profile).await
            }
        }?;
        result.warnings = warnings;
        Ok(result)
    }

    /// `message_source`: the sender's endpoint when the entries came as a FHIR message.
    pub(super) async fn transaction(
        &self,
        mut bundle: Value,
        message_source: Option<&str>,
    ) -> Result<BundleOutcome, AppError> {
        let mut issues = Vec::new();
        let mut entries = Vec::new();
        for request in entry_requests(&mut bundle) {
            match request {
                Ok(entry) => {
                    issues.extend(check_entry(&entry));
                    entries.push(entry);
                }
                Err(issue) => issues.push(issue),
            }
        }
        if !issues.is_empty() {
            return Err(AppError::Invalid(issues));
        }

        // Assign ids, then point every fullUrl reference at its Type/id.
        let ids: Vec<String> = entries
            .iter()
            .map(|e| match e.method {
                Method::Post => new_server_id(),
                Method::Put | Method::Delete => e.id.clone().unwrap_or_default(),
            })
            .collect();
        let mut targets = HashMap::new();
        for (entry, id) in entries.iter().zip(&ids) {
            if let Some(full_url) = &entry.full_url {
                let target = format!("{}/{id}", entry.resource_type);
                if targets.insert(full_url.clone(), target).is_some() {
                    issues.push(
                        Issue::error(
                            IssueType::Duplicate,
                            format!("fullUrl '{full_url}' appears twice"),
                        )
                        .at(format!("Bundle.entry[{}].fullUrl", entry.index)),
                    );
                }
            }
        }
        for entry in entries.iter_mut() {
            if let Some(resource) = entry.resource.as_mut() {
                reference::rewrite(resource, &targets);
                issues.extend(unresolved_references(entry.index, resource));
            }
        }
        if !issues.is_empty() {
            return Err(AppError::Invalid(issues));
        }

        // R4 processing order: DELETE, then POST, then PUT.
        let mut order: Vec<usize> = (0..entries.len()).collect();
        order.sort_by_key(|&i| match entries[i].method {
            Method::Delete => 0,
            Method::Post => 1,
            Method::Put => 2,
        });
        let mut slots: Vec<Option<EntryRequest>> = entries.into_iter().map(Some).collect();
        let mut ops = Vec::with_capacity(order.len());
        for &i in &order {
            if let Some(entry) = slots[i].take() {
                ops.push(to_op(entry, ids[i].clone())?);
            }
        }
        let outcomes = self
            .apply(
                ops,
                |op| order.get(op).map(|i| format!("Bundle.entry[{i}]")),
                message_source,
            )
            .await?;

        let mut placed: Vec<Option<EntryOutcome>> = (0..order.len()).map(|_| None).collect();
        for (outcome, &i) in outcomes.into_iter().zip(&order) {
            placed[i] = Some(entry_outcome(outcome));
        }
        Ok(BundleOutcome {
            warnings: HashMap::new(),
            kind: BundleKind::Transaction,
            entries: placed
                .into_iter()
                .map(|o| o.unwrap_or(EntryOutcome::Deleted(None)))
                .collect(),
        })
    }

    async fn batch(
        &self,
        mut bundle: Value,
        issues: Vec<Issue>,
        profile_issues: bool,
    ) -> Result<BundleOutcome, AppError> {
        let mut per_entry: HashMap<usize, Vec<Issue>> = HashMap::new();
        let mut outside = Vec::new();
        for issue in issues {
            match issue.expression.first().and_then(|e| entry_index(e)) {
                Some(i) => per_entry.entry(i).or_default().push(issue),
                None => outside.push(issue),
            }
        }
        if !outside.is_empty() {
            return Err(if profile_issues {
                AppError::Unprocessable(outside)
            } else {
                AppError::Invalid(outside)
            });
        }
        let work = entry_requests(&mut bundle)
            .into_iter()
            .enumerate()
            .map(|(index, request)| {
                let schema_issues = per_entry.remove(&index).unwrap_or_default();
                async move {
                    let entry = match request {
                        Err(issue) => return EntryOutcome::Failed(AppError::invalid(issue)),
                        Ok(entry) => entry,
                    };
                    // an entry that breaks only profile rules is unprocessable (422)
                    if profile_issues && !schema_issues.is_empty() {
                        return EntryOutcome::Failed(AppError::Unprocessable(schema_issues));
                    }
                    let mut issues = schema_issues;
                    issues.extend(check_entry(&entry));
                    if let Some(resource) = entry.resource.as_ref() {
                        issues.extend(unresolved_references(index, resource));
                    }
                    if !issues.is_empty() {
                        return EntryOutcome::Failed(AppError::Invalid(issues));
                    }
                    let id = match entry.method {
                        Method::Post => new_server_id(),
                        _ => entry.id.clone().unwrap_or_default(),
                    };
                    let op = match to_op(entry, id) {
                        Ok(op) => op,
                        Err(e) => return EntryOutcome::Failed(e),
                    };
                    match self
                        .apply(vec![op], |_| Some(format!("Bundle.entry[{index}]")), None)
                        .await
                    {
                        Ok(mut outcomes) => match outcomes.pop() {
                            Some(outcome) => entry_outcome(outcome),
                            None => EntryOutcome::Deleted(None),
                        },
                        Err(e) => EntryOutcome::Failed(e),
                    }
                }
            });
        Ok(BundleOutcome {
            warnings: HashMap::new(),
            kind: BundleKind::Batch,
            entries: join_all(work).await,
        })
    }
}

fn entry_index(expression: &str) -> Option<usize> {
    let rest = expression.strip_prefix("Bundle.entry[")?;
    rest[..rest.find(']')?].parse().ok()
}

/// Checks what the Bundle shape allows but this server does not.
fn check_entry(entry: &EntryRequest) -> Vec<Issue> {
    let at = |field: &str| format!("Bundle.entry[{}].{field}", entry.index);
    let mut issues = Vec::new();
    if let Err(e) = check_supported_type(&entry.resource_type) {
        issues.extend(e.issues().into_iter().map(|i| i.at(at("request.url"))));
    }
    if let Some(id) = &entry.id {
        if check_id(id).is_err() {
            issues.push(
                Issue::error(
                    IssueType::Invalid,
                    format!("'{id}' is not a valid resource id"),
                )
                .at(at("request.url")),
            );
        }
        if entry.method == Method::Put {
            let body_id = entry
                .resource
                .as_ref()
                .and_then(|r| r.get("id"))
                .and_then(Value::as_str);
            if body_id.is_some_and(|b| b != id) {
                issues.push(
                    Issue::error(
                        IssueType::Invalid,
                        "entry.resource.id does not match the id in entry.request.url",
                    )
                    .at(at("resource.id")),
                );
            }
        }
    }
    if let Some(query) = entry
        .if_none_exist
        .as_deref()
        .filter(|_| entry.method == Method::Post)
    {
        if let Err(issue) = parse_if_none_exist(query) {
            issues.push(issue.at(at("request.ifNoneExist")));
        }
    }
    if let Some(etag) = &entry.if_match {
        if parse_etag_version(etag).is_none() {
            issues.push(
                Issue::error(
                    IssueType::Invalid,
                    format!("ifMatch '{etag}' is not a version ETag such as W/\"1\""),
                )
                .at(at("request.ifMatch")),
            );
        }
    }
    issues
}

/// A `urn:uuid:` or `urn:oid:` reference left after rewriting names nothing in the Bundle.
fn unresolved_references(index: usize, resource: &Value) -> Vec<Issue> {
    reference::references_with_paths(resource)
        .into_iter()
        .filter(|(_, r)| r.starts_with("urn:uuid:") || r.starts_with("urn:oid:"))
        .map(|(path, r)| {
            Issue::error(
                IssueType::NotFound,
                format!("reference '{r}' does not match the fullUrl of any entry in this Bundle"),
            )
            .at(format!("Bundle.entry[{index}].resource.{path}"))
        })
        .collect()
}

fn to_op(entry: EntryRequest, id: String) -> Result<WriteOp, AppError> {
    let resource_type = entry.resource_type;
    Ok(match entry.method {
        Method::Post => WriteOp::Create {
            resource_type,
            id,
            resource: entry.resource.unwrap_or(Value::Null),
            if_none_exist: entry
                .if_none_exist
                .as_deref()
                .map(parse_if_none_exist)
                .transpose()
                .map_err(AppError::invalid)?,
        },
        Method::Put => {
            let mut resource = entry.resource.unwrap_or(Value::Null);
            if let Value::Object(fields) = &mut resource {
                fields.insert("id".into(), Value::String(id.clone()));
            }
            WriteOp::Update {
                resource_type,
                id,
                resource,
                if_match: entry.if_match.as_deref().and_then(parse_etag_version),
            }
        }
        Method::Delete => WriteOp::Delete { resource_type, id },
    })
}

fn entry_outcome(outcome: WriteOutcome) -> EntryOutcome {
    match outcome {
        WriteOutcome::Created(s) => EntryOutcome::Written(Written::Created(s)),
        WriteOutcome::Matched(s) => EntryOutcome::Written(Written::Existing(s)),
        WriteOutcome::Updated(s) => EntryOutcome::Written(Written::Updated(s)),
        WriteOutcome::Deleted { version_id } => EntryOutcome::Deleted(version_id),
        // Bundle entries never enqueue deliveries; the referral workflow does, after them.
        WriteOutcome::DeliveryEnqueued { .. } => EntryOutcome::Failed(AppError::Store(
            crate::store::StoreError::Backend("an outbox record is not a Bundle entry".into()),
        )),
    }
}
