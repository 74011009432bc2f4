//! The outbox contract on both backends: exclusive claims under a lease, expiry for crashed
//! workers, one record of a task in flight at a time, settlements only by the lease holder.

use super::harness::*;
use hbpc_gateway::app::delivery::Delivery;
use hbpc_gateway::config::DeliverySettings;
use hbpc_gateway::store::delivery_request::ResourceKey;
use hbpc_gateway::store::outbox::{DeliveryState, Settlement};
use hbpc_gateway::store::WriteOutcome;
use serde_json::json;
use std::collections::HashSet;

fn now() -> i64 {
    fhir_engine::model::instant::now_millis()
}

fn delivery() -> Delivery {
    let mut s = DeliverySettings::default();
    s.upstreams.insert(
        "ehr".into(),
        hbpc_gateway::config::UpstreamSettings {
            base_url: "http://127.0.0.1:9/fhir".into(),
            ..Default::default()
        },
    );
    s.default_upstream = "ehr".into();
    Delivery::new(&s)
}

async fn enqueue(ts: &TestStore, task: &str) -> String {
    let op = delivery()
        .enqueue(
            &Default::default(),
            task,
            vec![ResourceKey::new("Task", task)],
        )
        .unwrap();
    match ts.store.apply(vec![op]).await.unwrap().pop() {
        Some(WriteOutcome::DeliveryEnqueued { delivery_id }) => delivery_id,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_claim_is_exclusive_until_its_lease_expires() {
    for ts in stores().await {
        eprintln!("-- backend: {}", ts.backend);
        let outbox = ts.store.outbox().unwrap();
        let id = enqueue(&ts, "t1").await;
        let t = now();
        let a = outbox
            .claim("a", t, 1000, &[])
            .await
            .unwrap()
            .expect("claimed");
        assert_eq!((a.id.as_str(), a.attempts), (id.as_str(), 1));
        assert!(outbox
            .claim("b", t + 10, 1000, &[])
            .await
            .unwrap()
            .is_none());
        // After the lease: claimable again (a crashed worker's record comes back).
        let b = outbox
            .claim("b", t + 1001, 1000, &[])
            .await
            .unwrap()
            .expect("reclaimed");
        assert_eq!(b.attempts, 2);
        let delivered = || Settlement::Delivered {
            status: 200,
            upstream: json!([]),
        };
        assert!(
            !outbox
                .settle(&id, "a", delivered(), t + 1100)
                .await
                .unwrap(),
            "a lost its lease"
        );
        assert!(outbox
            .settle(&id, "b", delivered(), t + 1100)
            .await
            .unwrap());
        assert_eq!(
            outbox.get(&id).await.unwrap().unwrap().state,
            DeliveryState::Delivered
        );
        assert!(outbox
            .claim("c", t + 5000, 1000, &[])
            .await
            .unwrap()
            .is_none());
    }
}

#[tokio::test]
async fn busy_destinations_are_skipped_and_retries_wait() {
    for ts in stores().await {
        eprintln!("-- backend: {}", ts.backend);
        let outbox = ts.store.outbox().unwrap();
        let id = enqueue(&ts, "t1").await;
        let t = now();
        assert!(outbox
            .claim("a", t, 1000, &["ehr".into()])
            .await
            .unwrap()
            .is_none());
        outbox
            .claim("a", t, 1000, &[])
            .await
            .unwrap()
            .expect("claimed");
        let retry = Settlement::Retry {
            next_attempt_ms: t + 500,
            status: Some(503),
            error: "busy".into(),
        };
        assert!(outbox.settle(&id, "a", retry, t).await.unwrap());
        assert!(
            outbox
                .claim("b", t + 100, 1000, &[])
                .await
                .unwrap()
                .is_none(),
            "not due yet"
        );
        let r = outbox
            .claim("b", t + 600, 1000, &[])
            .await
            .unwrap()
            .expect("due");
        assert_eq!(
            (r.last_status, r.last_error.as_deref(), r.status()),
            (Some(503), Some("busy"), "retrying")
        );
    }
}

#[tokio::test]
async fn one_record_of_a_task_is_in_flight_at_a_time() {
    for ts in stores().await {
        eprintln!("-- backend: {}", ts.backend);
        let outbox = ts.store.outbox().unwrap();
        let first = enqueue(&ts, "t1").await;
        let t = now();
        outbox
            .claim("a", t, 60_000, &[])
            .await
            .unwrap()
            .expect("claimed");
        // A newer record while the first is in flight: it waits, it does not supersede.
        let second = enqueue(&ts, "t1").await;
        assert_eq!(
            outbox.get(&first).await.unwrap().unwrap().state,
            DeliveryState::Pending
        );
        assert!(outbox
            .claim("b", now(), 60_000, &[])
            .await
            .unwrap()
            .is_none());
        let done = Settlement::Delivered {
            status: 200,
            upstream: json!([]),
        };
        assert!(outbox.settle(&first, "a", done, now()).await.unwrap());
        let next = outbox
            .claim("b", now(), 60_000, &[])
            .await
            .unwrap()
            .expect("second");
        assert_eq!(next.id, second);
    }
}

#[tokio::test]
async fn concurrent_claimers_never_share_a_record() {
    for ts in stores().await {
        eprintln!("-- backend: {}", ts.backend);
        for i in 0..30 {
            enqueue(&ts, &format!("t{i}")).await;
        }
        let outbox = ts.store.outbox().unwrap();
        let claimers: Vec<_> = (0..6)
            .map(|w| {
                let outbox = outbox.clone();
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    while let Some(r) = outbox
                        .claim(&format!("w{w}"), now(), 60_000, &[])
                        .await
                        .unwrap()
                    {
                        mine.push(r.id);
                    }
                    mine
                })
            })
            .collect();
        let mut all = Vec::new();
        for c in claimers {
            all.extend(c.await.unwrap());
        }
        let unique: HashSet<_> = all.iter().collect();
        assert_eq!((all.len(), unique.len()), (30, 30));
    }
}

#[tokio::test]
async fn a_requeue_refuses_records_in_flight_or_delivered() {
    for ts in stores().await {
        eprintln!("-- backend: {}", ts.backend);
        let outbox = ts.store.outbox().unwrap();
        let id = enqueue(&ts, "t1").await;
        outbox
            .claim("a", now(), 60_000, &[])
            .await
            .unwrap()
            .expect("claimed");
        assert!(!outbox.requeue(&id, now()).await.unwrap());
        let dead = Settlement::Dead {
            status: Some(400),
            error: "bad".into(),
        };
        assert!(outbox.settle(&id, "a", dead, now()).await.unwrap());
        assert!(outbox.requeue(&id, now()).await.unwrap());
        assert!(!outbox.requeue("no-such-id", now()).await.unwrap());
    }
}
