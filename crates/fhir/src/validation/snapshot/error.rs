//! What goes wrong while generating a snapshot, named by profile URL and element id.

/// A snapshot that could not be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{url}: {element}: {message}")]
pub struct SnapshotError {
    /// The canonical URL of the StructureDefinition being generated.
    pub url: String,
    /// The differential element id (or the root) the problem is at.
    pub element: String,
    pub message: String,
    /// The profile needs a definition that is not loaded (its base, or a type profile it
    /// constrains below): the package set is incomplete, the profile itself may be right.
    pub missing: bool,
}

/// A problem met below the definition being generated, before it is named.
#[derive(Debug)]
pub enum Problem {
    /// The differential is wrong here.
    Invalid(String),
    /// A definition it needs is not loaded.
    Missing(String),
    /// Generating another definition (a type profile) failed.
    Inner(SnapshotError),
}

impl Problem {
    /// Names the problem by the definition and element it was met at.
    pub fn at(self, url: &str, element: &str) -> SnapshotError {
        let (message, missing) = match self {
            Problem::Invalid(m) => (m, false),
            Problem::Missing(m) => (m, true),
            Problem::Inner(e) if e.missing => (
                format!("needs {}, which is unavailable: {}", e.url, e.message),
                true,
            ),
            Problem::Inner(e) => return e,
        };
        SnapshotError {
            url: url.to_string(),
            element: element.to_string(),
            message,
            missing,
        }
    }
}

impl From<String> for Problem {
    fn from(message: String) -> Self {
        Problem::Invalid(message)
    }
}

impl From<SnapshotError> for Problem {
    fn from(e: SnapshotError) -> Self {
        Problem::Inner(e)
    }
}
