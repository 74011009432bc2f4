//! Reading the SQLite store (main file and audit file) read-only, a page at a time in key order.

use super::table::{Cell, Kind, Row, Table};
use crate::store::sqlite::body_codec;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

pub struct Source {
    conn: Connection,
}

impl Source {
    pub fn open(database: &Path, audit: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open_with_flags(
            database,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.execute(
            "ATTACH DATABASE ?1 AS audit",
            [audit.to_string_lossy().as_ref()],
        )?;
        Ok(Self { conn })
    }

    pub fn count(&self, table: &Table) -> rusqlite::Result<u64> {
        self.conn
            .query_row(&format!("SELECT COUNT(*) FROM {}", table.sqlite), [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
    }

    /// Up to `limit` rows after the key `after`, in key order.
    pub fn page(
        &self,
        table: &Table,
        after: Option<&[Cell]>,
        limit: usize,
    ) -> rusqlite::Result<Vec<Row>> {
        let cols: Vec<&str> = table.columns.iter().map(|c| c.sqlite).collect();
        let keys = table
            .page_key()
            .into_iter()
            .map(|i| cols[i])
            .collect::<Vec<_>>()
            .join(", ");
        let mut sql = format!("SELECT {} FROM {}", cols.join(", "), table.sqlite);
        let mut args: Vec<rusqlite::types::Value> = vec![];
        if let Some(after) = after {
            let marks: Vec<String> = (1..=after.len()).map(|i| format!("?{i}")).collect();
            sql += &format!(" WHERE ({keys}) > ({})", marks.join(", "));
            args.extend(after.iter().map(to_sqlite));
        }
        sql += &format!(" ORDER BY {keys} LIMIT {limit}");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| read_row(table, r))?;
        rows.collect()
    }

    /// Every row, for checksums (tables without a key included).
    pub fn scan(&self, table: &Table, mut each: impl FnMut(Row)) -> rusqlite::Result<()> {
        let cols: Vec<&str> = table.columns.iter().map(|c| c.sqlite).collect();
        let mut stmt =
            self.conn
                .prepare(&format!("SELECT {} FROM {}", cols.join(", "), table.sqlite))?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            each(read_row(table, r)?);
        }
        Ok(())
    }

    /// Merged and recent rows (`store::sqlite::index_merge`): the target holds them all in one.
    pub fn search_index_rows(&self) -> rusqlite::Result<u64> {
        self.conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM search_index) + (SELECT COUNT(*) FROM search_index_recent)",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
    }
}

fn read_row(table: &Table, r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Ok(match (r.get_ref(i)?, c.kind) {
                (ValueRef::Null, _) => Cell::Null,
                (ValueRef::Integer(n), Kind::Int | Kind::Bool) => Cell::Int(n),
                (ValueRef::Integer(n), _) => Cell::Text(n.to_string()),
                (ValueRef::Real(f), _) => Cell::Text(f.to_string()),
                (ValueRef::Text(t), Kind::Bytes) | (ValueRef::Blob(t), Kind::Bytes) => {
                    Cell::Bytes(t.to_vec())
                }
                // a BLOB in a text column is a compressed body (store/sqlite/body_codec.rs)
                (ValueRef::Blob(b), _) => Cell::Text(body_codec::decode_blob(b).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        i,
                        rusqlite::types::Type::Blob,
                        Box::new(e),
                    )
                })?),
                (ValueRef::Text(t), _) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
            })
        })
        .collect()
}

fn to_sqlite(c: &Cell) -> rusqlite::types::Value {
    use rusqlite::types::Value;
    match c {
        Cell::Null => Value::Null,
        Cell::Int(i) => Value::Integer(*i),
        Cell::Text(t) => Value::Text(t.clone()),
        Cell::Bytes(b) => Value::Blob(b.clone()),
    }
}
