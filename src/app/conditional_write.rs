//! Conditional update and delete (`PUT` / `DELETE /fhir/{type}?criteria`), R4 §3.1.0.4.3
//! and §3.1.0.7.1: the criteria are a search; none, one or several matches decide.

use super::conditional::parse_if_none_exist;
use super::intake::{Accepted, Intake, PatchFormat};
use super::search::Search;
use super::AppError;
use fhir_engine::json::parse_resource;
use fhir_engine::outcome::{Issue, IssueType};
use serde_json::Value;

fn several(resource_type: &str, what: &str) -> AppError {
    AppError::PreconditionFailed(Issue::error(
        IssueType::Duplicate,
        format!("the conditional {what} criteria match more than one {resource_type}; they must match at most one"),
    ))
}

/// No match: create (atomically claimed when the criteria are one identifier); one match:
/// update it (the body's id, if any, must be that id); several: 412.
#[allow(clippy::too_many_arguments)]
pub async fn conditional_update(
    search: &Search,
    intake: &Intake,
    resource_type: &str,
    params: &[(String, String)],
    raw_query: &str,
    body: &[u8],
    if_match: Option<u64>,
    base_url: &str,
) -> Result<Accepted, AppError> {
    let ids = search
        .conditional_matches(resource_type, params, base_url)
        .await?;
    match ids.as_slice() {
        [] => {
            // `identifier=…` alone: the create claims it, so two racing updates store one
            let claim = parse_if_none_exist(raw_query).ok().map(|_| raw_query);
            intake.create(resource_type, body, claim).await
        }
        [id] => {
            let mut resource = parse_resource(body, intake.json_limits())?;
            match resource.get("id").and_then(Value::as_str) {
                Some(body_id) if body_id != id => {
                    return Err(AppError::invalid(
                        Issue::error(
                            IssueType::Invalid,
                            format!(
                            "the resource id '{body_id}' is not the id '{id}' the criteria matched"
                        ),
                        )
                        .at(format!("{resource_type}.id")),
                    ))
                }
                Some(_) => {
                    return intake.update(resource_type, id, body, if_match).await;
                }
                None => {}
            }
            // parse_resource accepts only an object
            if let Some(fields) = resource.as_object_mut() {
                fields.insert("id".into(), Value::String(id.clone()));
            }
            let with_id = resource.to_string();
            intake
                .update(resource_type, id, with_id.as_bytes(), if_match)
                .await
        }
        _ => Err(several(resource_type, "update")),
    }
}

/// Deletes the one match; None when nothing matched. Several matches: 412.
pub async fn conditional_delete(
    search: &Search,
    intake: &Intake,
    resource_type: &str,
    params: &[(String, String)],
    base_url: &str,
) -> Result<Option<(String, Option<u64>)>, AppError> {
    let ids = search
        .conditional_matches(resource_type, params, base_url)
        .await?;
    match ids.as_slice() {
        [] => Ok(None),
        [id] => {
            let version = intake.delete(resource_type, id).await?;
            Ok(Some((id.clone(), version)))
        }
        _ => Err(several(resource_type, "delete")),
    }
}

/// Conditional patch (`PATCH /fhir/{type}?criteria`): patches the one match; no match is 404
/// (there is nothing to patch) and several are 412.
#[allow(clippy::too_many_arguments)]
pub async fn conditional_patch(
    search: &Search,
    intake: &Intake,
    resource_type: &str,
    params: &[(String, String)],
    format: PatchFormat,
    body: &[u8],
    if_match: Option<u64>,
    base_url: &str,
) -> Result<Accepted, AppError> {
    let ids = search
        .conditional_matches(resource_type, params, base_url)
        .await?;
    match ids.as_slice() {
        [] => Err(AppError::NotFound(Issue::error(
            IssueType::NotFound,
            format!(
                "no {resource_type} matched the conditional patch criteria; nothing was patched"
            ),
        ))),
        [id] => {
            intake
                .patch(resource_type, id, format, body, if_match)
                .await
        }
        _ => Err(several(resource_type, "patch")),
    }
}
