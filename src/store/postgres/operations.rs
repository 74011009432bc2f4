//! Carrying out write operations inside one PostgreSQL transaction.
//!
//! Concurrency across replicas: conditional creates meet on the claim table's primary key;
//! updates and deletes lock the `resource_current` row (`FOR UPDATE`) before checking
//! `If-Match`, so one writer wins and the other sees the new version.

use super::queries;
use crate::store::search::{check_index_rows, rows_of};
use crate::store::write_audit::{AuditIntent, WrittenVersions};
use crate::store::write_rules::{self, claim_system, Resolution};
use crate::store::{OpFailure, StoreError, StoredResource, WriteOp, WriteOutcome};
use fhir_engine::json;
use fhir_engine::model::identifier::{identifiers_of, IdentifierToken};
use fhir_engine::model::{instant, meta, reference};
use serde_json::Value;
use sqlx::PgConnection;
use std::sync::Arc;

/// `max_index_rows`: the write work bound of one resource (`database.max_index_rows`).
pub async fn apply_ops(
    conn: &mut PgConnection,
    ops: Vec<WriteOp>,
    now_ms: i64,
    max_index_rows: usize,
) -> Result<Vec<WriteOutcome>, OpsError> {
    let mut resolutions = Vec::with_capacity(ops.len());
    for (index, op) in ops.iter().enumerate() {
        resolutions.push(match op {
            WriteOp::Create {
                resource_type,
                id,
                if_none_exist: Some(token),
                ..
            } => resolve_conditional(conn, index, resource_type, id, token).await?,
            _ => Resolution::Proceed,
        });
    }
    let aliases = write_rules::aliases(&ops, &resolutions);

    let last_updated = instant::fhir_instant(now_ms);
    let commit = Commit {
        now_ms,
        last_updated: &last_updated,
        max_index_rows,
    };
    let mut outcomes = Vec::with_capacity(ops.len());
    let mut matched = Vec::new();
    let audited = ops.iter().any(|op| matches!(op, WriteOp::RecordAudit(_)));
    let mut written = WrittenVersions::default();
    let mut audit = None;
    for (index, (mut op, resolution)) in ops.into_iter().zip(resolutions).enumerate() {
        if !aliases.is_empty() {
            if let Some(resource) = op.resource_mut() {
                reference::rewrite(resource, &aliases);
            }
        }
        // what the audit intent names (only when there is one)
        let target = audited.then(|| (op.resource_type().to_string(), op.id().to_string()));
        let outcome = match (op, resolution) {
            (WriteOp::RecordAudit(intent), _) => {
                audit = Some((index, intent));
                None
            }
            (WriteOp::Create { resource_type, .. }, Resolution::Existing(existing)) => {
                matched.push((index, resource_type, existing));
                None
            }
            (
                WriteOp::Create {
                    resource_type,
                    id,
                    resource,
                    ..
                },
                Resolution::Proceed,
            ) => {
                if queries::lock_current_version(conn, &resource_type, &id)
                    .await?
                    .is_some()
                {
                    return Err(OpsError::Store(StoreError::Op {
                        index,
                        failure: OpFailure::AlreadyExists,
                    }));
                }
                let stored = write_version(conn, &resource_type, &id, 1, &commit, resource).await?;
                Some(WriteOutcome::Created(stored))
            }
            (
                WriteOp::Update {
                    resource_type,
                    id,
                    resource,
                    if_match,
                },
                _,
            ) => {
                let current = queries::lock_current_version(conn, &resource_type, &id).await?;
                let live = current.filter(|(_, deleted)| !deleted).map(|(v, _)| v);
                write_rules::check_if_match(index, if_match, live)?;
                let next = current.map_or(1, |(v, _)| v + 1);
                let stored =
                    write_version(conn, &resource_type, &id, next, &commit, resource).await?;
                Some(match live {
                    Some(_) => WriteOutcome::Updated(stored),
                    None => WriteOutcome::Created(stored),
                })
            }
            (WriteOp::EnqueueDelivery(mut request), _) => {
                request.redirect(&aliases);
                Some(WriteOutcome::DeliveryEnqueued {
                    delivery_id: super::outbox::enqueue(conn, request, now_ms).await?,
                })
            }
            (
                WriteOp::Delete {
                    resource_type,
                    id,
                    if_match,
                },
                _,
            ) => {
                let live = queries::lock_current_version(conn, &resource_type, &id)
                    .await?
                    .filter(|(_, deleted)| !deleted);
                write_rules::check_if_match(index, if_match, live.map(|(v, _)| v))?;
                Some(match live {
                    None => WriteOutcome::Deleted { version_id: None },
                    Some((v, _)) => {
                        write_tombstone(conn, &resource_type, &id, v + 1, now_ms).await?;
                        WriteOutcome::Deleted {
                            version_id: Some(v + 1),
                        }
                    }
                })
            }
        };
        if let (Some((resource_type, id)), Some(outcome)) = (&target, &outcome) {
            written.note(resource_type, id, outcome);
        }
        outcomes.push(outcome);
    }
    for (index, resource_type, existing) in matched {
        let found = queries::current(conn, &resource_type, &existing)
            .await?
            .filter(|c| !c.deleted)
            .ok_or_else(|| {
                StoreError::Backend(format!("matched {resource_type}/{existing} vanished"))
            })?;
        outcomes[index] = Some(WriteOutcome::Matched(found));
    }
    if let Some((index, intent)) = audit {
        if !written.is_empty() {
            record_audit_intent(conn, &intent, &written.column()).await?;
        }
        outcomes[index] = Some(WriteOutcome::Audited {
            written: written.into_vec(),
        });
    }
    Ok(outcomes.into_iter().flatten().collect())
}

/// The write's audit intent, in its transaction (`store::write_audit`).
async fn record_audit_intent(
    conn: &mut PgConnection,
    intent: &AuditIntent,
    written: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_intent (id, recorded_ms, client_id, subtype, entity_type, template, written)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&intent.id)
    .bind(intent.recorded_ms)
    .bind(&intent.client_id)
    .bind(&intent.subtype)
    .bind(&intent.entity_type)
    .bind(&intent.template)
    .bind(written)
    .execute(conn)
    .await?;
    Ok(())
}

/// A database error (possibly worth retrying) or a store-level outcome.
#[derive(Debug)]
pub enum OpsError {
    Database(sqlx::Error),
    Store(StoreError),
}

impl From<sqlx::Error> for OpsError {
    fn from(e: sqlx::Error) -> Self {
        OpsError::Database(e)
    }
}

impl From<StoreError> for OpsError {
    fn from(e: StoreError) -> Self {
        OpsError::Store(e)
    }
}

async fn resolve_conditional(
    conn: &mut PgConnection,
    index: usize,
    resource_type: &str,
    id: &str,
    token: &IdentifierToken,
) -> Result<Resolution, OpsError> {
    let matches = queries::ids_by_identifier(conn, resource_type, token, 2).await?;
    if let Some(resolution) = write_rules::resolve_matches(index, &matches)? {
        return Ok(resolution);
    }
    let system = claim_system(token);
    // A concurrent claimant makes this wait on the key until it commits or rolls back.
    let inserted = sqlx::query(
        "INSERT INTO conditional_create_claim (resource_type, system, value, id)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(resource_type)
    .bind(system)
    .bind(&token.value)
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Resolution::Proceed);
    }
    let holder: Option<String> = sqlx::query_scalar(
        "SELECT id FROM conditional_create_claim
          WHERE resource_type = $1 AND md5(system) = md5($2) AND md5(value) = md5($3)
            AND system = $2 AND value = $3",
    )
    .bind(resource_type)
    .bind(system)
    .bind(&token.value)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(holder.map_or(Resolution::Proceed, Resolution::Existing))
}

/// What every version written by one `apply_ops` shares: its stamp and the work bound.
struct Commit<'a> {
    now_ms: i64,
    last_updated: &'a str,
    max_index_rows: usize,
}

async fn write_version(
    conn: &mut PgConnection,
    resource_type: &str,
    id: &str,
    version_id: u64,
    commit: &Commit<'_>,
    mut resource: Value,
) -> Result<StoredResource, OpsError> {
    let now_ms = commit.now_ms;
    meta::stamp(&mut resource, id, version_id, commit.last_updated);
    let rows = rows_of(resource_type, &resource);
    check_index_rows(resource_type, rows.len(), commit.max_index_rows)?;
    let body = json::write::to_string(&resource);
    sqlx::query(
        "INSERT INTO resource_version (resource_type, id, version_id, last_updated_ms, deleted, body_text)
         VALUES ($1, $2, $3, $4, FALSE, $5)",
    )
    .bind(resource_type)
    .bind(id)
    .bind(version_id as i64)
    .bind(now_ms)
    .bind(&body)
    .execute(&mut *conn)
    .await?;
    set_current(conn, resource_type, id, version_id).await?;
    // A first version has no identifier or search rows to replace.
    let first = version_id == 1;
    reindex_identifiers(conn, resource_type, id, &resource, first).await?;
    if !first {
        super::search::unindex(conn, resource_type, id).await?;
    }
    super::search::insert_rows(conn, resource_type, id, &rows).await?;
    Ok(StoredResource {
        resource_type: resource_type.to_string(),
        id: id.to_string(),
        version_id,
        last_updated_ms: now_ms,
        deleted: false,
        body: Some(Arc::from(body)),
    })
}

async fn write_tombstone(
    conn: &mut PgConnection,
    resource_type: &str,
    id: &str,
    version_id: u64,
    now_ms: i64,
) -> Result<(), OpsError> {
    sqlx::query(
        "INSERT INTO resource_version (resource_type, id, version_id, last_updated_ms, deleted)
         VALUES ($1, $2, $3, $4, TRUE)",
    )
    .bind(resource_type)
    .bind(id)
    .bind(version_id as i64)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    set_current(conn, resource_type, id, version_id).await?;
    for table in ["resource_identifier", "conditional_create_claim"] {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE resource_type = $1 AND id = $2"
        ))
        .bind(resource_type)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    }
    super::search::unindex(conn, resource_type, id).await?;
    Ok(())
}

async fn set_current(
    conn: &mut PgConnection,
    resource_type: &str,
    id: &str,
    version_id: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO resource_current (resource_type, id, version_id) VALUES ($1, $2, $3)
         ON CONFLICT (resource_type, id) DO UPDATE SET version_id = excluded.version_id",
    )
    .bind(resource_type)
    .bind(id)
    .bind(version_id as i64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn reindex_identifiers(
    conn: &mut PgConnection,
    resource_type: &str,
    id: &str,
    resource: &Value,
    first: bool,
) -> Result<(), sqlx::Error> {
    if !first {
        sqlx::query("DELETE FROM resource_identifier WHERE resource_type = $1 AND id = $2")
            .bind(resource_type)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    let (systems, values): (Vec<String>, Vec<String>) = identifiers_of(resource)
        .into_iter()
        .map(|i| (i.system, i.value))
        .unzip();
    if !values.is_empty() {
        // one round trip for all of the resource's identifiers
        sqlx::query(
            "INSERT INTO resource_identifier (resource_type, id, system, value)
             SELECT $1, $2, * FROM UNNEST($3::text[], $4::text[])",
        )
        .bind(resource_type)
        .bind(id)
        .bind(&systems)
        .bind(&values)
        .execute(&mut *conn)
        .await?;
    }
    // A claim stays only while the resource still carries the claimed identifier.
    sqlx::query(
        "DELETE FROM conditional_create_claim c
          WHERE c.resource_type = $1 AND c.id = $2
            AND NOT EXISTS (SELECT 1 FROM resource_identifier i
                             WHERE i.resource_type = c.resource_type AND i.id = c.id
                               AND i.value = c.value AND (c.system = '*' OR i.system = c.system))",
    )
    .bind(resource_type)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn import_versions(
    conn: &mut PgConnection,
    versions: &[StoredResource],
) -> Result<(), sqlx::Error> {
    // One statement per page, not per version: `migrate` is bound by round trips.
    let (mut rt, mut ids, mut vid, mut at, mut del, mut body) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for v in versions {
        rt.push(v.resource_type.as_str());
        ids.push(v.id.as_str());
        vid.push(v.version_id as i64);
        at.push(v.last_updated_ms);
        del.push(v.deleted);
        body.push(v.body.as_deref());
    }
    sqlx::query(
        "INSERT INTO resource_version (resource_type, id, version_id, last_updated_ms, deleted, body_text)
         SELECT rt, id, v, at, del, b
           FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::int8[], $5::bool[], $6::text[])
                AS u(rt, id, v, at, del, b)
         ON CONFLICT DO NOTHING",
    )
    .bind(&rt)
    .bind(&ids)
    .bind(&vid)
    .bind(&at)
    .bind(&del)
    .bind(&body)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO resource_current (resource_type, id, version_id)
         SELECT v.resource_type, v.id, MAX(v.version_id) FROM resource_version v
           JOIN (SELECT DISTINCT * FROM UNNEST($1::text[], $2::text[])) AS t(rt, id)
             ON v.resource_type = t.rt AND v.id = t.id
          GROUP BY v.resource_type, v.id
         ON CONFLICT (resource_type, id) DO UPDATE SET version_id = excluded.version_id",
    )
    .bind(&rt)
    .bind(&ids)
    .execute(&mut *conn)
    .await?;
    let mut touched: Vec<(&str, &str)> = versions
        .iter()
        .map(|v| (v.resource_type.as_str(), v.id.as_str()))
        .collect();
    touched.dedup();
    for (resource_type, id) in touched {
        match queries::current(conn, resource_type, id).await? {
            Some(c) if !c.deleted => {
                let body: Value = c
                    .body
                    .as_deref()
                    .and_then(|b| serde_json::from_str(b).ok())
                    .unwrap_or(Value::Null);
                reindex_identifiers(conn, resource_type, id, &body, false).await?;
                super::search::reindex(conn, resource_type, id, &body).await?;
            }
            _ => {
                sqlx::query("DELETE FROM resource_identifier WHERE resource_type = $1 AND id = $2")
                    .bind(resource_type)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                super::search::unindex(conn, resource_type, id).await?;
            }
        }
    }
    Ok(())
}
