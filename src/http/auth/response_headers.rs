//! Security headers on every response, and CORS for configured origins only (off by default:
//! without `security.cors_allowed_origins` no CORS header is ever sent).

use actix_web::dev::ServiceRequest;
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::HttpResponse;

pub fn add_security_headers(headers: &mut HeaderMap, https: bool) {
    let set = |headers: &mut HeaderMap, name: HeaderName, value: &'static str| {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    };
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'",
    );
    set(headers, header::REFERRER_POLICY, "no-referrer");
    // Responses carry PHI: no shared or browser cache keeps them.
    set(headers, header::CACHE_CONTROL, "no-store");
    if https {
        set(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
}

const ALLOWED_METHODS: &str = "GET, POST, PUT, DELETE, PATCH, OPTIONS";
const ALLOWED_HEADERS: &str = "Authorization, Content-Type, Accept, If-Match, If-None-Match, \
                               If-None-Exist, If-Modified-Since, Prefer, X-Request-Id";
const EXPOSED_HEADERS: &str = "Location, ETag, Last-Modified, Content-Location, X-Request-Id";

/// `origin` is one of the configured origins.
pub fn add_cors(headers: &mut HeaderMap, origin: &str) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
    }
}

/// The answer to a preflight `OPTIONS` from an allowed origin.
pub fn cors_preflight(req: &ServiceRequest, origin: &str) -> Option<HttpResponse> {
    if req.method() != Method::OPTIONS
        || !req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        return None;
    }
    let mut res = HttpResponse::build(StatusCode::NO_CONTENT).finish();
    let headers = res.headers_mut();
    add_cors(headers, origin);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOWED_METHODS),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOWED_HEADERS),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    add_security_headers(headers, false);
    Some(res)
}
