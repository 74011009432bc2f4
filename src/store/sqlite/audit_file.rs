//! The audit trail's own SQLite file beside the database (`hbpc.sqlite` → `hbpc-audit.sqlite`),
//! attached to the writer and to every reader as schema `audit`. A commit of audit records
//! alone leaves the main file unchanged, so it does not empty the readers' page caches of the
//! resource tables, as it did while the records lived in the main file.
//!
//! The one exception is a write's audit intent (`store::write_audit`): it must commit with the
//! write, and a transaction across attached files is not atomic in WAL mode, so it lives in
//! the main file (`audit_intent`) until settlement copies it here (if needed) and deletes it.
//! Its template and list of written versions are encoded as record bodies are: a referral's
//! intent of about 2.2 KB takes about 0.7 KB of the main file's log and pages.
//!
//! A record's body is stored as resource bodies are (`body_codec`, against the AuditEvent
//! dictionary): a referral's record of about 5 KB takes about 0.7 KB.

use super::body_codec;
use crate::store::security::AuditRow;
use crate::store::write_audit::{AuditIntent, StoredIntent};
use rusqlite::types::Value;
use rusqlite::{params, Connection};
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
    conn.execute_batch(&format!("PRAGMA audit.page_size = {}", super::PAGE_BYTES))?;
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
         );
         CREATE TABLE IF NOT EXISTS main.audit_intent (
             seq         INTEGER PRIMARY KEY,
             id          TEXT    NOT NULL,
             recorded_ms INTEGER NOT NULL,
             client_id   TEXT    NOT NULL,
             subtype     TEXT    NOT NULL,
             entity_type TEXT,
             template    TEXT    NOT NULL,
             written     TEXT    NOT NULL
         );",
    )
}

/// Inside the write's transaction: the intent, in the main file.
pub fn record_intent(
    conn: &Connection,
    intent: &AuditIntent,
    written: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO main.audit_intent (id, recorded_ms, client_id, subtype, entity_type, template, written)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        intent.id,
        intent.recorded_ms,
        intent.client_id,
        intent.subtype,
        intent.entity_type,
        body_codec::encode("AuditEvent", &intent.template),
        body_codec::encode("AuditEvent", written)
    ])?;
    Ok(())
}

/// The oldest `limit` intents, each with whether its request's own record is stored.
pub fn intents(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<StoredIntent>> {
    let mut stmt = conn.prepare_cached(
        "SELECT i.seq, i.id, i.recorded_ms, i.client_id, i.subtype, i.entity_type, i.template,
                i.written, EXISTS (SELECT 1 FROM audit.audit_event e WHERE e.id = i.id)
           FROM main.audit_intent i ORDER BY i.seq LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok(StoredIntent {
            seq: r.get(0)?,
            intent: AuditIntent {
                id: r.get(1)?,
                recorded_ms: r.get(2)?,
                client_id: r.get(3)?,
                subtype: r.get(4)?,
                entity_type: r.get(5)?,
                template: body_codec::text_column(r, 6)?,
            },
            written: StoredIntent::written_from_column(&body_codec::text_column(r, 7)?),
            settled: r.get(8)?,
        })
    })?;
    rows.collect()
}

/// What an insert does with a record whose id is already stored.
pub enum OnConflict {
    /// The stored one wins (records made from intents lose to the request's own).
    Keep,
    /// The new one replaces it (the request's record replaces one made from its intent).
    Replace,
}

/// An audit record with its body encoded for the file (`body_codec`). Encoded by the caller,
/// so that compressing it does not take the writer thread's time.
pub struct EncodedRecord {
    /// The record's columns; its body has moved to `body`.
    row: AuditRow,
    body: Value,
}

impl EncodedRecord {
    pub fn of(mut row: AuditRow) -> Self {
        let body = body_codec::encode_owned("AuditEvent", std::mem::take(&mut row.body));
        EncodedRecord { row, body }
    }

    pub fn fsync(&self) -> bool {
        self.row.fsync
    }
}

/// Records made from intents: a record already stored under the id (the request's own) wins.
pub fn insert_settled(conn: &Connection, records: &[EncodedRecord]) -> rusqlite::Result<()> {
    insert(conn, records, OnConflict::Keep)
}

/// Inserts audit records in the attached file, one statement each.
pub fn insert(
    conn: &Connection,
    records: &[EncodedRecord],
    on_conflict: OnConflict,
) -> rusqlite::Result<()> {
    const INSERT: &str = "INSERT INTO audit.audit_event
         (id, recorded_ms, client_id, subtype, outcome, entity_type, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ";
    let sql = match on_conflict {
        OnConflict::Keep => format!("{INSERT} ON CONFLICT (id) DO NOTHING"),
        OnConflict::Replace => format!(
            "{INSERT} ON CONFLICT (id) DO UPDATE SET recorded_ms = excluded.recorded_ms,
                 client_id = excluded.client_id, subtype = excluded.subtype,
                 outcome = excluded.outcome, entity_type = excluded.entity_type,
                 body = excluded.body"
        ),
    };
    let mut insert = conn.prepare_cached(&sql)?;
    for EncodedRecord { row: r, body } in records {
        insert.execute(params![
            r.id,
            r.recorded_ms,
            r.client_id,
            r.subtype,
            r.outcome,
            r.entity_type,
            body
        ])?;
    }
    Ok(())
}

/// Run only after the records made from them are committed: never in the same transaction
/// (the main file commits first, so a crash between the two files would lose them).
pub fn delete_intents(conn: &Connection, seqs: &[i64]) -> rusqlite::Result<()> {
    let mut delete = conn.prepare_cached("DELETE FROM main.audit_intent WHERE seq = ?1")?;
    for seq in seqs {
        delete.execute([seq])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{WriteOp, WriteOutcome};

    fn intent(id: &str) -> AuditIntent {
        AuditIntent {
            id: id.into(),
            recorded_ms: 5,
            client_id: "c".into(),
            subtype: "create".into(),
            entity_type: Some("Patient".into()),
            template: "{}".into(),
        }
    }

    #[test]
    fn a_write_commits_its_intent_and_settlement_removes_it() {
        let dir = tempfile::tempdir().expect("dir");
        let mut conn = super::super::open_writer(&dir.path().join("a.sqlite"), 1000).expect("open");
        let tx = conn.transaction().expect("tx");
        let mut ops = vec![
            WriteOp::RecordAudit(Box::new(intent("a1"))),
            WriteOp::Create {
                resource_type: "Patient".into(),
                id: "p1".into(),
                resource: serde_json::json!({"resourceType": "Patient"}),
                if_none_exist: None,
            },
        ];
        let mut prepared = vec![None, None];
        let outcomes =
            super::super::operations::apply_ops(&tx, &mut ops, &mut prepared, 1_000).expect("ops");
        // named wherever it stands among the operations
        assert!(
            matches!(&outcomes[0], WriteOutcome::Audited { written } if written == &["Patient/p1/_history/1"])
        );
        tx.commit().expect("commit");
        let stored = intents(&conn, 10).expect("intents");
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].intent, intent("a1"));
        assert_eq!(stored[0].written, ["Patient/p1/_history/1"]);
        assert!(!stored[0].settled);

        // a transaction that stores nothing records no intent
        let tx = conn.transaction().expect("tx");
        let mut ops = vec![
            WriteOp::Delete {
                resource_type: "Patient".into(),
                id: "nobody".into(),
                if_match: None,
            },
            WriteOp::RecordAudit(Box::new(intent("a2"))),
        ];
        let outcomes = super::super::operations::apply_ops(&tx, &mut ops, &mut [None, None], 2_000)
            .expect("ops");
        assert!(matches!(&outcomes[1], WriteOutcome::Audited { written } if written.is_empty()));
        tx.commit().expect("commit");
        assert_eq!(intents(&conn, 10).expect("intents").len(), 1);

        let row = AuditRow {
            id: "a1".into(),
            recorded_ms: 5,
            client_id: "c".into(),
            subtype: "create".into(),
            outcome: "0".into(),
            entity_type: None,
            body: "{}".into(),
            fsync: true,
        };
        insert_settled(&conn, &[EncodedRecord::of(row.clone())]).expect("insert");
        // a second settlement of the same intent stores nothing twice
        insert_settled(&conn, &[EncodedRecord::of(row)]).expect("insert again");
        let stored = intents(&conn, 10).expect("intents");
        assert!(stored[0].settled);
        delete_intents(&conn, &[stored[0].seq]).expect("delete");
        assert!(intents(&conn, 10).expect("intents").is_empty());
        let records: i64 = conn
            .query_row("SELECT count(*) FROM audit.audit_event", [], |r| r.get(0))
            .expect("count");
        assert_eq!(records, 1);
    }

    /// An intent's template and list of versions are stored compressed; one stored as text
    /// before reads unchanged.
    #[test]
    fn an_intent_is_stored_compressed_and_one_stored_as_text_before_reads_unchanged() {
        let dir = tempfile::tempdir().expect("dir");
        let conn = super::super::open_writer(&dir.path().join("a.sqlite"), 1000).expect("open");
        let mut long = intent("a1");
        long.template = format!(
            r#"{{"resourceType":"AuditEvent","type":{{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"110110"}},"entity":[{}]}}"#,
            vec![r#"{"what":{"reference":"Patient/p"}}"#; 20].join(",")
        );
        let written: Vec<String> = (0..20)
            .map(|i| format!("Observation/0193a2b4-5c6d-7e8f-9a0b-1c2d3e4f50{i:02}/_history/1"))
            .collect();
        record_intent(&conn, &long, &written.join("\n")).expect("record");
        conn.execute(
            "INSERT INTO main.audit_intent (id, recorded_ms, client_id, subtype, entity_type, template, written)
             VALUES ('a0', 5, 'c', 'create', 'Patient', '{}', 'Patient/p1/_history/1')",
            [],
        )
        .expect("an intent as text");
        let types: Vec<(String, String)> = conn
            .prepare(
                "SELECT typeof(template), typeof(written) FROM main.audit_intent WHERE id = 'a1'",
            )
            .expect("query")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("rows")
            .collect::<rusqlite::Result<_>>()
            .expect("types");
        assert_eq!(types, [("blob".to_string(), "blob".to_string())]);
        let stored = intents(&conn, 10).expect("intents");
        assert_eq!(stored[0].intent, long);
        assert_eq!(stored[0].written, written);
        assert_eq!(stored[1].intent, intent("a0"));
        assert_eq!(stored[1].written, ["Patient/p1/_history/1"]);
    }

    /// A record's body is stored compressed against the AuditEvent dictionary, and a record
    /// written as text before reads unchanged.
    #[test]
    fn a_record_is_stored_compressed_and_one_stored_as_text_before_reads_unchanged() {
        let dir = tempfile::tempdir().expect("dir");
        let conn = super::super::open_writer(&dir.path().join("a.sqlite"), 1000).expect("open");
        let (_, dict) = super::super::body_dictionary::for_type("AuditEvent").expect("dict");
        let read = std::str::from_utf8(dict)
            .expect("UTF-8")
            .lines()
            .last()
            .expect("a record")
            .replace("-7", "-9");
        let row = |id: &str, body: &str| AuditRow {
            id: id.into(),
            recorded_ms: 5,
            client_id: "c".into(),
            subtype: "read".into(),
            outcome: "0".into(),
            entity_type: Some("Patient".into()),
            body: body.into(),
            fsync: true,
        };
        let record = EncodedRecord::of(row("new", &read));
        insert(&conn, &[record], OnConflict::Keep).expect("insert");
        conn.execute(
            "INSERT INTO audit.audit_event (id, recorded_ms, client_id, subtype, outcome, body)
             VALUES ('old', 1, 'c', 'read', '0', ?1)",
            [&read],
        )
        .expect("a text row");
        let stored = |id: &str| -> (String, i64, String) {
            conn.query_row(
                "SELECT typeof(body), length(body), body FROM audit.audit_event WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, body_codec::text_column(r, 2)?)),
            )
            .expect("stored")
        };
        let (kind, len, body) = stored("new");
        assert_eq!((kind.as_str(), body.as_str()), ("blob", read.as_str()));
        assert!(
            len * 4 < read.len() as i64,
            "{len} bytes for {}",
            read.len()
        );
        let (kind, _, body) = stored("old");
        assert_eq!((kind.as_str(), body.as_str()), ("text", read.as_str()));
    }

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
