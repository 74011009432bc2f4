//! Search and history, the store half: index rows become `search_index` table rows in the
//! write transaction, and a `SearchQuery` becomes indexed SQL (never a scan of a type).
//! The SQL and the paging/include algorithm are shared; each backend only runs statements
//! (`SqlRunner`).

pub mod columns;
pub mod exec;
pub mod param_code;
pub mod sql;
pub mod uuid_value;

use super::{StoreError, StoredResource};
use async_trait::async_trait;
use fhir_engine::search::index::{IndexRow, STAMPED_PARAMS};
use fhir_engine::search::SearchIndexer;
pub use sql::{Arg, Dialect, Sql};

/// The indexer every store uses: the registry of the stored types' R4 SearchParameters.
pub fn indexer() -> &'static dyn SearchIndexer {
    crate::domain::guide::resource_types::search_registry()
}

/// A resource's `search_index` rows: those of every indexed parameter but `_id` and
/// `_lastUpdated`, which the resource tables answer (`sql.rs`).
pub fn rows_of(resource_type: &str, resource: &serde_json::Value) -> Vec<IndexRow> {
    indexer().index_rows_where(resource_type, resource, &|code| {
        !STAMPED_PARAMS.contains(&code)
    })
}

/// The parameters with rows, as the store records them (`search_indexed_set`): rows built
/// for another set are rebuilt at start.
pub fn indexed_set() -> String {
    crate::domain::guide::indexed_parameters::fingerprint(
        crate::domain::guide::resource_types::search_registry(),
    )
    .split(',')
    .filter(|p| {
        p.split_once('.')
            .is_none_or(|(_, code)| !STAMPED_PARAMS.contains(&code))
    })
    .collect::<Vec<_>>()
    .join(",")
}

/// The write work bound (`database.max_index_rows`): a resource's index rows, checked
/// before any of them is written.
pub fn check_index_rows(resource_type: &str, rows: usize, max: usize) -> Result<(), StoreError> {
    if rows <= max {
        return Ok(());
    }
    Err(StoreError::TooCostly(format!(
        "the {resource_type} would be indexed under {rows} search values; a resource may have \
         at most {max} (database.max_index_rows): it repeats elements too many times"
    )))
}

/// One page of search results.
#[derive(Debug, Clone, Default)]
pub struct SearchResult {
    pub matches: Vec<StoredResource>,
    /// `_include` / `_revinclude` results (search.mode = include), without duplicates.
    pub included: Vec<StoredResource>,
    pub next: Option<fhir_engine::search::Cursor>,
    pub previous: Option<fhir_engine::search::Cursor>,
    pub total: Option<u64>,
}

/// Runs the shared SQL on one backend; each method is one statement.
#[async_trait]
pub trait SqlRunner: Send + Sync {
    /// Rows of (id TEXT, key BIGINT).
    async fn keys(&self, sql: Sql) -> Result<Vec<(String, i64)>, StoreError>;
    /// One BIGINT.
    async fn count(&self, sql: Sql) -> Result<i64, StoreError>;
    /// Rows of (TEXT, TEXT).
    async fn pairs(&self, sql: Sql) -> Result<Vec<(String, String)>, StoreError>;
    /// Rows of (resource_type, id, version_id, last_updated_ms, deleted, body).
    async fn versions(&self, sql: Sql) -> Result<Vec<StoredResource>, StoreError>;
}
