//! Persistence: versioned FHIR resources behind one trait, so SQLite and PostgreSQL can both serve.
//!
//! The store knows the FHIR resource envelope (id, meta, identifiers, references) and nothing
//! about referral workflow or HTTP.

pub mod delivery_request;
pub mod error;
pub mod migrate;
pub mod outbox;
pub mod postgres;
pub mod prepared_write;
pub mod resource;
pub mod search;
pub mod security;
pub mod sqlite;
pub mod write_audit;
pub mod write_op;
pub mod write_rules;

use async_trait::async_trait;
use std::sync::Arc;

pub use error::{OpFailure, StoreError};
pub use resource::StoredResource;
pub use write_op::{WriteOp, WriteOutcome};

use fhir_engine::model::identifier::IdentifierToken;
use fhir_engine::search::{HistoryQuery, SearchQuery};

#[async_trait]
pub trait ResourceStore: Send + Sync {
    /// The current version, including a deletion tombstone (`deleted = true`).
    async fn read(
        &self,
        resource_type: &str,
        id: &str,
    ) -> Result<Option<StoredResource>, StoreError>;

    async fn vread(
        &self,
        resource_type: &str,
        id: &str,
        version_id: u64,
    ) -> Result<Option<StoredResource>, StoreError>;

    /// Applies all operations atomically, in order: all succeed and are durable, or none is stored.
    /// A conditional create that matches an existing resource makes references to its
    /// pre-assigned id in later operations point to the existing resource instead.
    async fn apply(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>, StoreError>;

    /// Ids of current, non-deleted resources of a type carrying a matching identifier.
    async fn find_by_identifier(
        &self,
        resource_type: &str,
        token: &IdentifierToken,
    ) -> Result<Vec<String>, StoreError>;

    /// One page of a search with its `_include`/`_revinclude` resources: indexed queries on
    /// the search index the writes keep in step (see `store::search`).
    async fn search(&self, query: &SearchQuery) -> Result<search::SearchResult, StoreError>;

    /// Stored versions, newest first, tombstones included (`_history`).
    async fn history(&self, query: &HistoryQuery) -> Result<Vec<StoredResource>, StoreError>;

    /// Counts for operators and tests.
    async fn stats(&self) -> Result<StoreStats, StoreError>;

    /// Answers when the store can serve reads and writes.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The delivery outbox kept in the same database (issue #5), when the backend has one.
    fn outbox(&self) -> Option<Arc<dyn outbox::DeliveryOutbox>> {
        None
    }

    /// How busy the store is right now, for the metrics.
    fn load(&self) -> StoreLoad {
        StoreLoad::default()
    }
}

/// A snapshot of the store's queues and connections (`GET /metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreLoad {
    /// Write requests waiting for the single writer (SQLite).
    pub write_queue: Option<usize>,
    /// The connection pool (PostgreSQL).
    pub pool: Option<PoolUse>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

pub type SharedStore = Arc<dyn ResourceStore>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreStats {
    /// Every stored version, deletion tombstones included.
    pub versions: u64,
    /// Resources whose current version is not a deletion.
    pub live_resources: u64,
}

/// Opens the store named by a database URL: `sqlite://PATH` or `postgres://…`.
pub async fn open(
    url: &str,
    settings: &crate::config::DatabaseSettings,
) -> Result<SharedStore, StoreError> {
    match url.split_once("://") {
        Some(("sqlite", path)) => Ok(Arc::new(sqlite::SqliteStore::open(path, settings).await?)),
        Some(("postgres" | "postgresql", _)) => Ok(Arc::new(
            postgres::PostgresStore::open(url, settings).await?,
        )),
        _ => Err(StoreError::Unavailable(format!(
            "unsupported database URL scheme in '{}': use sqlite://PATH or postgres://…",
            url.split("://").next().unwrap_or_default()
        ))),
    }
}
