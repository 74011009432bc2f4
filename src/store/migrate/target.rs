//! Writing and reading the PostgreSQL target with the same row model as the source.

use super::table::{Cell, Kind, Row, Table};
use futures_util::TryStreamExt;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{PgPool, Postgres, Row as _};

pub struct Target {
    pub pool: PgPool,
}

fn cast(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "text[]",
        Kind::Int => "int8[]",
        Kind::Bool => "bool[]",
        Kind::Bytes => "bytea[]",
    }
}

/// Binds column `i` of `rows` as one array parameter.
fn bind_column<'q>(
    q: Query<'q, Postgres, PgArguments>,
    kind: Kind,
    i: usize,
    rows: &[&[Cell]],
) -> Query<'q, Postgres, PgArguments> {
    match kind {
        Kind::Text => q.bind(
            rows.iter()
                .map(|r| match &r[i] {
                    Cell::Text(t) => Some(t.clone()),
                    _ => None,
                })
                .collect::<Vec<Option<String>>>(),
        ),
        Kind::Int => q.bind(
            rows.iter()
                .map(|r| match &r[i] {
                    Cell::Int(n) => Some(*n),
                    _ => None,
                })
                .collect::<Vec<Option<i64>>>(),
        ),
        Kind::Bool => q.bind(
            rows.iter()
                .map(|r| match &r[i] {
                    Cell::Int(n) => Some(*n != 0),
                    _ => None,
                })
                .collect::<Vec<Option<bool>>>(),
        ),
        Kind::Bytes => q.bind(
            rows.iter()
                .map(|r| match &r[i] {
                    Cell::Bytes(b) => Some(b.clone()),
                    _ => None,
                })
                .collect::<Vec<Option<Vec<u8>>>>(),
        ),
    }
}

fn select_list(table: &Table) -> String {
    table
        .columns
        .iter()
        .map(|c| match c.kind {
            // INTEGER columns read as BIGINT, so one Rust type serves every integer.
            Kind::Int => format!("{}::int8", c.postgres),
            _ => c.postgres.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_row(table: &Table, r: &PgRow) -> Result<Row, sqlx::Error> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Ok(match c.kind {
                Kind::Text => r.try_get::<Option<String>, _>(i)?.map(Cell::Text),
                Kind::Int => r.try_get::<Option<i64>, _>(i)?.map(Cell::Int),
                Kind::Bool => r
                    .try_get::<Option<bool>, _>(i)?
                    .map(|b| Cell::Int(i64::from(b))),
                Kind::Bytes => r.try_get::<Option<Vec<u8>>, _>(i)?.map(Cell::Bytes),
            }
            .unwrap_or(Cell::Null))
        })
        .collect()
}

impl Target {
    /// Inserts the rows that are not there yet (by primary key); rows already there are kept.
    pub async fn insert(&self, table: &Table, rows: &[Row]) -> Result<(), sqlx::Error> {
        if rows.is_empty() {
            return Ok(());
        }
        let cols: Vec<&str> = table.columns.iter().map(|c| c.postgres).collect();
        let arrays: Vec<String> = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("${}::{}", i + 1, cast(c.kind)))
            .collect();
        let sql = format!(
            "INSERT INTO {} ({}) SELECT * FROM UNNEST({}) ON CONFLICT DO NOTHING",
            table.name,
            cols.join(", "),
            arrays.join(", ")
        );
        let slices: Vec<&[Cell]> = rows.iter().map(|r| r.as_slice()).collect();
        let mut q = sqlx::query(&sql);
        for (i, c) in table.columns.iter().enumerate() {
            q = bind_column(q, c.kind, i, &slices);
        }
        q.execute(&self.pool).await?;
        Ok(())
    }

    /// The target's rows with the keys of `rows`.
    pub async fn rows_with_keys(
        &self,
        table: &Table,
        rows: &[Row],
    ) -> Result<Vec<Row>, sqlx::Error> {
        if rows.is_empty() || table.key == 0 {
            return Ok(vec![]);
        }
        let keys: Vec<&str> = table.columns[..table.key]
            .iter()
            .map(|c| c.postgres)
            .collect();
        let arrays: Vec<String> = table.columns[..table.key]
            .iter()
            .enumerate()
            .map(|(i, c)| format!("${}::{}", i + 1, cast(c.kind)))
            .collect();
        let sql = format!(
            "SELECT {} FROM {} WHERE ({}) IN (SELECT * FROM UNNEST({}))",
            select_list(table),
            table.name,
            keys.join(", "),
            arrays.join(", ")
        );
        let slices: Vec<&[Cell]> = rows.iter().map(|r| r.as_slice()).collect();
        let mut q = sqlx::query(&sql);
        for (i, c) in table.columns[..table.key].iter().enumerate() {
            q = bind_column(q, c.kind, i, &slices);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| read_row(table, r))
            .collect()
    }

    pub async fn count(&self, table: &Table) -> Result<u64, sqlx::Error> {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", table.name))
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    pub async fn search_index_rows(&self) -> Result<u64, sqlx::Error> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM search_index")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    /// Every row, streamed, for checksums.
    pub async fn scan(&self, table: &Table, mut each: impl FnMut(Row)) -> Result<(), sqlx::Error> {
        let sql = format!("SELECT {} FROM {}", select_list(table), table.name);
        let mut rows = sqlx::query(&sql).fetch(&self.pool);
        while let Some(r) = rows.try_next().await? {
            each(read_row(table, &r)?);
        }
        Ok(())
    }

    /// Moves a serial column's sequence past the copied rows, so the next row the gateway
    /// writes does not collide with a copied `seq`.
    pub async fn advance_sequence(&self, table: &Table) -> Result<(), sqlx::Error> {
        if table.columns.first().map(|c| c.postgres) != Some("seq") {
            return Ok(());
        }
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('{0}', 'seq'), GREATEST((SELECT MAX(seq) FROM {0}), 1))",
            table.name
        ))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
