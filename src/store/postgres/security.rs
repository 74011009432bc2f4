//! The security store on PostgreSQL: one `jti` table and one audit table for all replicas.

use super::{backend, unavailable, PostgresStore};
use crate::store::security::{AuditFilter, AuditRow, QuarantinedAudit, SecurityStore};
use crate::store::write_audit::{AuditIntent, Settlement, StoredIntent};
use crate::store::StoreError;
use async_trait::async_trait;

/// An `audit_intent` row and whether its request's own record is stored.
type IntentRow = (
    i64,
    String,
    i64,
    String,
    String,
    Option<String>,
    String,
    String,
    bool,
);
use super::connections::Connections;

pub struct PostgresSecurity {
    db: Connections,
}

impl PostgresStore {
    pub fn security(&self) -> PostgresSecurity {
        PostgresSecurity {
            db: self.db.clone(),
        }
    }
}

#[async_trait]
impl SecurityStore for PostgresSecurity {
    async fn claim_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_ms: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut conn = self.db.acquire().await.map_err(unavailable)?;
        sqlx::query("DELETE FROM auth_jti WHERE expires_ms < $1")
            .bind(now_ms)
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
        // The primary key decides, whichever replica gets there first.
        let inserted = sqlx::query(
            "INSERT INTO auth_jti (client_id, jti, expires_ms) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(client_id)
        .bind(jti)
        .bind(expires_ms)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn append_audit(&self, rows: Vec<AuditRow>) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut ids = Vec::with_capacity(rows.len());
        let mut recorded = Vec::with_capacity(rows.len());
        let mut clients = Vec::with_capacity(rows.len());
        let mut subtypes = Vec::with_capacity(rows.len());
        let mut outcomes = Vec::with_capacity(rows.len());
        let mut entity_types = Vec::with_capacity(rows.len());
        let mut bodies = Vec::with_capacity(rows.len());
        for r in rows {
            ids.push(r.id);
            recorded.push(r.recorded_ms);
            clients.push(r.client_id);
            subtypes.push(r.subtype);
            outcomes.push(r.outcome);
            entity_types.push(r.entity_type);
            bodies.push(r.body);
        }
        // One statement for the whole batch.
        sqlx::query(
            "INSERT INTO audit_event (id, recorded_ms, client_id, subtype, outcome, entity_type, body)
             SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[],
                                  $6::text[], $7::text[])
             ON CONFLICT (id) DO UPDATE SET recorded_ms = EXCLUDED.recorded_ms,
                 client_id = EXCLUDED.client_id, subtype = EXCLUDED.subtype,
                 outcome = EXCLUDED.outcome, entity_type = EXCLUDED.entity_type,
                 body = EXCLUDED.body",
        )
        .bind(ids)
        .bind(recorded)
        .bind(clients)
        .bind(subtypes)
        .bind(outcomes)
        .bind(entity_types)
        .bind(bodies)
        .execute(&mut *self.db.acquire().await.map_err(backend)?)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn audit_intents(&self, limit: usize) -> Result<Vec<StoredIntent>, StoreError> {
        let rows: Vec<IntentRow> = sqlx::query_as(
            "SELECT i.seq, i.id, i.recorded_ms, i.client_id, i.subtype, i.entity_type, i.template,
                    i.written, EXISTS (SELECT 1 FROM audit_event e WHERE e.id = i.id)
               FROM audit_intent i ORDER BY i.seq LIMIT $1",
        )
        .bind(limit as i64)
        .fetch_all(&mut *self.db.acquire().await.map_err(backend)?)
        .await
        .map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    seq,
                    id,
                    recorded_ms,
                    client_id,
                    subtype,
                    entity_type,
                    template,
                    written,
                    settled,
                )| {
                    StoredIntent {
                        seq,
                        intent: AuditIntent {
                            id,
                            recorded_ms,
                            client_id,
                            subtype,
                            entity_type,
                            template,
                        },
                        written: StoredIntent::written_from_column(&written),
                        settled,
                    }
                },
            )
            .collect())
    }

    /// One transaction: the records and the intents are in the same database.
    async fn settle_audit_intents(&self, settlement: Settlement) -> Result<(), StoreError> {
        let mut lease = self.db.acquire().await.map_err(unavailable)?;
        let mut tx = sqlx::Connection::begin(&mut *lease)
            .await
            .map_err(unavailable)?;
        for r in settlement.records {
            sqlx::query(
                "INSERT INTO audit_event (id, recorded_ms, client_id, subtype, outcome, entity_type, body)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
            )
            .bind(r.id)
            .bind(r.recorded_ms)
            .bind(r.client_id)
            .bind(r.subtype)
            .bind(r.outcome)
            .bind(r.entity_type)
            .bind(r.body)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        sqlx::query("DELETE FROM audit_intent WHERE seq = ANY($1)")
            .bind(settlement.intents)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn quarantine_audit(&self, records: Vec<QuarantinedAudit>) -> Result<(), StoreError> {
        let mut lease = self.db.acquire().await.map_err(unavailable)?;
        let mut tx = sqlx::Connection::begin(&mut *lease)
            .await
            .map_err(unavailable)?;
        for q in records {
            sqlx::query(
                "INSERT INTO audit_quarantine (id, recorded_ms, quarantined_ms, error, record)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(q.id)
            .bind(q.recorded_ms)
            .bind(q.quarantined_ms)
            .bind(q.error)
            .bind(q.record)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn quarantined_audit(
        &self,
        limit: usize,
    ) -> Result<(u64, Vec<QuarantinedAudit>), StoreError> {
        let mut conn = self.db.acquire().await.map_err(unavailable)?;
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_quarantine")
            .fetch_one(&mut *conn)
            .await
            .map_err(backend)?;
        let rows: Vec<(String, i64, i64, String, Vec<u8>)> = sqlx::query_as(
            "SELECT id, recorded_ms, quarantined_ms, error, record
             FROM audit_quarantine ORDER BY seq DESC LIMIT $1",
        )
        .bind(limit as i64)
        .fetch_all(&mut *conn)
        .await
        .map_err(backend)?;
        let records = rows
            .into_iter()
            .map(
                |(id, recorded_ms, quarantined_ms, error, record)| QuarantinedAudit {
                    id,
                    recorded_ms,
                    quarantined_ms,
                    error,
                    record,
                },
            )
            .collect();
        Ok((total as u64, records))
    }

    async fn audit_event(&self, id: &str) -> Result<Option<String>, StoreError> {
        let mut conn = self.db.acquire().await.map_err(unavailable)?;
        sqlx::query_scalar("SELECT body FROM audit_event WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend)
    }

    async fn audit_events(&self, filter: &AuditFilter) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(
            "SELECT body FROM audit_event
             WHERE ($1::text IS NULL OR client_id = $1) AND ($2::text IS NULL OR subtype = $2)
               AND ($3::text IS NULL OR outcome = $3) AND ($4::text IS NULL OR entity_type = $4)
               AND ($5::bigint IS NULL OR recorded_ms >= $5)
             ORDER BY seq DESC LIMIT $6",
        )
        .bind(&filter.client_id)
        .bind(&filter.subtype)
        .bind(&filter.outcome)
        .bind(&filter.entity_type)
        .bind(filter.since_ms)
        .bind(filter.limit as i64)
        .fetch_all(&mut *self.db.acquire().await.map_err(backend)?)
        .await
        .map_err(backend)
    }
}
