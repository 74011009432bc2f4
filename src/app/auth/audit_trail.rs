//! The audit trail: every request becomes an AuditEvent.
//!
//! Records reach the store through one queue and are appended in batches (one insert, one
//! commit for all the records waiting), so auditing costs a fraction of a commit per request.
//! A record of a change, an operation or a token request is committed before its response
//! leaves. A record of a read is committed just after its response, unless
//! `security.audit_reads = "committed"`: reads are most of the traffic, and waiting for their
//! commit costs a round trip through the store per read. The queue is bounded: when the store
//! falls behind, requests wait for room instead of records being dropped.
//!
//! Two kinds of failure are told apart:
//! - the store cannot take records now (a lost connection, a full disk): the records of
//!   answered reads are retried, every request waits for its own record and fails with 503
//!   until the store takes them again, and the trail reports itself not writable (`/readyz`);
//! - the store refuses a record for good (`StoreError::Rejected`, a data error): the batch is
//!   retried record by record, and each refused record is quarantined with its error (kept,
//!   counted, listed by `hbpc-gateway audit quarantine`) instead of being retried forever.
//!   Client-supplied text is made recordable before it gets here (`AuditRecord::recordable`),
//!   so this is a last line of defence.
//!
//! A write does not depend on this queue alone: it commits an audit intent with itself
//! (`write_audit`), which the trail settles at start-up and every `SETTLE_EVERY` after, so a
//! crash between a write's commit and its record's leaves no write unaudited.

use super::write_audit::{settle, Settled};
use crate::config::AuditReads;
use crate::domain::auth::audit_event::AuditRecord;
use crate::store::security::{AuditFilter, AuditRow, QuarantinedAudit, SharedSecurityStore};
use crate::store::StoreError;
use fhir_engine::model::instant::now_millis;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
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
/// How often the audit intents of committed writes are settled while serving.
const SETTLE_EVERY: Duration = Duration::from_secs(10);
/// An intent this old whose request stored no record of its own becomes that record: its
/// request has long been answered (or failed for want of its record).
const ORPHANED_AFTER_MS: i64 = 60_000;

/// What the trail has done, for readiness, metrics and shutdown.
#[derive(Debug, Default)]
struct Counters {
    /// The last append failed and records wait: every request waits for its record's outcome.
    degraded: AtomicBool,
    /// Records queued or carried and not yet stored, quarantined or failed back to a request.
    unsettled: AtomicUsize,
    /// Records quarantined since start.
    quarantined: AtomicU64,
}

/// A snapshot of the trail's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditStats {
    /// Whether the last append reached the store.
    pub writable: bool,
    /// Records accepted by the trail and not yet stored.
    pub unsettled: usize,
    /// Records quarantined since start.
    pub quarantined: u64,
}

#[derive(Clone)]
pub struct AuditTrail {
    store: SharedSecurityStore,
    queue: mpsc::Sender<Queued>,
    reads: AuditReads,
    counters: Arc<Counters>,
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
        let counters = Arc::new(Counters::default());
        tokio::spawn(append_batches(
            store.clone(),
            pending,
            Arc::clone(&counters),
        ));
        tokio::spawn(settle_periodically(Arc::downgrade(&store)));
        Self {
            store,
            queue,
            reads,
            counters,
        }
    }

    /// Whether records are reaching the store (false while an outage holds them back).
    pub fn is_writable(&self) -> bool {
        !self.counters.degraded.load(Ordering::Acquire)
    }

    pub fn stats(&self) -> AuditStats {
        AuditStats {
            writable: self.is_writable(),
            unsettled: self.counters.unsettled.load(Ordering::Relaxed),
            quarantined: self.counters.quarantined.load(Ordering::Relaxed),
        }
    }

    /// Quarantined records, newest first, and how many there are in all.
    pub async fn quarantined(
        &self,
        limit: usize,
    ) -> Result<(u64, Vec<QuarantinedAudit>), StoreError> {
        self.store.quarantined_audit(limit).await
    }

    /// Queues the record. For a change (and for reads in `committed` mode) it returns once the
    /// record is stored; an error then means it is not stored and the request must fail.
    pub async fn record(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let record = record.recordable();
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
        let wait = !is_read || self.reads == AuditReads::Committed || !self.is_writable();
        let (committed, stored) = if wait {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        self.counters.unsettled.fetch_add(1, Ordering::Relaxed);
        if self
            .queue
            .send(Queued::Record { row, committed })
            .await
            .is_err()
        {
            self.counters.unsettled.fetch_sub(1, Ordering::Relaxed);
            return Err(stopped());
        }
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

    /// At start-up, before serving: every audit intent left by the last run becomes its
    /// request's record unless that record was stored (see `write_audit::settle`).
    pub async fn settle_committed_writes(&self) -> Result<Settled, StoreError> {
        settle(&self.store, i64::MAX).await
    }

    pub async fn read(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.store.audit_event(id).await
    }

    pub async fn search(&self, filter: &AuditFilter) -> Result<Vec<String>, StoreError> {
        self.store.audit_events(filter).await
    }
}

/// Settles intents while serving, until the store is dropped.
async fn settle_periodically(store: std::sync::Weak<dyn crate::store::security::SecurityStore>) {
    let mut ticks = tokio::time::interval(SETTLE_EVERY);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(store) = store.upgrade() else {
            return;
        };
        match settle(&store, now_millis() - ORPHANED_AFTER_MS).await {
            Ok(settled) if settled.recorded > 0 => tracing::warn!(
                recorded = settled.recorded,
                "audit records of committed writes made from their intents"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "audit intents not settled; retried later"),
        }
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

/// What became of one append attempt, row by row.
#[derive(Debug, Default)]
struct Attempt {
    /// Rows the store could not take now (indexes into the attempt), with the error.
    unstored: Vec<usize>,
    error: Option<StoreError>,
    /// Rows refused for good and kept in the quarantine.
    quarantined: usize,
}

/// Appends `rows`; when the store refuses the data, finds the refused rows one by one and
/// quarantines them, so one bad record never holds up the others.
async fn persist(store: &SharedSecurityStore, rows: &[AuditRow]) -> Attempt {
    if rows.is_empty() {
        return Attempt::default();
    }
    let first = store.append_audit(rows.to_vec()).await;
    let refused_whole = match first {
        Ok(()) => return Attempt::default(),
        Err(StoreError::Rejected(e)) => e,
        Err(e) => {
            return Attempt {
                unstored: (0..rows.len()).collect(),
                error: Some(e),
                quarantined: 0,
            }
        }
    };
    let mut attempt = Attempt::default();
    let mut refused: Vec<(usize, String)> = Vec::new();
    if rows.len() == 1 {
        refused.push((0, refused_whole));
    } else {
        for (i, row) in rows.iter().enumerate() {
            match store.append_audit(vec![row.clone()]).await {
                Ok(()) => {}
                Err(StoreError::Rejected(e)) => refused.push((i, e)),
                Err(e) => {
                    attempt.unstored.extend(i..rows.len());
                    attempt.error = Some(e);
                    break;
                }
            }
        }
    }
    if refused.is_empty() {
        return attempt;
    }
    let now = now_millis();
    let kept: Vec<QuarantinedAudit> = refused
        .iter()
        .map(|(i, e)| QuarantinedAudit::of(&rows[*i], e, now))
        .collect();
    match store.quarantine_audit(kept).await {
        Ok(()) => {
            for (i, e) in &refused {
                tracing::error!(
                    audit_id = %rows[*i].id,
                    error = %e,
                    "audit record refused by the store; quarantined (hbpc-gateway audit quarantine)"
                );
            }
            attempt.quarantined = refused.len();
        }
        Err(e) => {
            attempt.unstored.extend(refused.iter().map(|(i, _)| *i));
            attempt.unstored.sort_unstable();
            attempt.error = Some(e);
        }
    }
    attempt
}

/// The appender: takes what is queued, appends it as one batch, answers the waiting requests.
/// After a failure the records of answered requests are carried into the next attempts, and
/// `degraded` makes every request wait for its own record, so a store outage fails requests
/// (503) instead of queueing unstored records.
async fn append_batches(
    store: SharedSecurityStore,
    mut pending: mpsc::Receiver<Queued>,
    counters: Arc<Counters>,
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
        // One waiter slot per row: None for the records of answered requests.
        let mut rows = std::mem::take(&mut carried);
        let mut waiters: Vec<Option<oneshot::Sender<Result<(), StoreError>>>> =
            (0..rows.len()).map(|_| None).collect();
        for queued in taken.drain(..) {
            match queued {
                Queued::Record { row, committed } => {
                    rows.push(row);
                    waiters.push(committed);
                }
                Queued::Flush(done) => flushes.push(done),
            }
        }
        let attempt = persist(&store, &rows).await;
        if attempt.quarantined > 0 {
            counters
                .quarantined
                .fetch_add(attempt.quarantined as u64, Ordering::Relaxed);
        }
        // Published before any waiter hears its outcome: a request answered 503 for want of
        // its record must find the next request waiting for its record too, and one answered
        // after the store recovered must find the trail writable again.
        counters
            .degraded
            .store(attempt.error.is_some(), Ordering::Release);
        let mut unstored = attempt.unstored.iter().copied().peekable();
        let mut settled = 0usize;
        for (i, (row, waiter)) in rows.into_iter().zip(waiters).enumerate() {
            let failed = unstored.next_if_eq(&i).is_some();
            match (failed, waiter) {
                // An answered request's record is kept for the next attempt.
                (true, None) => carried.push(row),
                (true, Some(waiter)) => {
                    settled += 1;
                    let e = attempt.error.as_ref().map(ToString::to_string);
                    let _ = waiter.send(Err(StoreError::Unavailable(e.unwrap_or_default())));
                }
                (false, waiter) => {
                    settled += 1;
                    if let Some(waiter) = waiter {
                        let _ = waiter.send(Ok(()));
                    }
                }
            }
        }
        counters.unsettled.fetch_sub(settled, Ordering::Relaxed);
        match &attempt.error {
            None => {
                failures = 0;
                if carried.is_empty() {
                    for done in flushes.drain(..) {
                        let _ = done.send(());
                    }
                }
            }
            Some(e) => {
                failures += 1;
                tracing::error!(
                    error = %e,
                    carried = carried.len(),
                    "audit records not stored; requests fail until the store takes them"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::auth::audit_event::{AuditEntity, AuditKind};
    use crate::store::security::SecurityStore;
    use crate::store::write_audit::{Settlement, StoredIntent};
    use async_trait::async_trait;
    use std::sync::Mutex;

    /// Refuses (for good) any batch holding a record whose body contains "poison"; fails
    /// (for now) every append while `down` is set.
    #[derive(Default)]
    struct FakeStore {
        stored: Mutex<Vec<String>>,
        quarantined: Mutex<Vec<QuarantinedAudit>>,
        appends: AtomicUsize,
        down: AtomicBool,
        /// While set, an append (once counted) holds the appender's thread.
        held: AtomicBool,
    }

    #[async_trait]
    impl SecurityStore for FakeStore {
        async fn claim_jti(&self, _: &str, _: &str, _: i64, _: i64) -> Result<bool, StoreError> {
            Ok(true)
        }
        async fn append_audit(&self, rows: Vec<AuditRow>) -> Result<(), StoreError> {
            self.appends.fetch_add(1, Ordering::SeqCst);
            while self.held.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
            if self.down.load(Ordering::SeqCst) {
                return Err(StoreError::Unavailable("connection refused".into()));
            }
            if rows.iter().any(|r| r.body.contains("poison")) {
                return Err(StoreError::Rejected("invalid byte sequence".into()));
            }
            let mut stored = self.stored.lock().unwrap();
            stored.extend(rows.into_iter().map(|r| r.id));
            Ok(())
        }
        async fn quarantine_audit(&self, records: Vec<QuarantinedAudit>) -> Result<(), StoreError> {
            self.quarantined.lock().unwrap().extend(records);
            Ok(())
        }
        async fn audit_intents(&self, _: usize) -> Result<Vec<StoredIntent>, StoreError> {
            Ok(Vec::new())
        }
        async fn settle_audit_intents(&self, _: Settlement) -> Result<(), StoreError> {
            Ok(())
        }
        async fn quarantined_audit(
            &self,
            _: usize,
        ) -> Result<(u64, Vec<QuarantinedAudit>), StoreError> {
            let q = self.quarantined.lock().unwrap().clone();
            Ok((q.len() as u64, q))
        }
        async fn audit_event(&self, _: &str) -> Result<Option<String>, StoreError> {
            Ok(None)
        }
        async fn audit_events(&self, _: &AuditFilter) -> Result<Vec<String>, StoreError> {
            Ok(Vec::new())
        }
    }

    fn write_record(id: &str, request_id: &str) -> AuditRecord {
        AuditRecord {
            id: id.into(),
            recorded_ms: 0,
            kind: AuditKind::Rest,
            subtype: "create".into(),
            action: "C",
            client_id: "c".into(),
            address: None,
            entities: vec![AuditEntity {
                resource_type: "Patient".into(),
                id: Some("p".into()),
                version: None,
            }],
            query_names: vec![],
            operation: None,
            status: 201,
            request_id: request_id.into(),
        }
    }

    #[tokio::test]
    async fn a_refused_record_is_quarantined_and_the_others_are_stored() {
        let store = Arc::new(FakeStore::default());
        let trail = AuditTrail::new(store.clone(), AuditReads::Queued);
        let records = [
            write_record("a", "r1"),
            write_record("b", "poison"),
            write_record("c", "r3"),
        ];
        let results = futures_util::future::join_all(records.iter().map(|r| trail.record(r))).await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        trail.flush().await;
        let mut stored = store.stored.lock().unwrap().clone();
        stored.sort();
        assert_eq!(stored, ["a", "c"]);
        let quarantined = store.quarantined.lock().unwrap().clone();
        assert_eq!(quarantined.len(), 1);
        assert_eq!(quarantined[0].id, "b");
        assert!(quarantined[0].error.contains("invalid byte"));
        let stats = trail.stats();
        assert_eq!(
            stats,
            AuditStats {
                writable: true,
                unsettled: 0,
                quarantined: 1
            }
        );
        // no retry loop: later records are stored with one append each
        let before = store.appends.load(Ordering::SeqCst);
        trail.record(&write_record("d", "r4")).await.unwrap();
        assert_eq!(store.appends.load(Ordering::SeqCst), before + 1);
    }

    #[tokio::test]
    async fn an_outage_fails_waiting_requests_and_marks_the_trail_not_writable() {
        let store = Arc::new(FakeStore::default());
        let trail = AuditTrail::new(store.clone(), AuditReads::Queued);
        store.down.store(true, Ordering::SeqCst);
        let failed = trail.record(&write_record("a", "r1")).await;
        assert!(
            matches!(failed, Err(StoreError::Unavailable(_))),
            "{failed:?}"
        );
        assert!(!trail.is_writable());
        assert_eq!(
            trail.stats().unsettled,
            0,
            "the failed request owns its record"
        );
        store.down.store(false, Ordering::SeqCst);
        trail.record(&write_record("b", "r2")).await.unwrap();
        assert!(trail.is_writable());
        assert_eq!(store.stored.lock().unwrap().as_slice(), ["b"]);
    }

    /// Requests run on actix's worker threads, not the appender's: a request told its record
    /// failed (or stored) runs at once, while the appender still answers the rest of its batch,
    /// and must already see the trail not writable (so the next read waits for its record), or
    /// writable again. The CI run of stop 32 caught the first window open: a read after a 503
    /// was answered 200. Here a batch gathers behind a held append, and its first request is
    /// polled in a busy loop, so it hears its outcome while the others are still being told.
    #[test]
    fn the_outcome_a_request_hears_is_already_the_trails_state() {
        use std::future::Future;
        use std::task::{Context, Poll, Waker};
        let appender = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let store = Arc::new(FakeStore::default());
        let trail = appender.block_on(async { AuditTrail::new(store.clone(), AuditReads::Queued) });
        let request = |id: String| {
            let trail = &trail;
            Box::pin(async move {
                let outcome = trail.record(&write_record(&id, "r")).await;
                (outcome.is_ok(), trail.is_writable())
            })
        };
        let mut cx = Context::from_waker(Waker::noop());
        const BATCH: usize = 256;
        for round in 0..10 {
            for down in [true, false] {
                store.held.store(true, Ordering::SeqCst);
                let appends = store.appends.load(Ordering::SeqCst);
                let mut plug = request(format!("{round}-{down}-plug"));
                assert!(plug.as_mut().poll(&mut cx).is_pending());
                while store.appends.load(Ordering::SeqCst) == appends {
                    std::thread::yield_now();
                }
                store.down.store(down, Ordering::SeqCst);
                let mut batch: Vec<_> = (0..BATCH)
                    .map(|i| request(format!("{round}-{down}-{i}")))
                    .collect();
                for r in &mut batch {
                    assert!(r.as_mut().poll(&mut cx).is_pending());
                }
                store.held.store(false, Ordering::SeqCst);
                let mut heard = vec![None; BATCH];
                let mut plug_heard = None;
                while heard.iter().any(Option::is_none) || plug_heard.is_none() {
                    if plug_heard.is_none() {
                        if let Poll::Ready(h) = plug.as_mut().poll(&mut cx) {
                            plug_heard = Some(h);
                        }
                    }
                    // the earliest unanswered, as soon as it is answered
                    if let Some(i) = heard.iter().position(Option::is_none) {
                        if let Poll::Ready(h) = batch[i].as_mut().poll(&mut cx) {
                            heard[i] = Some(h);
                        }
                    }
                }
                for h in heard.into_iter().chain([plug_heard]).flatten() {
                    assert_eq!(h, (!down, !down), "round {round}, store down: {down}");
                }
            }
        }
    }
}
