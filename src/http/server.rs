//! Building and running the HTTP server.

use super::abandoned_request::answering_abandoned;
use super::capability::capability_statement;
use super::control_characters::reject_control_characters;
use super::handlers::system;
use super::request_log::log_request;
use super::routes;
use super::state::AppState;
use super::xml_format;
use crate::app::intake::Intake;
use crate::app::reads::Reads;
use crate::app::search::Search;
use crate::app::validation::Validation;
use crate::app::workflow::{Evaluator, Workflow, WorkflowRules};
use crate::config::Settings;
use crate::store;
use actix_http::HttpService;
use actix_service::{map_config, IntoServiceFactory, ServiceFactoryExt};
use actix_web::dev::AppConfig;
use actix_web::middleware::from_fn;
use actix_web::{web, App};
use fhir_engine::validation::structure::fhirpath_invariants::FhirPathInvariants;
use fhir_engine::validation::structure::{LoadOptions, StructureValidator};
use fhir_engine::validation::IntakeValidator;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot load the FHIR definitions and profiles: {0}")]
    Definitions(#[from] fhir_engine::validation::structure::definitions::LoadError),
    #[error("cannot open the database: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Workflow(#[from] crate::app::workflow::RulesError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Delivery(#[from] crate::app::delivery::worker::WorkerError),
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Security(#[from] crate::app::auth::SecurityError),
    #[error("refusing to listen on {0} without authorization: set auth.enabled = true (docs/security.md), bind to 127.0.0.1, or pass --insecure")]
    InsecureBind(std::net::SocketAddr),
}

/// Opens the store, compiles the validator and wires the services.
pub async fn build_state(settings: Settings) -> Result<AppState, ServeError> {
    let (store, security_store) =
        store::security::open(&settings.database.url, &settings.database).await?;
    let security = Arc::new(crate::app::auth::Security::build(&settings, security_store).await?);
    let started = std::time::Instant::now();
    let options = LoadOptions {
        ig_paths: settings.validation.ig_dirs.iter().map(Into::into).collect(),
        invariants: Some(Arc::new(FhirPathInvariants::new())),
        ..crate::domain::guide::load_options()
    };
    let structure = Arc::new(StructureValidator::load(&options)?);
    for warning in structure.load_warnings() {
        tracing::warn!(warning = %warning, "FHIR definitions");
    }
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        invariants = ?structure.invariant_stats(),
        "FHIR definitions and profiles compiled"
    );
    let validator: Arc<dyn IntakeValidator> = Arc::new(crate::app::intake::IntakePolicy::new(
        Arc::clone(&structure),
        settings.validation.default_profiles,
    ));
    let structure_for_workflow = Arc::clone(&structure);
    let structure_for_search = Arc::clone(&structure);
    let validation = Validation::new(
        structure,
        settings.validation.default_profiles,
        settings.limits.json(),
    );
    let search_registry = crate::domain::guide::resource_types::search_registry();
    tracing::info!(
        skipped = search_registry.skipped.len(),
        "search parameters compiled"
    );
    let capability = capability_statement(
        &validation.supported_profiles(),
        settings
            .auth
            .enabled
            .then_some(crate::http::capability::SecurityAdvert {
                token_url: Some(settings.auth.token_url.as_str()),
            }),
    );
    let workflow = workflow(&settings, &structure_for_workflow, store.clone())?;
    let search =
        Search::new(store.clone(), &settings.search).with_definitions(structure_for_search);
    Ok(AppState {
        intake: Intake::new(
            store.clone(),
            search.clone(),
            validator,
            settings.limits.clone(),
        )
        .with_workflow(workflow),
        deliveries: crate::app::delivery::admin::DeliveryAdmin::new(&store),
        search,
        reads: Reads::new(store),
        validation,
        capability: capability.to_string().into(),
        security,
        compute: crate::app::compute_pool::ComputePool::new(settings.server.compute_threads)?,
        settings: Arc::new(settings),
    })
}

/// The referral workflow, with its rules from configuration.
pub fn workflow(
    settings: &Settings,
    structure: &Arc<StructureValidator>,
    store: store::SharedStore,
) -> Result<Workflow, ServeError> {
    let terminology = Arc::new(crate::domain::eligibility::ClinicalTerminology::new(
        structure.clone(),
    ));
    let rules = WorkflowRules::from_settings(
        &settings.program,
        &settings.eligibility,
        &settings.care_plan,
        |url| terminology.knows(url),
    )?;
    let evaluator = Evaluator::new(Arc::new(rules), terminology);
    Ok(Workflow::new(store, evaluator)
        .with_delivery(crate::app::delivery::Delivery::new(&settings.delivery)))
}

/// Without auth, only loopback is served, unless the operator insists (`--insecure`).
fn check_exposure(settings: &Settings, insecure: bool) -> Result<(), ServeError> {
    let addr = settings.listen_addr()?;
    if settings.auth.enabled {
        return Ok(());
    }
    if addr.ip().is_loopback() {
        tracing::warn!(
            %addr,
            "AUTHORIZATION IS DISABLED: anyone who can reach {addr} can read and write every              resource. Fine for local development only; see docs/security.md"
        );
        Ok(())
    } else if insecure {
        tracing::warn!(
            %addr,
            "AUTHORIZATION IS DISABLED ON A NON-LOOPBACK ADDRESS (--insecure): every client              that reaches {addr} can read and write protected health information"
        );
        Ok(())
    } else {
        Err(ServeError::InsecureBind(addr))
    }
}

/// `GET /metrics` alone on its own address (`metrics.listen`), for a scraper that should not
/// reach the FHIR API. It stops when the main server does.
fn metrics_server(
    addr: std::net::SocketAddr,
    data: web::Data<AppState>,
) -> Result<actix_web::dev::ServerHandle, ServeError> {
    let server = actix_web::HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .configure(routes::configure_metrics)
            .default_service(web::to(system::not_found))
    })
    .workers(1)
    .disable_signals()
    .bind(addr)
    .map_err(|source| ServeError::Bind {
        addr: addr.to_string(),
        source,
    })?
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    tracing::info!(%addr, "metrics listening");
    Ok(handle)
}

/// Serves until SIGTERM or Ctrl-C, then lets in-flight requests finish.
pub async fn serve(settings: Settings, insecure: bool) -> Result<(), ServeError> {
    check_exposure(&settings, insecure)?;
    let addr = settings.listen_addr()?;
    let workers = settings.server.workers;
    let shutdown = settings.server.shutdown_timeout_secs;
    let timeouts = settings.security.clone();
    let state = build_state(settings).await?;
    let delivery_worker = state.deliveries.start_worker(&state.settings.delivery)?;
    let metrics = &state.settings.metrics;
    let metrics_own = match metrics.enabled {
        true => metrics.own_listener()?,
        false => None,
    };
    let metrics_on_main = metrics.enabled && metrics_own.is_none();
    let data = web::Data::new(state);
    let audit = data.security.audit.clone();
    if let Some(audit) = &audit {
        // Before serving: the writes of the last run all have their record (a crash may have
        // stopped it between a write's commit and its record's).
        let settled = audit.settle_committed_writes().await?;
        if settled.recorded > 0 {
            tracing::warn!(
                recorded = settled.recorded,
                "audit records of writes committed before the last stop, made from their intents"
            );
        }
    }
    let metrics_server = match metrics_own {
        Some(addr) => Some(metrics_server(addr, data.clone())?),
        None => None,
    };
    let app = move || {
        App::new()
            .app_data(data.clone())
            // XML bodies are read only once the request is authorized; errors are answered
            // in XML too, auth's included
            .wrap(from_fn(xml_format::xml_bodies))
            .wrap(from_fn(reject_control_characters))
            .wrap(from_fn(crate::http::read_only::guard))
            .wrap(from_fn(crate::http::auth::guard))
            .wrap(from_fn(xml_format::xml_answers))
            .wrap(from_fn(log_request))
            .configure(|cfg| {
                if metrics_on_main {
                    routes::configure_metrics(cfg)
                }
            })
            .configure(routes::configure)
            .default_service(web::to(system::not_found))
    };
    let listener = std::net::TcpListener::bind(addr).map_err(|source| ServeError::Bind {
        addr: addr.to_string(),
        source,
    })?;
    // actix-web's HttpServer, built by hand for one difference: each connection is wrapped so
    // that actix-http's own (bodiless) protocol-error responses carry an OperationOutcome, and
    // a request it abandons (an invalid chunk size) is answered.
    let mut builder = actix_server::Server::build();
    let closing = builder.graceful_shutdown_signal();
    builder = builder.shutdown_timeout(shutdown);
    if workers > 0 {
        builder = builder.workers(workers);
    }
    let server = builder.listen("hbpc-gateway", listener, move || {
        let closing = closing.clone();
        let http = HttpService::build()
            // keep-alive connections close when shutdown starts
            .graceful_shutdown_signal(move || {
                let closing = closing.clone();
                async move { closing.notified().await }
            })
            // Slow clients: headers within this time, idle keep-alive closed, lingering
            // closes cut.
            .client_request_timeout(Duration::from_millis(timeouts.client_request_timeout_ms))
            .client_disconnect_timeout(Duration::from_secs(5))
            .keep_alive(Duration::from_secs(timeouts.keep_alive_secs))
            .local_addr(addr)
            .h1(map_config(
                app()
                    .into_factory()
                    .map_err(|e: actix_web::Error| e.error_response()),
                move |_| AppConfig::default(),
            ));
        answering_abandoned(http)
    })?;
    tracing::info!(%addr, "hbpc-gateway listening");
    server.run().await?;
    if let Some(metrics) = metrics_server {
        metrics.stop(false).await;
    }
    if let Some(audit) = audit {
        // Read records queued by the last requests.
        let wait = std::time::Duration::from_secs(shutdown.max(1));
        let flushed = tokio::time::timeout(wait, audit.flush()).await.is_ok();
        let stats = audit.stats();
        if flushed && stats.unsettled == 0 {
            tracing::info!(
                quarantined = stats.quarantined,
                "audit trail: every record stored ({} quarantined since start)",
                stats.quarantined
            );
        } else {
            tracing::error!(
                unstored = stats.unsettled,
                quarantined = stats.quarantined,
                "audit trail: {} records could not be stored before shutdown",
                stats.unsettled
            );
        }
    }
    if let Some(worker) = delivery_worker {
        worker.stop().await;
    }
    tracing::info!("hbpc-gateway stopped");
    Ok(())
}
