//! `$validate` at system, type and instance level: 200 with the OperationOutcome whether the
//! resource is valid or not; 4xx only when validation cannot run (e.g. an unknown profile).

use crate::app::validation::ValidateCall;
use crate::http::body::fhir_json_body;
use crate::http::responses::fhir_json;
use crate::http::{ApiError, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use fhir_engine::outcome::operation_outcome;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct ValidateQuery {
    profile: Option<String>,
}

async fn run(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    query: ValidateQuery,
    resource_type: Option<&str>,
    id: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let body = fhir_json_body(&req, payload, &state).await?;
    let validation = state.validation.clone();
    let (resource_type, id) = (resource_type.map(str::to_string), id.map(str::to_string));
    let issues = state
        .compute
        .run(async move {
            let call = ValidateCall {
                resource_type: resource_type.as_deref(),
                id: id.as_deref(),
                profile: query.profile.as_deref(),
            };
            validation.validate(&call, &body)
        })
        .await?;
    Ok(fhir_json(
        StatusCode::OK,
        operation_outcome(&issues).to_string(),
    ))
}

/// `POST /fhir/$validate`
pub async fn validate_system(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    query: web::Query<ValidateQuery>,
) -> Result<HttpResponse, ApiError> {
    run(req, payload, state, query.into_inner(), None, None).await
}

/// `POST /fhir/{type}/$validate`
pub async fn validate_type(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
    query: web::Query<ValidateQuery>,
) -> Result<HttpResponse, ApiError> {
    run(req, payload, state, query.into_inner(), Some(&path), None).await
}

/// `POST /fhir/{type}/{id}/$validate`
pub async fn validate_instance(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    state: web::Data<AppState>,
    query: web::Query<ValidateQuery>,
) -> Result<HttpResponse, ApiError> {
    let (resource_type, id) = path.into_inner();
    run(
        req,
        payload,
        state,
        query.into_inner(),
        Some(&resource_type),
        Some(&id),
    )
    .await
}
