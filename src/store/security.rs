//! What security needs from the database, on both backends: the client-assertion `jti`
//! replay cache (shared by every replica, survives restarts) and the audit trail.
//!
//! Audit records live in their own table with their own read path, apart from the resource
//! tables: they are not resource versions and never count as such.

use super::write_audit::{Settlement, StoredIntent};
use super::{SharedStore, StoreError};
use async_trait::async_trait;
use std::sync::Arc;

/// One stored AuditEvent, with the columns it can be searched by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub id: String,
    pub recorded_ms: i64,
    pub client_id: String,
    pub subtype: String,
    pub outcome: String,
    pub entity_type: Option<String>,
    /// The AuditEvent JSON as served.
    pub body: String,
    /// Must be on disk before the request is answered (writes). Records of reads may ride the
    /// next synced commit on SQLite (they are committed, and survive a crash of the process).
    pub fsync: bool,
}

/// An audit record the store refused for a reason that retrying cannot change (a data error,
/// not a lost connection). It is kept apart, with the error, for an operator to inspect
/// (`hbpc-gateway audit quarantine`), instead of holding up every later record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedAudit {
    pub id: String,
    pub recorded_ms: i64,
    pub quarantined_ms: i64,
    /// Why the store refused the record.
    pub error: String,
    /// The whole record (its columns and AuditEvent body) as JSON bytes, kept as bytes so
    /// that whatever the store refused in it can be stored here.
    pub record: Vec<u8>,
}

impl QuarantinedAudit {
    pub fn of(row: &AuditRow, error: &str, now_ms: i64) -> Self {
        let record = serde_json::json!({
            "id": row.id,
            "recorded_ms": row.recorded_ms,
            "client_id": row.client_id,
            "subtype": row.subtype,
            "outcome": row.outcome,
            "entity_type": row.entity_type,
            "body": row.body,
        });
        Self {
            id: row.id.chars().filter(|c| !c.is_control()).collect(),
            recorded_ms: row.recorded_ms,
            quarantined_ms: now_ms,
            error: error.chars().filter(|c| !c.is_control()).collect(),
            record: serde_json::to_vec(&record).unwrap_or_default(),
        }
    }
}

/// Newest first; every given field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub client_id: Option<String>,
    pub subtype: Option<String>,
    pub outcome: Option<String>,
    pub entity_type: Option<String>,
    /// Only events recorded at or after this time.
    pub since_ms: Option<i64>,
    pub limit: usize,
}

#[async_trait]
pub trait SecurityStore: Send + Sync {
    /// Records that `client_id` used `jti`, until `expires_ms`. False when it was already used
    /// (a replay). Entries past their expiry are purged along the way.
    async fn claim_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_ms: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Durably appends audit records; an error means they are not stored. A record replaces
    /// one stored with the same id (made from its request's audit intent by settlement).
    async fn append_audit(&self, rows: Vec<AuditRow>) -> Result<(), StoreError>;

    /// The oldest `limit` audit intents of committed writes (`store::write_audit`).
    async fn audit_intents(&self, limit: usize) -> Result<Vec<StoredIntent>, StoreError>;

    /// Stores `settlement.records` (a record already stored with the same id wins), then,
    /// once they are durable, deletes `settlement.intents`.
    async fn settle_audit_intents(&self, settlement: Settlement) -> Result<(), StoreError>;

    /// Keeps records the store refused (`StoreError::Rejected`) apart, durably.
    async fn quarantine_audit(&self, records: Vec<QuarantinedAudit>) -> Result<(), StoreError>;

    /// Quarantined records, newest first, and how many there are in all.
    async fn quarantined_audit(
        &self,
        limit: usize,
    ) -> Result<(u64, Vec<QuarantinedAudit>), StoreError>;

    async fn audit_event(&self, id: &str) -> Result<Option<String>, StoreError>;

    async fn audit_events(&self, filter: &AuditFilter) -> Result<Vec<String>, StoreError>;
}

pub type SharedSecurityStore = Arc<dyn SecurityStore>;

/// Opens the resource store and, on the same database (and, for SQLite, the same
/// group-committing writer), the security store.
pub async fn open(
    url: &str,
    settings: &crate::config::DatabaseSettings,
) -> Result<(SharedStore, SharedSecurityStore), StoreError> {
    match url.split_once("://") {
        Some(("sqlite", path)) => {
            let store = super::sqlite::SqliteStore::open(path, settings).await?;
            let security = Arc::new(store.security());
            Ok((Arc::new(store), security))
        }
        Some(("postgres" | "postgresql", _)) => {
            let store = super::postgres::PostgresStore::open(url, settings).await?;
            let security = Arc::new(store.security());
            Ok((Arc::new(store), security))
        }
        _ => Err(StoreError::Unavailable(format!(
            "unsupported database URL scheme in '{}': use sqlite://PATH or postgres://…",
            url.split("://").next().unwrap_or_default()
        ))),
    }
}
