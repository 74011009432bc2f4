//! "An EHR reads its own Tasks": a client registered with `own_referrals_only` sees only the
//! Tasks of the referrals it submitted (the submitter tag on each referral Task). Another
//! client's Task is answered as if it did not exist: 404 on read, absent from searches,
//! `_include`/`_revinclude` and history.

use crate::app::auth::principal::Principal;
use crate::app::AppError;
use crate::domain::care_planning::submitter::{submitter_of, submitter_token};
use crate::store::StoredResource;
use fhir_engine::outcome::{Issue, IssueType};

/// The `_tag` criterion added to a restricted caller's Task search.
pub fn task_search_tag(caller: &Principal, resource_type: &str) -> Option<String> {
    caller
        .restricted_to()
        .filter(|_| resource_type == "Task")
        .map(submitter_token)
}

/// Whether the caller may see this stored version: anything but another client's Task (and,
/// for a restricted caller, Task tombstones, which carry no submitter).
pub fn may_see(caller: &Principal, stored: &StoredResource) -> bool {
    let Some(client) = caller.restricted_to() else {
        return true;
    };
    stored.resource_type != "Task"
        || stored.resource().as_ref().and_then(submitter_of) == Some(client)
}

fn hidden(resource_type: &str, id: &str) -> AppError {
    AppError::NotFound(Issue::error(
        IssueType::NotFound,
        format!("{resource_type}/{id} is not known"),
    ))
}

/// A read or vread as the caller may see it: another client's Task, or a deleted Task of a
/// restricted caller, is not known.
pub fn visible_read(
    caller: &Principal,
    resource_type: &str,
    id: &str,
    read: Result<StoredResource, AppError>,
) -> Result<StoredResource, AppError> {
    if caller.restricted_to().is_none() || resource_type != "Task" {
        return read;
    }
    match read {
        Ok(stored) if may_see(caller, &stored) => Ok(stored),
        Ok(_) | Err(AppError::Gone(_)) => Err(hidden(resource_type, id)),
        Err(e) => Err(e),
    }
}

/// Drops the versions the caller may not see; an instance history left empty is not known.
pub fn visible_history(
    caller: &Principal,
    instance: Option<(&str, &str)>,
    versions: &mut Vec<StoredResource>,
) -> Result<(), AppError> {
    let before = versions.len();
    versions.retain(|v| may_see(caller, v));
    match instance {
        Some((t, id)) if before > 0 && versions.is_empty() => Err(hidden(t, id)),
        _ => Ok(()),
    }
}
