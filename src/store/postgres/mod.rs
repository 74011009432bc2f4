//! The PostgreSQL store: several gateway replicas share one database.

mod connections;
mod migrations;
mod operations;
mod outbox;
mod queries;
mod search;
mod security;

use super::search::{exec, Dialect, SearchResult};
use super::{ResourceStore, StoreError, StoreStats, StoredResource, WriteOp, WriteOutcome};
use crate::config::DatabaseSettings;
use async_trait::async_trait;
use connections::Connections;
use fhir_engine::model::identifier::IdentifierToken;
use fhir_engine::model::instant::now_millis;
use fhir_engine::search::{HistoryQuery, SearchQuery};
use operations::OpsError;

/// Attempts of one `apply` when PostgreSQL reports a transient conflict.
const MAX_ATTEMPTS: usize = 5;

pub struct PostgresStore {
    db: Connections,
    max_index_rows: usize,
    outbox: std::sync::Arc<outbox::PostgresOutbox>,
}

impl PostgresStore {
    pub async fn open(url: &str, settings: &DatabaseSettings) -> Result<Self, StoreError> {
        let db = Connections::open(url, settings)
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot connect to PostgreSQL: {e}")))?;
        let mut conn = db.acquire().await.map_err(unavailable)?;
        let applied = migrations::apply(&mut conn, now_millis())
            .await
            .map_err(|e| StoreError::Unavailable(format!("migrations failed: {e}")))?;
        tracing::info!(applied, "database migrations checked");
        let indexed = search::reindex_pending(&mut conn)
            .await
            .map_err(|e| StoreError::Unavailable(format!("search reindex failed: {e}")))?;
        if indexed > 0 {
            tracing::info!(indexed, "search index rebuilt for the indexed parameters");
        }
        let outbox = std::sync::Arc::new(outbox::PostgresOutbox::new(db.clone()));
        drop(conn);
        Ok(Self {
            db,
            max_index_rows: settings.max_index_rows,
            outbox,
        })
    }
}

impl PostgresStore {
    /// Writes versions as they are (ids, versions, timestamps, bodies), then points each
    /// resource at its newest version and indexes its identifiers. Re-running is harmless.
    pub async fn import_versions(&self, versions: &[StoredResource]) -> Result<(), StoreError> {
        let mut lease = self.db.acquire().await.map_err(unavailable)?;
        let mut tx = sqlx::Connection::begin(&mut *lease)
            .await
            .map_err(unavailable)?;
        operations::import_versions(&mut tx, versions)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }
}

fn unavailable(e: sqlx::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn backend(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => unavailable(e),
        sqlx::Error::Database(ref db) if refuses_data(db.code().as_deref()) => {
            StoreError::Rejected(e.to_string())
        }
        other => StoreError::Backend(other.to_string()),
    }
}

/// SQLSTATE classes of data the server refuses whatever the moment: 22 data exception (an
/// invalid byte such as NUL, a value out of range), 23 integrity constraint, 54 program limit
/// (an index row too large). Connection, resource and concurrency classes (08, 53, 57, 40)
/// are worth another try.
fn refuses_data(sqlstate: Option<&str>) -> bool {
    matches!(sqlstate.map(|c| c.get(..2)), Some(Some("22" | "23" | "54")))
}

/// Unique violations (two replicas creating the same new id), serialization failures and
/// deadlocks resolve themselves when the transaction runs again.
fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            matches!(db.code().as_deref(), Some("23505" | "40001" | "40P01"))
        }
        _ => false,
    }
}

#[async_trait]
impl ResourceStore for PostgresStore {
    async fn read(
        &self,
        resource_type: &str,
        id: &str,
    ) -> Result<Option<StoredResource>, StoreError> {
        let mut conn = self.db.acquire().await.map_err(unavailable)?;
        queries::current(&mut conn, resource_type, id)
            .await
            .map_err(backend)
    }

    async fn vread(
        &self,
        resource_type: &str,
        id: &str,
        version_id: u64,
    ) -> Result<Option<StoredResource>, StoreError> {
        let mut conn = self.db.acquire().await.map_err(unavailable)?;
        queries::version(&mut conn, resource_type, id, version_id)
            .await
            .map_err(backend)
    }

    async fn apply(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>, StoreError> {
        let mut attempt = 1;
        let started = std::time::Instant::now();
        loop {
            let mut lease = self.db.acquire().await.map_err(unavailable)?;
            let mut tx = sqlx::Connection::begin(&mut *lease)
                .await
                .map_err(unavailable)?;
            let result =
                operations::apply_ops(&mut tx, ops.clone(), now_millis(), self.max_index_rows)
                    .await;
            let error = match result {
                Ok(outcomes) => match tx.commit().await {
                    Ok(()) => {
                        crate::telemetry::metrics::write_committed(
                            "postgres",
                            1,
                            started.elapsed(),
                        );
                        return Ok(outcomes);
                    }
                    Err(e) => OpsError::Database(e),
                },
                Err(e) => e,
            };
            // Dropping `tx` rolls back.
            match error {
                OpsError::Store(e) => return Err(e),
                OpsError::Database(e) if is_transient(&e) && attempt < MAX_ATTEMPTS => {
                    tracing::debug!(attempt, error = %e, "retrying a conflicting transaction");
                    attempt += 1;
                }
                OpsError::Database(e) => return Err(backend(e)),
            }
        }
    }

    async fn find_by_identifier(
        &self,
        resource_type: &str,
        token: &IdentifierToken,
    ) -> Result<Vec<String>, StoreError> {
        let mut conn = self.db.acquire().await.map_err(unavailable)?;
        queries::ids_by_identifier(&mut conn, resource_type, token, 1000)
            .await
            .map_err(backend)
    }

    async fn search(&self, query: &SearchQuery) -> Result<SearchResult, StoreError> {
        exec::search(self, Dialect::Postgres, query).await
    }

    async fn history(&self, query: &HistoryQuery) -> Result<Vec<StoredResource>, StoreError> {
        exec::history(self, Dialect::Postgres, query).await
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        let (versions, current): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM resource_version),
                    (SELECT COUNT(*) FROM resource_current c JOIN resource_version v
                        ON v.resource_type = c.resource_type AND v.id = c.id
                       AND v.version_id = c.version_id WHERE NOT v.deleted)",
        )
        .fetch_one(&mut *self.db.acquire().await.map_err(backend)?)
        .await
        .map_err(backend)?;
        Ok(StoreStats {
            versions: versions as u64,
            live_resources: current as u64,
        })
    }

    fn outbox(&self) -> Option<std::sync::Arc<dyn crate::store::outbox::DeliveryOutbox>> {
        Some(self.outbox.clone())
    }

    fn load(&self) -> crate::store::StoreLoad {
        crate::store::StoreLoad {
            write_queue: None,
            pool: Some(self.db.usage()),
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&mut *self.db.acquire().await.map_err(backend)?)
            .await
            .map(|_| ())
            .map_err(unavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::refuses_data;

    #[test]
    fn data_classes_are_refused_and_connection_classes_are_not() {
        for refused in ["22021", "22001", "23505", "54000"] {
            assert!(refuses_data(Some(refused)), "{refused}");
        }
        for retried in ["08006", "53300", "57P01", "40001", "XX000"] {
            assert!(!refuses_data(Some(retried)), "{retried}");
        }
        assert!(!refuses_data(None));
    }
}
