//! Read queries shared by the read pool and the writer.

use crate::store::write_rules::search_system;
use crate::store::StoredResource;
use fhir_engine::model::identifier::IdentifierToken;
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::sync::Arc;

fn stored(resource_type: &str, id: &str, row: &Row<'_>) -> rusqlite::Result<StoredResource> {
    let body = super::body_codec::column(row, 3)?;
    Ok(StoredResource {
        resource_type: resource_type.to_string(),
        id: id.to_string(),
        version_id: row.get::<_, i64>(0)? as u64,
        last_updated_ms: row.get(1)?,
        deleted: row.get::<_, i64>(2)? != 0,
        body: body.map(Arc::from),
    })
}

/// A row of `resource_type, id, version_id, last_updated_ms, deleted, body`, the columns every
/// query over whole versions selects, in this order.
pub fn version_row(row: &Row<'_>) -> rusqlite::Result<StoredResource> {
    let body = super::body_codec::column(row, 5)?;
    Ok(StoredResource {
        resource_type: row.get(0)?,
        id: row.get(1)?,
        version_id: row.get::<_, i64>(2)? as u64,
        last_updated_ms: row.get(3)?,
        deleted: row.get::<_, i64>(4)? != 0,
        body: body.map(Arc::from),
    })
}

pub fn current(
    conn: &Connection,
    resource_type: &str,
    id: &str,
) -> rusqlite::Result<Option<StoredResource>> {
    conn.prepare_cached(
        "SELECT v.version_id, v.last_updated_ms, v.deleted, v.body
           FROM resource_current c
           JOIN resource_version v ON v.rk = c.rk AND v.version_id = c.version_id
          WHERE c.resource_type = ?1 AND c.id = ?2",
    )?
    .query_row(params![resource_type, id], |r| stored(resource_type, id, r))
    .optional()
}

/// A resource's `resource_current` row: its current version and the key its index rows
/// carry.
#[derive(Debug, Clone, Copy)]
pub struct Current {
    pub rk: i64,
    pub version_id: u64,
    pub deleted: bool,
}

/// The current version number and whether it is a deletion, without reading the body.
pub fn current_version(
    conn: &Connection,
    resource_type: &str,
    id: &str,
) -> rusqlite::Result<Option<Current>> {
    conn.prepare_cached(
        "SELECT c.rk, c.version_id, v.deleted
           FROM resource_current c
           JOIN resource_version v ON v.rk = c.rk AND v.version_id = c.version_id
          WHERE c.resource_type = ?1 AND c.id = ?2",
    )?
    .query_row(params![resource_type, id], |r| {
        Ok(Current {
            rk: r.get(0)?,
            version_id: r.get::<_, i64>(1)? as u64,
            deleted: r.get::<_, i64>(2)? != 0,
        })
    })
    .optional()
}

pub fn version(
    conn: &Connection,
    resource_type: &str,
    id: &str,
    version_id: u64,
) -> rusqlite::Result<Option<StoredResource>> {
    conn.prepare_cached(
        "SELECT v.version_id, v.last_updated_ms, v.deleted, v.body
           FROM resource_current c
           JOIN resource_version v ON v.rk = c.rk AND v.version_id = ?3
          WHERE c.resource_type = ?1 AND c.id = ?2",
    )?
    .query_row(params![resource_type, id, version_id as i64], |r| {
        stored(resource_type, id, r)
    })
    .optional()
}

pub fn ids_by_identifier(
    conn: &Connection,
    resource_type: &str,
    token: &IdentifierToken,
    limit: usize,
) -> rusqlite::Result<Vec<String>> {
    // Two shapes so that both use the (value, system) index: an optional system filter or an
    // ORDER BY on id would let the planner take another path. The rows name their resource
    // by its key; CROSS JOIN keeps the identifiers driving, each key a lookup.
    let mut ids: Vec<String> = match search_system(token) {
        Some(system) => conn
            .prepare_cached(
                "SELECT c.id FROM resource_identifier i CROSS JOIN resource_current c ON c.rk = i.rk
                  WHERE i.value = ?2 AND i.system = ?3 AND c.resource_type = ?1",
            )?
            .query_map(params![resource_type, token.value, system], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?,
        None => conn
            .prepare_cached(
                "SELECT c.id FROM resource_identifier i CROSS JOIN resource_current c ON c.rk = i.rk
                  WHERE i.value = ?2 AND c.resource_type = ?1",
            )?
            .query_map(params![resource_type, token.value], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?,
    };
    ids.sort();
    ids.dedup();
    ids.truncate(limit);
    Ok(ids)
}
