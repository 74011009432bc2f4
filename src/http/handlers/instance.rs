use crate::app::conditional::parse_etag_version;
use crate::app::intake::PatchFormat;
use crate::http::auth::own_tasks;
use crate::http::body::read_limited;
use crate::http::if_match::if_match_version;
use crate::http::media_type::{require_acceptable_response, require_json_body};
use crate::http::prefer::{return_preference, ReturnPreference};
use crate::http::responses::{accepted_response, etag, fhir_json, resource_response};
use crate::http::{ApiError, AppState};
use crate::store::StoredResource;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use fhir_engine::outcome::{operation_outcome, Issue, IssueType};

fn not_modified(req: &HttpRequest, stored: &StoredResource) -> Option<HttpResponse> {
    let tag = etag(stored.version_id);
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|t| {
                t.trim() == tag
                    || t.trim() == "*"
                    || parse_etag_version(t) == Some(stored.version_id)
            })
        });
    matches.then(|| {
        HttpResponse::NotModified()
            .insert_header((header::ETAG, tag))
            .finish()
    })
}

fn read_response(req: &HttpRequest, stored: &StoredResource) -> HttpResponse {
    not_modified(req, stored).unwrap_or_else(|| {
        resource_response(
            StatusCode::OK,
            stored,
            None,
            ReturnPreference::Representation,
            &[],
        )
    })
}

/// `GET /fhir/{type}/{id}`
pub async fn read(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_acceptable_response(&req)?;
    let (resource_type, id) = path.into_inner();
    let read = state.reads.read(&resource_type, &id).await;
    let caller = crate::http::auth::principal(&req);
    let stored = own_tasks::visible_read(&caller, &resource_type, &id, read)?;
    Ok(read_response(&req, &stored))
}

/// `GET /fhir/{type}/{id}/_history/{vid}`
pub async fn vread(
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_acceptable_response(&req)?;
    let (resource_type, id, vid) = path.into_inner();
    let read = state.reads.vread(&resource_type, &id, &vid).await;
    let caller = crate::http::auth::principal(&req);
    let stored = own_tasks::visible_read(&caller, &resource_type, &id, read)?;
    Ok(read_response(&req, &stored))
}

/// `PUT /fhir/{type}/{id}`, optionally with `If-Match: W/"n"`.
pub async fn update(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_json_body(&req)?;
    require_acceptable_response(&req)?;
    let if_match = if_match_version(&req)?;
    let body = read_limited(&req, payload, state.settings.limits.max_body_bytes).await?;
    let (resource_type, id) = path.into_inner();
    if if_match.is_none()
        && state.settings.search.require_if_match
        && state.reads.read(&resource_type, &id).await.is_ok()
    {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            IssueType::Required,
            format!("updates of {resource_type}/{id} must carry If-Match: W/\"<version>\" (search.require_if_match)"),
        ));
    }
    let intake = state.intake_for(&req);
    let (rt, resource_id) = (resource_type.clone(), id.clone());
    let accepted = state
        .compute
        .run(async move { intake.update(&rt, &resource_id, &body, if_match).await })
        .await?;
    let preference = return_preference(&req).unwrap_or(ReturnPreference::Representation);
    let base = state.base_url(&req);
    Ok(accepted_response(&accepted, &base, preference))
}

/// `DELETE /fhir/{type}/{id}`: 200 with an OperationOutcome, also when nothing was there.
pub async fn delete(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_acceptable_response(&req)?;
    let (resource_type, id) = path.into_inner();
    let deleted = state.intake_for(&req).delete(&resource_type, &id).await?;
    let text = match deleted {
        Some(v) => format!("{resource_type}/{id} deleted (version {v})"),
        None => format!("{resource_type}/{id} did not exist or was already deleted"),
    };
    let mut response = fhir_json(
        StatusCode::OK,
        operation_outcome(&[Issue::information(text)]).to_string(),
    );
    if let Some(v) = deleted {
        if let Ok(value) = header::HeaderValue::from_str(&etag(v)) {
            response.headers_mut().insert(header::ETAG, value);
        }
    }
    Ok(response)
}

/// `PATCH /fhir/{type}/{id}`: a JSON Patch (`application/json-patch+json`) or a FHIRPath
/// Patch (a Parameters resource, `application/fhir+json`), optionally with `If-Match`.
pub async fn patch(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let format = patch_format(&req)?;
    require_acceptable_response(&req)?;
    let if_match = if_match_version(&req)?;
    let body = read_limited(&req, payload, state.settings.limits.max_body_bytes).await?;
    let (resource_type, id) = path.into_inner();
    if if_match.is_none() && state.settings.search.require_if_match {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            IssueType::Required,
            format!("patches of {resource_type}/{id} must carry If-Match: W/\"<version>\" (search.require_if_match)"),
        ));
    }
    let accepted = state
        .intake_for(&req)
        .patch(&resource_type, &id, format, &body, if_match)
        .await?;
    let preference = return_preference(&req).unwrap_or(ReturnPreference::Representation);
    let base = state.base_url(&req);
    Ok(accepted_response(&accepted, &base, preference))
}

pub(crate) fn patch_format(req: &HttpRequest) -> Result<PatchFormat, ApiError> {
    let essence = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if essence.as_deref() == Some("application/json-patch+json") {
        return Ok(PatchFormat::JsonPatch);
    }
    require_json_body(req).map_err(|mut e| {
        if let Some(issue) = e.issues.first_mut() {
            issue.text.push_str(
                " (PATCH takes application/json-patch+json, or a FHIRPath Patch Parameters as application/fhir+json)",
            );
        }
        e
    })?;
    Ok(PatchFormat::FhirPathPatch)
}
