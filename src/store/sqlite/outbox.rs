//! The delivery outbox on SQLite.
//!
//! Enqueueing runs on the writer's connection, inside `apply`. Claims and settlements use a
//! connection of their own: each is one short `BEGIN IMMEDIATE` transaction, which SQLite
//! serialises with the writer's commits, so a single `UPDATE … RETURNING` claims atomically.

use crate::store::delivery_request::DeliveryRequest;
use crate::store::outbox::{
    decode_resources, encode_resources, merge_resources, DeliveryFilter, DeliveryOutbox,
    DeliveryRecord, DeliveryState, Settlement,
};
use crate::store::StoreError;
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use std::path::Path;
use std::sync::{Arc, Mutex};

const COLUMNS: &str = "id, task_id, destination, resources, state, attempts, created_ms, \
     age_from_ms, next_attempt_ms, lease_until_ms, last_status, last_error, delivered_ms, upstream";

/// Called by `apply_ops` inside the writer's transaction.
pub fn enqueue(
    conn: &Connection,
    request: DeliveryRequest,
    now_ms: i64,
) -> Result<String, StoreError> {
    let id = uuid::Uuid::new_v4().to_string();
    // Older records nobody is working on hand their resources to this one.
    let older: Vec<String> = conn
        .prepare_cached(
            "UPDATE delivery SET state = 'superseded', superseded_by = ?3, updated_ms = ?4
              WHERE task_id = ?1 AND destination = ?2 AND state = 'pending'
                AND (lease_until_ms IS NULL OR lease_until_ms < ?4)
             RETURNING resources",
        )?
        .query_map(
            params![request.task_id, request.destination, id, now_ms],
            |r| r.get(0),
        )?
        .collect::<rusqlite::Result<_>>()?;
    let resources = merge_resources(request.resources, &older);
    conn.prepare_cached(
        "INSERT INTO delivery (id, task_id, destination, resources, state, attempts, created_ms,
                               age_from_ms, next_attempt_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, 'pending', 0, ?5, ?5, ?5, ?5)",
    )?
    .execute(params![
        id,
        request.task_id,
        request.destination,
        encode_resources(&resources),
        now_ms
    ])?;
    Ok(id)
}

fn record(row: &Row<'_>) -> rusqlite::Result<DeliveryRecord> {
    let resources: String = row.get(3)?;
    let state: String = row.get(4)?;
    let upstream: Option<String> = row.get(13)?;
    Ok(DeliveryRecord {
        id: row.get(0)?,
        task_id: row.get(1)?,
        destination: row.get(2)?,
        resources: decode_resources(&resources),
        state: DeliveryState::parse(&state).unwrap_or(DeliveryState::Dead),
        attempts: row.get::<_, i64>(5)?.max(0) as u32,
        created_ms: row.get(6)?,
        age_from_ms: row.get(7)?,
        next_attempt_ms: row.get(8)?,
        lease_until_ms: row.get(9)?,
        last_status: row.get::<_, Option<i64>>(10)?.map(|s| s as u16),
        last_error: row.get(11)?,
        delivered_ms: row.get(12)?,
        upstream: upstream.and_then(|u| serde_json::from_str(&u).ok()),
    })
}

pub struct SqliteOutbox {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteOutbox {
    /// Opens the outbox's own connection; the schema is already migrated by the writer.
    pub fn open(path: &Path, busy_timeout_ms: u64) -> Result<Self, StoreError> {
        let conn = Connection::open(path)
            .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
        conn.busy_timeout(std::time::Duration::from_millis(busy_timeout_ms))?;
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn with<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> Result<R, StoreError> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Unavailable("the outbox connection is poisoned".into()))?;
            f(&mut guard).map_err(StoreError::from)
        })
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?
    }
}

#[async_trait]
impl DeliveryOutbox for SqliteOutbox {
    async fn claim(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        skip_destinations: &[String],
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        let owner = owner.to_string();
        let skip = serde_json::Value::from(skip_destinations.to_vec()).to_string();
        self.with(move |conn| {
            // A read first: an idle poll never takes the write lock from the writer.
            let due: bool = conn
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM delivery WHERE state = 'pending'
                                       AND next_attempt_ms <= ?1)",
                )?
                .query_row([now_ms], |r| r.get(0))?;
            if !due {
                return Ok(None);
            }
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let claimed = tx
                .prepare_cached(&format!(
                    "UPDATE delivery
                        SET lease_owner = ?1, lease_until_ms = ?2 + ?3, attempts = attempts + 1,
                            updated_ms = ?2
                      WHERE seq = (
                        SELECT d.seq FROM delivery d
                         WHERE d.state = 'pending' AND d.next_attempt_ms <= ?2
                           AND (d.lease_until_ms IS NULL OR d.lease_until_ms < ?2)
                           AND d.destination NOT IN (SELECT value FROM json_each(?4))
                           AND NOT EXISTS (
                             SELECT 1 FROM delivery o
                              WHERE o.task_id = d.task_id AND o.destination = d.destination
                                AND o.state = 'pending' AND o.seq <> d.seq
                                AND o.lease_until_ms >= ?2)
                         ORDER BY d.next_attempt_ms, d.seq LIMIT 1)
                     RETURNING {COLUMNS}"
                ))?
                .query_row(params![owner, now_ms, lease_ms, skip], record)
                .optional()?;
            tx.commit()?;
            Ok(claimed)
        })
        .await
    }

    async fn settle(
        &self,
        id: &str,
        owner: &str,
        settlement: Settlement,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let (id, owner) = (id.to_string(), owner.to_string());
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let changed = match settlement {
                Settlement::Delivered { status, upstream } => tx
                    .prepare_cached(
                        "UPDATE delivery SET state = 'delivered', delivered_ms = ?3, last_status = ?4,
                                upstream = ?5, last_error = NULL, lease_owner = NULL,
                                lease_until_ms = NULL, updated_ms = ?3
                          WHERE id = ?1 AND lease_owner = ?2 AND state = 'pending'",
                    )?
                    .execute(params![id, owner, now_ms, status, upstream.to_string()])?,
                Settlement::Retry {
                    next_attempt_ms,
                    status,
                    error,
                } => tx
                    .prepare_cached(
                        "UPDATE delivery SET next_attempt_ms = ?4, last_status = ?5, last_error = ?6,
                                lease_owner = NULL, lease_until_ms = NULL, updated_ms = ?3
                          WHERE id = ?1 AND lease_owner = ?2 AND state = 'pending'",
                    )?
                    .execute(params![id, owner, now_ms, next_attempt_ms, status, error])?,
                Settlement::Dead { status, error } => tx
                    .prepare_cached(
                        "UPDATE delivery SET state = 'dead', last_status = ?4, last_error = ?5,
                                lease_owner = NULL, lease_until_ms = NULL, updated_ms = ?3
                          WHERE id = ?1 AND lease_owner = ?2 AND state = 'pending'",
                    )?
                    .execute(params![id, owner, now_ms, status, error])?,
            };
            tx.commit()?;
            Ok(changed == 1)
        })
        .await
    }

    async fn get(&self, id: &str) -> Result<Option<DeliveryRecord>, StoreError> {
        let id = id.to_string();
        self.with(move |conn| {
            conn.prepare_cached(&format!("SELECT {COLUMNS} FROM delivery WHERE id = ?1"))?
                .query_row([id], record)
                .optional()
        })
        .await
    }

    async fn counts(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        self.with(|conn| {
            conn.prepare_cached(
                "SELECT destination, state, COUNT(*) FROM delivery GROUP BY destination, state",
            )?
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
            })?
            .collect()
        })
        .await
    }

    async fn list(&self, filter: &DeliveryFilter) -> Result<Vec<DeliveryRecord>, StoreError> {
        let state = filter.state.map(DeliveryState::code);
        let task = filter.task_id.clone();
        let limit = filter.limit.clamp(1, 10_000) as i64;
        self.with(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM delivery
                  WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR task_id = ?2)
                  ORDER BY seq DESC LIMIT ?3"
            ))?
            .query_map(params![state, task, limit], record)?
            .collect()
        })
        .await
    }

    async fn requeue(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let changed = tx
                .prepare_cached(
                    "UPDATE delivery SET state = 'pending', attempts = 0, age_from_ms = ?2,
                            next_attempt_ms = ?2, lease_owner = NULL, lease_until_ms = NULL,
                            updated_ms = ?2
                      WHERE id = ?1 AND (state = 'dead'
                            OR (state = 'pending' AND (lease_until_ms IS NULL OR lease_until_ms < ?2)))",
                )?
                .execute(params![id, now_ms])?;
            tx.commit()?;
            Ok(changed == 1)
        })
        .await
    }
}
