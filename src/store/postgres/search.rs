//! PostgreSQL side of search: keeping `search_index` in step with writes (one multi-row
//! insert per resource), and running the shared search SQL on the pool.

use super::{backend, unavailable, PostgresStore};
use crate::store::search::columns::columns;
use crate::store::search::{indexed_set, rows_of, Arg, Sql, SqlRunner};
use crate::store::{StoreError, StoredResource};
use async_trait::async_trait;
use fhir_engine::search::IndexRow;
use serde_json::Value;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{PgConnection, Postgres, Row};
use std::sync::Arc;

/// Replaces the index rows of a resource with those of its new current version.
pub async fn reindex(
    conn: &mut PgConnection,
    resource_type: &str,
    id: &str,
    resource: &Value,
) -> Result<(), sqlx::Error> {
    let rows = rows_of(resource_type, resource);
    reindex_rows(conn, resource_type, id, &rows).await
}

/// [`reindex`] with the rows already computed.
pub async fn reindex_rows(
    conn: &mut PgConnection,
    resource_type: &str,
    id: &str,
    rows: &[IndexRow],
) -> Result<(), sqlx::Error> {
    unindex(conn, resource_type, id).await?;
    insert_rows(conn, resource_type, id, rows).await
}

/// Adds index rows of a resource that has none yet.
pub async fn insert_rows(
    conn: &mut PgConnection,
    resource_type: &str,
    id: &str,
    rows: &[IndexRow],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let (mut param, mut sys, mut val, mut raw, mut lo, mut hi) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for row in rows {
        let c = columns(row);
        param.push(c.param);
        sys.push(c.sys);
        val.push(c.val);
        raw.push(c.raw);
        lo.push(c.lo);
        hi.push(c.hi);
    }
    // one round trip for all rows of the resource
    sqlx::query(
        "INSERT INTO search_index (resource_type, id, param, sys, val, raw, lo, hi)
         SELECT $1, $2, * FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::int8[], $8::int8[])",
    )
    .bind(resource_type)
    .bind(id)
    .bind(&param)
    .bind(&sys)
    .bind(&val)
    .bind(&raw)
    .bind(&lo)
    .bind(&hi)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn unindex(
    conn: &mut PgConnection,
    resource_type: &str,
    id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM search_index WHERE resource_type = $1 AND id = $2")
        .bind(resource_type)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Rebuilds the rows of every live resource when migration 2 left a pending marker, or when
/// they were built for another set of indexed parameters (`search_indexed_set`). Replicas
/// starting together meet on the lock of `search_indexed_set`: the first rebuilds and records
/// the set in its transaction, the others wait for it and then find nothing to do. (Replicas
/// must share `search.indexed_parameters`: one with another set would rebuild at its start.)
pub async fn reindex_pending(conn: &mut PgConnection) -> Result<usize, sqlx::Error> {
    use sqlx::Connection;
    let mut tx = conn.begin().await?;
    sqlx::query("LOCK TABLE search_indexed_set IN EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let pending = sqlx::query("DELETE FROM search_reindex_pending")
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let built_for: Option<String> = sqlx::query_scalar("SELECT params FROM search_indexed_set")
        .fetch_optional(&mut *tx)
        .await?;
    let wanted = indexed_set();
    if pending == 0 && built_for.as_deref() == Some(wanted.as_str()) {
        return Ok(0);
    }
    let live: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.resource_type, c.id, v.body_text FROM resource_current c
           JOIN resource_version v
             ON v.resource_type = c.resource_type AND v.id = c.id AND v.version_id = c.version_id
          WHERE NOT v.deleted",
    )
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM search_index")
        .execute(&mut *tx)
        .await?;
    for (rt, id, body) in &live {
        if let Ok(resource) = serde_json::from_str::<Value>(body) {
            reindex(&mut tx, rt, id, &resource).await?;
        }
    }
    sqlx::query("DELETE FROM search_indexed_set")
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO search_indexed_set (params) VALUES ($1)")
        .bind(&wanted)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(live.len())
}

/// A search's matching step is planned with its values every time: as a persistent prepared
/// statement PostgreSQL would switch to a generic plan after five runs, and without the values
/// a generic plan may drive from a broad clause such as `status = $n` (55 ms instead of 0.4 ms
/// at 3,000 referrals). Key lookups (`Sql::key_lookup`: bodies, include targets) are prepared
/// once per connection, which saves parsing and planning two or three statements per search.
fn bound(sql: &Sql) -> Query<'_, Postgres, PgArguments> {
    let mut q = sqlx::query(&sql.text).persistent(sql.key_lookup);
    for a in &sql.args {
        q = match a {
            Arg::Text(s) => q.bind(s.as_str()),
            Arg::Int(i) => q.bind(*i),
            // SQLite's form of a UUID; the PostgreSQL builder binds ids as text
            Arg::Bytes(b) => q.bind(b.as_slice()),
        };
    }
    q
}

impl PostgresStore {
    async fn rows(&self, sql: &Sql) -> Result<Vec<PgRow>, StoreError> {
        let mut conn = self.db.acquire().await.map_err(unavailable)?;
        bound(sql).fetch_all(&mut *conn).await.map_err(backend)
    }
}

#[async_trait]
impl SqlRunner for PostgresStore {
    async fn keys(&self, sql: Sql) -> Result<Vec<(String, i64)>, StoreError> {
        self.rows(&sql)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(backend)
    }

    async fn count(&self, sql: Sql) -> Result<i64, StoreError> {
        let rows = self.rows(&sql).await?;
        match rows.first() {
            Some(r) => r.try_get(0).map_err(backend),
            None => Ok(0),
        }
    }

    async fn pairs(&self, sql: Sql) -> Result<Vec<(String, String)>, StoreError> {
        self.rows(&sql)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(backend)
    }

    async fn versions(&self, sql: Sql) -> Result<Vec<StoredResource>, StoreError> {
        self.rows(&sql)
            .await?
            .iter()
            .map(|r| {
                let body: Option<String> = r.try_get(5)?;
                Ok(StoredResource {
                    resource_type: r.try_get(0)?,
                    id: r.try_get(1)?,
                    version_id: r.try_get::<i64, _>(2)? as u64,
                    last_updated_ms: r.try_get(3)?,
                    deleted: r.try_get(4)?,
                    body: body.map(Arc::from),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(backend)
    }
}
