//! `GET /metrics`: the Prometheus text exposition. Gauges are read from the services at
//! scrape time; counters and histograms are kept as events happen.

use crate::http::AppState;
use crate::telemetry::metrics::{CONTENT_TYPE, METRICS};
use actix_web::{web, HttpResponse};

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let m = &*METRICS;
    if let Some(audit) = &state.security.audit {
        let stats = audit.stats();
        m.audit_queue_depth.set(stats.unsettled as i64);
        m.audit_quarantined.set(stats.quarantined as i64);
        m.audit_writable.set(i64::from(stats.writable));
    }
    let load = state.reads.load();
    if let Some(depth) = load.write_queue {
        m.write_queue_depth.set(depth as i64);
    }
    if let Some(pool) = load.pool {
        let in_use = pool.open.saturating_sub(pool.idle);
        for (state, n) in [("idle", pool.idle), ("in_use", in_use), ("max", pool.max)] {
            m.pool_connections
                .with_label_values(&[state])
                .set(i64::from(n));
        }
    }
    match state.deliveries.counts().await {
        Ok(counts) => {
            m.deliveries.reset();
            for (upstream, delivery_state, n) in counts {
                m.deliveries
                    .with_label_values(&[upstream.as_str(), delivery_state.as_str()])
                    .set(n as i64);
            }
        }
        // the last known counts stay; the scrape still answers
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count deliveries"),
    }
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .body(m.render())
}
