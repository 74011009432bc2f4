//! hbpc-gateway: FHIR R4 intake gateway for a Home Based Palliative Care program.
//!
//! Data flows one way: `http` (actix handlers) → `app` (application services)
//! → `domain` (FHIR model, validation) and `store` (persistence).

pub mod allocator;
pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod http;
pub mod store;
pub mod telemetry;
