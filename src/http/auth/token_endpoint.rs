//! `POST /auth/token` (client_credentials + private_key_jwt), `GET /auth/jwks` and
//! `GET [/fhir]/.well-known/smart-configuration`.

use super::guard::add_audit_detail;
use crate::app::auth::token_service::TokenError;
use crate::domain::auth::jwt_parts::MAX_JWT_BYTES;
use crate::http::{ApiError, AppState};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use bytes::Bytes;
use fhir_engine::outcome::IssueType;
use serde_json::json;

/// The form carries one JWT and a few short fields.
const MAX_FORM_BYTES: usize = MAX_JWT_BYTES + 4096;

fn disabled() -> HttpResponse {
    ApiError::new(
        StatusCode::NOT_FOUND,
        IssueType::NotSupported,
        "authorization is disabled on this server (auth.enabled = false)",
    )
    .error_response()
}

/// What clients must put in their assertion's `aud`.
pub fn token_url(req: &HttpRequest, state: &AppState) -> String {
    if !state.security.token_url.is_empty() {
        return state.security.token_url.clone();
    }
    let info = req.connection_info();
    format!("{}://{}/auth/token", info.scheme(), info.host())
}

fn oauth_error(error: &TokenError) -> HttpResponse {
    let status = match error {
        TokenError::InvalidClient(_) => StatusCode::UNAUTHORIZED,
        TokenError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(json!({"error": error.code(), "error_description": error.description()}))
}

pub async fn token(req: HttpRequest, body: Bytes, state: web::Data<AppState>) -> HttpResponse {
    let Some(tokens) = &state.security.tokens else {
        return disabled();
    };
    let form_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    let result = if !form_type {
        Err(TokenError::InvalidRequest(
            "the body must be application/x-www-form-urlencoded".into(),
        ))
    } else if body.len() > MAX_FORM_BYTES {
        Err(TokenError::InvalidRequest(
            "the request is too large".into(),
        ))
    } else {
        match serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) {
            Err(_) => Err(TokenError::InvalidRequest(
                "the body is not a valid form".into(),
            )),
            Ok(form) => tokens.exchange(&form, &token_url(&req, &state)).await,
        }
    };
    match result {
        Ok(issued) => {
            add_audit_detail(&req, |d| d.client_id = Some(issued.client_id.clone()));
            tracing::info!(client_id = %issued.client_id, scope = %issued.scope, "access token issued");
            HttpResponse::Ok()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header((header::PRAGMA, "no-cache"))
                .json(&issued)
        }
        Err(e) => {
            tracing::info!(error = e.code(), reason = %e.description(), "token request refused");
            oauth_error(&e)
        }
    }
}

pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    match &state.security.tokens {
        Some(tokens) => HttpResponse::Ok().json(tokens.public_jwks()),
        None => disabled(),
    }
}

pub async fn smart_configuration(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if state.security.tokens.is_none() {
        return disabled();
    }
    let token = token_url(&req, &state);
    let origin = token.strip_suffix("/auth/token").unwrap_or(&token);
    HttpResponse::Ok().json(json!({
        "issuer": state.settings.auth.issuer,
        "jwks_uri": format!("{origin}/auth/jwks"),
        "token_endpoint": token,
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "scopes_supported": ["system/*.rs", "system/*.cruds", "system/*.read", "system/*.write",
                             "system/$validate", "system/AuditEvent.rs"],
        "capabilities": ["client-confidential-asymmetric", "permission-v1", "permission-v2"],
    }))
}
