//! `PATCH`: the stored resource, changed by a JSON Patch or a FHIRPath Patch, then stored as an
//! update of the version it was read at, with the same validation, workflow and audit.

use super::single::check_id;
use super::{check_supported_type, Accepted, Intake};
use crate::app::reads::Reads;
use crate::app::AppError;
use fhir_engine::json::{parse_bounded, parse_resource};
use fhir_engine::outcome::{Issue, IssueType};
use fhir_engine::patch::{apply_fhirpath_patch, apply_json_patch, PatchError};

/// The two patch formats R4 defines for JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchFormat {
    /// RFC 6902, `application/json-patch+json`.
    JsonPatch,
    /// A Parameters resource, `application/fhir+json`.
    FhirPathPatch,
}

impl Intake {
    pub async fn patch(
        &self,
        resource_type: &str,
        id: &str,
        format: PatchFormat,
        body: &[u8],
        if_match: Option<u64>,
    ) -> Result<Accepted, AppError> {
        check_supported_type(resource_type)?;
        check_id(id)?;
        let patch = match format {
            PatchFormat::JsonPatch => parse_bounded(body, self.json_limits())?,
            PatchFormat::FhirPathPatch => parse_resource(body, self.json_limits())?,
        };
        let stored = Reads::new(self.store.clone())
            .read(resource_type, id)
            .await?;
        if let Some(expected) = if_match.filter(|v| *v != stored.version_id) {
            return Err(AppError::PreconditionFailed(Issue::error(
                IssueType::Conflict,
                format!(
                    "If-Match expected version {expected}, the current version is {}",
                    stored.version_id
                ),
            )));
        }
        let mut resource = stored.resource().ok_or_else(|| {
            AppError::Gone(Issue::error(
                IssueType::Deleted,
                format!("{resource_type}/{id} has been deleted"),
            ))
        })?;
        match format {
            PatchFormat::JsonPatch => apply_json_patch(&mut resource, &patch),
            PatchFormat::FhirPathPatch => apply_fhirpath_patch(&mut resource, &patch),
        }
        .map_err(patch_error)?;
        let patched = serde_json::to_vec(&resource)
            .map_err(|e| AppError::invalid(Issue::error(IssueType::Exception, e.to_string())))?;
        // Stored only over the version patched: a write in between makes this a 412, never
        // a lost update.
        self.update(resource_type, id, &patched, Some(stored.version_id))
            .await
            .map_err(|e| match e {
                // the client sent a patch, not this body: an invalid result is unprocessable,
                // and line numbers in our own serialisation would mislead
                AppError::Invalid(issues) | AppError::Unprocessable(issues) => {
                    AppError::Unprocessable(
                        issues
                            .into_iter()
                            .map(|mut i| {
                                i.diagnostics = None;
                                i
                            })
                            .collect(),
                    )
                }
                other => other,
            })
    }
}

fn patch_error(e: PatchError) -> AppError {
    let issue = |code, e: &PatchError| {
        let issue = Issue::error(code, format!("the patch was not applied: {e}"));
        match e.expression() {
            Some(at) => issue.at(at),
            None => issue,
        }
    };
    match &e {
        PatchError::Malformed { .. } => AppError::invalid(issue(IssueType::Invalid, &e)),
        PatchError::NotApplicable { .. } => {
            AppError::Unprocessable(vec![issue(IssueType::Processing, &e)])
        }
    }
}
