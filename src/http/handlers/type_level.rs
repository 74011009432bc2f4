use crate::app::conditional::create_criteria;
use crate::app::AppError;
use crate::http::body::fhir_json_body;
use crate::http::prefer::{return_preference, ReturnPreference};
use crate::http::responses::accepted_response;
use crate::http::{ApiError, AppState};
use actix_web::{web, HttpRequest, HttpResponse};

/// `POST /fhir/{type}`, optionally conditional with `If-None-Exist` or with criteria in the
/// query (`POST /fhir/{type}?identifier=…`, read as conditional create criteria).
pub async fn create(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = fhir_json_body(&req, payload, &state).await?;
    let header = req
        .headers()
        .get("if-none-exist")
        .and_then(|v| v.to_str().ok());
    let criteria = create_criteria(req.query_string(), header).map_err(AppError::invalid)?;
    let intake = state.intake_for(&req);
    let resource_type = path.into_inner();
    let accepted = state
        .compute
        .run(async move {
            intake
                .create(&resource_type, &body, criteria.as_deref())
                .await
        })
        .await?;
    let preference = return_preference(&req).unwrap_or(ReturnPreference::Representation);
    let base = state.base_url(&req);
    Ok(accepted_response(&accepted, &base, preference))
}
