//! The referral workflow's operations: `$process-message` (a referral sent as a FHIR message)
//! and `ServiceRequest/$evaluate-eligibility` (a dry run).

use crate::http::body::fhir_json_body;
use crate::http::responses::fhir_json;
use crate::http::{ApiError, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

/// `POST /fhir/$process-message`: synchronous; 200 with the response message.
pub async fn process_message(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = fhir_json_body(&req, payload, &state).await?;
    let intake = state.intake_for(&req);
    let base = state.base_url(&req);
    let outcome = state
        .compute
        .run(async move { intake.process_message(&body, &base).await })
        .await?;
    Ok(fhir_json(StatusCode::OK, outcome.response.to_string()))
}

/// `POST /fhir/ServiceRequest/$evaluate-eligibility`: the determination and the plan it would
/// generate, with nothing stored.
pub async fn evaluate_eligibility(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = fhir_json_body(&req, payload, &state).await?;
    let intake = state.intake.clone();
    let parameters = state
        .compute
        .run(async move { intake.evaluate_eligibility(&body).await })
        .await?;
    Ok(fhir_json(StatusCode::OK, parameters.to_string()))
}
