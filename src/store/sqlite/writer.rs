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

pub type Reply = oneshot::Sender<Result<Vec<WriteOutcome>, StoreError>>;

pub struct Job {
    pub ops: Vec<WriteOp>,
    pub reply: Reply,
}

pub fn run(mut conn: Connection, mut jobs: mpsc::Receiver<Job>, max_batch: usize) {
    let mut last_ms = 0i64;
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
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

fn commit_batch(conn: &mut Connection, batch: &mut Vec<Job>, now_ms: i64) {
    let mut results = Vec::with_capacity(batch.len());
    let committed = (|| -> rusqlite::Result<()> {
        let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for job in batch.iter_mut() {
            let ops = std::mem::take(&mut job.ops);
            let sp = tx.savepoint()?;
            let result = apply_ops(&sp, ops, now_ms);
            if result.is_ok() {
                sp.commit()?;
            } // dropping an uncommitted savepoint rolls it back
            results.push(result);
        }
        tx.commit()
    })();
    match committed {
        Ok(()) => {
            for (job, result) in batch.drain(..).zip(results) {
                let _ = job.reply.send(result);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, jobs = batch.len(), "store commit failed");
            for job in batch.drain(..) {
                let _ = job
                    .reply
                    .send(Err(StoreError::Unavailable(format!("commit failed: {e}"))));
            }
        }
    }
}
