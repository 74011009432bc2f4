//! Read and vread.

use crate::app::intake::check_supported_type;
use crate::app::AppError;
use crate::store::{SharedStore, StoredResource};
use fhir_engine::outcome::{Issue, IssueType};

#[derive(Clone)]
pub struct Reads {
    store: SharedStore,
}

impl Reads {
    pub fn new(store: SharedStore) -> Self {
        Self { store }
    }

    pub async fn read(&self, resource_type: &str, id: &str) -> Result<StoredResource, AppError> {
        check_supported_type(resource_type)?;
        match self
            .store
            .read(resource_type, id)
            .await
            .map_err(AppError::Store)?
        {
            Some(r) if r.deleted => Err(AppError::Gone(Issue::error(
                IssueType::Deleted,
                format!("{resource_type}/{id} has been deleted"),
            ))),
            Some(r) => Ok(r),
            None => Err(not_found(format!("{resource_type}/{id} is not known"))),
        }
    }

    pub async fn vread(
        &self,
        resource_type: &str,
        id: &str,
        version: &str,
    ) -> Result<StoredResource, AppError> {
        check_supported_type(resource_type)?;
        let Ok(version_id) = version.parse::<u64>() else {
            return Err(not_found(format!(
                "{resource_type}/{id} has no version '{version}'"
            )));
        };
        match self
            .store
            .vread(resource_type, id, version_id)
            .await
            .map_err(AppError::Store)?
        {
            Some(r) if r.deleted => Err(AppError::Gone(Issue::error(
                IssueType::Deleted,
                format!("version {version_id} of {resource_type}/{id} is a deletion"),
            ))),
            Some(r) => Ok(r),
            None => Err(not_found(format!(
                "{resource_type}/{id} has no version {version_id}"
            ))),
        }
    }

    pub async fn ready(&self) -> Result<(), AppError> {
        self.store.ping().await.map_err(AppError::Store)
    }

    /// The store's queue and connections right now (`GET /metrics`).
    pub fn load(&self) -> crate::store::StoreLoad {
        self.store.load()
    }
}

fn not_found(text: String) -> AppError {
    AppError::NotFound(Issue::error(IssueType::NotFound, text))
}
