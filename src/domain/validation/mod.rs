//! Intake validation: one interface, so the profile validator can replace the schema check.

pub mod fhirpath_location;
pub mod json_schema;

use crate::domain::fhir::operation_outcome::Issue;
use serde_json::Value;

/// Checks one resource (and the resources nested in it) and reports every problem found.
/// Expressions are FHIRPath rooted at the resource type, e.g. `ServiceRequest.subject`.
pub trait IntakeValidator: Send + Sync {
    fn validate(&self, resource: &Value) -> Vec<Issue>;

    /// Whether `resource_type` is a resource type this validator knows (R4 core).
    fn knows_type(&self, resource_type: &str) -> bool;
}
