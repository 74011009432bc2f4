//! The audit trail: every request becomes an AuditEvent.
//!
//! Records reach the store through one queue and are appended in batches (one insert, one
//! commit for all the records waiting), so auditing costs a fraction of a commit per request.
//! A record of a change, an operation or a token request is committed before its response
//! leaves. A record of a read is committed just after its response, unless
//! `security.audit_reads = "committed"`: reads are most of the traffic, and waiting for their
//! commit costs a round trip through the store per read. The queue is bounded: when the store
//! falls behind, requests wait for room instead of records being dropped. When an append fails,
//! the records of answered reads are retried, and every request waits for its own record (and
//! fails with 503) until the store takes them again.

use crate::config::AuditReads;
use crate::domain::auth::audit_event::AuditRecord;
use crate::store::security::{AuditFilter, AuditRow, SharedSecurityStore};
use crate::store::StoreError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Records waiting for the store; beyond this, requests wait for room.
const QUEUE_CAPACITY: usize = 8192;
/// Records per append (one statement on PostgreSQL, one savepoint on SQLite).
const MAX_BATCH: usize = 512;
/// How long records of answered reads wait for others to share their commit.
const LINGER: Duration = Duration::from_millis(5);
/// After a failed append the next waits this long for new records (then the last pause).
const RETRY_PAUSES_MS: [u64; 5] = [20, 50, 100, 250, 1000];

#[derive(Clone)]
pub struct AuditTrail {
    store: SharedSecurityStore,
    queue: mpsc::Sender<Queued>,
    reads: AuditReads,
    /// The last append failed: every request waits for its record's outcome.
    degraded: Arc<AtomicBool>,
}

enum Queued {
    Record {
        row: AuditRow,
        committed: Option<oneshot::Sender<Result<(), StoreError>>>,
    },
    /// Answered once every record queued before it is stored.
    Flush(oneshot::Sender<()>),
}

impl AuditTrail {
    /// Starts the appender task; it runs on the current tokio runtime until every clone of this
    /// trail is dropped.
    pub fn new(store: SharedSecurityStore, reads: AuditReads) -> Self {
        let (queue, pending) = mpsc::channel(QUEUE_CAPACITY);
        let degraded = Arc::new(AtomicBool::new(false));
        tokio::spawn(append_batches(
            store.clone(),
            pending,
            Arc::clone(&degraded),
        ));
        Self {
            store,
            queue,
            reads,
            degraded,
        }
    }

    /// Queues the record. For a change (and for reads in `committed` mode) it returns once the
    /// record is stored; an error then means it is not stored and the request must fail.
    pub async fn record(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let is_read = record.action == "R";
        let row = AuditRow {
            id: record.id.clone(),
            recorded_ms: record.recorded_ms,
            client_id: record.client_id.clone(),
            subtype: record.subtype.clone(),
            outcome: record.outcome().to_string(),
            entity_type: record.entity_type().map(str::to_string),
            body: record.to_json(),
            // A record of a change is as durable as the change; a read's may skip the fsync.
            fsync: !is_read,
        };
        let wait = !is_read
            || self.reads == AuditReads::Committed
            || self.degraded.load(Ordering::Relaxed);
        let (committed, stored) = if wait {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        self.queue
            .send(Queued::Record { row, committed })
            .await
            .map_err(|_| stopped())?;
        match stored {
            Some(rx) => rx.await.map_err(|_| stopped())?,
            None => Ok(()),
        }
    }

    /// Returns once every record queued so far is stored (at shutdown; bound it with a timeout,
    /// as it waits through a store outage).
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.queue.send(Queued::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    pub async fn read(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.store.audit_event(id).await
    }

    pub async fn search(&self, filter: &AuditFilter) -> Result<Vec<String>, StoreError> {
        self.store.audit_events(filter).await
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the audit trail has stopped".into())
}

/// While nobody waits for the batch (only records of answered reads), lets more records join it
/// for up to `LINGER`: one commit for many reads is what keeps auditing cheap under load.
async fn linger(pending: &mut mpsc::Receiver<Queued>, taken: &mut Vec<Queued>) {
    let waited_for = |q: &Queued| {
        !matches!(
            q,
            Queued::Record {
                committed: None,
                ..
            }
        )
    };
    if taken.is_empty() || taken.iter().any(waited_for) {
        return;
    }
    let deadline = tokio::time::Instant::now() + LINGER;
    while taken.len() < MAX_BATCH {
        match tokio::time::timeout_at(deadline, pending.recv()).await {
            Ok(Some(queued)) => {
                let stop = waited_for(&queued);
                taken.push(queued);
                if stop {
                    return;
                }
            }
            _ => return,
        }
    }
}

/// The appender: takes what is queued, appends it as one batch, answers the waiting requests.
/// After a failure the records of answered requests are carried into the next attempts, and
/// `degraded` makes every request wait for its own record, so a store outage fails requests
/// (503) instead of queueing unstored records.
async fn append_batches(
    store: SharedSecurityStore,
    mut pending: mpsc::Receiver<Queued>,
    degraded: Arc<AtomicBool>,
) {
    let mut taken = Vec::with_capacity(MAX_BATCH);
    let mut carried: Vec<AuditRow> = Vec::new();
    let mut flushes: Vec<oneshot::Sender<()>> = Vec::new();
    let mut failures = 0usize;
    loop {
        let open = if carried.is_empty() {
            let open = pending.recv_many(&mut taken, MAX_BATCH).await > 0;
            linger(&mut pending, &mut taken).await;
            open
        } else {
            let pause =
                Duration::from_millis(RETRY_PAUSES_MS[failures.min(RETRY_PAUSES_MS.len()) - 1]);
            match tokio::time::timeout(pause, pending.recv_many(&mut taken, MAX_BATCH)).await {
                Ok(0) => {
                    // closed (shutdown): nothing new will come, but still pause between retries
                    tokio::time::sleep(pause).await;
                    false
                }
                Ok(_) => true,
                Err(_) => true, // nothing new: retry the carried records
            }
        };
        if !open && carried.is_empty() {
            break;
        }
        let mut rows = std::mem::take(&mut carried);
        let mut answered = vec![true; rows.len()];
        let mut waiting = Vec::new();
        for queued in taken.drain(..) {
            match queued {
                Queued::Record { row, committed } => {
                    rows.push(row);
                    answered.push(committed.is_none());
                    waiting.extend(committed);
                }
                Queued::Flush(done) => flushes.push(done),
            }
        }
        let must_land = answered.iter().any(|a| *a);
        // Records of answered requests are kept for a retry (a copy of a few KB per batch).
        let attempt = if must_land {
            rows.clone()
        } else {
            std::mem::take(&mut rows)
        };
        let result = if attempt.is_empty() {
            Ok(())
        } else {
            store.append_audit(attempt).await
        };
        match &result {
            Ok(()) => {
                failures = 0;
                degraded.store(false, Ordering::Relaxed);
                for done in flushes.drain(..) {
                    let _ = done.send(());
                }
            }
            Err(e) => {
                failures += 1;
                degraded.store(true, Ordering::Relaxed);
                carried = rows
                    .into_iter()
                    .zip(answered)
                    .filter_map(|(row, answered)| answered.then_some(row))
                    .collect();
                tracing::error!(
                    error = %e,
                    carried = carried.len(),
                    "audit records not stored; requests fail until the store takes them"
                );
            }
        }
        for done in waiting {
            let _ = done.send(match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(StoreError::Unavailable(e.to_string())),
            });
        }
    }
}
