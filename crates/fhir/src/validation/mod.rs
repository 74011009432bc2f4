//! Intake validation: one interface, implemented by the StructureDefinition-driven validator
//! in `structure/`.

pub mod snapshot;
pub mod structure;

use crate::outcome::Issue;
use serde_json::Value;

/// The issues of a validation, by pass.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// Base R4 definitions: structure, cardinality, formats, core bindings, Bundle rules.
    pub base: Vec<Issue>,
    /// Profiles (an implementation guide's or operator rules); run only when the base pass has
    /// no errors.
    pub profile: Vec<Issue>,
}

impl Outcome {
    pub fn all(&self) -> Vec<Issue> {
        self.base.iter().chain(&self.profile).cloned().collect()
    }

    pub fn base_errors(&self) -> bool {
        self.base.iter().any(Issue::is_error)
    }

    pub fn profile_errors(&self) -> bool {
        self.profile.iter().any(Issue::is_error)
    }
}

/// Checks one resource (and the resources nested in it) and reports every problem found.
/// Expressions are FHIRPath rooted at the resource type, e.g. `ServiceRequest.subject`.
pub trait IntakeValidator: Send + Sync {
    /// Base definitions, then the profiles intake applies (declared or default).
    fn check(&self, resource: &Value) -> Outcome;

    /// Every issue of both passes.
    fn validate(&self, resource: &Value) -> Vec<Issue> {
        self.check(resource).all()
    }

    /// Whether `resource_type` is a resource type this validator knows (R4 core).
    fn knows_type(&self, resource_type: &str) -> bool;
}
