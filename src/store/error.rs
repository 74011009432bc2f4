use thiserror::Error;

/// Why one operation of an `apply` call could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OpFailure {
    #[error("the conditional create matched {count} resources")]
    MultipleMatches { count: usize },
    #[error("version conflict: If-Match expected version {expected}, current is {current:?}")]
    VersionConflict { expected: u64, current: Option<u64> },
    #[error("a resource with this id already exists")]
    AlreadyExists,
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("operation {index} failed: {failure}")]
    Op { index: usize, failure: OpFailure },
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store error: {0}")]
    Backend(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}
