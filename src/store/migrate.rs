//! Copying a single-node SQLite store into PostgreSQL, every version included.

use super::postgres::PostgresStore;
use super::sqlite::SqliteStore;
use super::StoreError;
use crate::config::DatabaseSettings;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MigrationReport {
    pub versions: u64,
    pub resources: u64,
}

const PAGE: usize = 500;

/// Copies `sqlite://…` into `postgres://…`. Idempotent: versions already there are kept.
pub async fn sqlite_to_postgres(
    from: &str,
    to: &str,
    settings: &DatabaseSettings,
) -> Result<MigrationReport, StoreError> {
    let path = from.strip_prefix("sqlite://").ok_or_else(|| {
        StoreError::Unavailable(format!("--from must be sqlite://PATH, not '{from}'"))
    })?;
    if !std::path::Path::new(path).exists() {
        return Err(StoreError::Unavailable(format!(
            "no SQLite database at {path}"
        )));
    }
    if !(to.starts_with("postgres://") || to.starts_with("postgresql://")) {
        return Err(StoreError::Unavailable(format!(
            "--to must be postgres://…, not '{to}'"
        )));
    }
    let source = SqliteStore::open(path, settings).await?;
    let target = PostgresStore::open(to, settings).await?;
    let mut report = MigrationReport::default();
    let mut after = None;
    loop {
        let page = source.export_versions(after.clone(), PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some((last.resource_type.clone(), last.id.clone(), last.version_id));
        target.import_versions(&page).await?;
        report.versions += page.len() as u64;
        report.resources += page.iter().filter(|v| v.version_id == 1).count() as u64;
        tracing::info!(versions = report.versions, "copied");
    }
    Ok(report)
}
