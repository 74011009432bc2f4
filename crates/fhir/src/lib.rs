//! A FHIR R4 engine on `serde_json::Value`, so that every element a client sent (extensions,
//! unknown elements, decimal precision) is kept. It knows FHIR and nothing of the program that
//! uses it, of HTTP or of SQL: callers hand in their implementation guide, their default
//! profiles and the resource types they store.
//!
//! - [`json`]: bounded reading of request bytes, member access, building, and the line and
//!   column of the elements issues name;
//! - [`model`]: FHIR data type helpers (codings, instants, ids, identifiers, meta,
//!   references);
//! - [`outcome`]: OperationOutcome issues, and [`bundle`]: Bundle helpers;
//! - [`fhirpath`]: the FHIRPath engine, compiled once per expression;
//! - [`validation`]: StructureDefinition loading, value set expansion and the validator;
//! - [`search`]: the search parameter registry, index extraction and query parsing;
//! - [`temporal`]: dates, dateTimes, instants and times: one parser and calendar for all.
//! - [`xml`]: FHIR XML read into the JSON form and written from it, by the R4 definitions.

pub mod bundle;
pub mod fast_hash;
pub mod fhirpath;
pub mod json;
pub mod model;
pub mod outcome;
pub mod patch;
pub mod search;
pub mod temporal;
pub mod text;
pub mod validation;
pub mod xml;

/// The FHIR version this engine speaks.
pub const FHIR_VERSION: &str = "4.0.1";
