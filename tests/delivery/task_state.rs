//! The delivery state on the referral Task (issue #5): one Task version per transition, and a
//! record that a newer one overtook leaves the Task alone.

use super::fake_ehr::{FakeEhr, Fault};
use super::harness::*;
use fhir_engine::model::instant::now_millis;
use hbpc_gateway::app::delivery::task_sync::{sync_task, TaskSync};
use hbpc_gateway::app::delivery::Delivery;
use hbpc_gateway::config::DeliveryMode;
use hbpc_gateway::domain::care_planning::delivery_output::state_code;
use hbpc_gateway::store::delivery_request::ResourceKey;
use hbpc_gateway::store::outbox::Settlement;
use hbpc_gateway::store::{SharedStore, WriteOp, WriteOutcome};
use serde_json::{json, Value};
use std::time::Duration;

/// `(version, delivery state shown)` of the stored Task.
async fn task(store: &SharedStore, id: &str) -> (u64, Option<String>, Value) {
    let stored = store.read("Task", id).await.unwrap().expect("the Task");
    let body = stored.resource().unwrap();
    (stored.version_id, state_code(&body), body)
}

#[tokio::test]
async fn retries_write_no_task_versions() {
    for ts in stores().await {
        eprintln!("-- backend: {}", ts.backend);
        let ehr = FakeEhr::start().await;
        ehr.push_faults([Fault::Status(500), Fault::Status(503), Fault::Status(500)]);
        let mut settings = settings(&ehr, DeliveryMode::Transaction);
        // Long enough for each failure's Task write to land before the next attempt.
        if let Some(u) = settings.upstreams.get_mut("ehr") {
            u.retry_initial_ms = 200;
            u.retry_max_ms = 400;
        }
        let t = referral(&ts.store, &Delivery::new(&settings), "1").await;
        let worker = start_worker(&ts.store, &settings);
        let done = settled(&ts.store, Duration::from_secs(20)).await;
        // The Task write follows the settlement: give it a moment.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while task(&ts.store, &t).await.1.as_deref() != Some("delivered") {
            assert!(std::time::Instant::now() < deadline, "never delivered");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        worker.stop().await;
        assert_eq!(done[0].attempts, 4);
        // v1 written by the referral, v2 failed-retrying (once for three failures), v3 delivered.
        let (version, _, body) = task(&ts.store, &t).await;
        assert_eq!(version, 3);
        let v2 = ts
            .store
            .vread("Task", &t, 2)
            .await
            .unwrap()
            .and_then(|s| s.resource())
            .unwrap();
        assert_eq!(state_code(&v2).as_deref(), Some("failed-retrying"));
        // The referral's own output is kept beside the delivery outputs.
        assert_eq!(body["output"][0]["type"]["text"], "care plan");
        let locations: Vec<&str> = body["output"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["type"]["coding"][0]["code"] == "delivery-location")
            .map(|o| o["valueReference"]["reference"].as_str().unwrap())
            .collect();
        assert_eq!(locations.len(), 4, "Task, CarePlan, CareTeam, Goal");
        assert!(locations
            .iter()
            .all(|l| l.starts_with(&ehr.base_url()) && l.contains("/_history/")));
        assert_one_each(&ehr, &["1"]);
    }
}

#[tokio::test]
async fn an_overtaken_record_leaves_the_task_alone() {
    for ts in stores().await {
        eprintln!("-- backend: {}", ts.backend);
        let ehr = FakeEhr::start().await;
        let settings = settings(&ehr, DeliveryMode::Transaction);
        let delivery = Delivery::new(&settings);
        let t = referral(&ts.store, &delivery, "1").await;
        let outbox = ts.store.outbox().unwrap();
        let first = outbox
            .claim("w", now_millis(), 60_000, &[])
            .await
            .unwrap()
            .expect("claimed");

        // Meanwhile a re-evaluation writes a new Task version and a newer record.
        let (_, _, mut body) = task(&ts.store, &t).await;
        body["status"] = json!("in-progress");
        let mut ops = vec![WriteOp::Update {
            resource_type: "Task".into(),
            id: t.clone(),
            resource: body,
            if_match: None,
        }];
        ops.extend(delivery.enqueue(&Default::default(), &t, vec![ResourceKey::new("Task", &t)]));
        let second = match ts.store.apply(ops).await.unwrap().pop() {
            Some(WriteOutcome::DeliveryEnqueued { delivery_id }) => delivery_id,
            other => panic!("{other:?}"),
        };

        // The older attempt ends delivered: the Task does not claim so.
        let upstream = json!([{"resource": format!("Task/{t}"), "version": 1, "location": "Task/x/_history/1"}]);
        assert!(outbox
            .settle(
                &first.id,
                "w",
                Settlement::Delivered {
                    status: 200,
                    upstream
                },
                now_millis()
            )
            .await
            .unwrap());
        let base = ehr.base_url();
        let synced = sync_task(
            ts.store.as_ref(),
            outbox.as_ref(),
            &first.id,
            &t,
            Some(&base),
        )
        .await
        .unwrap();
        assert_eq!(synced, TaskSync::LeftAlone);
        assert_eq!(task(&ts.store, &t).await.0, 2);

        // The newer record's state is shown, once.
        let sync = || sync_task(ts.store.as_ref(), outbox.as_ref(), &second, &t, Some(&base));
        assert_eq!(sync().await.unwrap(), TaskSync::Written);
        let (version, state, body) = task(&ts.store, &t).await;
        assert_eq!((version, state.as_deref()), (3, Some("pending")));
        assert_eq!(body["status"], "in-progress", "the re-evaluation is kept");
        assert_eq!(sync().await.unwrap(), TaskSync::Unchanged);
        assert_eq!(task(&ts.store, &t).await.0, 3);
    }
}
