//! Prometheus metrics (`GET /metrics`): counts and timings an operator alerts on.
//!
//! No PHI ever: every label comes from a closed set the gateway defines (route templates,
//! methods, status codes, decision outcomes, issue codes, delivery states, upstream names
//! from configuration), never from a request's path values, query or body.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use std::sync::LazyLock;

/// The exposition format's media type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Latency buckets (seconds): a read takes milliseconds, a large Bundle seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Writer batch sizes (write requests committed in one transaction).
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// Every metric the gateway exports, in one registry of its own.
pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub referral_decisions: IntCounterVec,
    pub validation_rejections: IntCounterVec,
    pub write_queue_depth: IntGauge,
    pub write_batch_size: HistogramVec,
    pub commit_duration: HistogramVec,
    pub audit_queue_depth: IntGauge,
    pub audit_quarantined: IntGauge,
    pub audit_writable: IntGauge,
    pub deliveries: IntGaugeVec,
    pub delivery_attempts: IntCounterVec,
    pub dead_letters: IntCounterVec,
    pub pool_connections: IntGaugeVec,
}

pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("unique metric");
    metric
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let metric = IntGauge::new(name, help).expect("valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("unique metric");
    metric
}

fn gauges(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let metric = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("unique metric");
    metric
}

fn histogram(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: &[f64],
) -> HistogramVec {
    let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
    let metric = HistogramVec::new(opts, labels).expect("valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("unique metric");
    metric
}

impl Metrics {
    fn new() -> Self {
        let r = Registry::new();
        Self {
            http_requests: counter(
                &r,
                "hbpc_http_requests_total",
                "HTTP requests answered, by route template, method and status.",
                &["route", "method", "status"],
            ),
            http_duration: histogram(
                &r,
                "hbpc_http_request_duration_seconds",
                "Time to answer an HTTP request, by route template and method.",
                &["route", "method"],
                LATENCY_BUCKETS,
            ),
            referral_decisions: counter(
                &r,
                "hbpc_referral_decisions_total",
                "Referral eligibility decisions recorded, by outcome.",
                &["outcome"],
            ),
            validation_rejections: counter(
                &r,
                "hbpc_validation_rejections_total",
                "Requests refused as invalid (400/422), by OperationOutcome issue code.",
                &["code"],
            ),
            write_queue_depth: gauge(
                &r,
                "hbpc_write_queue_depth",
                "Write requests waiting for the SQLite writer.",
            ),
            write_batch_size: histogram(
                &r,
                "hbpc_write_batch_size",
                "Write requests committed together in one transaction.",
                &["backend"],
                BATCH_BUCKETS,
            ),
            commit_duration: histogram(
                &r,
                "hbpc_write_commit_duration_seconds",
                "Time to apply and commit one write transaction.",
                &["backend"],
                LATENCY_BUCKETS,
            ),
            audit_queue_depth: gauge(
                &r,
                "hbpc_audit_queue_depth",
                "Audit records accepted and not yet stored.",
            ),
            audit_quarantined: gauge(
                &r,
                "hbpc_audit_quarantined_records",
                "Audit records quarantined since start (refused by the store for a permanent reason; `hbpc-gateway audit quarantined` lists them).",
            ),
            audit_writable: gauge(
                &r,
                "hbpc_audit_writable",
                "1 while audit records reach the store, 0 while an outage holds them back.",
            ),
            deliveries: gauges(
                &r,
                "hbpc_deliveries",
                "Deliveries in the outbox, by upstream and state.",
                &["upstream", "state"],
            ),
            delivery_attempts: counter(
                &r,
                "hbpc_delivery_attempts_total",
                "Delivery attempts to an upstream, by result.",
                &["upstream", "result"],
            ),
            dead_letters: counter(
                &r,
                "hbpc_delivery_dead_letters_total",
                "Deliveries given up on (dead letters), by upstream.",
                &["upstream"],
            ),
            pool_connections: gauges(
                &r,
                "hbpc_db_pool_connections",
                "PostgreSQL pool connections, by state (idle, in_use) and the configured max.",
                &["state"],
            ),
            registry: r,
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // encoding into memory fails only on a malformed metric, which `new` cannot build
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// A method label from a closed set: anything else is `other`.
pub fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// Records one answered HTTP request. `route` must be a route template, never a raw path.
pub fn http_request(route: &str, method: &str, status: u16, seconds: f64) {
    let m = &*METRICS;
    let method = method_label(method);
    m.http_requests
        .with_label_values(&[route, method, &status.to_string()])
        .inc();
    m.http_duration
        .with_label_values(&[route, method])
        .observe(seconds);
}

/// One write transaction committed: how many write requests it carried and how long it took.
pub fn write_committed(backend: &str, requests: usize, took: std::time::Duration) {
    let m = &*METRICS;
    m.write_batch_size
        .with_label_values(&[backend])
        .observe(requests as f64);
    m.commit_duration
        .with_label_values(&[backend])
        .observe(took.as_secs_f64());
}

/// One delivery attempt settled (`delivered`, `retrying` or `dead`), by configured upstream
/// name.
pub fn delivery_settled(upstream: &str, outcome: &str) {
    let m = &*METRICS;
    m.delivery_attempts
        .with_label_values(&[upstream, outcome])
        .inc();
    if outcome == "dead" {
        m.dead_letters.with_label_values(&[upstream]).inc();
    }
}

/// Counts a refused request once per distinct issue code among its errors.
pub fn validation_rejection(issues: &[fhir_engine::outcome::Issue]) {
    use fhir_engine::outcome::Severity;
    let mut codes: Vec<&'static str> = issues
        .iter()
        .filter(|i| matches!(i.severity, Severity::Error | Severity::Fatal))
        .map(|i| i.code.code())
        .collect();
    codes.sort_unstable();
    codes.dedup();
    for code in codes {
        METRICS
            .validation_rejections
            .with_label_values(&[code])
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_recorded_requests_by_template() {
        http_request("/fhir/{type}/{id}", "GET", 200, 0.003);
        http_request("/fhir/{type}/{id}", "BREW", 404, 0.001);
        let text = METRICS.render();
        assert!(text.contains(
            "hbpc_http_requests_total{method=\"GET\",route=\"/fhir/{type}/{id}\",status=\"200\"}"
        ), "{text}");
        assert!(text.contains("method=\"other\""), "{text}");
        assert!(text.contains("# TYPE hbpc_http_request_duration_seconds histogram"));
    }
}
