//! The security middleware, around every route: bearer token, scope check, rate limit, the
//! AuditEvent, security and CORS headers.

use super::request_kind::{classify, RequestKind, CONFORMANCE_TYPES};
use super::response_headers::{add_cors, add_security_headers, cors_preflight};
use crate::app::auth::principal::Principal;
use crate::app::auth::token_service::BearerError;
use crate::app::auth::write_audit::WriteAudit;
use crate::domain::auth::audit_event::{AuditEntity, AuditKind, AuditRecord};
use crate::domain::auth::scope::Interaction;
use crate::domain::auth::token_bucket::Admission;
use crate::http::request_log::RequestId;
use crate::http::responses::fhir_json;
use crate::http::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, HttpRequest, HttpResponse};
use fhir_engine::model::instant::now_millis;
use fhir_engine::model::server_id::new_server_id;
use fhir_engine::outcome::{operation_outcome, Issue, IssueType};
use std::sync::Arc;

/// What a handler adds to the audit record (a Bundle's entries, the client of a token request).
#[derive(Debug, Clone, Default)]
pub struct AuditDetail {
    pub subtype: Option<String>,
    pub client_id: Option<String>,
    pub entities: Vec<AuditEntity>,
}

/// The caller of this request. With auth off: `Principal::anonymous()`.
pub fn principal(req: &HttpRequest) -> Arc<Principal> {
    req.extensions()
        .get::<Arc<Principal>>()
        .cloned()
        .unwrap_or_else(|| Arc::new(Principal::anonymous()))
}

/// Adds to the audit detail of this request.
pub fn add_audit_detail(req: &HttpRequest, f: impl FnOnce(&mut AuditDetail)) {
    let mut ext = req.extensions_mut();
    if ext.get::<AuditDetail>().is_none() {
        ext.insert(AuditDetail::default());
    }
    if let Some(detail) = ext.get_mut::<AuditDetail>() {
        f(detail);
    }
}

fn outcome(status: StatusCode, code: IssueType, text: &str) -> HttpResponse {
    fhir_json(
        status,
        operation_outcome(&[Issue::error(code, text)]).to_string(),
    )
}

fn unauthorized(error: &str, description: &str, code: IssueType) -> HttpResponse {
    let mut res = outcome(StatusCode::UNAUTHORIZED, code, description);
    let challenge = format!(
        "Bearer realm=\"hbpc-gateway\", error=\"{error}\", error_description=\"{}\"",
        description
            .chars()
            .map(|c| match c {
                '"' => '\'',
                c if c.is_ascii_graphic() || c == ' ' => c,
                _ => '?',
            })
            .collect::<String>()
    );
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

fn forbidden(text: &str) -> HttpResponse {
    let mut res = outcome(StatusCode::FORBIDDEN, IssueType::Forbidden, text);
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"hbpc-gateway\", error=\"insufficient_scope\""),
    );
    res
}

pub fn throttled(retry_after: u64) -> HttpResponse {
    let mut res = outcome(
        StatusCode::TOO_MANY_REQUESTS,
        IssueType::Throttled,
        &format!("rate limit exceeded; retry after {retry_after} s"),
    );
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    res
}

fn bearer_token(req: &ServiceRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The scope check for one request: a single function of (interaction, resource type).
pub fn permitted(kind: &RequestKind, principal: &Principal) -> Result<(), String> {
    let scopes = &principal.scopes;
    match kind {
        RequestKind::Rest {
            interaction,
            resource_type,
            ..
        } => {
            let conformance_read = CONFORMANCE_TYPES.contains(&resource_type.as_str())
                && matches!(interaction, Interaction::Read | Interaction::Search);
            if conformance_read || scopes.permits(*interaction, resource_type) {
                Ok(())
            } else {
                Err(format!(
                    "the token's scopes do not allow {} on {resource_type}",
                    interaction.code()
                ))
            }
        }
        RequestKind::Operation { name, .. } => {
            if scopes.permits_operation(name) {
                Ok(())
            } else {
                Err(format!(
                    "the token's scopes do not allow ${name} (scope system/${name})"
                ))
            }
        }
        _ => Ok(()),
    }
}

fn needs_token(kind: &RequestKind) -> bool {
    matches!(
        kind,
        RequestKind::Rest { .. }
            | RequestKind::Operation { .. }
            | RequestKind::Bundle
            | RequestKind::OtherFhir
            | RequestKind::Authenticated { .. }
    )
}

pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let security = Arc::clone(&state.security);
    let cors = &security.settings.cors_allowed_origins;
    let https = state
        .settings
        .server
        .public_base_url
        .starts_with("https://");
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| cors.iter().any(|c| c == o))
        .map(str::to_string);
    let kind = classify(req.method(), req.path());
    if kind == RequestKind::Probe {
        let mut res = next.call(req).await?.map_into_boxed_body();
        add_security_headers(res.headers_mut(), https);
        return Ok(res);
    }
    if let Some(origin) = &origin {
        if let Some(preflight) = cors_preflight(&req, origin) {
            return Ok(req.into_response(preflight));
        }
    }
    let started_ms = now_millis();
    let address = req.peer_addr().map(|a| a.ip().to_string());

    // Who is calling?
    let mut rejection: Option<HttpResponse> = None;
    let mut principal: Option<Arc<Principal>> = None;
    if needs_token(&kind) {
        match &security.tokens {
            None => principal = Some(Arc::new(Principal::anonymous())),
            Some(tokens) => match bearer_token(&req) {
                None => {
                    rejection = Some(unauthorized(
                        "invalid_request",
                        "a bearer token is required (Authorization: Bearer <token>); get one at /auth/token",
                        IssueType::Login,
                    ))
                }
                Some(token) => match tokens.authenticate(token).await {
                    Ok(p) => principal = Some(p),
                    Err(BearerError::Expired) => {
                        rejection = Some(unauthorized(
                            "invalid_token",
                            "the access token has expired",
                            IssueType::Expired,
                        ))
                    }
                    Err(e @ BearerError::Invalid(_)) => {
                        rejection = Some(unauthorized(
                            "invalid_token",
                            &e.to_string(),
                            IssueType::Security,
                        ))
                    }
                },
            },
        }
    }
    // Per-client rate limit (authenticated clients; the token endpoint per address).
    if rejection.is_none() {
        if let Some(limiter) = &security.limiter {
            let key = match (&principal, &kind, &security.tokens) {
                (Some(p), _, Some(_)) => Some(format!("client:{}", p.client_id)),
                (_, RequestKind::TokenEndpoint, Some(_)) => {
                    Some(format!("addr:{}", address.as_deref().unwrap_or("?")))
                }
                _ => None,
            };
            if let Some(key) = key {
                if let Admission::RetryAfter(secs) = limiter.admit(&key, started_ms) {
                    rejection = Some(throttled(secs));
                }
            }
        }
    }
    // May it do this?
    if rejection.is_none() {
        if let Some(p) = &principal {
            if let Err(text) = permitted(&kind, p) {
                rejection = Some(forbidden(&text));
            }
        }
    }
    let scope = security.audit.as_ref().map(|_| {
        Arc::new(AuditScope {
            // time-ordered, as resource ids are: the audit file's id index grows at its right
            // edge instead of taking a random page per record
            id: new_server_id(),
            kind: kind.clone(),
            principal: principal.clone(),
            address,
            query_names: query_names(req.query_string()),
            started_ms,
            auth_on: security.tokens.is_some(),
        })
    });
    let mut res = match rejection {
        Some(response) => req.into_response(response),
        None => {
            if let Some(p) = &principal {
                req.extensions_mut().insert(Arc::clone(p));
            }
            if let Some(scope) = &scope {
                req.extensions_mut().insert(Arc::clone(scope));
            }
            next.call(req).await?.map_into_boxed_body()
        }
    };

    if let (Some(audit), Some(scope)) = (&security.audit, &scope) {
        let record = audit_record(scope, res.request(), Some(&res));
        if let Err(e) = audit.record(&record).await {
            // The request fails when its audit record cannot be written.
            tracing::error!(error = %e, "audit write failed; the request fails");
            res = res.into_response(outcome(
                StatusCode::SERVICE_UNAVAILABLE,
                IssueType::Transient,
                "the request could not be audited; retry later (a write may have been stored: \
                 retry it as a conditional or versioned request)",
            ));
        }
    }
    add_security_headers(res.headers_mut(), https);
    if let Some(origin) = &origin {
        add_cors(res.headers_mut(), origin);
    }
    Ok(res)
}

/// Names only: values can be PHI (`identifier=MRN|123`).
fn query_names(query: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()).take(32) {
        let name = pair.split('=').next().unwrap_or_default();
        let name: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "_-:.".contains(*c))
            .take(64)
            .collect();
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// `…/{type}/{id}/_history/{vid}` from a Location header.
fn location_entity(res: &ServiceResponse<BoxBody>) -> Option<AuditEntity> {
    let location = res.headers().get(header::LOCATION)?.to_str().ok()?;
    let parts: Vec<&str> = location.rsplit('/').take(4).collect();
    match parts.as_slice() {
        [v, "_history", id, t] => Some(AuditEntity {
            resource_type: t.to_string(),
            id: Some(id.to_string()),
            version: Some(v.to_string()),
        }),
        _ => None,
    }
}

/// The version a write produced, so that the record names it: a create or update from its
/// Location, a delete (the tombstone) from its ETag.
fn written_entity(
    interaction: Interaction,
    res: &ServiceResponse<BoxBody>,
    resource_type: &str,
    id: Option<&str>,
) -> Option<AuditEntity> {
    if !res.status().is_success() {
        return None;
    }
    match interaction {
        Interaction::Create | Interaction::Update | Interaction::Patch => location_entity(res),
        Interaction::Delete => {
            let etag = res.headers().get(header::ETAG)?.to_str().ok()?;
            let version = etag.strip_prefix("W/\"")?.strip_suffix('"')?;
            Some(AuditEntity {
                resource_type: resource_type.to_string(),
                id: Some(id?.to_string()),
                version: Some(version.to_string()),
            })
        }
        _ => None,
    }
}

/// What the guard knows of a request before its handler runs, kept in the request's
/// extensions: enough for the audit record its writes commit with (`write_audit`).
struct AuditScope {
    /// The request's AuditEvent id.
    id: String,
    kind: RequestKind,
    principal: Option<Arc<Principal>>,
    address: Option<String>,
    query_names: Vec<String>,
    started_ms: i64,
    auth_on: bool,
}

/// The request's audit record as its writes carry it into their transactions: the record as
/// known now, before the response. `None` when the audit trail is off.
pub fn write_audit(req: &HttpRequest) -> Option<Arc<WriteAudit>> {
    if let Some(audit) = req.extensions().get::<Arc<WriteAudit>>() {
        return Some(Arc::clone(audit));
    }
    let scope = req.extensions().get::<Arc<AuditScope>>().cloned()?;
    let audit = Arc::new(WriteAudit::new(audit_record(&scope, req, None)));
    req.extensions_mut().insert(Arc::clone(&audit));
    Some(audit)
}

/// The request's record; before the response (`None`) as a success.
fn audit_record(
    scope: &AuditScope,
    req: &HttpRequest,
    res: Option<&ServiceResponse<BoxBody>>,
) -> AuditRecord {
    let detail = req
        .extensions()
        .get::<AuditDetail>()
        .cloned()
        .unwrap_or_default();
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    // What its writes committed comes first: the request's own and the workflow's versions.
    let mut entities = req
        .extensions()
        .get::<Arc<WriteAudit>>()
        .map(|audit| audit.written())
        .unwrap_or_default();
    let named: std::collections::HashSet<AuditEntity> = entities.iter().cloned().collect();
    entities.extend(detail.entities.into_iter().filter(|e| !named.contains(e)));
    let mut operation = None;
    let (audit_kind, subtype, action) = match &scope.kind {
        RequestKind::Rest {
            interaction,
            resource_type,
            id,
            version,
        } => {
            let located =
                res.and_then(|res| written_entity(*interaction, res, resource_type, id.as_deref()));
            if located.as_ref().is_some_and(|l| named.contains(l)) {
                // named already, as a version its write committed
            } else {
                entities.insert(
                    0,
                    located.unwrap_or_else(|| AuditEntity {
                        resource_type: resource_type.clone(),
                        id: id.clone(),
                        version: version.clone(),
                    }),
                );
            }
            let action = match interaction {
                Interaction::Create => "C",
                Interaction::Update | Interaction::Patch => "U",
                Interaction::Delete => "D",
                _ => "R",
            };
            (AuditKind::Rest, interaction.code().to_string(), action)
        }
        RequestKind::Operation {
            name,
            resource_type,
            id,
        } => {
            if let Some(t) = resource_type {
                entities.insert(
                    0,
                    AuditEntity {
                        resource_type: t.clone(),
                        id: id.clone(),
                        version: None,
                    },
                );
            }
            operation = Some(name.clone());
            (AuditKind::Rest, "operation".to_string(), "E")
        }
        RequestKind::Bundle => (
            AuditKind::Rest,
            detail.subtype.unwrap_or_else(|| "transaction".into()),
            "E",
        ),
        RequestKind::Public { subtype } | RequestKind::Authenticated { subtype } => {
            (AuditKind::Rest, subtype.to_string(), "R")
        }
        RequestKind::TokenEndpoint => (AuditKind::Login, "login".to_string(), "E"),
        RequestKind::OtherFhir | RequestKind::Other | RequestKind::Probe => {
            (AuditKind::Rest, "unknown".to_string(), "E")
        }
    };
    let client_id = detail
        .client_id
        .or_else(|| scope.principal.as_ref().map(|p| p.client_id.clone()))
        .unwrap_or_else(|| {
            if scope.auth_on {
                "unauthenticated".into()
            } else {
                "anonymous".into()
            }
        });
    AuditRecord {
        id: scope.id.clone(),
        recorded_ms: scope.started_ms,
        kind: audit_kind,
        subtype,
        action,
        client_id,
        address: scope.address.clone(),
        entities,
        query_names: scope.query_names.clone(),
        operation,
        status: res.map_or(200, |res| res.status().as_u16()),
        request_id,
    }
}
