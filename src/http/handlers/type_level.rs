use crate::http::body::fhir_json_body;
use crate::http::prefer::{return_preference, ReturnPreference};
use crate::http::responses::accepted_response;
use crate::http::{ApiError, AppState};
use actix_web::{web, HttpRequest, HttpResponse};

/// `POST /fhir/{type}`, optionally conditional with `If-None-Exist`.
pub async fn create(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = fhir_json_body(&req, payload, &state).await?;
    let if_none_exist = req
        .headers()
        .get("if-none-exist")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let intake = state.intake_for(&req);
    let resource_type = path.into_inner();
    let accepted = state
        .compute
        .run(async move {
            intake
                .create(&resource_type, &body, if_none_exist.as_deref())
                .await
        })
        .await?;
    let preference = return_preference(&req).unwrap_or(ReturnPreference::Representation);
    let base = state.base_url(&req);
    Ok(accepted_response(&accepted, &base, preference))
}
