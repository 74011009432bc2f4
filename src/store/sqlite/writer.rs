//! The single SQLite writer thread with group commit.
//!
//! Jobs that arrive while a commit is in progress are committed together: one fsync
//! serves many requests. Each job runs in its own savepoint, so a failing job is rolled
//! back alone. A job's reply is sent only after COMMIT returned: an acknowledged write is durable.

use super::operations::apply_ops;
use crate::domain::fhir::instant::now_millis;
use crate::store::{StoreError, WriteOp, WriteOutcome};
use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

/// The outcome, and the job's operations handed back: their JSON trees are freed by the
/// requesting thread instead of the single writer (freeing them was an eighth of its time).
pub type Reply = oneshot::Sender<(Result<Vec<WriteOutcome>, StoreError>, Vec<WriteOp>)>;

pub struct Job {
    pub ops: Vec<WriteOp>,
    pub reply: Reply,
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

pub fn run(mut conn: Connection, mut jobs: mpsc::Receiver<Work>, max_batch: usize) {
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
        commit_batch(&mut conn, &mut batch, last_ms);
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
        Work::Resources(job) => Done::Resources(apply_ops(conn, &mut job.ops, now_ms)),
        Work::Side(job) => Done::Side(job.run(conn).map_err(StoreError::from)),
    }
}

fn commit_jobs(conn: &mut Connection, batch: &mut Vec<Work>, now_ms: i64) {
    let mut results = Vec::with_capacity(batch.len());
    let committed = (|| -> rusqlite::Result<()> {
        let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let [work] = batch.as_mut_slice() {
            // A job alone needs no savepoint (each one copies every page it changes into the
            // sub-journal): if it fails, the whole transaction is rolled back instead.
            let result = run_work(&tx, work, now_ms);
            let ok = result.succeeded();
            results.push(result);
            return if ok { tx.commit() } else { tx.rollback() };
        }
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
