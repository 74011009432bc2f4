//! FHIR `patch`: JSON Patch (RFC 6902) and FHIRPath Patch (a Parameters resource). Both apply
//! all their operations or none, and neither may change the resource's `id` or
//! `resourceType`; whether the result is a valid resource is the caller's check.

mod fhirpath_patch;
mod json_patch;

pub use fhirpath_patch::apply_fhirpath_patch;
pub use json_patch::apply_json_patch;

/// Why a patch was not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The patch document itself is not well-formed (400).
    #[error("{text}")]
    Malformed {
        text: String,
        expression: Option<String>,
    },
    /// Well-formed, but it cannot be applied to this resource: a failed `test`, a path that
    /// names nothing, a change of `id` (422).
    #[error("{text}")]
    NotApplicable {
        text: String,
        expression: Option<String>,
    },
}

impl PatchError {
    pub(crate) fn malformed(text: impl Into<String>, expression: Option<String>) -> Self {
        Self::Malformed {
            text: text.into(),
            expression,
        }
    }

    pub(crate) fn not_applicable(text: impl Into<String>, expression: Option<String>) -> Self {
        Self::NotApplicable {
            text: text.into(),
            expression,
        }
    }

    pub fn expression(&self) -> Option<&str> {
        match self {
            Self::Malformed { expression, .. } | Self::NotApplicable { expression, .. } => {
                expression.as_deref()
            }
        }
    }
}

/// Members no patch may touch: the server owns the identity of what is patched.
pub(crate) const PROTECTED_MEMBERS: [&str; 2] = ["id", "resourceType"];
