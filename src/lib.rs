//! hbpc-gateway: FHIR R4 intake gateway for a Home Based Palliative Care program.
//!
//! Data flows one way: `http` (actix handlers) → `app` (application services) → `domain`
//! (the program: eligibility, care planning, auth, the HBPC guide) and `store` (persistence),
//! all on the FHIR engine (`fhir_engine`, crates/fhir: JSON, FHIRPath, validation, search),
//! which knows nothing of them. `cli` holds every subcommand of the binary.

pub mod allocator;
pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod http;
pub mod store;
pub mod telemetry;
