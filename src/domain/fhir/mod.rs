//! FHIR R4 JSON model helpers that work on `serde_json::Value`, so that every
//! element a client sent (extensions, unknown elements, decimal precision) is kept.

pub mod bundle;
pub mod coding;
pub mod date;
pub mod identifier;
pub mod instant;
pub mod json;
pub mod json_build;
pub mod json_position;
pub mod member;
pub mod meta;
pub mod operation_outcome;
pub mod reference;
pub mod resource_type;
pub mod server_id;

/// The FHIR version this gateway speaks.
pub const FHIR_VERSION: &str = "4.0.1";
