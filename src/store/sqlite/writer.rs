//! The single SQLite writer thread with group commit.
//!
//! Jobs that arrive while a commit is in progress are committed together: one fsync
//! serves many requests. A failing job is rolled back alone: the batch first runs without
//! savepoints, and only if a job fails is it rolled back and run again with each job in its own
//! savepoint. A job's reply is sent only after COMMIT returned: an acknowledged write is durable.

use super::operations::apply_ops;
use crate::store::prepared_write::PreparedWrite;
use crate::store::{StoreError, WriteOp, WriteOutcome};
use fhir_engine::model::instant::now_millis;
use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

/// The outcome, and the job's operations handed back: their JSON trees are freed by the
/// requesting thread instead of the single writer (freeing them was an eighth of its time).
pub type Reply = oneshot::Sender<(Result<Vec<WriteOutcome>, StoreError>, Vec<WriteOp>)>;

pub struct Job {
    ops: Vec<WriteOp>,
    /// One per operation: what the request's thread computed of it (`PreparedWrite::of`).
    prepared: Vec<Option<PreparedWrite>>,
    reply: Reply,
}

impl Job {
    /// Prepares the operations here, on the request's thread: the writer is serial.
    pub fn new(ops: Vec<WriteOp>, reply: Reply) -> Self {
        let prepared = ops
            .iter()
            .map(|op| PreparedWrite::of(op, crate::store::search::indexer()))
            .collect();
        Self {
            ops,
            prepared,
            reply,
        }
    }
}

impl Job {
    /// The write work bound, on the rows computed for each resource.
    pub fn check_index_rows(&self, max: usize) -> Result<(), StoreError> {
        for (op, prepared) in self.ops.iter().zip(&self.prepared) {
            if let Some(p) = prepared {
                crate::store::search::check_index_rows(op.resource_type(), p.rows.len(), max)?;
            }
        }
        Ok(())
    }
}

/// Work of other store modules (the security store) committed in the same group commit.
pub trait SideJob: Send {
    /// Runs inside the job's savepoint; an error rolls back this job alone.
    fn run(&mut self, conn: &Connection) -> rusqlite::Result<()>;
    /// Called once the outcome is final: after COMMIT, or with the failure.
    fn finish(self: Box<Self>, result: Result<(), StoreError>);
    /// False: the commit may skip the fsync (durable against a crash of the process, and on
    /// disk at the next synced commit or checkpoint). A batch of only such jobs skips it.
    fn needs_fsync(&self) -> bool {
        true
    }
}

pub enum Work {
    Resources(Job),
    Side(Box<dyn SideJob>),
}

/// `conn` is the writer's connection to `database`; `merge_rows`: recent index rows that start
/// a merge (`database.index_merge_rows`).
pub fn run(
    mut conn: Connection,
    database: std::path::PathBuf,
    mut jobs: mpsc::Receiver<Work>,
    max_batch: usize,
    merge_rows: usize,
) {
    let checkpoints = super::checkpoint::Checkpoints::take_over(&conn, &database)
        .inspect_err(|e| {
            tracing::error!(error = %e, "cannot take over checkpoints; SQLite's own run in commits")
        })
        .ok();
    let mut last_ms = 0i64;
    let mut batch: Vec<Work> = Vec::with_capacity(max_batch);
    while let Some(first) = jobs.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // lastUpdated never goes backwards, even if the wall clock does.
        last_ms = now_millis().max(last_ms);
        let started = std::time::Instant::now();
        let size = batch.len();
        commit_batch(&mut conn, &mut batch, last_ms);
        crate::telemetry::metrics::write_committed("sqlite", size, started.elapsed());
        // after the replies: a merge delays the next commit, never this one's answer
        if let Err(e) = super::index_merge::merge_if_due(&mut conn, merge_rows) {
            tracing::error!(error = %e, "merging the recent index rows failed; they stay recent");
        }
        if let Some(Err(e)) = checkpoints.as_ref().map(|c| c.after_commit(&conn)) {
            tracing::error!(error = %e, "checkpoint failed; the log is copied back next time");
        }
    }
}

enum Done {
    Resources(Result<Vec<WriteOutcome>, StoreError>),
    Side(Result<(), StoreError>),
}

// Never inlined: benches/store.rs counts the writer's instructions from here (callgrind
// --toggle-collect).
#[inline(never)]
fn commit_batch(conn: &mut Connection, batch: &mut Vec<Work>, now_ms: i64) {
    let relaxed = batch
        .iter()
        .all(|w| matches!(w, Work::Side(job) if !job.needs_fsync()));
    // If the pragma fails the commit simply stays fully synced.
    let relaxed = relaxed
        && conn
            .execute_batch("PRAGMA synchronous = NORMAL; PRAGMA audit.synchronous = NORMAL")
            .is_ok();
    commit_jobs(conn, batch, now_ms);
    if relaxed {
        if let Err(e) =
            conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA audit.synchronous = FULL")
        {
            tracing::error!(error = %e, "cannot restore synchronous = FULL");
        }
    }
}

impl Done {
    fn succeeded(&self) -> bool {
        matches!(self, Done::Resources(Ok(_)) | Done::Side(Ok(())))
    }
}

fn run_work(conn: &Connection, work: &mut Work, now_ms: i64) -> Done {
    match work {
        Work::Resources(job) => {
            Done::Resources(apply_ops(conn, &mut job.ops, &mut job.prepared, now_ms))
        }
        Work::Side(job) => Done::Side(job.run(conn).map_err(StoreError::from)),
    }
}

fn commit_jobs(conn: &mut Connection, batch: &mut Vec<Work>, now_ms: i64) {
    let mut results = Vec::with_capacity(batch.len());
    let committed = (|| -> rusqlite::Result<()> {
        // Jobs seldom fail (intake validated them), and a savepoint copies every page its job
        // changes into the sub-journal: so the batch runs without them first. A job alone that
        // fails is rolled back with the transaction; in a larger batch a failure rolls the
        // whole batch back, and it runs again below, each job in its own savepoint.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for work in batch.iter_mut() {
            let result = run_work(&tx, work, now_ms);
            let ok = result.succeeded();
            results.push(result);
            if !ok {
                break;
            }
        }
        if results.iter().all(Done::succeeded) {
            return tx.commit();
        }
        tx.rollback()?;
        if batch.len() == 1 {
            return Ok(());
        }
        // Jobs may run again: `apply_ops` re-stamps and re-resolves what it changed in its
        // operations, and side jobs set their state in `run`.
        results.clear();
        let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for work in batch.iter_mut() {
            let sp = tx.savepoint()?;
            let result = run_work(&sp, work, now_ms);
            if result.succeeded() {
                sp.commit()?;
            } // dropping an uncommitted savepoint rolls it back
            results.push(result);
        }
        tx.commit()
    })();
    match committed {
        Ok(()) => {
            for (work, result) in batch.drain(..).zip(results) {
                match (work, result) {
                    (Work::Resources(job), Done::Resources(r)) => {
                        let _ = job.reply.send((r, job.ops));
                    }
                    (Work::Side(job), Done::Side(r)) => job.finish(r),
                    // results are pushed in batch order, one per work item
                    _ => tracing::error!("store writer: result out of order"),
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %e, jobs = batch.len(), "store commit failed");
            for work in batch.drain(..) {
                let failed = StoreError::Unavailable(format!("commit failed: {e}"));
                match work {
                    Work::Resources(job) => {
                        let _ = job.reply.send((Err(failed), job.ops));
                    }
                    Work::Side(job) => job.finish(Err(failed)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fhir_engine::model::identifier::IdentifierToken;
    use serde_json::json;

    fn create(id: &str, mrn: Option<&str>) -> WriteOp {
        WriteOp::Create {
            resource_type: "Patient".into(),
            id: id.into(),
            resource: json!({"resourceType": "Patient",
                "identifier": [{"system": "urn:mrn", "value": mrn.unwrap_or(id)}]}),
            if_none_exist: mrn.and_then(|m| IdentifierToken::parse(&format!("urn:mrn|{m}"))),
        }
    }

    type Receiver = oneshot::Receiver<(Result<Vec<WriteOutcome>, StoreError>, Vec<WriteOp>)>;

    fn job(ops: Vec<WriteOp>) -> (Work, Receiver) {
        let (reply, rx) = oneshot::channel();
        (Work::Resources(Job::new(ops, reply)), rx)
    }

    fn outcome(rx: &mut Receiver) -> Result<Vec<WriteOutcome>, StoreError> {
        rx.try_recv().expect("answered").0
    }

    fn stored_ids(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT id FROM resource_current ORDER BY id")
            .expect("query");
        let ids = stmt.query_map([], |r| r.get(0)).expect("rows");
        ids.collect::<rusqlite::Result<_>>().expect("ids")
    }

    #[test]
    fn a_failing_job_is_rolled_back_alone_and_the_batch_is_the_same_as_one_by_one() {
        let dir = tempfile::tempdir().expect("dir");
        let mut conn = super::super::open_writer(&dir.path().join("w.sqlite"), 1000).expect("open");
        let (first, mut first_rx) = job(vec![create("a", Some("m1"))]);
        // updating a version that does not exist fails the job
        let (failing, mut failing_rx) = job(vec![
            create("b", None),
            WriteOp::Update {
                resource_type: "Patient".into(),
                id: "nobody".into(),
                resource: json!({"resourceType": "Patient"}),
                if_match: Some(7),
            },
        ]);
        // matches what the first job created, after the failure rolled the batch back
        let (matching, mut matching_rx) = job(vec![create("c", Some("m1"))]);
        let mut batch = vec![first, failing, matching];
        commit_jobs(&mut conn, &mut batch, 1_000);

        assert!(
            matches!(outcome(&mut first_rx).as_deref(), Ok([WriteOutcome::Created(s)]) if s.id == "a")
        );
        assert!(outcome(&mut failing_rx).is_err());
        assert!(
            matches!(outcome(&mut matching_rx).as_deref(), Ok([WriteOutcome::Matched(s)]) if s.id == "a")
        );
        // nothing of the failing job (not even its successful first operation) was stored
        assert_eq!(stored_ids(&conn), vec!["a".to_string()]);

        // a batch where every job succeeds commits without the second pass
        let (x, mut x_rx) = job(vec![create("x", None)]);
        let (y, mut y_rx) = job(vec![create("y", None)]);
        let mut batch = vec![x, y];
        commit_jobs(&mut conn, &mut batch, 2_000);
        assert!(outcome(&mut x_rx).is_ok() && outcome(&mut y_rx).is_ok());
        assert_eq!(stored_ids(&conn), vec!["a", "x", "y"]);
    }
}
