//! The route table. Routes are registered from it and the CapabilityStatement is generated
//! from it, so what we advertise cannot drift from what we serve.

use super::allowed_methods::{self, serve};
use super::handlers::{
    bundle, conformance, deliveries, instance, metrics, operations, search, system, type_level,
    workflow_operations,
};
use crate::app::validation::CONFORMANCE_TYPES;
use crate::domain::guide::resource_types::REFERRAL_RESOURCE_TYPES;
use actix_web::http::Method;
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

    /// The method and handler serving it.
    fn route(self) -> (Method, Route) {
        match self {
            Interaction::Create => (Method::POST, web::to(type_level::create)),
            Interaction::Read => (Method::GET, web::to(instance::read)),
            Interaction::Update => (Method::PUT, web::to(instance::update)),
            Interaction::Patch => (Method::PATCH, web::to(instance::patch)),
            Interaction::Delete => (Method::DELETE, web::to(instance::delete)),
            Interaction::Vread => (Method::GET, web::to(instance::vread)),
            Interaction::SearchType => (Method::GET, web::to(search::search_type)),
            Interaction::HistoryInstance => (Method::GET, web::to(search::history_instance)),
            Interaction::HistoryType => (Method::GET, web::to(search::history_type)),
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

/// `GET /metrics` (issue #18): on the main listener, or alone on `metrics.listen`.
pub fn configure_metrics(cfg: &mut web::ServiceConfig) {
    cfg.service(allowed_methods::get(
        web::resource("/metrics"),
        web::to(metrics::metrics),
    ));
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    use allowed_methods::{get, post};
    // security routes (token endpoint, discovery, AuditEvent) before `{type}/{id}`
    super::auth::routes::configure(cfg);
    // the workbench page (issue #23), outside `/fhir`
    super::workbench::configure(cfg);
    // operations and conformance resources first: their paths also match `{type}/{id}`
    cfg.service(post(
        web::resource("/fhir/$process-message"),
        web::to(workflow_operations::process_message),
    ))
    .service(post(
        web::resource("/fhir/ServiceRequest/$evaluate-eligibility"),
        web::to(workflow_operations::evaluate_eligibility),
    ));
    cfg.service(post(
        web::resource("/fhir/$validate"),
        web::to(operations::validate_system),
    ))
    .service(post(
        web::resource("/fhir/{type}/$validate"),
        web::to(operations::validate_type),
    ))
    .service(post(
        web::resource("/fhir/{type}/{id}/$validate"),
        web::to(operations::validate_instance),
    ));
    for kind in conformance_types() {
        cfg.service(get(
            web::resource(format!("/fhir/{kind}")),
            web::to(conformance::search),
        ))
        .service(get(
            web::resource(format!("/fhir/{kind}/{{id}}")),
            web::to(conformance::read),
        ));
    }
    // Operators only (issue #5): the delivery outbox.
    cfg.service(get(
        web::resource("/admin/deliveries"),
        web::to(deliveries::list),
    ))
    .service(post(
        web::resource("/admin/deliveries/{id}/$retry"),
        web::to(deliveries::retry),
    ));
    cfg.service(get(web::resource("/healthz"), web::to(system::healthz)))
        .service(get(web::resource("/readyz"), web::to(system::readyz)))
        .service(get(
            web::resource("/fhir/metadata"),
            web::to(system::metadata),
        ))
        .service(post(
            web::resource(["/fhir", "/fhir/"]),
            web::to(bundle::process),
        ))
        // before `{type}/{id}` and `{type}`, whose patterns also match these paths
        .service(get(
            web::resource("/fhir/_history"),
            web::to(search::history_system),
        ))
        .service(post(
            web::resource("/fhir/{type}/_search"),
            web::to(search::search_post),
        ))
        .service(get(
            web::resource("/fhir/{type}/_history"),
            web::to(search::history_type),
        ));
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
        let mut routes: Vec<(Method, Route)> =
            interactions.into_iter().map(Interaction::route).collect();
        if path == Interaction::SearchType.path() {
            // conditional update, patch and delete: `PUT`/`PATCH`/`DELETE /fhir/{type}?criteria`
            routes.push((Method::PUT, web::to(search::conditional_update)));
            routes.push((Method::PATCH, web::to(search::conditional_patch)));
            routes.push((Method::DELETE, web::to(search::conditional_delete)));
        }
        cfg.service(serve(web::resource(path), routes));
    }
    // compartment search, after `{type}/{id}/_history`, whose pattern also matches it
    cfg.service(serve(
        web::resource(COMPARTMENT_SEARCH_PATH),
        [(Method::GET, web::to(search::search_compartment))],
    ));
}

/// Compartment search: `GET /fhir/Patient/{id}/{type}` (the Patient compartment only).
pub const COMPARTMENT_SEARCH_PATH: &str = "/fhir/{compartment}/{id}/{type}";
