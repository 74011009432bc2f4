//! Every error leaves as an OperationOutcome with the right status.

use super::responses::fhir_json;
use crate::app::AppError;
use crate::store::StoreError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use fhir_engine::outcome::{operation_outcome, Issue, IssueType};
use std::fmt;

/// `Retry-After` of a 503: the store sheds load for moments, not minutes.
const RETRY_AFTER_SECS: &str = "1";

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
        let mut res = fhir_json(self.status, operation_outcome(&self.issues).to_string());
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            // the store was busy or away for a moment (a full write queue, a pool timeout)
            res.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        res
    }
}

pub fn status_of(error: &AppError) -> StatusCode {
    match error {
        AppError::Invalid(_) | AppError::Store(StoreError::TooCostly(_)) => StatusCode::BAD_REQUEST,
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
        // a too-costly resource is the client's error, not the store's
        match &error {
            AppError::Store(StoreError::TooCostly(_)) => {}
            AppError::Store(e) => tracing::error!(error = %e, "store failure"),
            AppError::Invalid(issues) | AppError::Unprocessable(issues) => {
                crate::telemetry::metrics::validation_rejection(issues)
            }
            _ => {}
        }
        Self {
            status: status_of(&error),
            issues: error.issues(),
        }
    }
}
