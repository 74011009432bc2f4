//! Domain: what the program knows, on top of the FHIR engine (`fhir_engine`). No HTTP, no SQL.
//!
//! - `eligibility`: the program's criteria, criterion by criterion;
//! - `care_planning`: the Task, CarePlan and CareTeam a determination generates;
//! - `auth`: SMART Backend Services scopes, client assertions, JWKS and audit events;
//! - `guide`: the HBPC implementation guide as the engine sees it (profiles, default
//!   profiles, stored resource types and their search registry).

pub mod auth;
pub mod care_planning;
pub mod eligibility;
pub mod guide;
