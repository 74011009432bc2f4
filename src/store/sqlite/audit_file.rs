//! The audit trail's own SQLite file beside the database (`hbpc.sqlite` → `hbpc-audit.sqlite`),
//! attached to the writer and to every reader as schema `audit`. A commit of audit records
//! alone leaves the main file unchanged, so it does not empty the readers' page caches of the
//! resource tables, as it did while the records lived in the main file.

use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// `dir/name.ext` → `dir/name-audit.ext`.
pub fn path_for(database: &Path) -> PathBuf {
    let stem = database
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "hbpc".into());
    let name = match database.extension() {
        Some(ext) => format!("{stem}-audit.{}", ext.to_string_lossy()),
        None => format!("{stem}-audit"),
    };
    database.with_file_name(name)
}

/// Attaches the audit file as schema `audit` (read-only on a read-only connection).
pub fn attach(conn: &Connection, database: &Path) -> rusqlite::Result<()> {
    let path = path_for(database);
    conn.execute(
        "ATTACH DATABASE ?1 AS audit",
        [path.to_string_lossy().as_ref()],
    )?;
    Ok(())
}

/// The writer's set-up of the attached file: WAL, fully synced commits, the table. Runs at
/// every start, so a missing audit file is recreated empty rather than failing every request.
pub fn prepare(conn: &Connection) -> rusqlite::Result<()> {
    let _mode: String = conn.query_row("PRAGMA audit.journal_mode = WAL", [], |r| r.get(0))?;
    conn.execute_batch(
        "PRAGMA audit.synchronous = FULL;
         CREATE TABLE IF NOT EXISTS audit.audit_event (
             seq         INTEGER PRIMARY KEY AUTOINCREMENT,
             id          TEXT    NOT NULL UNIQUE,
             recorded_ms INTEGER NOT NULL,
             client_id   TEXT    NOT NULL,
             subtype     TEXT    NOT NULL,
             outcome     TEXT    NOT NULL,
             entity_type TEXT,
             body        TEXT    NOT NULL
         );
         CREATE INDEX IF NOT EXISTS audit.audit_event_recorded ON audit_event (recorded_ms);
         CREATE INDEX IF NOT EXISTS audit.audit_event_client ON audit_event (client_id, seq);
         CREATE TABLE IF NOT EXISTS audit.audit_quarantine (
             seq            INTEGER PRIMARY KEY AUTOINCREMENT,
             id             TEXT    NOT NULL,
             recorded_ms    INTEGER NOT NULL,
             quarantined_ms INTEGER NOT NULL,
             error          TEXT    NOT NULL,
             record         BLOB    NOT NULL
         );",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_file_sits_beside_the_database() {
        assert_eq!(
            path_for(Path::new("data/hbpc.sqlite")),
            PathBuf::from("data/hbpc-audit.sqlite")
        );
        assert_eq!(
            path_for(Path::new("/tmp/x/store")),
            PathBuf::from("/tmp/x/store-audit")
        );
    }
}
