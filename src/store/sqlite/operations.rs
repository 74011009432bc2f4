//! Carrying out write operations inside an open SQLite transaction or savepoint.
//!
//! Inserts say `OR FAIL`: a failing statement keeps what it already wrote, so SQLite opens no
//! statement journal (a copy of every page the statement changes) for it. That is safe here
//! because any failed statement fails the whole job, whose savepoint or transaction is then
//! rolled back.

use super::queries;
use crate::store::prepared_write::PreparedWrite;
use crate::store::write_audit::WrittenVersions;
use crate::store::write_rules::{self, claim_system, Resolution};
use crate::store::{OpFailure, StoreError, StoredResource, WriteOp, WriteOutcome};
use fhir_engine::json;
use fhir_engine::model::identifier::{identifiers_of, IdentifierToken};
use fhir_engine::model::{instant, meta, reference};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use std::sync::Arc;

/// Carries out `ops` in order. The operations are borrowed, and changed in place (matched
/// conditional creates redirect references, `meta` is stamped): the caller keeps them and
/// frees their JSON on its own thread, not on the single writer.
///
/// `prepared` holds, per operation, what the request's thread computed of it. It describes the
/// resource as sent, so it is dropped when a matched conditional create redirects one of the
/// resource's references.
pub fn apply_ops(
    conn: &Connection,
    ops: &mut [WriteOp],
    prepared: &mut [Option<PreparedWrite>],
    now_ms: i64,
) -> Result<Vec<WriteOutcome>, StoreError> {
    // First resolve every conditional create, so that references to a matched
    // resource can be redirected before anything is written.
    let mut resolutions = Vec::with_capacity(ops.len());
    for (index, op) in ops.iter().enumerate() {
        resolutions.push(match op {
            WriteOp::Create {
                resource_type,
                id,
                if_none_exist: Some(token),
                ..
            } => resolve_conditional(conn, index, resource_type, id, token)?,
            _ => Resolution::Proceed,
        });
    }
    let aliases = write_rules::aliases(ops, &resolutions);

    let last_updated = instant::fhir_instant(now_ms);
    let stamp = Stamp {
        now_ms,
        last_updated: &last_updated,
    };
    let mut outcomes = Vec::with_capacity(ops.len());
    let mut matched = Vec::new();
    let audited = ops.iter().any(|op| matches!(op, WriteOp::RecordAudit(_)));
    let mut written = WrittenVersions::default();
    let mut audit = None;
    for (index, (op, resolution)) in ops.iter_mut().zip(resolutions).enumerate() {
        if !aliases.is_empty() {
            if let Some(resource) = op.resource_mut() {
                if reference::rewrite(resource, &aliases) > 0 {
                    // For good: a rerun of the batch finds the resource already redirected.
                    if let Some(p) = prepared.get_mut(index) {
                        *p = None;
                    }
                }
            }
        }
        let prepared = prepared.get(index).and_then(Option::as_ref);
        // what the audit intent names (only when there is one: the writer is serial)
        let target = audited.then(|| (op.resource_type().to_string(), op.id().to_string()));
        let outcome = match (op, resolution) {
            (WriteOp::RecordAudit(intent), _) => {
                audit = Some((index, &**intent));
                None
            }
            (WriteOp::Create { resource_type, .. }, Resolution::Existing(existing)) => {
                matched.push((index, resource_type.as_str(), existing));
                None
            }
            (
                WriteOp::Create {
                    resource_type,
                    id,
                    resource,
                    if_none_exist,
                },
                Resolution::Proceed,
            ) => {
                let version = Version {
                    id: 1,
                    claimed: if_none_exist.is_some(),
                    rk: None,
                };
                // a resource that exists (or existed) has its resource_current row: no lookup first
                let stored =
                    write_version(conn, resource_type, id, version, &stamp, resource, prepared)?
                        .ok_or(StoreError::Op {
                            index,
                            failure: OpFailure::AlreadyExists,
                        })?;
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
                let current = queries::current_version(conn, resource_type, id)?;
                let live = current.filter(|c| !c.deleted).map(|c| c.version_id);
                write_rules::check_if_match(index, *if_match, live)?;
                let next = current.map_or(1, |c| c.version_id + 1);
                let version = Version {
                    id: next,
                    claimed: false,
                    rk: current.map(|c| c.rk),
                };
                let stored =
                    write_version(conn, resource_type, id, version, &stamp, resource, prepared)?
                        .ok_or_else(|| {
                            StoreError::Backend(format!(
                                "{resource_type}/{id} has a version {next} already"
                            ))
                        })?;
                Some(match live {
                    Some(_) => WriteOutcome::Updated(stored),
                    None => WriteOutcome::Created(stored),
                })
            }
            (WriteOp::EnqueueDelivery(request), _) => {
                request.redirect(&aliases);
                Some(WriteOutcome::DeliveryEnqueued {
                    delivery_id: super::outbox::enqueue(conn, request.clone(), now_ms)?,
                })
            }
            (
                WriteOp::Delete {
                    resource_type,
                    id,
                    if_match,
                },
                _,
            ) => Some({
                let live =
                    queries::current_version(conn, resource_type, id)?.filter(|c| !c.deleted);
                write_rules::check_if_match(index, *if_match, live.map(|c| c.version_id))?;
                match live {
                    None => WriteOutcome::Deleted { version_id: None },
                    Some(current) => {
                        let v = current.version_id + 1;
                        write_tombstone(conn, resource_type, id, v, current.rk, now_ms)?;
                        WriteOutcome::Deleted {
                            version_id: Some(v),
                        }
                    }
                }
            }),
        };
        if let (Some((resource_type, id)), Some(outcome)) = (&target, &outcome) {
            written.note(resource_type, id, outcome);
        }
        outcomes.push(outcome);
    }
    for (index, resource_type, existing) in matched {
        let found = queries::current(conn, resource_type, &existing)?
            .filter(|c| !c.deleted)
            .ok_or_else(|| {
                StoreError::Backend(format!("matched {resource_type}/{existing} vanished"))
            })?;
        outcomes[index] = Some(WriteOutcome::Matched(found));
    }
    if let Some((index, intent)) = audit {
        if !written.is_empty() {
            super::audit_file::record_intent(conn, intent, &written.column())?;
        }
        outcomes[index] = Some(WriteOutcome::Audited {
            written: written.into_vec(),
        });
    }
    Ok(outcomes.into_iter().flatten().collect())
}

struct Stamp<'a> {
    now_ms: i64,
    last_updated: &'a str,
}

fn resolve_conditional(
    conn: &Connection,
    index: usize,
    resource_type: &str,
    id: &str,
    token: &IdentifierToken,
) -> Result<Resolution, StoreError> {
    let matches = queries::ids_by_identifier(conn, resource_type, token, 2)?;
    if let Some(resolution) = write_rules::resolve_matches(index, &matches)? {
        return Ok(resolution);
    }
    let system = claim_system(token);
    let inserted = conn
        .prepare_cached(
            "INSERT INTO conditional_create_claim (resource_type, system, value, id)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        )?
        .execute(params![resource_type, system, token.value, id])?;
    if inserted == 1 {
        return Ok(Resolution::Proceed);
    }
    let holder: Option<String> = conn
        .prepare_cached(
            "SELECT id FROM conditional_create_claim
              WHERE resource_type = ?1 AND system = ?2 AND value = ?3",
        )?
        .query_row(params![resource_type, system, token.value], |r| r.get(0))
        .optional()?;
    Ok(holder.map_or(Resolution::Proceed, Resolution::Existing))
}

/// The version being written, whether this write took a conditional-create claim, and the
/// resource's `resource_current` key when it has a row there already.
#[derive(Clone, Copy)]
struct Version {
    id: u64,
    claimed: bool,
    rk: Option<i64>,
}

impl Version {
    /// The first version: the resource has no identifier or search rows yet.
    fn is_first(self) -> bool {
        self.id == 1
    }
}

/// Stores `version` of the resource, or gives `None` when the store has that version already
/// (and writes nothing).
#[allow(clippy::too_many_arguments)]
fn write_version(
    conn: &Connection,
    resource_type: &str,
    id: &str,
    version: Version,
    stamp: &Stamp<'_>,
    resource: &mut Value,
    prepared: Option<&PreparedWrite>,
) -> Result<Option<StoredResource>, StoreError> {
    let version_id = version.id;
    meta::stamp(resource, id, version_id, stamp.last_updated);
    let body = match prepared.and_then(|p| p.body(id, version_id, stamp.last_updated)) {
        Some(body) => body,
        None => json::write::to_string(resource),
    };
    // a new resource claims its key first: a taken (type, id) writes nothing
    let rk = match version.rk {
        Some(rk) => rk,
        None => match claim_current(conn, resource_type, id, version_id)? {
            Some(rk) => rk,
            None => return Ok(None),
        },
    };
    let inserted = conn
        .prepare_cached(
            "INSERT INTO resource_version (rk, version_id, resource_type, id, last_updated_ms, deleted, body)
             VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6) ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            rk,
            version_id as i64,
            resource_type,
            id,
            stamp.now_ms,
            super::body_codec::encode(resource_type, &body)
        ])?;
    match (inserted, version.rk) {
        (0, Some(_)) => return Ok(None),
        (0, None) => {
            return Err(StoreError::Backend(format!(
                "{resource_type}/{id} has versions under a key it has just taken"
            )))
        }
        (_, Some(rk)) => advance_current(conn, rk, version_id)?,
        (_, None) => {}
    }
    reindex_identifiers(conn, rk, resource_type, id, resource, version)?;
    super::search::reindex(
        conn,
        super::search::RowTable::Recent,
        rk,
        resource_type,
        resource,
        prepared.map(|p| p.rows.as_slice()),
        version.is_first(),
    )?;
    Ok(Some(StoredResource {
        resource_type: resource_type.to_string(),
        id: id.to_string(),
        version_id,
        last_updated_ms: stamp.now_ms,
        deleted: false,
        body: Some(Arc::from(body)),
    }))
}

fn write_tombstone(
    conn: &Connection,
    resource_type: &str,
    id: &str,
    version_id: u64,
    rk: i64,
    now_ms: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT OR FAIL INTO resource_version (rk, version_id, resource_type, id, last_updated_ms, deleted, body)
         VALUES (?1, ?2, ?3, ?4, ?5, 1, NULL)",
    )?
    .execute(params![rk, version_id as i64, resource_type, id, now_ms])?;
    advance_current(conn, rk, version_id)?;
    conn.prepare_cached("DELETE FROM resource_identifier WHERE rk = ?1")?
        .execute([rk])?;
    conn.prepare_cached(
        "DELETE FROM conditional_create_claim WHERE resource_type = ?1 AND id = ?2",
    )?
    .execute(params![resource_type, id])?;
    super::search::unindex(conn, rk)?;
    Ok(())
}

/// A new resource's `resource_current` row, pointing at its first version; gives its key `rk`
/// (the next one), which its versions, index rows and identifiers carry, or `None` when the
/// type and id are taken (by a live or a deleted resource). No `RETURNING`: SQLite runs such a
/// statement through a temporary table, four times the cost of the insert itself.
fn claim_current(
    conn: &Connection,
    resource_type: &str,
    id: &str,
    version_id: u64,
) -> Result<Option<i64>, StoreError> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO resource_current (id, resource_type, version_id) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![id, resource_type, version_id as i64])?;
    Ok((inserted == 1).then(|| conn.last_insert_rowid()))
}

/// Points the resource with key `rk` at its new current version.
fn advance_current(conn: &Connection, rk: i64, version_id: u64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE resource_current SET version_id = ?2 WHERE rk = ?1")?
        .execute(params![rk, version_id as i64])?;
    Ok(())
}

/// A resource's identifiers, under its key `rk` (`resource_current`), each numbered by its
/// place in the resource.
fn reindex_identifiers(
    conn: &Connection,
    rk: i64,
    resource_type: &str,
    id: &str,
    resource: &Value,
    version: Version,
) -> Result<(), StoreError> {
    if !version.is_first() {
        conn.prepare_cached("DELETE FROM resource_identifier WHERE rk = ?1")?
            .execute([rk])?;
    }
    let mut insert = conn.prepare_cached(
        "INSERT OR FAIL INTO resource_identifier (rk, n, system, value) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (n, ident) in identifiers_of(resource).iter().enumerate() {
        insert.execute(params![rk, n as i64, ident.system, ident.value])?;
    }
    // A first version holds a claim only if this write took one.
    if version.is_first() && !version.claimed {
        return Ok(());
    }
    // A claim stays only while the resource still carries the claimed identifier.
    conn.prepare_cached(
        "DELETE FROM conditional_create_claim
          WHERE resource_type = ?1 AND id = ?2
            AND NOT EXISTS (SELECT 1 FROM resource_identifier i
                             WHERE i.rk = ?3
                               AND i.value = conditional_create_claim.value
                               AND (conditional_create_claim.system = '*'
                                    OR i.system = conditional_create_claim.system))",
    )?
    .execute(params![resource_type, id, rk])?;
    Ok(())
}
