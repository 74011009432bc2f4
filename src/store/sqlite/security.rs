//! The security store on SQLite: `jti` claims and audit records go through the one writer
//! thread (so they share its group commit and fsync), reads use the read pool. Audit records
//! live in their own attached file (`audit_file.rs`).

use super::audit_file;
use super::body_codec;
use super::read_pool::ReadPool;
use super::writer::{SideJob, Work};
use super::SqliteStore;
use crate::store::security::{AuditFilter, AuditRow, QuarantinedAudit, SecurityStore};
use crate::store::write_audit::{Settlement, StoredIntent};
use crate::store::StoreError;
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

pub struct SqliteSecurity {
    jobs: mpsc::Sender<Work>,
    readers: Arc<ReadPool>,
}

impl SqliteStore {
    pub fn security(&self) -> SqliteSecurity {
        SqliteSecurity {
            jobs: self.jobs.clone(),
            readers: Arc::clone(&self.readers),
        }
    }
}

struct ClaimJti {
    client_id: String,
    jti: String,
    expires_ms: i64,
    now_ms: i64,
    fresh: bool,
    reply: Option<oneshot::Sender<Result<bool, StoreError>>>,
}

impl SideJob for ClaimJti {
    fn run(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        conn.prepare_cached("DELETE FROM auth_jti WHERE expires_ms < ?1")?
            .execute([self.now_ms])?;
        let inserted = conn
            .prepare_cached(
                "INSERT OR IGNORE INTO auth_jti (client_id, jti, expires_ms) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![self.client_id, self.jti, self.expires_ms])?;
        self.fresh = inserted == 1;
        Ok(())
    }

    fn finish(mut self: Box<Self>, result: Result<(), StoreError>) {
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(result.map(|()| self.fresh));
        }
    }
}

struct AppendAudit {
    rows: Vec<audit_file::EncodedRecord>,
    reply: Option<oneshot::Sender<Result<(), StoreError>>>,
}

impl SideJob for AppendAudit {
    fn run(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        audit_file::insert(conn, &self.rows, audit_file::OnConflict::Replace)
    }

    fn finish(mut self: Box<Self>, result: Result<(), StoreError>) {
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(result);
        }
    }

    fn needs_fsync(&self) -> bool {
        self.rows.iter().any(|r| r.fsync())
    }
}

struct QuarantineAudit {
    records: Vec<QuarantinedAudit>,
    reply: Option<oneshot::Sender<Result<(), StoreError>>>,
}

impl SideJob for QuarantineAudit {
    fn run(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        let mut insert = conn.prepare_cached(
            "INSERT INTO audit.audit_quarantine (id, recorded_ms, quarantined_ms, error, record)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for q in &self.records {
            insert.execute(params![
                q.id,
                q.recorded_ms,
                q.quarantined_ms,
                q.error,
                q.record
            ])?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, result: Result<(), StoreError>) {
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(result);
        }
    }

    fn needs_fsync(&self) -> bool {
        true
    }
}

/// Statements run inside the writer's transaction.
type Statements = Box<dyn FnMut(&Connection) -> rusqlite::Result<()> + Send>;

/// One step of settling audit intents (`store::write_audit`).
struct SettleStep {
    step: Statements,
    fsync: bool,
    reply: Option<oneshot::Sender<Result<(), StoreError>>>,
}

impl SideJob for SettleStep {
    fn run(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        (self.step)(conn)
    }

    fn finish(mut self: Box<Self>, result: Result<(), StoreError>) {
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(result);
        }
    }

    fn needs_fsync(&self) -> bool {
        self.fsync
    }
}

impl SqliteSecurity {
    async fn settle_step(
        &self,
        step: impl FnMut(&Connection) -> rusqlite::Result<()> + Send + 'static,
        fsync: bool,
    ) -> Result<(), StoreError> {
        let (reply, response) = oneshot::channel();
        let job = SettleStep {
            step: Box::new(step),
            fsync,
            reply: Some(reply),
        };
        self.submit(Box::new(job), response).await
    }

    async fn submit<R>(
        &self,
        job: Box<dyn SideJob>,
        response: oneshot::Receiver<Result<R, StoreError>>,
    ) -> Result<R, StoreError> {
        self.jobs
            .send(Work::Side(job))
            .await
            .map_err(|_| StoreError::Unavailable("the writer has stopped".into()))?;
        response
            .await
            .map_err(|_| StoreError::Unavailable("the writer dropped the request".into()))?
    }
}

#[async_trait]
impl SecurityStore for SqliteSecurity {
    async fn claim_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_ms: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let (reply, response) = oneshot::channel();
        let job = ClaimJti {
            client_id: client_id.to_string(),
            jti: jti.to_string(),
            expires_ms,
            now_ms,
            fresh: false,
            reply: Some(reply),
        };
        self.submit(Box::new(job), response).await
    }

    async fn append_audit(&self, rows: Vec<AuditRow>) -> Result<(), StoreError> {
        let (reply, response) = oneshot::channel();
        let job = AppendAudit {
            rows: rows
                .into_iter()
                .map(audit_file::EncodedRecord::of)
                .collect(),
            reply: Some(reply),
        };
        self.submit(Box::new(job), response).await
    }

    async fn quarantine_audit(&self, records: Vec<QuarantinedAudit>) -> Result<(), StoreError> {
        let (reply, response) = oneshot::channel();
        let job = QuarantineAudit {
            records,
            reply: Some(reply),
        };
        self.submit(Box::new(job), response).await
    }

    async fn audit_intents(&self, limit: usize) -> Result<Vec<StoredIntent>, StoreError> {
        self.readers
            .read(move |c| audit_file::intents(c, limit))
            .await
    }

    async fn settle_audit_intents(&self, settlement: Settlement) -> Result<(), StoreError> {
        let Settlement { records, intents } = settlement;
        if !records.is_empty() {
            // synced: the intents are deleted next, in the other file
            let records: Vec<_> = records
                .into_iter()
                .map(audit_file::EncodedRecord::of)
                .collect();
            self.settle_step(move |c| audit_file::insert_settled(c, &records), true)
                .await?;
        }
        if intents.is_empty() {
            return Ok(());
        }
        // Unsynced: an intent a power loss brings back is settled again, to the same end.
        self.settle_step(move |c| audit_file::delete_intents(c, &intents), false)
            .await
    }

    async fn quarantined_audit(
        &self,
        limit: usize,
    ) -> Result<(u64, Vec<QuarantinedAudit>), StoreError> {
        self.readers
            .read(move |c| {
                let total: i64 =
                    c.query_row("SELECT count(*) FROM audit.audit_quarantine", [], |r| {
                        r.get(0)
                    })?;
                let mut stmt = c.prepare_cached(
                    "SELECT id, recorded_ms, quarantined_ms, error, record
                     FROM audit.audit_quarantine ORDER BY seq DESC LIMIT ?1",
                )?;
                let rows = stmt.query_map([limit as i64], |r| {
                    Ok(QuarantinedAudit {
                        id: r.get(0)?,
                        recorded_ms: r.get(1)?,
                        quarantined_ms: r.get(2)?,
                        error: r.get(3)?,
                        record: r.get(4)?,
                    })
                })?;
                Ok((total as u64, rows.collect::<rusqlite::Result<Vec<_>>>()?))
            })
            .await
    }

    async fn audit_event(&self, id: &str) -> Result<Option<String>, StoreError> {
        let id = id.to_string();
        self.readers
            .read(move |c| {
                c.prepare_cached("SELECT body FROM audit.audit_event WHERE id = ?1")?
                    .query_row([id], |r| body_codec::text_column(r, 0))
                    .optional()
            })
            .await
    }

    async fn audit_events(&self, filter: &AuditFilter) -> Result<Vec<String>, StoreError> {
        let f = filter.clone();
        self.readers
            .read(move |c| {
                // NULL parameters switch a condition off.
                let mut stmt = c.prepare_cached(
                    "SELECT body FROM audit.audit_event
                 WHERE (?1 IS NULL OR client_id = ?1) AND (?2 IS NULL OR subtype = ?2)
                   AND (?3 IS NULL OR outcome = ?3) AND (?4 IS NULL OR entity_type = ?4)
                   AND (?5 IS NULL OR recorded_ms >= ?5)
                 ORDER BY seq DESC LIMIT ?6",
                )?;
                let rows = stmt.query_map(
                    params![
                        f.client_id,
                        f.subtype,
                        f.outcome,
                        f.entity_type,
                        f.since_ms,
                        f.limit as i64
                    ],
                    |r| body_codec::text_column(r, 0),
                )?;
                rows.collect()
            })
            .await
    }
}
