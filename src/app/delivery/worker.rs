//! The delivery worker: a tokio task started by `serve` that claims due outbox records under a
//! lease and sends them, at most `delivery.concurrency` at once and at most
//! `upstreams.X.concurrency` at once per upstream (both per replica).
//!
//! Crash safety comes from the outbox: a claim is a lease, so records held by a worker that died
//! are claimed again once it expires, and every send is idempotent upstream.

use super::auth::AuthError;
use super::client::UpstreamClient;
use super::payload::{self, PayloadError};
use super::retry::{settle_failure, Failure};
use super::task_sync;
use crate::config::{DeliverySettings, UpstreamSettings};
use crate::store::outbox::{DeliveryOutbox, DeliveryRecord, Settlement};
use crate::store::SharedStore;
use fhir_engine::model::instant::now_millis;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::{watch, Semaphore};

#[derive(Debug, Error)]
pub enum WorkerError {
    #[error("delivery upstream '{upstream}': {source}")]
    Upstream { upstream: String, source: AuthError },
    #[error("the database has no delivery outbox")]
    NoOutbox,
}

/// Totals since start, logged with every attempt (they become metrics once metrics exist).
#[derive(Debug, Default)]
pub struct Counters {
    pub delivered: AtomicU64,
    pub retried: AtomicU64,
    pub dead: AtomicU64,
    /// Settlements refused because the lease had expired and another worker took the record.
    pub lease_lost: AtomicU64,
}

struct Upstream {
    client: UpstreamClient,
    settings: UpstreamSettings,
    limit: Arc<Semaphore>,
}

struct Shared {
    store: SharedStore,
    outbox: Arc<dyn DeliveryOutbox>,
    upstreams: HashMap<String, Upstream>,
    lease_ms: i64,
    counters: Counters,
}

pub struct DeliveryWorker {
    shared: Arc<Shared>,
    concurrency: usize,
    poll: Duration,
    replica: String,
}

/// Stops the worker's claim loop (attempts in flight finish or lose their lease).
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    shared: Arc<Shared>,
}

impl WorkerHandle {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    pub fn counters(&self) -> &Counters {
        &self.shared.counters
    }
}

impl DeliveryWorker {
    /// Builds the HTTP client (and loads credentials) of every configured upstream.
    pub fn new(store: SharedStore, settings: &DeliverySettings) -> Result<Self, WorkerError> {
        let outbox = store.outbox().ok_or(WorkerError::NoOutbox)?;
        let mut upstreams = HashMap::new();
        for (name, u) in &settings.upstreams {
            let client = UpstreamClient::new(u).map_err(|source| WorkerError::Upstream {
                upstream: name.clone(),
                source,
            })?;
            upstreams.insert(
                name.clone(),
                Upstream {
                    client,
                    settings: u.clone(),
                    limit: Arc::new(Semaphore::new(u.concurrency)),
                },
            );
        }
        Ok(Self {
            shared: Arc::new(Shared {
                store,
                outbox,
                upstreams,
                lease_ms: (settings.lease_secs * 1000) as i64,
                counters: Counters::default(),
            }),
            concurrency: settings.concurrency,
            poll: Duration::from_millis(settings.poll_interval_ms),
            replica: uuid::Uuid::new_v4().simple().to_string(),
        })
    }

    pub fn spawn(self) -> WorkerHandle {
        let (stop, stopped) = watch::channel(false);
        let shared = Arc::clone(&self.shared);
        let task = tokio::spawn(self.run(stopped));
        WorkerHandle { stop, task, shared }
    }

    async fn run(self, mut stopped: watch::Receiver<bool>) {
        tracing::info!(
            upstreams = self.shared.upstreams.len(),
            concurrency = self.concurrency,
            "delivery worker started"
        );
        let slots = Arc::new(Semaphore::new(self.concurrency));
        while !*stopped.borrow() {
            let slot = tokio::select! {
                s = Arc::clone(&slots).acquire_owned() => match s { Ok(s) => s, Err(_) => break },
                _ = stopped.changed() => break,
            };
            let busy: Vec<String> = self
                .shared
                .upstreams
                .iter()
                .filter(|(_, u)| u.limit.available_permits() == 0)
                .map(|(name, _)| name.clone())
                .collect();
            let owner = format!("{}/{}", self.replica, uuid::Uuid::new_v4().simple());
            let claimed = self
                .shared
                .outbox
                .claim(&owner, now_millis(), self.shared.lease_ms, &busy)
                .await;
            match claimed {
                Ok(Some(record)) => {
                    let upstream_slot = self
                        .shared
                        .upstreams
                        .get(&record.destination)
                        .and_then(|u| Arc::clone(&u.limit).try_acquire_owned().ok());
                    let shared = Arc::clone(&self.shared);
                    tokio::spawn(async move {
                        let _slots = (slot, upstream_slot);
                        shared.attempt(record, owner).await;
                    });
                    continue;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot claim deliveries"),
            }
            drop(slot);
            tokio::select! {
                _ = tokio::time::sleep(self.poll) => {}
                _ = stopped.changed() => break,
            }
        }
        tracing::info!("delivery worker stopped");
    }
}

impl Shared {
    async fn attempt(&self, record: DeliveryRecord, owner: String) {
        let started = Instant::now();
        let fallback = UpstreamSettings::default();
        // the metrics name configured upstreams only
        let upstream_label = match self.upstreams.contains_key(&record.destination) {
            true => record.destination.clone(),
            false => "(unconfigured)".to_string(),
        };
        let (result, policy) = match self.upstreams.get(&record.destination) {
            Some(upstream) => {
                // Finish well inside the lease, so nobody else starts this record meanwhile.
                let budget = Duration::from_millis((self.lease_ms as u64) * 9 / 10);
                let send = async {
                    let items = payload::collect(
                        self.store.as_ref(),
                        &record.resources,
                        upstream.settings.mode,
                    )
                    .await
                    .map_err(payload_failure)?;
                    upstream.client.deliver(&items).await
                };
                let result = tokio::time::timeout(budget, send)
                    .await
                    .unwrap_or_else(|_| {
                        Err(Failure::Retryable {
                            status: None,
                            retry_after_ms: None,
                            error: "the attempt outlasted 90% of the lease".into(),
                        })
                    });
                (result, &upstream.settings)
            }
            None => (
                Err(Failure::Retryable {
                    status: None,
                    retry_after_ms: None,
                    error: format!("upstream '{}' is not configured", record.destination),
                }),
                &fallback,
            ),
        };
        let now = now_millis();
        let settlement = match result {
            Ok(done) => Settlement::Delivered {
                status: done.status,
                upstream: done.upstream,
            },
            Err(failure) => settle_failure(&record, policy, failure, now),
        };
        let (outcome, status, counter) = match &settlement {
            Settlement::Delivered { status, .. } => {
                ("delivered", Some(*status), &self.counters.delivered)
            }
            Settlement::Retry { status, .. } => ("retrying", *status, &self.counters.retried),
            Settlement::Dead { status, .. } => ("dead", *status, &self.counters.dead),
        };
        let error = match &settlement {
            Settlement::Retry { error, .. } | Settlement::Dead { error, .. } => Some(error.clone()),
            Settlement::Delivered { .. } => None,
        };
        match self
            .outbox
            .settle(&record.id, &owner, settlement, now)
            .await
        {
            Ok(true) => {
                counter.fetch_add(1, Ordering::Relaxed);
                crate::telemetry::metrics::delivery_settled(&upstream_label, outcome);
                self.show_on_task(&record).await;
            }
            Ok(false) => {
                self.counters.lease_lost.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::warn!(delivery = %record.id, error = %e, "cannot record the delivery result; it will be retried after its lease")
            }
        }
        // Ids, status and counts only: resources and answers may hold patient data.
        let c = &self.counters;
        let log = |level_warn: bool| {
            let fields = (
                record.id.as_str(),
                record.destination.as_str(),
                record.attempts,
                status,
                started.elapsed().as_millis() as u64,
            );
            if level_warn {
                tracing::warn!(
                    delivery = fields.0, destination = fields.1, attempt = fields.2,
                    status = ?fields.3, latency_ms = fields.4, outcome,
                    reason = error.as_deref().map(reason_class).unwrap_or(""),
                    delivered_total = c.delivered.load(Ordering::Relaxed),
                    retried_total = c.retried.load(Ordering::Relaxed),
                    dead_total = c.dead.load(Ordering::Relaxed),
                    "delivery attempt failed"
                );
            } else {
                tracing::info!(
                    delivery = fields.0, destination = fields.1, attempt = fields.2,
                    status = ?fields.3, latency_ms = fields.4, outcome,
                    delivered_total = c.delivered.load(Ordering::Relaxed),
                    retried_total = c.retried.load(Ordering::Relaxed),
                    dead_total = c.dead.load(Ordering::Relaxed),
                    "delivery attempt"
                );
            }
        };
        log(outcome != "delivered");
    }
}

impl Shared {
    /// The Task shows the settled state; a failure here leaves the delivery itself untouched.
    async fn show_on_task(&self, record: &DeliveryRecord) {
        let base = self
            .upstreams
            .get(&record.destination)
            .map(|u| u.settings.base_url.as_str());
        match task_sync::sync_task(
            self.store.as_ref(),
            self.outbox.as_ref(),
            &record.id,
            &record.task_id,
            base,
        )
        .await
        {
            Ok(outcome) => {
                tracing::debug!(delivery = %record.id, task = %record.task_id, ?outcome, "delivery state on the Task")
            }
            Err(e) => {
                tracing::warn!(delivery = %record.id, task = %record.task_id, error = %e, "cannot show the delivery state on the Task")
            }
        }
    }
}

fn payload_failure(e: PayloadError) -> Failure {
    match e {
        PayloadError::Store(e) => Failure::Retryable {
            status: None,
            retry_after_ms: None,
            error: e.to_string(),
        },
        other => Failure::Permanent {
            status: None,
            error: other.to_string(),
        },
    }
}

/// The kind of failure, for logs: the full text (an OperationOutcome may quote patient data)
/// stays on the record, behind the admin endpoint.
fn reason_class(error: &str) -> &'static str {
    if error.starts_with("HTTP ") {
        "http-status"
    } else if error.contains("timed out") || error.contains("outlasted") {
        "timeout"
    } else if error.contains("connection") || error.contains("request failed") {
        "connection"
    } else if error.contains("token") {
        "auth"
    } else {
        "other"
    }
}
