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
    /// A resource would cost more write work than `database.max_index_rows` allows.
    #[error("too costly: {0}")]
    TooCostly(String),
    #[error("store error: {0}")]
    Backend(String),
    /// The database refused the data itself (an invalid byte, a constraint, a value too large):
    /// running the same statement again fails the same way, so it must not be retried.
    #[error("the store refused the data: {0}")]
    Rejected(String),
}
