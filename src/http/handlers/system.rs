use crate::http::media_type::require_acceptable_response;
use crate::http::responses::fhir_json;
use crate::http::{ApiError, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use fhir_engine::outcome::IssueType;

/// `GET /fhir/metadata`
pub async fn metadata(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_acceptable_response(&req)?;
    Ok(fhir_json(StatusCode::OK, state.capability.clone()))
}

/// Liveness: the process answers.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: the store answers.
/// Ready when the store answers and the audit trail is being written: a replica that cannot
/// audit fails its requests, so it should get none.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if let Some(audit) = &state.security.audit {
        if !audit.is_writable() {
            tracing::warn!("readiness check failed: the audit trail cannot be written");
            return HttpResponse::ServiceUnavailable().json(serde_json::json!({
                "status": "unavailable",
                "reason": "the audit trail cannot be written"
            }));
        }
    }
    match state.reads.ready().await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "unavailable" }))
        }
    }
}

pub async fn not_found() -> HttpResponse {
    ApiError::new(
        StatusCode::NOT_FOUND,
        IssueType::NotFound,
        "no FHIR endpoint at this URL; see GET /fhir/metadata",
    )
    .error_response()
}
