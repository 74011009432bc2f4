//! Stores on each backend, referral resources, delivery settings with tiny backoffs, waiting.

#![allow(dead_code)]

use super::fake_ehr::FakeEhr;
use hbpc_gateway::app::delivery::worker::{DeliveryWorker, WorkerHandle};
use hbpc_gateway::app::delivery::{Delivery, DeliverySource};
use hbpc_gateway::config::{DeliveryMode, DeliverySettings, UpstreamSettings};
use hbpc_gateway::store::delivery_request::ResourceKey;
use hbpc_gateway::store::outbox::{DeliveryFilter, DeliveryRecord, DeliveryState};
use hbpc_gateway::store::{SharedStore, WriteOp};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub const SID: &str = "http://hbpc.example.org/fhir/sid/";

pub use super::test_stores::TestStore;

pub async fn stores() -> Vec<TestStore> {
    super::test_stores::stores("hbpc_delivery").await
}

/// One upstream `ehr` at the fake EHR, with backoffs small enough for tests.
pub fn settings(ehr: &FakeEhr, mode: DeliveryMode) -> DeliverySettings {
    let mut s = DeliverySettings {
        concurrency: 4,
        poll_interval_ms: 20,
        lease_secs: 5,
        default_upstream: "ehr".into(),
        ..DeliverySettings::default()
    };
    s.upstreams.insert(
        "ehr".into(),
        UpstreamSettings {
            base_url: ehr.base_url(),
            mode,
            concurrency: 2,
            connect_timeout_ms: 500,
            request_timeout_ms: 1000,
            retry_initial_ms: 20,
            retry_max_ms: 200,
            retry_jitter: 0.5,
            max_attempts: 10,
            ..UpstreamSettings::default()
        },
    );
    s.validate().expect("test settings are valid");
    s
}

pub fn identifier(kind: &str, n: &str) -> Value {
    json!([{"system": format!("{SID}{kind}"), "value": format!("REF-{n}")}])
}

/// Writes a referral's generated resources (Task, CarePlan, CareTeam, a Goal) and their outbox
/// record in one `apply`, as the workflow does. The Patient and ServiceRequest come from the EHR
/// (with its MRN and referral identifiers). Returns the Task id.
pub async fn referral(store: &SharedStore, delivery: &Delivery, n: &str) -> String {
    let (p, sr, t, cp, ct, g) = (
        format!("p-{n}"),
        format!("sr-{n}"),
        format!("t-{n}"),
        format!("cp-{n}"),
        format!("ct-{n}"),
        format!("g-{n}"),
    );
    let create = |rt: &str, id: &str, resource: Value| WriteOp::Update {
        resource_type: rt.into(),
        id: id.into(),
        resource,
        if_match: None,
    };
    let mut ops = vec![
        create(
            "Patient",
            &p,
            json!({"resourceType": "Patient",
            "identifier": [{"system": "http://hospital.example.org/fhir/sid/mrn", "value": format!("MRN-{n}")}]}),
        ),
        create(
            "ServiceRequest",
            &sr,
            json!({"resourceType": "ServiceRequest", "status": "active", "intent": "order",
            "identifier": [{"system": "http://hospital.example.org/fhir/sid/referral", "value": format!("REF-{n}")}],
            "subject": {"reference": format!("Patient/{p}")}}),
        ),
        create(
            "Task",
            &t,
            json!({"resourceType": "Task", "identifier": identifier("task", n),
            "status": "accepted", "intent": "order", "focus": {"reference": format!("ServiceRequest/{sr}")},
            "for": {"reference": format!("Patient/{p}")},
            "output": [{"type": {"text": "care plan"}, "valueReference": {"reference": format!("CarePlan/{cp}")}}]}),
        ),
        create(
            "CarePlan",
            &cp,
            json!({"resourceType": "CarePlan", "identifier": identifier("careplan", n),
            "status": "active", "intent": "plan", "subject": {"reference": format!("Patient/{p}"), "display": "the patient"},
            "basedOn": [{"reference": format!("ServiceRequest/{sr}")}],
            "careTeam": [{"reference": format!("CareTeam/{ct}")}], "goal": [{"reference": format!("Goal/{g}")}]}),
        ),
        create(
            "CareTeam",
            &ct,
            json!({"resourceType": "CareTeam", "identifier": identifier("careteam", n),
            "status": "active", "subject": {"reference": format!("Patient/{p}")}}),
        ),
        create(
            "Goal",
            &g,
            json!({"resourceType": "Goal", "identifier": identifier("goal", n),
            "lifecycleStatus": "active", "description": {"text": "comfort"}, "subject": {"reference": format!("Patient/{p}")}}),
        ),
    ];
    let keys = vec![
        ResourceKey::new("Task", &t),
        ResourceKey::new("CarePlan", &cp),
        ResourceKey::new("CareTeam", &ct),
        ResourceKey::new("Goal", &g),
    ];
    ops.extend(delivery.enqueue(&DeliverySource::default(), &t, keys));
    store.apply(ops).await.expect("referral stored");
    t
}

pub fn start_worker(store: &SharedStore, settings: &DeliverySettings) -> WorkerHandle {
    DeliveryWorker::new(store.clone(), settings)
        .expect("worker")
        .spawn()
}

pub async fn records(store: &SharedStore, state: Option<DeliveryState>) -> Vec<DeliveryRecord> {
    store
        .outbox()
        .expect("outbox")
        .list(&DeliveryFilter {
            state,
            task_id: None,
            limit: 10_000,
        })
        .await
        .expect("list")
}

/// Waits until no record is pending (delivered, dead or superseded), or panics after `within`.
pub async fn settled(store: &SharedStore, within: Duration) -> Vec<DeliveryRecord> {
    let deadline = Instant::now() + within;
    loop {
        let all = records(store, None).await;
        if all.iter().all(|r| r.state != DeliveryState::Pending) {
            return all;
        }
        if Instant::now() > deadline {
            panic!("deliveries still pending after {within:?}: {all:#?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Exactly one CarePlan and one CareTeam (and Task, Goal) per referral upstream.
pub fn assert_one_each(ehr: &FakeEhr, referrals: &[&str]) {
    for (rt, kind) in [
        ("Task", "task"),
        ("CarePlan", "careplan"),
        ("CareTeam", "careteam"),
        ("Goal", "goal"),
    ] {
        let keys: Vec<String> = ehr.stored(rt).into_iter().map(|(k, _, _)| k).collect();
        let mut want: Vec<String> = referrals
            .iter()
            .map(|n| format!("{SID}{kind}|REF-{n}"))
            .collect();
        want.sort();
        assert_eq!(keys, want, "{rt} upstream");
    }
}
