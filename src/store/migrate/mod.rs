//! `hbpc-gateway migrate`: moves a single-node SQLite store (main file and audit file) into
//! PostgreSQL and proves the copy.
//!
//! What moves: every resource version (deleted and historical ones included) with its
//! timestamps, the current-version pointers, conditional-create claims, the delivery outbox
//! (leases cleared), the whole audit trail and its quarantine with their original ids, `seq`
//! and timestamps, and the client-assertion `jti` replay cache. The identifier and search
//! indexes are rebuilt on the target by PostgreSQL's own indexer from the copied current
//! versions, then checked against the source's.
//!
//! Safe to rerun: rows are written by primary key and rows already there are kept, each page
//! in one transaction, so an interrupted run is finished by running it again. A target that
//! holds anything is first checked row by row against the source, and refused before any
//! write when a row with the same key holds different data.

mod source;
mod table;
mod target;
mod verify;

use super::postgres::PostgresStore;
use super::sqlite::{audit_file_path, SqliteStore};
use super::{StoreError, StoredResource};
use crate::config::DatabaseSettings;
use source::Source;
use std::sync::Arc;
use table::{Cell, Row, Table, COPIED, RESOURCE_VERSION};
use target::Target;

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("reading the SQLite source: {0}")]
    Source(#[from] rusqlite::Error),
    #[error("PostgreSQL target: {0}")]
    Target(#[from] sqlx::Error),
    #[error(
        "the target already holds different data in {table} for key {key}; refusing to \
         overwrite it. Migrate into an empty database, or into the one an earlier run of \
         this same migration filled"
    )]
    Conflict { table: &'static str, key: String },
}

/// One step of progress: `done` of `total` rows of `table` (no row content, so no PHI).
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    pub phase: &'static str,
    pub table: &'a str,
    pub done: u64,
    pub total: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Rows per page (each page is one transaction on the target).
    pub batch: usize,
    /// Compare only; write nothing.
    pub verify_only: bool,
}

#[derive(Debug, Default)]
pub struct MigrationReport {
    pub versions: u64,
    pub resources: u64,
    /// Rows per copied table, as in the source.
    pub rows: Vec<(&'static str, u64)>,
    /// Verification: what differs between source and target (empty: an exact copy).
    pub differences: Vec<String>,
    /// What verification compared: (label, rows), per table and resource type.
    pub compared: Vec<(String, u64)>,
}

fn source_path(from: &str) -> Result<std::path::PathBuf, MigrateError> {
    let path = from.strip_prefix("sqlite://").ok_or_else(|| {
        MigrateError::Usage(format!("--from must be sqlite://PATH, not '{from}'"))
    })?;
    let path = std::path::PathBuf::from(path);
    if !path.exists() {
        return Err(MigrateError::Usage(format!(
            "no SQLite database at {}",
            path.display()
        )));
    }
    Ok(path)
}

/// Copies (unless `verify_only`) and then verifies `sqlite://…` against `postgres://…`.
pub async fn sqlite_to_postgres(
    from: &str,
    to: &str,
    settings: &DatabaseSettings,
    options: Options,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<MigrationReport, MigrateError> {
    let path = source_path(from)?;
    if !(to.starts_with("postgres://") || to.starts_with("postgresql://")) {
        return Err(MigrateError::Usage(format!(
            "--to must be postgres://…, not '{to}'"
        )));
    }
    // Opening each store brings its schema up to date (the source's audit file included).
    drop(SqliteStore::open(&path.to_string_lossy(), settings).await?);
    let store = PostgresStore::open(to, settings).await?;
    let target = Target {
        pool: sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect(to)
            .await?,
    };
    let source = Source::open(&path, &audit_file_path(&path))?;
    let batch = options.batch.max(1);

    let mut report = MigrationReport {
        versions: source.count(&RESOURCE_VERSION)?,
        resources: source.count(&table::RESOURCE_CURRENT)?,
        ..Default::default()
    };
    let all: Vec<&Table> = std::iter::once(&RESOURCE_VERSION).chain(COPIED).collect();
    for t in &all {
        report.rows.push((t.name, source.count(t)?));
    }

    if !options.verify_only {
        let mut target_rows = 0;
        for t in &all {
            target_rows += target.count(t).await?;
        }
        if target_rows > 0 {
            for (t, (_, total)) in all.iter().zip(report.rows.clone()) {
                each_page(&source, t, batch, total, "checking", progress, |rows| {
                    check(&target, t, rows)
                })
                .await?;
            }
        }
        for (t, (_, total)) in all.iter().zip(report.rows.clone()) {
            each_page(&source, t, batch, total, "copying", progress, |rows| {
                copy(&store, &target, t, rows)
            })
            .await?;
            target.advance_sequence(t).await?;
        }
    }

    progress(Progress {
        phase: "verifying",
        table: "source",
        done: 0,
        total: 2,
    });
    let expected = verify::summarize_source(&source)?;
    progress(Progress {
        phase: "verifying",
        table: "target",
        done: 1,
        total: 2,
    });
    let found = verify::summarize_target(&target).await?;
    report.differences = verify::differences(&expected, &found);
    report.compared = expected
        .groups
        .iter()
        .map(|(label, (n, _))| (label.clone(), *n))
        .chain(std::iter::once((
            "search_index".to_string(),
            expected.search_index_rows,
        )))
        .collect();
    Ok(report)
}

/// Runs `step` on every page of `table` in key order, reporting progress after each.
async fn each_page<'a, F, Fut>(
    source: &Source,
    table: &'a Table,
    batch: usize,
    total: u64,
    phase: &'static str,
    progress: &mut dyn FnMut(Progress<'_>),
    mut step: F,
) -> Result<(), MigrateError>
where
    F: FnMut(Vec<Row>) -> Fut,
    Fut: std::future::Future<Output = Result<(), MigrateError>>,
{
    let mut after: Option<Vec<Cell>> = None;
    let mut done = 0;
    loop {
        let rows = source.page(table, after.as_deref(), batch)?;
        let Some(last) = rows.last() else { break };
        after = Some(table.page_cursor(last));
        done += rows.len() as u64;
        step(rows).await?;
        progress(Progress {
            phase,
            table: table.name,
            done,
            total,
        });
    }
    Ok(())
}

/// Refuses when the target holds a row with the same key and other contents.
async fn check(target: &Target, table: &'static Table, rows: Vec<Row>) -> Result<(), MigrateError> {
    let existing = target.rows_with_keys(table, &rows).await?;
    if existing.is_empty() {
        return Ok(());
    }
    let wanted: std::collections::HashMap<Vec<Cell>, Row> = rows
        .into_iter()
        .map(|r| (table.key_of(&r), table.as_copied(r)))
        .collect();
    for row in existing {
        if wanted.get(&table.key_of(&row)) != Some(&row) {
            return Err(MigrateError::Conflict {
                table: table.name,
                key: table.describe_key(&row),
            });
        }
    }
    Ok(())
}

async fn copy(
    store: &PostgresStore,
    target: &Target,
    table: &'static Table,
    rows: Vec<Row>,
) -> Result<(), MigrateError> {
    if table.name != RESOURCE_VERSION.name {
        let rows: Vec<Row> = rows.into_iter().map(|r| table.as_copied(r)).collect();
        return Ok(target.insert(table, &rows).await?);
    }
    // Versions go through the store, which also points each resource at its newest version
    // and indexes its identifiers and search values the way PostgreSQL serves them.
    let versions: Vec<StoredResource> = rows.into_iter().filter_map(version_of).collect();
    Ok(store.import_versions(&versions).await?)
}

fn version_of(row: Row) -> Option<StoredResource> {
    let mut it = row.into_iter();
    let (Some(Cell::Text(rt)), Some(Cell::Text(id)), Some(Cell::Int(v)), Some(Cell::Int(at))) =
        (it.next(), it.next(), it.next(), it.next())
    else {
        return None;
    };
    let deleted = matches!(it.next(), Some(Cell::Int(d)) if d != 0);
    let body = match it.next() {
        Some(Cell::Text(b)) => Some(Arc::from(b.as_str())),
        _ => None,
    };
    Some(StoredResource {
        resource_type: rt,
        id,
        version_id: v as u64,
        last_updated_ms: at,
        deleted,
        body,
    })
}
