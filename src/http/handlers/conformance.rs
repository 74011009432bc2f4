//! `GET /fhir/{StructureDefinition|ValueSet|CodeSystem}[?url=]` and `…/{id}`: the HBPC guide
//! (and operator IGs) as loaded by the validator.

use crate::http::media_type::require_acceptable_response;
use crate::http::responses::fhir_json;
use crate::http::{ApiError, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use fhir_engine::model::instant::{fhir_instant, now_millis};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
pub struct SearchQuery {
    url: Option<String>,
}

fn kind_of(req: &HttpRequest) -> &str {
    req.match_pattern()
        .as_deref()
        .and_then(|p| p.strip_prefix("/fhir/"))
        .and_then(|p| p.split('/').next())
        .map(|k| match k {
            "ValueSet" => "ValueSet",
            "CodeSystem" => "CodeSystem",
            _ => "StructureDefinition",
        })
        .unwrap_or("StructureDefinition")
}

/// `GET /fhir/{kind}?url=`: a searchset Bundle.
pub async fn search(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, ApiError> {
    require_acceptable_response(&req)?;
    let kind = kind_of(&req);
    let base = state.base_url(&req);
    let found = state.validation.search(kind, query.url.as_deref());
    let entries: Vec<_> = found
        .iter()
        .map(|r| {
            let id = r.get("id").and_then(|v| v.as_str()).unwrap_or_default();
            json!({"fullUrl": format!("{base}/{kind}/{id}"), "resource": r, "search": {"mode": "match"}})
        })
        .collect();
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": fhir_instant(now_millis()),
        "total": entries.len(),
        "entry": entries,
    });
    Ok(fhir_json(StatusCode::OK, bundle.to_string()))
}

/// `GET /fhir/{kind}/{id}`
pub async fn read(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_acceptable_response(&req)?;
    let resource = state.validation.read(kind_of(&req), &path)?;
    Ok(fhir_json(StatusCode::OK, resource.to_string()))
}
