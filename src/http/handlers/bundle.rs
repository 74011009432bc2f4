use crate::http::body::fhir_json_body;
use crate::http::bundle_response::bundle_response;
use crate::http::prefer::{return_preference, ReturnPreference};
use crate::http::responses::fhir_json;
use crate::http::{ApiError, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

/// `POST /fhir` with a transaction or batch Bundle.
pub async fn process(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = fhir_json_body(&req, payload, &state).await?;
    crate::http::auth::bundle_access::authorize_bundle(&req, &body)?;
    let base = state.base_url(&req);
    let intake = state.intake_for(&req);
    let outcome = {
        let base = base.clone();
        state
            .compute
            .run(async move { intake.process_bundle(&body, &base).await })
            .await?
    };
    // Bundle responses carry resources only when asked: they can be large.
    let preference = return_preference(&req).unwrap_or(ReturnPreference::Minimal);
    let json = bundle_response(&outcome, &base, preference, &|rt| {
        state.validation.validator().top_level_elements(rt)
    });
    Ok(fhir_json(StatusCode::OK, json))
}
