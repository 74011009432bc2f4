//! Domain: the FHIR model helpers and intake validation. No HTTP, no SQL.

pub mod auth;
pub mod care_planning;
pub mod eligibility;
pub mod fast_hash;
pub mod fhir;
pub mod fhirpath;
pub mod guide;
pub mod search;
pub mod text;
pub mod validation;
