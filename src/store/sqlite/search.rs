//! SQLite side of search: keeping `search_index` in step with writes, and running the
//! shared search SQL on the read pool.

use super::queries::version_row;
use super::SqliteStore;
use crate::store::search::columns::{columns, IndexColumns};
use crate::store::search::{indexed_set, rows_of, Arg, Sql, SqlRunner};
use crate::store::search::{param_code, uuid_value};
use crate::store::{StoreError, StoredResource};
use async_trait::async_trait;
use fhir_engine::search::index::IndexRow;
use rusqlite::types::ToSqlOutput;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, ToSql};
use serde_json::Value;
use std::sync::OnceLock;

impl ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Arg::Text(s) => s.to_sql(),
            Arg::Int(i) => i.to_sql(),
            Arg::Bytes(b) => b.to_sql(),
        }
    }
}

/// Where `reindex` writes a resource's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowTable {
    /// `search_index_recent`, until the writer merges them (`index_merge`): a commit's rows.
    Recent = 0,
    /// `search_index` itself: a rebuild of every row at start, merged in one go anyway.
    Merged = 1,
}

/// Replaces the index rows of a resource with those of its new current version, written
/// `into` one of the tables of rows. `rk`: the resource's `resource_current` row. `prepared`:
/// its rows, computed before the commit (`PreparedWrite`). `fresh`: the resource has no
/// earlier version, so it has no rows to remove.
pub fn reindex(
    conn: &Connection,
    into: RowTable,
    rk: i64,
    resource_type: &str,
    resource: &Value,
    prepared: Option<&[IndexRow]>,
    fresh: bool,
) -> rusqlite::Result<()> {
    if !fresh {
        unindex(conn, rk)?;
    }
    let extracted;
    let rows: &[IndexRow] = match prepared {
        Some(prepared) => prepared,
        None => {
            extracted = rows_of(resource_type, resource);
            &extracted
        }
    };
    // every row's parameter is in the indexed set, which gives it its code
    let coded: Vec<(i64, IndexColumns<'_>, ToSqlOutput<'_>)> = rows
        .iter()
        .filter_map(|row| {
            let tp = param_code::code(resource_type, &row.param)?;
            let c = columns(row);
            // a token's or reference's UUID as its 16 bytes (`uuid_value`)
            let val = match uuid_value::bytes(c.val).filter(|_| c.keyed) {
                Some(b) => ToSqlOutput::Owned(rusqlite::types::Value::Blob(b.to_vec())),
                None => ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(c.val.as_bytes())),
            };
            Some((tp, c, val))
        })
        .collect();
    let numbers: Vec<i64> = (0..coded.len() as i64).collect();
    for (chunk, numbers) in coded.chunks(INSERT_CHUNK).zip(numbers.chunks(INSERT_CHUNK)) {
        let mut args: Vec<&dyn ToSql> = Vec::with_capacity(1 + 7 * chunk.len());
        args.push(&rk);
        for ((tp, c, val), n) in chunk.iter().zip(numbers) {
            args.extend([tp as &dyn ToSql, n, &c.sys, val, &c.raw, &c.lo, &c.hi]);
        }
        conn.prepare_cached(insert_sql(into, chunk.len()))?
            .execute(&args[..])?;
    }
    Ok(())
}

/// Index rows inserted by one statement: a resource's 10-15 rows take one or two statements
/// instead of one each (the per-statement overhead was a tenth of the writer's time).
const INSERT_CHUNK: usize = 16;

/// `INSERT … VALUES (?1, ?, …), …` for `n` rows: the owner bound once, then each row's code,
/// its number within its resource and its columns.
fn insert_sql(into: RowTable, n: usize) -> &'static str {
    static SQL: OnceLock<[Vec<String>; 2]> = OnceLock::new();
    let all = SQL.get_or_init(|| {
        [RowTable::Recent, RowTable::Merged].map(|table| {
            let name = match table {
                RowTable::Recent => "search_index_recent",
                RowTable::Merged => "search_index",
            };
            (0..=INSERT_CHUNK)
                .map(|n| {
                    let values = vec!["(?1, ?, ?, ?, ?, ?, ?, ?)"; n].join(", ");
                    format!(
                        "INSERT OR FAIL INTO {name} (rk, tp, n, sys, val, raw, lo, hi) VALUES {values}"
                    )
                })
                .collect()
        })
    });
    &all[into as usize][n.min(INSERT_CHUNK)]
}

/// A deleted resource is no longer found by search: its rows go, merged or not.
pub fn unindex(conn: &Connection, rk: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM search_index WHERE rk = ?1")?
        .execute([rk])?;
    conn.prepare_cached("DELETE FROM search_index_recent WHERE rk = ?1")?
        .execute([rk])?;
    Ok(())
}

/// Rebuilds the rows of every live resource when migration 2 left a pending marker, or when
/// they were built for another set of indexed parameters (`search_indexed_set`, which also
/// fixes the parameters' codes): rows of a parameter no longer indexed go, a newly indexed
/// one gets its rows.
pub fn reindex_pending(conn: &mut Connection) -> rusqlite::Result<usize> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let pending: i64 = tx.query_row("SELECT COUNT(*) FROM search_reindex_pending", [], |r| {
        r.get(0)
    })?;
    let built_for: Option<String> = tx
        .query_row("SELECT params FROM search_indexed_set", [], |r| r.get(0))
        .optional()?;
    let wanted = indexed_set();
    if pending == 0 && built_for.as_deref() == Some(wanted.as_str()) {
        return Ok(0);
    }
    let live: Vec<(i64, String, Option<String>)> = tx
        .prepare(
            "SELECT c.rk, c.resource_type, v.body FROM resource_current c
               JOIN resource_version v ON v.rk = c.rk AND v.version_id = c.version_id
              WHERE v.deleted = 0",
        )?
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, super::body_codec::column(r, 2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    tx.execute("DELETE FROM search_index", [])?;
    tx.execute("DELETE FROM search_index_recent", [])?;
    tx.execute("DELETE FROM search_param_code", [])?;
    {
        let mut code = tx.prepare(
            "INSERT INTO search_param_code (tp, resource_type, param) VALUES (?1, ?2, ?3)",
        )?;
        for (tp, rt, param) in param_code::all() {
            code.execute(params![tp, rt, param])?;
        }
    }
    for (rk, rt, body) in &live {
        let Some(body) = body else { continue };
        if let Ok(resource) = serde_json::from_str::<Value>(body) {
            reindex(&tx, RowTable::Merged, *rk, rt, &resource, None, true)?;
        }
    }
    tx.execute("DELETE FROM search_reindex_pending", [])?;
    tx.execute("DELETE FROM search_indexed_set", [])?;
    tx.execute(
        "INSERT INTO search_indexed_set (params) VALUES (?1)",
        [&wanted],
    )?;
    tx.commit()?;
    Ok(live.len())
}

/// Rows of a statement of the shared SQL, through the connection's statement cache.
pub(super) fn query<T: Send + 'static>(
    conn: &Connection,
    sql: &Sql,
    row: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(&sql.text)?;
    let rows = stmt.query_map(params_from_iter(sql.args.iter()), row)?;
    rows.collect()
}

#[async_trait]
impl SqlRunner for SqliteStore {
    async fn keys(&self, sql: Sql) -> Result<Vec<(String, i64)>, StoreError> {
        self.readers
            .read(move |c| query(c, &sql, |r| Ok((r.get(0)?, r.get(1)?))))
            .await
    }

    async fn count(&self, sql: Sql) -> Result<i64, StoreError> {
        self.readers
            .read(move |c| {
                c.prepare_cached(&sql.text)?
                    .query_row(params_from_iter(sql.args.iter()), |r| r.get(0))
            })
            .await
    }

    async fn pairs(&self, sql: Sql) -> Result<Vec<(String, String)>, StoreError> {
        self.readers
            .read(move |c| query(c, &sql, |r| Ok((r.get(0)?, r.get(1)?))))
            .await
    }

    async fn versions(&self, sql: Sql) -> Result<Vec<StoredResource>, StoreError> {
        self.readers
            .read(move |c| query(c, &sql, version_row))
            .await
    }
}
