//! The delivery outbox on PostgreSQL, shared by every replica.
//!
//! A claim takes candidate rows with `FOR UPDATE SKIP LOCKED` (replicas never wait for, nor
//! take, each other's candidates) and then a transaction-scoped advisory lock on the record's
//! task and destination, so two replicas cannot start two records of the same task at once even
//! when both were unclaimed. The lease (`lease_until_ms`) outlives the claim transaction: a
//! replica that dies mid-delivery simply lets it expire.

use super::connections::Connections;
use super::operations::OpsError;
use crate::store::delivery_request::DeliveryRequest;
use crate::store::outbox::{
    decode_resources, encode_resources, merge_resources, DeliveryFilter, DeliveryOutbox,
    DeliveryRecord, DeliveryState, Settlement,
};
use crate::store::StoreError;
use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

const COLUMNS: &str = "id, task_id, destination, resources, state, attempts, created_ms, \
     age_from_ms, next_attempt_ms, lease_until_ms, last_status, last_error, delivered_ms, upstream";

/// Candidates looked at per claim; the first whose task is free wins.
const CANDIDATES: i64 = 16;

/// Called by `apply_ops` inside the `apply` transaction.
pub async fn enqueue(
    conn: &mut PgConnection,
    request: DeliveryRequest,
    now_ms: i64,
) -> Result<String, OpsError> {
    let id = uuid::Uuid::new_v4().to_string();
    // A record being claimed right now is locked; waiting for it lets the re-check see its lease.
    let older: Vec<String> = sqlx::query_scalar(
        "UPDATE delivery SET state = 'superseded', superseded_by = $3, updated_ms = $4
          WHERE task_id = $1 AND destination = $2 AND state = 'pending'
            AND (lease_until_ms IS NULL OR lease_until_ms < $4)
         RETURNING resources",
    )
    .bind(&request.task_id)
    .bind(&request.destination)
    .bind(&id)
    .bind(now_ms)
    .fetch_all(&mut *conn)
    .await?;
    let resources = merge_resources(request.resources, &older);
    sqlx::query(
        "INSERT INTO delivery (id, task_id, destination, resources, state, attempts, created_ms,
                               age_from_ms, next_attempt_ms, updated_ms)
         VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5, $5, $5)",
    )
    .bind(&id)
    .bind(&request.task_id)
    .bind(&request.destination)
    .bind(encode_resources(&resources))
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

fn record(row: &PgRow) -> Result<DeliveryRecord, sqlx::Error> {
    let resources: String = row.try_get("resources")?;
    let state: String = row.try_get("state")?;
    let upstream: Option<String> = row.try_get("upstream")?;
    Ok(DeliveryRecord {
        id: row.try_get("id")?,
        task_id: row.try_get("task_id")?,
        destination: row.try_get("destination")?,
        resources: decode_resources(&resources),
        state: DeliveryState::parse(&state).unwrap_or(DeliveryState::Dead),
        attempts: row.try_get::<i32, _>("attempts")?.max(0) as u32,
        created_ms: row.try_get("created_ms")?,
        age_from_ms: row.try_get("age_from_ms")?,
        next_attempt_ms: row.try_get("next_attempt_ms")?,
        lease_until_ms: row.try_get("lease_until_ms")?,
        last_status: row
            .try_get::<Option<i32>, _>("last_status")?
            .map(|s| s as u16),
        last_error: row.try_get("last_error")?,
        delivered_ms: row.try_get("delivered_ms")?,
        upstream: upstream.and_then(|u| serde_json::from_str(&u).ok()),
    })
}

fn backend(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        other => StoreError::Backend(other.to_string()),
    }
}

pub struct PostgresOutbox {
    db: Connections,
}

impl PostgresOutbox {
    pub fn new(db: Connections) -> Self {
        Self { db }
    }

    async fn try_claim(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        skip_destinations: &[String],
    ) -> Result<Option<DeliveryRecord>, sqlx::Error> {
        let mut lease = self.db.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *lease).await?;
        let candidates: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT seq, task_id, destination FROM delivery
              WHERE state = 'pending' AND next_attempt_ms <= $1
                AND (lease_until_ms IS NULL OR lease_until_ms < $1)
                AND destination <> ALL($2)
              ORDER BY next_attempt_ms, seq LIMIT $3
              FOR UPDATE SKIP LOCKED",
        )
        .bind(now_ms)
        .bind(skip_destinations)
        .bind(CANDIDATES)
        .fetch_all(&mut *tx)
        .await?;
        for (seq, task_id, destination) in candidates {
            let locked: bool =
                sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 5))")
                    .bind(format!("delivery|{task_id}|{destination}"))
                    .fetch_one(&mut *tx)
                    .await?;
            if !locked {
                continue;
            }
            // A fresh snapshot: sees a lease committed by whoever held the lock before us.
            let busy: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM delivery
                                 WHERE task_id = $1 AND destination = $2 AND state = 'pending'
                                   AND seq <> $3 AND lease_until_ms >= $4)",
            )
            .bind(&task_id)
            .bind(&destination)
            .bind(seq)
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await?;
            if busy {
                continue;
            }
            let row = sqlx::query(&format!(
                "UPDATE delivery SET lease_owner = $2, lease_until_ms = $3 + $4,
                        attempts = attempts + 1, updated_ms = $3
                  WHERE seq = $1 RETURNING {COLUMNS}"
            ))
            .bind(seq)
            .bind(owner)
            .bind(now_ms)
            .bind(lease_ms)
            .fetch_one(&mut *tx)
            .await?;
            let claimed = record(&row)?;
            tx.commit().await?;
            return Ok(Some(claimed));
        }
        tx.commit().await?;
        Ok(None)
    }
}

#[async_trait]
impl DeliveryOutbox for PostgresOutbox {
    async fn claim(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        skip_destinations: &[String],
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        self.try_claim(owner, now_ms, lease_ms, skip_destinations)
            .await
            .map_err(backend)
    }

    async fn settle(
        &self,
        id: &str,
        owner: &str,
        settlement: Settlement,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let query = match settlement {
            Settlement::Delivered { status, upstream } => sqlx::query(
                "UPDATE delivery SET state = 'delivered', delivered_ms = $3, last_status = $4,
                        upstream = $5, last_error = NULL, lease_owner = NULL,
                        lease_until_ms = NULL, updated_ms = $3
                  WHERE id = $1 AND lease_owner = $2 AND state = 'pending'",
            )
            .bind(id)
            .bind(owner)
            .bind(now_ms)
            .bind(i32::from(status))
            .bind(upstream.to_string()),
            Settlement::Retry {
                next_attempt_ms,
                status,
                error,
            } => sqlx::query(
                "UPDATE delivery SET next_attempt_ms = $4, last_status = $5, last_error = $6,
                        lease_owner = NULL, lease_until_ms = NULL, updated_ms = $3
                  WHERE id = $1 AND lease_owner = $2 AND state = 'pending'",
            )
            .bind(id)
            .bind(owner)
            .bind(now_ms)
            .bind(next_attempt_ms)
            .bind(status.map(i32::from))
            .bind(error),
            Settlement::Dead { status, error } => sqlx::query(
                "UPDATE delivery SET state = 'dead', last_status = $4, last_error = $5,
                        lease_owner = NULL, lease_until_ms = NULL, updated_ms = $3
                  WHERE id = $1 AND lease_owner = $2 AND state = 'pending'",
            )
            .bind(id)
            .bind(owner)
            .bind(now_ms)
            .bind(status.map(i32::from))
            .bind(error),
        };
        let done = query
            .execute(&mut *self.db.acquire().await.map_err(backend)?)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn get(&self, id: &str) -> Result<Option<DeliveryRecord>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM delivery WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *self.db.acquire().await.map_err(backend)?)
            .await
            .map_err(backend)?;
        row.as_ref().map(record).transpose().map_err(backend)
    }

    async fn counts(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT destination, state, COUNT(*) FROM delivery GROUP BY destination, state",
        )
        .fetch_all(&mut *self.db.acquire().await.map_err(backend)?)
        .await
        .map_err(backend)?;
        Ok(rows.into_iter().map(|(d, s, n)| (d, s, n as u64)).collect())
    }

    async fn list(&self, filter: &DeliveryFilter) -> Result<Vec<DeliveryRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM delivery
              WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR task_id = $2)
              ORDER BY seq DESC LIMIT $3"
        ))
        .bind(filter.state.map(DeliveryState::code))
        .bind(filter.task_id.as_deref())
        .bind(filter.limit.clamp(1, 10_000) as i64)
        .fetch_all(&mut *self.db.acquire().await.map_err(backend)?)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(record)
            .collect::<Result<_, _>>()
            .map_err(backend)
    }

    async fn requeue(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE delivery SET state = 'pending', attempts = 0, age_from_ms = $2,
                    next_attempt_ms = $2, lease_owner = NULL, lease_until_ms = NULL, updated_ms = $2
              WHERE id = $1 AND (state = 'dead'
                    OR (state = 'pending' AND (lease_until_ms IS NULL OR lease_until_ms < $2)))",
        )
        .bind(id)
        .bind(now_ms)
        .execute(&mut *self.db.acquire().await.map_err(backend)?)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }
}
