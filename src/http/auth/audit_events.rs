//! `GET /fhir/AuditEvent` (search, newest first) and `GET /fhir/AuditEvent/{id}`: the audit
//! trail, for the admin scope only (checked by the guard like any other read).

use crate::http::responses::fhir_json;
use crate::http::{ApiError, AppState};
use crate::store::security::AuditFilter;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use fhir_engine::outcome::IssueType;
use serde_json::{json, Value};

const DEFAULT_COUNT: usize = 100;
const MAX_COUNT: usize = 1000;

fn trail(state: &AppState) -> Result<&crate::app::auth::audit_trail::AuditTrail, ApiError> {
    state.security.audit.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            IssueType::NotSupported,
            "the audit trail is off (security.audit = false)",
        )
    })
}

fn store_error(e: crate::store::StoreError) -> ApiError {
    tracing::error!(error = %e, "audit trail read failed");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        IssueType::Transient,
        "the audit trail is temporarily unavailable",
    )
}

fn filter(req: &HttpRequest) -> Result<AuditFilter, ApiError> {
    let bad = |text: String| ApiError::new(StatusCode::BAD_REQUEST, IssueType::Invalid, text);
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|_| bad("the query string cannot be read".into()))?;
    let mut f = AuditFilter {
        limit: DEFAULT_COUNT,
        ..AuditFilter::default()
    };
    for (name, value) in pairs {
        match name.as_str() {
            "_count" => {
                f.limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_COUNT).contains(n))
                    .ok_or_else(|| bad(format!("_count must be 1..={MAX_COUNT}")))?
            }
            "agent" | "agent-name" => f.client_id = Some(value),
            "subtype" => f.subtype = Some(value),
            "outcome" => f.outcome = Some(value),
            "entity-type" => f.entity_type = Some(value),
            "date" => {
                let ge = value
                    .strip_prefix("ge")
                    .ok_or_else(|| bad("date supports ge<instant> only".into()))?;
                let t = humantime::parse_rfc3339_weak(ge)
                    .map_err(|_| bad(format!("date '{ge}' is not an instant")))?;
                let ms = t
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(0);
                f.since_ms = Some(ms);
            }
            other => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    IssueType::NotSupported,
                    format!(
                        "AuditEvent search parameter '{other}' is not supported \
                         (agent, subtype, outcome, entity-type, date=ge…, _count)"
                    ),
                ))
            }
        }
    }
    Ok(f)
}

pub async fn search(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let trail = trail(&state)?;
    let bodies = trail.search(&filter(&req)?).await.map_err(store_error)?;
    let base = state.base_url(&req);
    let entries: Vec<Value> = bodies
        .iter()
        .filter_map(|b| serde_json::from_str::<Value>(b).ok())
        .map(|r| {
            let id = r["id"].as_str().unwrap_or_default().to_string();
            json!({"fullUrl": format!("{base}/AuditEvent/{id}"), "resource": r,
                   "search": {"mode": "match"}})
        })
        .collect();
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": entries,
    });
    Ok(fhir_json(StatusCode::OK, bundle.to_string()))
}

pub async fn read(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    match trail(&state)?.read(&id).await.map_err(store_error)? {
        Some(body) => Ok(fhir_json(StatusCode::OK, body)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            IssueType::NotFound,
            format!("AuditEvent/{id} is not known"),
        )),
    }
}
