//! Building and running the HTTP server.

use super::capability::capability_statement;
use super::handlers::system;
use super::request_log::log_request;
use super::routes;
use super::state::AppState;
use crate::app::intake::Intake;
use crate::app::reads::Reads;
use crate::app::search::Search;
use crate::app::validation::Validation;
use crate::config::Settings;
use crate::domain::validation::structure::fhirpath_invariants::FhirPathInvariants;
use crate::domain::validation::structure::{IntakeProfiles, LoadOptions, StructureValidator};
use crate::domain::validation::IntakeValidator;
use crate::store;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot load the FHIR definitions and profiles: {0}")]
    Definitions(#[from] crate::domain::validation::structure::definitions::LoadError),
    #[error("cannot open the database: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Opens the store, compiles the validator and wires the services.
pub async fn build_state(settings: Settings) -> Result<AppState, ServeError> {
    let store = store::open(&settings.database.url, &settings.database).await?;
    let started = std::time::Instant::now();
    let options = LoadOptions {
        ig_dirs: settings.validation.ig_dirs.iter().map(Into::into).collect(),
        invariants: Some(Arc::new(FhirPathInvariants::new())),
    };
    let structure = Arc::new(StructureValidator::load(&options)?);
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        invariants = ?structure.invariant_stats(),
        "FHIR definitions and profiles compiled"
    );
    let validator: Arc<dyn IntakeValidator> = Arc::new(IntakeProfiles {
        validator: Arc::clone(&structure),
        default_profiles: settings.validation.default_profiles,
    });
    let validation = Validation::new(
        structure,
        settings.validation.default_profiles,
        settings.limits.max_json_depth,
    );
    let search_registry = crate::domain::search::registry();
    tracing::info!(
        skipped = search_registry.skipped.len(),
        "search parameters compiled"
    );
    let capability = capability_statement(&validation.supported_profiles());
    Ok(AppState {
        intake: Intake::new(store.clone(), validator, settings.limits.clone()),
        search: Search::new(store.clone(), &settings.search),
        reads: Reads::new(store),
        validation,
        capability: capability.to_string().into(),
        settings: Arc::new(settings),
    })
}

/// Serves until SIGTERM or Ctrl-C, then lets in-flight requests finish.
pub async fn serve(settings: Settings) -> Result<(), ServeError> {
    let addr = settings.listen_addr()?;
    let workers = settings.server.workers;
    let shutdown = settings.server.shutdown_timeout_secs;
    let state = build_state(settings).await?;
    let data = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(from_fn(log_request))
            .configure(routes::configure)
            .default_service(web::to(system::not_found))
    })
    .shutdown_timeout(shutdown);
    if workers > 0 {
        server = server.workers(workers);
    }
    let server = server.bind(addr).map_err(|source| ServeError::Bind {
        addr: addr.to_string(),
        source,
    })?;
    tracing::info!(%addr, "hbpc-gateway listening");
    server.run().await?;
    tracing::info!("hbpc-gateway stopped");
    Ok(())
}
