//! Read queries, usable on the pool or inside a transaction.

use crate::store::write_rules::search_system;
use crate::store::StoredResource;
use fhir_engine::model::identifier::IdentifierToken;
use sqlx::PgConnection;
use std::sync::Arc;

type VersionRow = (i64, i64, bool, Option<String>);

fn stored(resource_type: &str, id: &str, row: VersionRow) -> StoredResource {
    let (version_id, last_updated_ms, deleted, body) = row;
    StoredResource {
        resource_type: resource_type.to_string(),
        id: id.to_string(),
        version_id: version_id as u64,
        last_updated_ms,
        deleted,
        body: body.map(Arc::from),
    }
}

pub async fn current(
    conn: &mut PgConnection,
    resource_type: &str,
    id: &str,
) -> Result<Option<StoredResource>, sqlx::Error> {
    let row: Option<VersionRow> = sqlx::query_as(
        "SELECT v.version_id, v.last_updated_ms, v.deleted, v.body_text
           FROM resource_current c
           JOIN resource_version v
             ON v.resource_type = c.resource_type AND v.id = c.id AND v.version_id = c.version_id
          WHERE c.resource_type = $1 AND c.id = $2",
    )
    .bind(resource_type)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| stored(resource_type, id, r)))
}

/// The current version number, locking the row until the transaction ends.
///
/// A row that does not exist yet cannot be locked, so writers of one id first meet on a
/// transaction-scoped advisory lock: two replicas creating the same id (e.g. the same referral
/// Task) then queue instead of colliding on the primary key.
pub async fn lock_current_version(
    conn: &mut PgConnection,
    resource_type: &str,
    id: &str,
) -> Result<Option<(u64, bool)>, sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0))")
        .bind(resource_type)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let row: Option<(i64, bool)> = sqlx::query_as(
        "SELECT c.version_id, v.deleted
           FROM resource_current c
           JOIN resource_version v
             ON v.resource_type = c.resource_type AND v.id = c.id AND v.version_id = c.version_id
          WHERE c.resource_type = $1 AND c.id = $2
          FOR UPDATE OF c",
    )
    .bind(resource_type)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(v, d)| (v as u64, d)))
}

pub async fn version(
    conn: &mut PgConnection,
    resource_type: &str,
    id: &str,
    version_id: u64,
) -> Result<Option<StoredResource>, sqlx::Error> {
    let row: Option<VersionRow> = sqlx::query_as(
        "SELECT version_id, last_updated_ms, deleted, body_text FROM resource_version
          WHERE resource_type = $1 AND id = $2 AND version_id = $3",
    )
    .bind(resource_type)
    .bind(id)
    .bind(version_id as i64)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| stored(resource_type, id, r)))
}

pub async fn ids_by_identifier(
    conn: &mut PgConnection,
    resource_type: &str,
    token: &IdentifierToken,
    limit: usize,
) -> Result<Vec<String>, sqlx::Error> {
    // Two shapes so that a generic plan still uses the (resource_type, value, system) index,
    // which holds 200-character prefixes (migration 6).
    let mut ids: Vec<String> = match search_system(token) {
        Some(system) => {
            sqlx::query_scalar(
                "SELECT id FROM resource_identifier
                  WHERE resource_type = $1 AND left(value, 200) = left($2, 200) AND value = $2
                    AND left(system, 200) = left($3, 200) AND system = $3",
            )
            .bind(resource_type)
            .bind(&token.value)
            .bind(system)
            .fetch_all(&mut *conn)
            .await?
        }
        None => {
            sqlx::query_scalar(
                "SELECT id FROM resource_identifier
                  WHERE resource_type = $1 AND left(value, 200) = left($2, 200) AND value = $2",
            )
            .bind(resource_type)
            .bind(&token.value)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    ids.sort();
    ids.dedup();
    ids.truncate(limit);
    Ok(ids)
}
