//! One log line and one metric sample per request: method, route template, status, latency
//! (and, in the log, the request id). Never the path values, query or body: they can carry PHI.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use std::time::Instant;

const X_REQUEST_ID: &str = "x-request-id";

/// The request id, for the audit trail.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A caller's id is echoed when it is short and plain; otherwise a new one is made.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = request_id(&req);
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().to_string();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "(unmatched)".to_string());
    let mut res = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static(X_REQUEST_ID), value);
    }
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    crate::telemetry::metrics::http_request(&route, &method, status, elapsed.as_secs_f64());
    let latency_us = elapsed.as_micros() as u64;
    tracing::info!(target: "hbpc_gateway::access", request_id = %id, method, route, status, latency_us);
    Ok(res)
}
