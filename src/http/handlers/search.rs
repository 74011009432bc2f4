//! Search (`GET /fhir/{type}`, `POST /fhir/{type}/_search`), history (`_history` at three
//! levels) and conditional update/delete (`PUT`/`DELETE /fhir/{type}?criteria`).

use crate::app::conditional_write::{
    conditional_delete as delete_matching, conditional_patch as patch_matching,
    conditional_update as update_matching,
};
use crate::config::UnknownParameters;
use crate::domain::auth::scope::Interaction;
use crate::http::auth::own_tasks;
use crate::http::body::read_limited;
use crate::http::if_match::if_match_version;
use crate::http::media_type::{require_acceptable_response, require_json_body};
use crate::http::prefer::{return_preference, ReturnPreference};
use crate::http::responses::{accepted_response, etag, fhir_json};
use crate::http::search_bundle;
use crate::http::{ApiError, AppState};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use fhir_engine::outcome::{operation_outcome, Issue, IssueType};
use fhir_engine::search::parse::Handling;

/// Decoded `name=value` pairs of a query string or form body.
fn pairs(text: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(text).into_owned().collect()
}

/// `Prefer: handling=strict|lenient`; without it, `search.unknown_parameters` decides.
fn handling(req: &HttpRequest, state: &AppState) -> Handling {
    let asked = req
        .headers()
        .get_all("prefer")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .find_map(|part| {
            let (k, v) = part.trim().split_once('=')?;
            if !k.trim().eq_ignore_ascii_case("handling") {
                return None;
            }
            match v.trim().trim_matches('"').to_ascii_lowercase().as_str() {
                "strict" => Some(Handling::Strict),
                "lenient" => Some(Handling::Lenient),
                _ => None,
            }
        });
    asked.unwrap_or(match state.settings.search.unknown_parameters {
        UnknownParameters::Refuse => Handling::Strict,
        UnknownParameters::Ignore => Handling::Lenient,
    })
}

/// `compartment`: (compartment type, id) of a compartment search.
async fn run_search(
    req: &HttpRequest,
    state: &AppState,
    resource_type: &str,
    params: Vec<(String, String)>,
    compartment: Option<(&str, &str)>,
) -> Result<HttpResponse, ApiError> {
    let base = state.base_url(req);
    let caller = crate::http::auth::principal(req);
    let own_tag = own_tasks::task_search_tag(&caller, resource_type);
    let handling = handling(req, state);
    let mut page = match compartment {
        None => {
            state
                .search
                .search(resource_type, &params, own_tag.as_deref(), handling, &base)
                .await?
        }
        Some((compartment, id)) => {
            state
                .search
                .compartment_search(
                    compartment,
                    id,
                    resource_type,
                    &params,
                    own_tag.as_deref(),
                    handling,
                    &base,
                )
                .await?
        }
    };
    // _include/_revinclude never leak a type the caller may not search, nor another
    // client's Task
    page.result.included.retain(|r| {
        caller.scopes.permits(Interaction::Search, &r.resource_type)
            && own_tasks::may_see(&caller, r)
    });
    Ok(fhir_json(
        StatusCode::OK,
        search_bundle::searchset(&page, &base),
    ))
}

/// `GET /fhir/{type}?…`
pub async fn search_type(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_acceptable_response(&req)?;
    let params = pairs(req.query_string().as_bytes());
    run_search(&req, &state, &path, params, None).await
}

/// `GET /fhir/Patient/{id}/{type}?…`: search within a patient's compartment.
pub async fn search_compartment(
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_acceptable_response(&req)?;
    let (compartment, id, resource_type) = path.into_inner();
    let params = pairs(req.query_string().as_bytes());
    run_search(
        &req,
        &state,
        &resource_type,
        params,
        Some((&compartment, &id)),
    )
    .await
}

/// `POST /fhir/{type}/_search` with a form-encoded body (and possibly a query string too).
pub async fn search_post(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_acceptable_response(&req)?;
    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if form == Some(false) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IssueType::NotSupported,
            "POST _search takes an application/x-www-form-urlencoded body",
        ));
    }
    let body = read_limited(&req, payload, state.settings.limits.max_body_bytes).await?;
    let mut params = pairs(req.query_string().as_bytes());
    params.extend(pairs(&body));
    run_search(&req, &state, &path, params, None).await
}

async fn run_history(
    req: &HttpRequest,
    state: &AppState,
    resource_type: Option<&str>,
    id: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    require_acceptable_response(req)?;
    let params = pairs(req.query_string().as_bytes());
    let mut page = state
        .search
        .history(resource_type, id, &params, handling(req, state))
        .await?;
    let caller = crate::http::auth::principal(req);
    own_tasks::visible_history(&caller, resource_type.zip(id), &mut page.versions)?;
    let path = match (resource_type, id) {
        (Some(t), Some(i)) => format!("{t}/{i}/_history"),
        (Some(t), None) => format!("{t}/_history"),
        _ => "_history".to_string(),
    };
    let base = state.base_url(req);
    Ok(fhir_json(
        StatusCode::OK,
        search_bundle::history(&page, &base, &path),
    ))
}

/// `GET /fhir/{type}/{id}/_history`
pub async fn history_instance(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (t, id) = path.into_inner();
    run_history(&req, &state, Some(&t), Some(&id)).await
}

/// `GET /fhir/{type}/_history`
pub async fn history_type(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    run_history(&req, &state, Some(&path), None).await
}

/// `GET /fhir/_history`
pub async fn history_system(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    run_history(&req, &state, None, None).await
}

/// `PUT /fhir/{type}?criteria`
pub async fn conditional_update(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_json_body(&req)?;
    require_acceptable_response(&req)?;
    let if_match = if_match_version(&req)?;
    let body = read_limited(&req, payload, state.settings.limits.max_body_bytes).await?;
    let params = pairs(req.query_string().as_bytes());
    let base = state.base_url(&req);
    let (search, intake) = (state.search.clone(), state.intake_for(&req));
    let (resource_type, query) = (path.into_inner(), req.query_string().to_string());
    let base_url = base.clone();
    let accepted = state
        .compute
        .run(async move {
            update_matching(
                &search,
                &intake,
                &resource_type,
                &params,
                &query,
                &body,
                if_match,
                &base_url,
            )
            .await
        })
        .await?;
    let preference = return_preference(&req).unwrap_or(ReturnPreference::Representation);
    Ok(accepted_response(&accepted, &base, preference))
}

/// `PATCH /fhir/{type}?criteria`
pub async fn conditional_patch(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let format = crate::http::handlers::instance::patch_format(&req)?;
    require_acceptable_response(&req)?;
    let if_match = if_match_version(&req)?;
    let body = read_limited(&req, payload, state.settings.limits.max_body_bytes).await?;
    let params = pairs(req.query_string().as_bytes());
    let base = state.base_url(&req);
    let accepted = patch_matching(
        &state.search,
        &state.intake_for(&req),
        &path,
        &params,
        format,
        &body,
        if_match,
        &base,
    )
    .await?;
    let preference = return_preference(&req).unwrap_or(ReturnPreference::Representation);
    Ok(accepted_response(&accepted, &base, preference))
}

/// `DELETE /fhir/{type}?criteria`
pub async fn conditional_delete(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_acceptable_response(&req)?;
    let params = pairs(req.query_string().as_bytes());
    let base = state.base_url(&req);
    let deleted = delete_matching(
        &state.search,
        &state.intake_for(&req),
        &path,
        &params,
        &base,
    )
    .await?;
    let (text, version) = match deleted {
        Some((id, Some(v))) => (format!("{path}/{id} deleted (version {v})"), Some(v)),
        Some((id, None)) => (format!("{path}/{id} was already deleted"), None),
        None => (
            format!("no {path} matched the criteria; nothing was deleted"),
            None,
        ),
    };
    let mut response = fhir_json(
        StatusCode::OK,
        operation_outcome(&[Issue::information(text)]).to_string(),
    );
    if let Some(v) = version {
        if let Ok(value) = header::HeaderValue::from_str(&etag(v)) {
            response.headers_mut().insert(header::ETAG, value);
        }
    }
    Ok(response)
}
