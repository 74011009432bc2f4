//! Scope checks for the entries of a transaction or batch Bundle, before intake sees it:
//! every entry's interaction must be allowed, or the whole Bundle is refused (403).

use super::guard::{add_audit_detail, principal};
use crate::app::auth::principal::Principal;
use crate::app::intake::{BundleOutcome, EntryOutcome, Written};
use crate::domain::auth::audit_event::AuditEntity;
use crate::domain::auth::scope::Interaction;
use crate::http::ApiError;
use actix_web::http::StatusCode;
use actix_web::HttpRequest;
use fhir_engine::json::member::{member_str, Member};
use fhir_engine::model::reference;
use fhir_engine::outcome::{Issue, IssueType};
use serde_json::Value;

/// (interaction or operation, type, id) of one entry.
enum EntryAccess {
    Rest(Interaction, String, Option<String>),
    Operation(String),
    Unknown,
}

fn entry_access(entry: &Value) -> EntryAccess {
    let Some(request) = entry.member("request") else {
        return EntryAccess::Unknown;
    };
    let url = member_str(request, "url").unwrap_or_default();
    let (path, query) = url
        .split_once('?')
        .map_or((url, None), |(p, q)| (p, Some(q)));
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if let Some(op) = segments.iter().find_map(|s| s.strip_prefix('$')) {
        return EntryAccess::Operation(op.to_string());
    }
    let body_type = entry
        .member("resource")
        .and_then(|r| member_str(r, "resourceType"))
        .map(str::to_string);
    let url_type = segments.first().map(|s| s.to_string());
    if matches!((&url_type, &body_type), (Some(u), Some(b)) if u != b) {
        // intake refuses the mismatch; only the all-powerful get that far
        return EntryAccess::Unknown;
    }
    let id = segments.get(1).map(|s| s.to_string());
    let Some(resource_type) = url_type.or(body_type) else {
        return EntryAccess::Unknown;
    };
    let interaction = match member_str(request, "method") {
        Some("POST") => Interaction::Create,
        Some("PUT") => Interaction::Update,
        Some("PATCH") => Interaction::Patch,
        Some("DELETE") => Interaction::Delete,
        Some("GET" | "HEAD") if id.is_none() || query.is_some() => Interaction::Search,
        Some("GET" | "HEAD") if segments.get(2) == Some(&"_history") => {
            if segments.len() > 3 {
                Interaction::Vread
            } else {
                Interaction::History
            }
        }
        Some("GET" | "HEAD") => Interaction::Read,
        _ => return EntryAccess::Unknown,
    };
    EntryAccess::Rest(interaction, resource_type, id)
}

/// What each entry of a Bundle addresses (by entry index; `None` for an operation or an
/// unreadable request), so that its audit record can name what the Bundle wrote.
pub type EntryTargets = Vec<Option<AuditEntity>>;

/// Entities named when a Bundle fails before its entries are processed.
const MAX_ADDRESSED_ENTITIES: usize = 100;

/// Refuses the Bundle unless the caller's scopes allow every entry; records the entries for
/// the audit trail and returns them by entry index. `bundle` is `body` as intake parsed it
/// (`Intake::parse_bundle`): what is authorized is what is processed.
pub fn authorize_bundle(
    req: &HttpRequest,
    bundle: &Value,
    body: &[u8],
) -> Result<EntryTargets, ApiError> {
    let caller = principal(req);
    let entries: &[Value] = bundle
        .member("entry")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let mut targets: EntryTargets = Vec::with_capacity(entries.len());
    let mut denied = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let mut reason = "the token's scopes do not allow this entry's interaction";
        let mut target = None;
        let allowed = match entry_access(entry) {
            EntryAccess::Rest(interaction, t, id) => {
                // A client that sees only its own Tasks reads with GET /fhir/…, where its
                // filter applies (searches' _include and _revinclude included).
                let reads = matches!(
                    interaction,
                    Interaction::Read
                        | Interaction::Vread
                        | Interaction::Search
                        | Interaction::History
                );
                let restricted_read = reads && caller.restricted_to().is_some();
                if restricted_read {
                    reason = "this client sees only its own Tasks: it reads with GET /fhir/..., not with GET entries of a Bundle";
                }
                let ok = caller.scopes.permits(interaction, &t) && !restricted_read;
                target = Some(AuditEntity {
                    resource_type: t,
                    id: id.filter(|_| interaction != Interaction::Create),
                    version: None,
                });
                ok
            }
            EntryAccess::Operation(op) => caller.scopes.permits_operation(&op),
            // intake rejects entries without a usable request; only the all-powerful pass here
            EntryAccess::Unknown => caller.scopes.permits(Interaction::Create, "*"),
        };
        targets.push(target);
        if !allowed {
            denied.push(
                Issue::error(IssueType::Forbidden, reason).at(format!("Bundle.entry[{i}].request")),
            );
        }
    }
    // a conditional reference has a '?': most Bundles need no walk of their references
    if body.contains(&b'?') {
        denied.extend(conditional_reference_access(&caller, entries));
    }
    add_audit_detail(req, |d| {
        d.subtype = member_str(bundle, "type")
            .filter(|k| *k == "batch" || *k == "transaction")
            .map(str::to_string);
        d.entities = targets
            .iter()
            .flatten()
            .take(MAX_ADDRESSED_ENTITIES)
            .cloned()
            .collect();
    });
    if denied.is_empty() {
        Ok(targets)
    } else {
        Err(ApiError {
            status: StatusCode::FORBIDDEN,
            issues: denied,
        })
    }
}

/// A conditional reference (`Patient?identifier=…`) searches its type: the caller needs search
/// access to it, and a client that sees only its own Tasks may not probe Tasks this way.
fn conditional_reference_access(caller: &Principal, entries: &[Value]) -> Vec<Issue> {
    let mut denied = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let Some(resource) = entry.member("resource") else {
            continue;
        };
        for (path, r) in reference::references_with_paths(resource) {
            let Some((rt, _)) = reference::conditional(&r) else {
                continue;
            };
            let own_tasks_only = rt == "Task" && caller.restricted_to().is_some();
            if own_tasks_only || !caller.scopes.permits(Interaction::Search, rt) {
                denied.push(
                    Issue::error(
                        IssueType::Forbidden,
                        format!("the conditional reference searches {rt}, which this token may not search"),
                    )
                    .at(format!("Bundle.entry[{i}].resource.{path}")),
                );
            }
        }
    }
    denied
}

/// Once a Bundle is processed, its audit record names every resource version it created,
/// updated or deleted (`Type/id/_history/version`), then what its other entries addressed.
pub fn record_bundle_outcome(req: &HttpRequest, outcome: &BundleOutcome, targets: &EntryTargets) {
    let mut written = Vec::new();
    let mut addressed = Vec::new();
    for (i, entry) in outcome.entries.iter().enumerate() {
        let target = targets.get(i).cloned().flatten();
        match entry {
            EntryOutcome::Written(Written::Created(s) | Written::Updated(s)) => {
                written.push(AuditEntity {
                    resource_type: s.resource_type.clone(),
                    id: Some(s.id.clone()),
                    version: Some(s.version_id.to_string()),
                });
            }
            EntryOutcome::Written(Written::Existing(s))
            | EntryOutcome::Read(s)
            | EntryOutcome::NotModified(s) => addressed.push(AuditEntity {
                resource_type: s.resource_type.clone(),
                id: Some(s.id.clone()),
                version: None,
            }),
            EntryOutcome::Deleted(Some(version)) => {
                if let Some(mut target) = target {
                    target.version = target.id.is_some().then(|| version.to_string());
                    written.push(target);
                }
            }
            EntryOutcome::Deleted(None) | EntryOutcome::Searched(_) | EntryOutcome::Failed(_) => {
                addressed.extend(target)
            }
        }
    }
    let room = MAX_ADDRESSED_ENTITIES.saturating_sub(written.len());
    written.extend(addressed.into_iter().take(room));
    add_audit_detail(req, |d| d.entities = written);
}
