//! One transaction or batch entry: its checks, what its conditional URL and conditional
//! references match (R4 §3.1.0.11.2, §3.1.0.4.3, §3.1.0.7.1), the write it becomes, and GET
//! reads and searches.

use super::{check_supported_type, single::check_id, EntryOutcome, Intake, Written};
use crate::app::conditional::{parse_etag_version, parse_if_none_exist};
use crate::app::AppError;
use crate::store::{StoredResource, WriteOp, WriteOutcome};
use fhir_engine::bundle::references::DanglingReference;
use fhir_engine::bundle::{EntryRequest, Method};
use fhir_engine::model::identifier::IdentifierToken;
use fhir_engine::model::reference;
use fhir_engine::model::server_id::new_server_id;
use fhir_engine::outcome::{Issue, IssueType};
use fhir_engine::search::date_range;
use fhir_engine::search::parse::Handling;
use serde_json::Value;
use std::collections::HashMap;

/// Where an entry writes, decided before any reference is rewritten.
pub(super) enum Target {
    /// This id: the URL's, or the one match of a conditional update or delete.
    Id(String),
    /// A create with this new id, claiming `claim` (an `ifNoneExist`, or the criteria of a
    /// conditional update that matched nothing) when it is one identifier.
    Create {
        id: String,
        claim: Option<IdentifierToken>,
    },
    /// Nothing to write: a conditional delete that matched nothing, or a GET.
    Nothing,
}

impl Target {
    pub(super) fn id(&self) -> Option<&str> {
        match self {
            Target::Id(id) | Target::Create { id, .. } => Some(id),
            Target::Nothing => None,
        }
    }
}

/// What an entry becomes once its target is known.
pub(super) enum Planned {
    Write(WriteOp),
    /// A conditional delete that matched nothing: 204 with nothing done.
    NothingDeleted,
    Get(EntryRequest),
}

fn at(index: usize, field: &str) -> String {
    format!("Bundle.entry[{index}].{field}")
}

fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

impl Intake {
    /// Resolves a conditional update or delete (`Type?criteria`) by searching: one match is
    /// the target, several are 412, none creates (update) or does nothing (delete).
    pub(super) async fn target_of(
        &self,
        entry: &EntryRequest,
        base_url: &str,
    ) -> Result<Target, AppError> {
        let url_at = at(entry.index, "request.url");
        let Some(criteria) = entry
            .criteria
            .as_deref()
            .filter(|_| entry.method != Method::Get)
        else {
            return Ok(match entry.method {
                Method::Get => Target::Nothing,
                Method::Post => Target::Create {
                    id: new_server_id(),
                    claim: entry
                        .if_none_exist
                        .as_deref()
                        .map(parse_if_none_exist)
                        .transpose()
                        .map_err(|i| {
                            AppError::invalid(i.at(at(entry.index, "request.ifNoneExist")))
                        })?,
                },
                Method::Put | Method::Delete => Target::Id(entry.id.clone().unwrap_or_default()),
            });
        };
        let ids = self
            .search
            .conditional_matches(&entry.resource_type, &query_pairs(criteria), base_url)
            .await
            .map_err(|e| e.located(&url_at))?;
        let body_id = entry
            .resource
            .as_ref()
            .and_then(|r| r.get("id"))
            .and_then(Value::as_str);
        match (entry.method, ids.as_slice()) {
            (_, [_, _, ..]) => Err(AppError::PreconditionFailed(
                Issue::error(
                    IssueType::Duplicate,
                    format!(
                        "the conditional criteria '{criteria}' match more than one {}; they must match at most one",
                        entry.resource_type
                    ),
                )
                .at(url_at),
            )),
            (Method::Put, [id]) if body_id.is_some_and(|b| b != id.as_str()) => Err(AppError::invalid(
                Issue::error(
                    IssueType::Invalid,
                    format!("the resource id is not the id '{id}' the criteria matched"),
                )
                .at(at(entry.index, "resource.id")),
            )),
            (_, [id]) => Ok(Target::Id(id.clone())),
            // R4: no match is a create (a body id is replaced, as in POST)
            (Method::Put, []) => Ok(Target::Create {
                id: new_server_id(),
                claim: parse_if_none_exist(criteria).ok(),
            }),
            _ => Ok(Target::Nothing),
        }
    }

    /// Replaces each conditional reference (`Patient?identifier=s|v`) by the one resource its
    /// search matches; none or several is 412.
    pub(super) async fn resolve_conditional_references(
        &self,
        index: usize,
        resource: &mut Value,
        base_url: &str,
    ) -> Result<(), AppError> {
        let mut resolved: HashMap<String, String> = HashMap::new();
        for (path, r) in reference::references_with_paths(resource) {
            let Some((rt, query)) = reference::conditional(&r) else {
                continue;
            };
            if resolved.contains_key(&r) {
                continue;
            }
            let ref_at = at(index, &format!("resource.{path}"));
            let ids = self
                .search
                .conditional_matches(rt, &query_pairs(query), base_url)
                .await
                .map_err(|e| e.located(&ref_at))?;
            match ids.as_slice() {
                [id] => {
                    resolved.insert(r.clone(), format!("{rt}/{id}"));
                }
                none_or_many => {
                    let what = if none_or_many.is_empty() {
                        "no"
                    } else {
                        "more than one"
                    };
                    return Err(AppError::PreconditionFailed(
                        Issue::error(
                            if none_or_many.is_empty() {
                                IssueType::NotFound
                            } else {
                                IssueType::Duplicate
                            },
                            format!("the conditional reference '{r}' matches {what} {rt}; it must match exactly one"),
                        )
                        .at(ref_at),
                    ));
                }
            }
        }
        if !resolved.is_empty() {
            reference::rewrite(resource, &resolved);
        }
        Ok(())
    }

    /// A GET entry: a read or vread (with `ifNoneMatch` / `ifModifiedSince`) or a search.
    pub(super) async fn get_entry(&self, entry: &EntryRequest, base_url: &str) -> EntryOutcome {
        let url_at = at(entry.index, "request.url");
        let Some(id) = &entry.id else {
            let params = query_pairs(entry.criteria.as_deref().unwrap_or_default());
            return match self
                .search
                .search(
                    &entry.resource_type,
                    &params,
                    None,
                    Handling::Strict,
                    base_url,
                )
                .await
            {
                Ok(page) => EntryOutcome::Searched(Box::new(page)),
                Err(e) => EntryOutcome::Failed(e.located(&url_at)),
            };
        };
        let rt = &entry.resource_type;
        let read = match entry.version.as_deref() {
            None => self.store.read(rt, id).await,
            // a version that is not a number names no version
            Some(v) => match v.parse::<u64>() {
                Ok(v) => self.store.vread(rt, id, v).await,
                Err(_) => Ok(None),
            },
        };
        let what = match entry.version.as_deref() {
            None => format!("{rt}/{id}"),
            Some(v) => format!("version {v} of {rt}/{id}"),
        };
        let stored = match read {
            Err(e) => return EntryOutcome::Failed(AppError::Store(e)),
            Ok(None) => {
                return EntryOutcome::Failed(AppError::NotFound(
                    Issue::error(IssueType::NotFound, format!("{what} is not known")).at(url_at),
                ))
            }
            Ok(Some(s)) if s.deleted => {
                return EntryOutcome::Failed(AppError::Gone(
                    Issue::error(IssueType::Deleted, format!("{what} is a deletion")).at(url_at),
                ))
            }
            Ok(Some(s)) => s,
        };
        if not_modified(entry, &stored) {
            EntryOutcome::NotModified(stored)
        } else {
            EntryOutcome::Read(stored)
        }
    }
}

/// `ifNoneMatch` names the current version, or nothing changed after `ifModifiedSince`.
fn not_modified(entry: &EntryRequest, stored: &StoredResource) -> bool {
    let same_version = entry
        .if_none_match
        .as_deref()
        .and_then(parse_etag_version)
        .is_some_and(|v| v == stored.version_id);
    let unchanged_since = entry
        .if_modified_since
        .as_deref()
        .and_then(date_range::parse)
        .is_some_and(|since| stored.last_updated_ms <= since.high);
    same_version || unchanged_since
}

/// Checks what the Bundle shape allows but this server does not.
pub(super) fn check_entry(entry: &EntryRequest) -> Vec<Issue> {
    let at = |field: &str| at(entry.index, field);
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
    for (etag, field) in [
        (&entry.if_match, "request.ifMatch"),
        (&entry.if_none_match, "request.ifNoneMatch"),
    ] {
        if let Some(etag) = etag {
            if parse_etag_version(etag).is_none() {
                issues.push(
                    Issue::error(
                        IssueType::Invalid,
                        format!("'{etag}' is not a version ETag such as W/\"1\""),
                    )
                    .at(at(field)),
                );
            }
        }
    }
    if let Some(since) = &entry.if_modified_since {
        if date_range::parse(since).is_none() {
            issues.push(
                Issue::error(
                    IssueType::Invalid,
                    format!("ifModifiedSince '{since}' is not an instant"),
                )
                .at(at("request.ifModifiedSince")),
            );
        }
    }
    if entry.if_match.is_some() && matches!(entry.method, Method::Post | Method::Get) {
        issues.push(
            Issue::error(
                IssueType::NotSupported,
                "ifMatch applies to PUT and DELETE entries",
            )
            .at(at("request.ifMatch")),
        );
    }
    issues
}

pub(super) fn duplicate_full_url(index: usize) -> Issue {
    Issue::error(
        IssueType::Duplicate,
        "this entry's fullUrl is the fullUrl of an earlier entry (bdl-7)",
    )
    .at(at(index, "fullUrl"))
}

/// A `urn:uuid:` or `urn:oid:` reference that names no entry of the Bundle.
pub(super) fn unresolved(index: usize, dangling: DanglingReference) -> Issue {
    Issue::error(
        IssueType::NotFound,
        format!(
            "reference '{}' does not match the fullUrl of any entry in this Bundle",
            dangling.reference
        ),
    )
    .at(at(index, &format!("resource.{}", dangling.path)))
}

pub(super) fn plan(entry: EntryRequest, target: Target) -> Planned {
    let resource_type = entry.resource_type.clone();
    let if_match = entry.if_match.as_deref().and_then(parse_etag_version);
    let with_id = |resource: Option<Value>, id: &str| {
        let mut resource = resource.unwrap_or(Value::Null);
        if let Value::Object(fields) = &mut resource {
            fields.insert("id".into(), Value::String(id.to_string()));
        }
        resource
    };
    match (entry.method, target) {
        (Method::Get, _) => Planned::Get(entry),
        (Method::Delete, Target::Id(id)) => Planned::Write(WriteOp::Delete {
            resource_type,
            id,
            if_match,
        }),
        (Method::Delete, _) => Planned::NothingDeleted,
        (_, Target::Create { id, claim }) if entry.method == Method::Post || claim.is_some() => {
            Planned::Write(WriteOp::Create {
                resource_type,
                id,
                resource: entry.resource.unwrap_or(Value::Null),
                if_none_exist: claim,
            })
        }
        (_, Target::Id(id) | Target::Create { id, .. }) => Planned::Write(WriteOp::Update {
            resource_type,
            resource: with_id(entry.resource, &id),
            id,
            if_match,
        }),
        // a PUT always has a target; kept total for the compiler
        (_, Target::Nothing) => Planned::NothingDeleted,
    }
}

pub(super) fn entry_outcome(outcome: WriteOutcome) -> EntryOutcome {
    match outcome {
        WriteOutcome::Created(s) => EntryOutcome::Written(Written::Created(s)),
        WriteOutcome::Matched(s) => EntryOutcome::Written(Written::Existing(s)),
        WriteOutcome::Updated(s) => EntryOutcome::Written(Written::Updated(s)),
        WriteOutcome::Deleted { version_id } => EntryOutcome::Deleted(version_id),
        // Bundle entries never enqueue deliveries (the referral workflow does, after them),
        // and intake takes the audit intent's outcome out before entries see outcomes.
        WriteOutcome::DeliveryEnqueued { .. } | WriteOutcome::Audited { .. } => {
            EntryOutcome::Failed(AppError::Store(crate::store::StoreError::Backend(
                "an outbox record or audit intent is not a Bundle entry".into(),
            )))
        }
    }
}
