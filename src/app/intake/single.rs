//! Create, update and delete of one resource.

use super::{check_supported_type, Intake};
use crate::app::conditional::parse_if_none_exist;
use crate::app::AppError;
use crate::store::{StoredResource, WriteOp, WriteOutcome};
use fhir_engine::model::id::is_valid_id;
use fhir_engine::model::server_id::new_server_id;
use fhir_engine::outcome::{Issue, IssueType};

/// A write that went through, with the validation warnings that did not stop it.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub written: Written,
    pub warnings: Vec<Issue>,
}

/// The result of a write that stored (or, for a conditional create, found) a resource.
#[derive(Debug, Clone)]
pub enum Written {
    Created(StoredResource),
    /// Nothing was stored: the conditional create matched this resource, or the update sent
    /// what it already holds.
    Existing(StoredResource),
    Updated(StoredResource),
}

impl Intake {
    pub async fn create(
        &self,
        resource_type: &str,
        body: &[u8],
        if_none_exist: Option<&str>,
    ) -> Result<Accepted, AppError> {
        check_supported_type(resource_type)?;
        let if_none_exist = if_none_exist
            .map(parse_if_none_exist)
            .transpose()
            .map_err(AppError::invalid)?;
        let (resource, warnings) = self.parse_valid(body, resource_type)?;
        let op = WriteOp::Create {
            resource_type: resource_type.to_string(),
            id: new_server_id(),
            resource,
            if_none_exist,
        };
        let written = self.write_one(op).await?;
        Ok(Accepted { written, warnings })
    }

    pub async fn update(
        &self,
        resource_type: &str,
        id: &str,
        body: &[u8],
        if_match: Option<u64>,
    ) -> Result<Accepted, AppError> {
        check_supported_type(resource_type)?;
        check_id(id)?;
        let (resource, warnings) = self.parse_valid(body, resource_type)?;
        match resource.get("id").and_then(|v| v.as_str()) {
            Some(body_id) if body_id == id => {}
            Some(body_id) => {
                return Err(AppError::invalid(
                    Issue::error(
                        IssueType::Invalid,
                        format!("the resource id '{body_id}' does not match the URL id '{id}'"),
                    )
                    .at(format!("{resource_type}.id")),
                ))
            }
            None => {
                return Err(AppError::invalid(
                    Issue::error(IssueType::Required, "an update must carry the resource id")
                        .at(format!("{resource_type}.id")),
                ))
            }
        }
        if let Some(stored) = self
            .unchanged(resource_type, id, &resource, if_match)
            .await?
        {
            return Ok(Accepted {
                written: Written::Existing(stored),
                warnings,
            });
        }
        let op = WriteOp::Update {
            resource_type: resource_type.to_string(),
            id: id.to_string(),
            resource,
            if_match,
        };
        let written = self.write_one(op).await?;
        Ok(Accepted { written, warnings })
    }

    /// Returns the tombstone's version, or `None` when there was nothing to delete.
    pub async fn delete(&self, resource_type: &str, id: &str) -> Result<Option<u64>, AppError> {
        check_supported_type(resource_type)?;
        check_id(id)?;
        let ops = vec![WriteOp::Delete {
            resource_type: resource_type.to_string(),
            id: id.to_string(),
            if_match: None,
        }];
        match self.apply(ops, |_| None, None).await?.pop() {
            Some(WriteOutcome::Deleted { version_id }) => Ok(version_id),
            _ => Err(unexpected()),
        }
    }

    async fn write_one(&self, op: WriteOp) -> Result<Written, AppError> {
        let outcome = self.apply(vec![op], |_| None, None).await?.pop();
        match outcome {
            Some(WriteOutcome::Created(s)) => Ok(Written::Created(s)),
            Some(WriteOutcome::Matched(s)) => Ok(Written::Existing(s)),
            Some(WriteOutcome::Updated(s)) => Ok(Written::Updated(s)),
            _ => Err(unexpected()),
        }
    }
}

pub(crate) fn check_id(id: &str) -> Result<(), AppError> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(AppError::invalid(Issue::error(
            IssueType::Invalid,
            "a resource id has 1 to 64 characters from A-Z, a-z, 0-9, '-' and '.'",
        )))
    }
}

fn unexpected() -> AppError {
    AppError::Store(crate::store::StoreError::Backend(
        "the store returned an unexpected outcome".into(),
    ))
}
