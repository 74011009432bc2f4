//! The security routes, registered before the generic `/fhir/{type}/{id}` ones.

use super::{audit_events, token_endpoint};
use crate::http::handlers::system;
use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/auth/token")
            .route(web::post().to(token_endpoint::token))
            .default_service(web::to(system::method_not_allowed)),
    )
    .service(web::resource("/auth/jwks").route(web::get().to(token_endpoint::jwks)))
    .service(
        web::resource([
            "/.well-known/smart-configuration",
            "/fhir/.well-known/smart-configuration",
        ])
        .route(web::get().to(token_endpoint::smart_configuration)),
    )
    .service(
        web::resource("/fhir/AuditEvent")
            .route(web::get().to(audit_events::search))
            .default_service(web::to(system::method_not_allowed)),
    )
    .service(
        web::resource("/fhir/AuditEvent/{id}")
            .route(web::get().to(audit_events::read))
            .default_service(web::to(system::method_not_allowed)),
    );
}
