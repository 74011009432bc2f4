//! The route table. Routes are registered from it and the CapabilityStatement is generated
//! from it, so what we advertise cannot drift from what we serve.

use super::handlers::{bundle, instance, system, type_level};
use crate::domain::fhir::resource_type::REFERRAL_RESOURCE_TYPES;
use actix_web::{web, Route};
use std::collections::BTreeMap;

/// Type- and instance-level interactions, offered on every type in `resource_types()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interaction {
    Create,
    Read,
    Vread,
    Update,
    Delete,
}

impl Interaction {
    pub const ALL: [Interaction; 5] = [
        Interaction::Create,
        Interaction::Read,
        Interaction::Vread,
        Interaction::Update,
        Interaction::Delete,
    ];

    /// The R4 `type-restful-interaction` code.
    pub fn code(self) -> &'static str {
        match self {
            Interaction::Create => "create",
            Interaction::Read => "read",
            Interaction::Vread => "vread",
            Interaction::Update => "update",
            Interaction::Delete => "delete",
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Interaction::Create => "/fhir/{type}",
            Interaction::Read | Interaction::Update | Interaction::Delete => "/fhir/{type}/{id}",
            Interaction::Vread => "/fhir/{type}/{id}/_history/{vid}",
        }
    }

    fn route(self) -> Route {
        match self {
            Interaction::Create => web::post().to(type_level::create),
            Interaction::Read => web::get().to(instance::read),
            Interaction::Update => web::put().to(instance::update),
            Interaction::Delete => web::delete().to(instance::delete),
            Interaction::Vread => web::get().to(instance::vread),
        }
    }
}

/// System-level interactions on `POST /fhir`.
pub const SYSTEM_INTERACTIONS: [&str; 2] = ["transaction", "batch"];

pub fn resource_types() -> &'static [&'static str] {
    REFERRAL_RESOURCE_TYPES
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(system::healthz)))
        .service(web::resource("/readyz").route(web::get().to(system::readyz)))
        .service(
            web::resource("/fhir/metadata")
                .route(web::get().to(system::metadata))
                .default_service(web::to(system::method_not_allowed)),
        )
        .service(
            web::resource(["/fhir", "/fhir/"])
                .route(web::post().to(bundle::process))
                .default_service(web::to(system::method_not_allowed)),
        );
    let mut by_path: BTreeMap<&str, Vec<Interaction>> = BTreeMap::new();
    for interaction in Interaction::ALL {
        by_path
            .entry(interaction.path())
            .or_default()
            .push(interaction);
    }
    for (path, interactions) in by_path {
        let resource = interactions
            .into_iter()
            .fold(web::resource(path), |res, i| res.route(i.route()))
            .default_service(web::to(system::method_not_allowed));
        cfg.service(resource);
    }
}
