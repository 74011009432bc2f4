//! The security routes, registered before the generic `/fhir/{type}/{id}` ones.

use super::{audit_events, token_endpoint};
use crate::http::allowed_methods::{get, post};
use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(post(
        web::resource("/auth/token"),
        web::to(token_endpoint::token),
    ))
    .service(get(
        web::resource("/auth/jwks"),
        web::to(token_endpoint::jwks),
    ))
    .service(get(
        web::resource([
            "/.well-known/smart-configuration",
            "/fhir/.well-known/smart-configuration",
        ]),
        web::to(token_endpoint::smart_configuration),
    ))
    .service(get(
        web::resource("/fhir/AuditEvent"),
        web::to(audit_events::search),
    ))
    .service(get(
        web::resource("/fhir/AuditEvent/{id}"),
        web::to(audit_events::read),
    ));
}
