//! FHIR R4 data type helpers that work on `serde_json::Value`.

pub mod coding;
pub mod id;
pub mod identifier;
pub mod instant;
pub mod meta;
pub mod reference;
pub mod server_id;
