//! Read-only mode (`server.read_only`), for a store that is being moved (`migrate`): writes
//! get 503 with `Retry-After`, reads, searches (`POST …/_search` too), token requests and the
//! delivery worker carry on.

use crate::http::responses::fhir_json;
use crate::http::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, Error};
use fhir_engine::outcome::{operation_outcome, Issue, IssueType};

/// Seconds a client is told to wait: a cut-over takes minutes.
const RETRY_AFTER_SECS: u32 = 300;

pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let read_only = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.settings.server.read_only);
    if read_only && is_write(req.method(), req.path()) {
        let mut res = fhir_json(
            StatusCode::SERVICE_UNAVAILABLE,
            operation_outcome(&[Issue::error(
                IssueType::Transient,
                "the gateway is read-only while its store is moved to another database; \
                 retry the write later",
            )])
            .to_string(),
        );
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        return Ok(req.into_response(res));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// A request that would change stored resources or the outbox.
pub fn is_write(method: &Method, path: &str) -> bool {
    let changes = matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    changes && !path.ends_with("/_search") && !path.starts_with("/auth/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_refused_reads_searches_and_tokens_are_not() {
        assert!(is_write(&Method::POST, "/"));
        assert!(is_write(&Method::PUT, "/Patient/1"));
        assert!(is_write(&Method::DELETE, "/Patient/1"));
        assert!(is_write(&Method::POST, "/admin/deliveries/x/$retry"));
        assert!(!is_write(&Method::GET, "/Patient/1"));
        assert!(!is_write(&Method::POST, "/Patient/_search"));
        assert!(!is_write(&Method::POST, "/auth/token"));
    }
}
