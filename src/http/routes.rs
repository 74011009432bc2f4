//! The route table. Routes are registered from it and the CapabilityStatement is generated
//! from it, so what we advertise cannot drift from what we serve.

use super::handlers::{
    bundle, conformance, deliveries, instance, operations, search, system, type_level,
    workflow_operations,
};
use crate::app::validation::CONFORMANCE_TYPES;
use crate::domain::guide::resource_types::REFERRAL_RESOURCE_TYPES;
use actix_web::{web, Route};
use std::collections::BTreeMap;

/// Type- and instance-level interactions, offered on every type in `resource_types()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interaction {
    Create,
    Read,
    Vread,
    Update,
    Patch,
    Delete,
    SearchType,
    HistoryInstance,
    HistoryType,
}

impl Interaction {
    pub const ALL: [Interaction; 9] = [
        Interaction::Create,
        Interaction::Read,
        Interaction::Vread,
        Interaction::Update,
        Interaction::Patch,
        Interaction::Delete,
        Interaction::SearchType,
        Interaction::HistoryInstance,
        Interaction::HistoryType,
    ];

    /// The R4 `type-restful-interaction` code.
    pub fn code(self) -> &'static str {
        match self {
            Interaction::Create => "create",
            Interaction::Read => "read",
            Interaction::Vread => "vread",
            Interaction::Update => "update",
            Interaction::Patch => "patch",
            Interaction::Delete => "delete",
            Interaction::SearchType => "search-type",
            Interaction::HistoryInstance => "history-instance",
            Interaction::HistoryType => "history-type",
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Interaction::Create | Interaction::SearchType => "/fhir/{type}",
            Interaction::Read | Interaction::Update | Interaction::Patch | Interaction::Delete => {
                "/fhir/{type}/{id}"
            }
            Interaction::Vread => "/fhir/{type}/{id}/_history/{vid}",
            Interaction::HistoryInstance => "/fhir/{type}/{id}/_history",
            Interaction::HistoryType => "/fhir/{type}/_history",
        }
    }

    fn route(self) -> Route {
        match self {
            Interaction::Create => web::post().to(type_level::create),
            Interaction::Read => web::get().to(instance::read),
            Interaction::Update => web::put().to(instance::update),
            Interaction::Patch => web::patch().to(instance::patch),
            Interaction::Delete => web::delete().to(instance::delete),
            Interaction::Vread => web::get().to(instance::vread),
            Interaction::SearchType => web::get().to(search::search_type),
            Interaction::HistoryInstance => web::get().to(search::history_instance),
            Interaction::HistoryType => web::get().to(search::history_type),
        }
    }
}

/// Operations: (name, canonical OperationDefinition, levels' paths). Each is offered at
/// system level, on every resource type and on every instance.
pub const OPERATIONS: [(&str, &str); 1] = [(
    "validate",
    "http://hl7.org/fhir/OperationDefinition/Resource-validate",
)];

/// System-level operations beyond those offered everywhere: (name, canonical definition).
pub const SYSTEM_OPERATIONS: [(&str, &str); 1] = [(
    "process-message",
    "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message",
)];

/// Type-level operations of one resource type: (type, name, canonical definition).
pub const TYPE_OPERATIONS: [(&str, &str, &str); 1] = [(
    "ServiceRequest",
    "evaluate-eligibility",
    "http://hbpc.example.org/fhir/OperationDefinition/ServiceRequest-evaluate-eligibility",
)];

/// Conformance resources served read-only from the loaded guide (read, search by url).
pub fn conformance_types() -> &'static [&'static str] {
    &CONFORMANCE_TYPES
}

/// System-level interactions: `POST /fhir` and `GET /fhir/_history`.
pub const SYSTEM_INTERACTIONS: [&str; 3] = ["transaction", "batch", "history-system"];

pub fn resource_types() -> &'static [&'static str] {
    REFERRAL_RESOURCE_TYPES
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    // security routes (token endpoint, discovery, AuditEvent) before `{type}/{id}`
    super::auth::routes::configure(cfg);
    // the workbench page (issue #23), outside `/fhir`
    super::workbench::configure(cfg);
    // operations and conformance resources first: their paths also match `{type}/{id}`
    cfg.service(
        web::resource("/fhir/$process-message")
            .route(web::post().to(workflow_operations::process_message))
            .default_service(web::to(system::method_not_allowed)),
    )
    .service(
        web::resource("/fhir/ServiceRequest/$evaluate-eligibility")
            .route(web::post().to(workflow_operations::evaluate_eligibility))
            .default_service(web::to(system::method_not_allowed)),
    );
    cfg.service(
        web::resource("/fhir/$validate")
            .route(web::post().to(operations::validate_system))
            .default_service(web::to(system::method_not_allowed)),
    )
    .service(
        web::resource("/fhir/{type}/$validate")
            .route(web::post().to(operations::validate_type))
            .default_service(web::to(system::method_not_allowed)),
    )
    .service(
        web::resource("/fhir/{type}/{id}/$validate")
            .route(web::post().to(operations::validate_instance))
            .default_service(web::to(system::method_not_allowed)),
    );
    for kind in conformance_types() {
        cfg.service(
            web::resource(format!("/fhir/{kind}"))
                .route(web::get().to(conformance::search))
                .default_service(web::to(system::method_not_allowed)),
        )
        .service(
            web::resource(format!("/fhir/{kind}/{{id}}"))
                .route(web::get().to(conformance::read))
                .default_service(web::to(system::method_not_allowed)),
        );
    }
    // Operators only (issue #5): the delivery outbox.
    cfg.service(
        web::resource("/admin/deliveries")
            .route(web::get().to(deliveries::list))
            .default_service(web::to(system::method_not_allowed)),
    )
    .service(
        web::resource("/admin/deliveries/{id}/$retry")
            .route(web::post().to(deliveries::retry))
            .default_service(web::to(system::method_not_allowed)),
    );
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
        )
        // before `{type}/{id}` and `{type}`, whose patterns also match these paths
        .service(
            web::resource("/fhir/_history")
                .route(web::get().to(search::history_system))
                .default_service(web::to(system::method_not_allowed)),
        )
        .service(
            web::resource("/fhir/{type}/_search")
                .route(web::post().to(search::search_post))
                .default_service(web::to(system::method_not_allowed)),
        )
        .service(
            web::resource("/fhir/{type}/_history")
                .route(web::get().to(search::history_type))
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
        if path == Interaction::HistoryType.path() {
            continue; // registered above, ahead of `{type}/{id}`
        }
        let mut resource = interactions
            .into_iter()
            .fold(web::resource(path), |res, i| res.route(i.route()));
        if path == Interaction::SearchType.path() {
            // conditional update, patch and delete: `PUT`/`PATCH`/`DELETE /fhir/{type}?criteria`
            resource = resource
                .route(web::put().to(search::conditional_update))
                .route(web::patch().to(search::conditional_patch))
                .route(web::delete().to(search::conditional_delete));
        }
        cfg.service(resource.default_service(web::to(system::method_not_allowed)));
    }
    // compartment search, after `{type}/{id}/_history`, whose pattern also matches it
    cfg.service(
        web::resource(COMPARTMENT_SEARCH_PATH)
            .route(web::get().to(search::search_compartment))
            .default_service(web::to(system::method_not_allowed)),
    );
}

/// Compartment search: `GET /fhir/Patient/{id}/{type}` (the Patient compartment only).
pub const COMPARTMENT_SEARCH_PATH: &str = "/fhir/{compartment}/{id}/{type}";
