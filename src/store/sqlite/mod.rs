//! The embedded SQLite store: WAL mode, `synchronous = FULL`, one group-committing writer
//! thread and a pool of readers.

mod audit_file;
pub(crate) mod body_codec;
mod body_dictionary;
mod checkpoint;
mod error;
mod index_merge;
mod migrations;
mod operations;
mod outbox;
mod queries;
mod read_pool;
mod search;
mod security;
mod writer;

use super::search::{exec, Dialect, SearchResult};
use super::{ResourceStore, StoreError, StoreStats, StoredResource, WriteOp, WriteOutcome};
use crate::config::DatabaseSettings;
use async_trait::async_trait;
use fhir_engine::model::identifier::IdentifierToken;
use fhir_engine::model::instant::now_millis;
use fhir_engine::search::{HistoryQuery, SearchQuery};
use read_pool::ReadPool;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

pub struct SqliteStore {
    jobs: mpsc::Sender<writer::Work>,
    /// Longest a write waits for room in the queue before it is shed (503).
    queue_wait: std::time::Duration,
    max_index_rows: usize,
    readers: Arc<ReadPool>,
    outbox: Arc<outbox::SqliteOutbox>,
}

impl SqliteStore {
    pub async fn open(path: &str, settings: &DatabaseSettings) -> Result<Self, StoreError> {
        let path = PathBuf::from(path);
        let busy_ms = settings.busy_timeout_ms;
        let conn = tokio::task::spawn_blocking({
            let path = path.clone();
            move || open_writer(&path, busy_ms)
        })
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))??;

        let (tx, rx) = mpsc::channel(settings.write_queue);
        let (max_batch, merge_rows) = (settings.write_batch_max, settings.index_merge_rows);
        let writer_path = path.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer::run(conn, writer_path, rx, max_batch, merge_rows))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the writer thread: {e}")))?;
        let outbox = Arc::new(outbox::SqliteOutbox::open(&path, busy_ms)?);
        Ok(Self {
            jobs: tx,
            queue_wait: std::time::Duration::from_millis(settings.queue_wait_ms),
            max_index_rows: settings.max_index_rows,
            readers: Arc::new(ReadPool::new(path, settings.read_connections)),
            outbox,
        })
    }
}

/// The audit trail's file beside `database` (for `migrate`, which reads both files).
pub fn audit_file_path(database: &Path) -> PathBuf {
    audit_file::path_for(database)
}

/// Page size of a new store's files. A commit writes every page it dirties, whole, to the log
/// and again at checkpoint, and a referral's commit dirties about a hundred pages that each
/// gain a row or two: 2 KiB pages write 30 % fewer bytes per referral than 4 KiB for 1 % more
/// instructions (docs/performance.md, issue #22).
pub(crate) const PAGE_BYTES: u32 = 2048;

/// A cached statement keeps its plan when its parameters are bound again. Without the query
/// planner stability guarantee, SQLite looks at bound values while planning (a `LIMIT ?n`,
/// for one) and then prepares the statement afresh at every new binding: every search was
/// planned again, a third of its instructions (docs/performance.md). No plan here depends on
/// a bound value: partial indexes are matched by literal conditions.
pub(crate) fn stable_plans(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

fn open_writer(path: &Path, busy_timeout_ms: u64) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot create data directory {}: {e}",
                dir.display()
            ))
        })?;
    }
    let mut conn = Connection::open(path)
        .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_millis(busy_timeout_ms))?;
    // Takes effect only on a file not yet written: a store keeps the page size it was made with.
    conn.execute_batch(&format!("PRAGMA page_size = {PAGE_BYTES}"))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Unavailable(format!(
            "{} does not support WAL mode (got {mode})",
            path.display()
        )));
    }
    // FULL: every acknowledged commit survives power loss, not only a process crash.
    // A 64 MiB page cache keeps the indexes the writer probes on every request in memory.
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;",
    )?;
    // The writer runs more distinct statements than rusqlite caches by default (16), among
    // them one multi-row search index insert per row count (up to 16).
    conn.set_prepared_statement_cache_capacity(96);
    stable_plans(&conn)?;
    audit_file::attach(&conn, path)?;
    audit_file::prepare(&conn)?;
    let applied = migrations::apply(&mut conn, now_millis())?;
    tracing::info!(applied, "database migrations checked");
    let indexed = search::reindex_pending(&mut conn)?;
    if indexed > 0 {
        tracing::info!(indexed, "search index rebuilt for the indexed parameters");
    }
    Ok(conn)
}

#[async_trait]
impl ResourceStore for SqliteStore {
    async fn read(
        &self,
        resource_type: &str,
        id: &str,
    ) -> Result<Option<StoredResource>, StoreError> {
        self.readers
            .read_by_key(|c| queries::current(c, resource_type, id))
    }

    async fn vread(
        &self,
        resource_type: &str,
        id: &str,
        version_id: u64,
    ) -> Result<Option<StoredResource>, StoreError> {
        self.readers
            .read_by_key(|c| queries::version(c, resource_type, id, version_id))
    }

    async fn apply(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>, StoreError> {
        let (reply, response) = oneshot::channel();
        let job = writer::Job::new(ops, reply);
        job.check_index_rows(self.max_index_rows)?;
        // Load shedding: a queue full for longer than `queue_wait` answers 503 instead of
        // holding the caller (and its memory) without bound.
        match tokio::time::timeout(
            self.queue_wait,
            self.jobs.send(writer::Work::Resources(job)),
        )
        .await
        {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(StoreError::Unavailable("the writer has stopped".into())),
            Err(_) => {
                return Err(StoreError::Unavailable(format!(
                    "the write queue stayed full for {} ms",
                    self.queue_wait.as_millis()
                )))
            }
        }
        let (result, _ops) = response
            .await
            .map_err(|_| StoreError::Unavailable("the writer dropped the request".into()))?;
        result
    }

    async fn find_by_identifier(
        &self,
        resource_type: &str,
        token: &IdentifierToken,
    ) -> Result<Vec<String>, StoreError> {
        let (rt, token) = (resource_type.to_string(), token.clone());
        self.readers
            .read(move |c| queries::ids_by_identifier(c, &rt, &token, 1000))
            .await
    }

    async fn search(&self, query: &SearchQuery) -> Result<SearchResult, StoreError> {
        exec::search(self, Dialect::Sqlite, query).await
    }

    async fn history(&self, query: &HistoryQuery) -> Result<Vec<StoredResource>, StoreError> {
        exec::history(self, Dialect::Sqlite, query).await
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        self.readers
            .read(|c| {
                c.query_row(
                    "SELECT (SELECT COUNT(*) FROM resource_version),
                        (SELECT COUNT(*) FROM resource_current c JOIN resource_version v
                            ON v.rk = c.rk AND v.version_id = c.version_id WHERE v.deleted = 0)",
                    [],
                    |r| {
                        Ok(StoreStats {
                            versions: r.get::<_, i64>(0)? as u64,
                            live_resources: r.get::<_, i64>(1)? as u64,
                        })
                    },
                )
            })
            .await
    }

    fn outbox(&self) -> Option<Arc<dyn crate::store::outbox::DeliveryOutbox>> {
        Some(self.outbox.clone())
    }

    fn load(&self) -> crate::store::StoreLoad {
        crate::store::StoreLoad {
            write_queue: Some(self.jobs.max_capacity() - self.jobs.capacity()),
            pool: None,
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        if self.jobs.is_closed() {
            return Err(StoreError::Unavailable("the writer has stopped".into()));
        }
        self.readers
            .read(|c| {
                c.query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::{params, Connection, StatementStatus};

    /// A server-assigned id: its index rows hold it as 16 bytes (`uuid_value`).
    const PATIENT: &str = "0193a2b4-5c6d-7e8f-9a0b-1c2d3e4f5061";

    /// A store as release 8 of the schema left it: rows keyed by type and id, built for the
    /// indexed set of this process (so only the upgrade itself can make them be rebuilt).
    fn store_of_schema_8(path: &std::path::Path) {
        // both files made with SQLite's default page size (4 KiB), as releases before 2 KiB did
        for file in [path.to_path_buf(), super::audit_file::path_for(path)] {
            let made: String = Connection::open(file)
                .and_then(|c| c.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)))
                .expect("made");
            assert_eq!(made, "wal");
        }
        let mut conn = Connection::open(path).expect("open");
        super::audit_file::attach(&conn, path).expect("attach");
        super::audit_file::prepare(&conn).expect("audit file");
        super::migrations::apply_through(&mut conn, 0, 8).expect("migrations 1-8");
        let patient = r#"{"resourceType":"Patient","id":"0193a2b4-5c6d-7e8f-9a0b-1c2d3e4f5061","identifier":[{"system":"urn:mrn","value":"M-1"}],"name":[{"family":"Smith"}]}"#;
        let plan = r#"{"resourceType":"CarePlan","id":"cp1","status":"active","intent":"plan","subject":{"reference":"Patient/0193a2b4-5c6d-7e8f-9a0b-1c2d3e4f5061"}}"#;
        for (rt, id, body) in [("Patient", PATIENT, patient), ("CarePlan", "cp1", plan)] {
            conn.execute(
                "INSERT INTO resource_version (resource_type, id, version_id, last_updated_ms, deleted, body) VALUES (?1, ?2, 1, 0, 0, ?3)",
                params![rt, id, body],
            )
            .expect("version");
            conn.execute(
                "INSERT INTO resource_current (id, resource_type, version_id) VALUES (?1, ?2, 1)",
                params![id, rt],
            )
            .expect("current");
        }
        conn.execute(
            "INSERT INTO search_index (resource_type, id, param, sys, val) VALUES ('CarePlan', 'cp1', 'patient', 'Patient', '0193a2b4-5c6d-7e8f-9a0b-1c2d3e4f5061')",
            [],
        )
        .expect("an old row");
        conn.execute(
            "INSERT INTO resource_identifier (resource_type, id, system, value) VALUES ('Patient', '0193a2b4-5c6d-7e8f-9a0b-1c2d3e4f5061', 'urn:mrn', 'M-1')",
            [],
        )
        .expect("an identifier");
        conn.execute_batch("DELETE FROM search_reindex_pending")
            .expect("nothing pending");
        conn.execute(
            "INSERT INTO search_indexed_set (params) VALUES (?1)",
            [crate::store::search::indexed_set()],
        )
        .expect("built for this set");
    }

    /// The steps of a statement's query plan.
    fn plan(conn: &Connection, sql: &crate::store::search::Sql) -> Vec<String> {
        let explain = crate::store::search::Sql {
            text: format!("EXPLAIN QUERY PLAN {}", sql.text),
            ..sql.clone()
        };
        super::search::query(conn, &explain, |r| r.get(3)).expect("plan")
    }

    /// Runs a statement of the shared search SQL, first checking that its plan never walks
    /// every merged row: each lookup goes through a key or an index.
    fn run<T: Send + 'static>(
        conn: &Connection,
        sql: &crate::store::search::Sql,
        row: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Vec<T> {
        let plan = plan(conn, sql);
        assert!(
            !plan
                .iter()
                .any(|step| step.starts_with("SCAN search_index ")
                    || step == "SCAN search_index"
                    || step.contains("resource_current") && step.starts_with("SCAN")),
            "{}: {plan:#?}",
            sql.text
        );
        super::search::query(conn, sql, row).expect("rows")
    }

    fn search(conn: &Connection, resource_type: &str, params: &[(&str, &str)]) -> Vec<String> {
        use crate::store::search::Dialect;
        use fhir_engine::search::parse::{Handling, Parser, SearchLimits};
        let limits = SearchLimits {
            default_count: 50,
            max_count: 100,
            max_included: 100,
        };
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let q = Parser {
            registry: crate::domain::guide::resource_types::search_registry(),
            base_url: "http://gw.example/fhir",
            handling: Handling::Strict,
            limits: &limits,
        }
        .parse(resource_type, &params)
        .expect("a valid search");
        let mut b = crate::store::search::sql::Builder::new(Dialect::Sqlite);
        let text = b.page(&q, 10);
        run(conn, &b.finish(text), |r| r.get(0))
    }

    /// `_include` and `_revinclude`: (type, id) pairs from a reference parameter's rows.
    fn pairs(
        conn: &Connection,
        build: impl FnOnce(&mut crate::store::search::sql::Builder) -> String,
    ) -> Vec<(String, String)> {
        let mut b = crate::store::search::sql::Builder::new(crate::store::search::Dialect::Sqlite);
        let text = build(&mut b);
        run(conn, &b.finish(text), |r| Ok((r.get(0)?, r.get(1)?)))
    }

    /// Migration 9 keys the rows by integers: a store from before keeps its resources and
    /// is found by search once its rows are rebuilt at the first start.
    #[test]
    fn a_store_of_schema_8_is_found_by_search_after_the_upgrade() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("old.sqlite");
        store_of_schema_8(&path);
        let conn = super::open_writer(&path, 1000).expect("upgrade");
        let keys: Vec<(i64, String)> = conn
            .prepare("SELECT rk, id FROM resource_current ORDER BY rk")
            .expect("query")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("rows")
            .collect::<rusqlite::Result<_>>()
            .expect("keys");
        assert_eq!(keys.len(), 2, "both resources kept: {keys:?}");
        assert_ne!(keys[0].0, keys[1].0);
        assert_eq!(
            page_sizes(&conn),
            (4096, 4096),
            "a store keeps the page size it was made with"
        );
        let codes: i64 = conn
            .query_row("SELECT COUNT(*) FROM search_param_code", [], |r| r.get(0))
            .expect("codes");
        assert!(codes > 50, "the codes are listed: {codes}");
        let reference: String = conn
            .query_row(
                "SELECT typeof(val) FROM search_index WHERE sys = 'Patient'",
                [],
                |r| r.get(0),
            )
            .expect("the CarePlan's reference row");
        assert_eq!(reference, "blob", "a UUID is held as its 16 bytes");
        let mrn =
            fhir_engine::model::identifier::IdentifierToken::parse("urn:mrn|M-1").expect("token");
        assert_eq!(
            super::queries::ids_by_identifier(&conn, "Patient", &mrn, 2).expect("lookup"),
            [PATIENT],
            "the identifier is kept under the resource's key"
        );
        assert!(
            super::queries::ids_by_identifier(&conn, "CarePlan", &mrn, 2)
                .expect("lookup")
                .is_empty()
        );
        let read = super::queries::current(&conn, "Patient", PATIENT)
            .expect("read")
            .expect("the Patient");
        assert!(read.body.as_deref().is_some_and(|b| b.contains("Smith")));
        let vread = super::queries::version(&conn, "Patient", PATIENT, 1).expect("vread");
        assert_eq!(vread.map(|v| v.version_id), Some(1));
        // a resource's history goes through its versions' key, not its type's history
        for (rt, id, versions, by) in [
            (Some("Patient"), Some(PATIENT), 1, "resource_version_key"),
            (Some("CarePlan"), None, 1, "resource_version_type_history"),
            (None, None, 2, "resource_version_system_history"),
        ] {
            let q = fhir_engine::search::HistoryQuery {
                resource_type: rt.map(str::to_string),
                id: id.map(str::to_string),
                since_ms: None,
                count: 10,
                after: Some((i64::MAX, "~".into(), "~".into(), u64::MAX)),
            };
            let mut b =
                crate::store::search::sql::Builder::new(crate::store::search::Dialect::Sqlite);
            let text = b.history(&q);
            let sql = b.finish(text);
            let plan = plan(&conn, &sql);
            assert!(
                plan.iter().any(|step| step.contains(by)),
                "{rt:?} {id:?}: {plan:#?}"
            );
            assert_eq!(run(&conn, &sql, |r| r.get::<_, String>(1)).len(), versions);
        }
        assert_eq!(search(&conn, "CarePlan", &[("patient", PATIENT)]), ["cp1"]);
        assert_eq!(
            search(&conn, "CarePlan", &[("patient.identifier", "urn:mrn|M-1")]),
            ["cp1"]
        );
        assert_eq!(
            search(
                &conn,
                "Patient",
                &[("_has:CarePlan:patient:status", "active")]
            ),
            [PATIENT]
        );
        assert_eq!(search(&conn, "Patient", &[("family", "smi")]), [PATIENT]);
        assert_eq!(
            search(
                &conn,
                "CarePlan",
                &[("patient", PATIENT), ("_sort", "-date")]
            ),
            ["cp1"]
        );
        let one = |id: &str| vec![id.to_string()];
        assert_eq!(
            pairs(&conn, |b| b.referenced(
                "CarePlan",
                "patient",
                &one("cp1"),
                None
            )),
            [("Patient".to_string(), PATIENT.to_string())]
        );
        assert_eq!(
            pairs(&conn, |b| b.referencing(
                "CarePlan",
                "patient",
                "Patient",
                &one(PATIENT)
            )),
            [("CarePlan".to_string(), "cp1".to_string())]
        );
        assert!(search(&conn, "Patient", &[("family", "jones")]).is_empty());
    }

    /// Times a cached statement with a bound `LIMIT` was prepared again over three bindings.
    fn reprepared(conn: &Connection) -> i32 {
        conn.execute_batch("CREATE TABLE t (id TEXT); INSERT INTO t VALUES ('a'), ('b'), ('c');")
            .expect("table");
        for limit in 1..=3 {
            let mut stmt = conn
                .prepare_cached("SELECT id FROM t ORDER BY id LIMIT ?1")
                .expect("prepare");
            let ids: Vec<String> = stmt
                .query_map([limit], |r| r.get(0))
                .expect("query")
                .collect::<rusqlite::Result<_>>()
                .expect("rows");
            assert_eq!(ids.len(), limit as usize);
        }
        let stmt = conn
            .prepare_cached("SELECT id FROM t ORDER BY id LIMIT ?1")
            .expect("prepare");
        stmt.get_status(StatementStatus::RePrepare)
    }

    fn page_sizes(conn: &Connection) -> (u32, u32) {
        let size = |schema: &str| {
            conn.query_row(&format!("PRAGMA {schema}.page_size"), [], |r| r.get(0))
                .expect("page size")
        };
        (size("main"), size("audit"))
    }

    #[test]
    fn a_new_store_is_made_with_small_pages() {
        let dir = tempfile::tempdir().expect("dir");
        let conn = super::open_writer(&dir.path().join("new.sqlite"), 1000).expect("open");
        assert_eq!(page_sizes(&conn), (super::PAGE_BYTES, super::PAGE_BYTES));
    }

    #[test]
    fn cached_statements_keep_their_plan_when_bound_again() {
        let plain = Connection::open_in_memory().expect("open");
        assert!(
            reprepared(&plain) > 0,
            "SQLite's default re-plans on a new LIMIT"
        );
        let stable = Connection::open_in_memory().expect("open");
        super::stable_plans(&stable).expect("QPSG");
        assert_eq!(reprepared(&stable), 0);
    }
}
