//! Every error leaves as an OperationOutcome with the right status.

use super::responses::fhir_json;
use crate::app::AppError;
use crate::store::StoreError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use fhir_engine::outcome::{operation_outcome, Issue, IssueType};
use std::fmt;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub issues: Vec<Issue>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: IssueType, text: impl Into<String>) -> Self {
        Self {
            status,
            issues: vec![Issue::error(code, text)],
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} issues)", self.status, self.issues.len())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        fhir_json(self.status, operation_outcome(&self.issues).to_string())
    }
}

pub fn status_of(error: &AppError) -> StatusCode {
    match error {
        AppError::Invalid(_) => StatusCode::BAD_REQUEST,
        AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::UnsupportedType(_) | AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Gone(_) => StatusCode::GONE,
        AppError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
        AppError::Conflict(_) => StatusCode::CONFLICT,
        AppError::Store(StoreError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
        AppError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        if let AppError::Store(e) = &error {
            tracing::error!(error = %e, "store failure");
        }
        Self {
            status: status_of(&error),
            issues: error.issues(),
        }
    }
}
