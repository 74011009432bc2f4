//! Reading a request body under the configured size limit.

use super::{ApiError, AppState};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest};
use bytes::{Bytes, BytesMut};
use fhir_engine::outcome::IssueType;
use futures_util::StreamExt;

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        IssueType::TooLong,
        format!("the request body is larger than the limit of {limit} bytes"),
    )
}

/// Reads the body under the size limit, within `security.body_timeout_ms` (slow clients).
/// The JSON limits (depth, number of values) are enforced where the body is parsed.
pub async fn read_limited(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let Some(timeout_ms) = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.settings.security.body_timeout_ms)
    else {
        return read_body(req, payload, limit).await;
    };
    let timeout = std::time::Duration::from_millis(timeout_ms);
    actix_web::rt::time::timeout(timeout, read_body(req, payload, limit))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                IssueType::Timeout,
                format!("the request body did not arrive within {timeout_ms} ms"),
            )
        })?
}

async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(8 * 1024).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                IssueType::Structure,
                format!("the request body could not be read: {e}"),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    if body.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            IssueType::Required,
            "the request body is empty; a FHIR resource is expected",
        ));
    }
    Ok(body.freeze())
}

/// The body of a FHIR JSON request whose answer is FHIR JSON: both media types checked (415,
/// 406), then read within the configured size limit (413).
pub async fn fhir_json_body(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<Bytes, ApiError> {
    super::media_type::require_json_body(req)?;
    super::media_type::require_acceptable_response(req)?;
    read_limited(req, payload, state.settings.limits.max_body_bytes).await
}
