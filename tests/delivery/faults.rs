//! Fault injection: every referral is delivered once the faults clear, and the EHR holds exactly
//! one CarePlan and one CareTeam per referral.

use super::fake_ehr::{FakeEhr, Fault};
use super::harness::*;
use hbpc_gateway::app::delivery::admin::DeliveryAdmin;
use hbpc_gateway::app::delivery::Delivery;
use hbpc_gateway::config::DeliveryMode;
use hbpc_gateway::store::outbox::DeliveryState;
use std::time::Duration;

#[tokio::test]
async fn three_server_errors_then_success() {
    for ts in stores().await {
        eprintln!("-- backend: {}", ts.backend);
        let ehr = FakeEhr::start().await;
        ehr.push_faults([Fault::Status(500), Fault::Status(500), Fault::Status(500)]);
        let settings = settings(&ehr, DeliveryMode::Transaction);
        referral(&ts.store, &Delivery::new(&settings), "1").await;
        let worker = start_worker(&ts.store, &settings);
        let done = settled(&ts.store, Duration::from_secs(20)).await;
        worker.stop().await;
        assert_eq!(
            (done[0].state, done[0].attempts),
            (DeliveryState::Delivered, 4)
        );
        assert_eq!(ehr.fhir_requests().len(), 4);
        assert_one_each(&ehr, &["1"]);
    }
}

#[tokio::test]
async fn too_many_requests_waits_for_retry_after() {
    for ts in stores().await {
        eprintln!("-- backend: {}", ts.backend);
        let ehr = FakeEhr::start().await;
        ehr.push_faults([Fault::RetryAfter(429, "1".into())]);
        let settings = settings(&ehr, DeliveryMode::Transaction);
        referral(&ts.store, &Delivery::new(&settings), "1").await;
        let worker = start_worker(&ts.store, &settings);
        let done = settled(&ts.store, Duration::from_secs(20)).await;
        worker.stop().await;
        assert_eq!(
            (done[0].state, done[0].attempts),
            (DeliveryState::Delivered, 2)
        );
        let requests = ehr.fhir_requests();
        // Backoff alone would retry after at most 20 ms; the EHR asked for a second.
        let waited = requests[1].at - requests[0].at;
        assert!(
            waited >= Duration::from_millis(950),
            "retried after {waited:?}"
        );
        assert_one_each(&ehr, &["1"]);
    }
}

#[tokio::test]
async fn timeouts_and_connection_resets_are_retried() {
    for ts in stores().await {
        eprintln!("-- backend: {}", ts.backend);
        let ehr = FakeEhr::start().await;
        ehr.push_faults([
            Fault::Stall(Duration::from_millis(1500)),
            Fault::Reset,
            Fault::Status(503),
            Fault::Reset,
        ]);
        let settings = settings(&ehr, DeliveryMode::Transaction);
        referral(&ts.store, &Delivery::new(&settings), "1").await;
        let worker = start_worker(&ts.store, &settings);
        let done = settled(&ts.store, Duration::from_secs(30)).await;
        worker.stop().await;
        assert_eq!(
            (done[0].state, done[0].attempts),
            (DeliveryState::Delivered, 5)
        );
        assert_one_each(&ehr, &["1"]);
    }
}

#[tokio::test]
async fn a_permanent_400_is_a_dead_letter_until_requeued() {
    for ts in stores().await {
        eprintln!("-- backend: {}", ts.backend);
        let ehr = FakeEhr::start().await;
        ehr.push_faults([Fault::Invalid("CarePlan.category: unknown code".into())]);
        let settings = settings(&ehr, DeliveryMode::Transaction);
        referral(&ts.store, &Delivery::new(&settings), "1").await;
        let worker = start_worker(&ts.store, &settings);
        let done = settled(&ts.store, Duration::from_secs(20)).await;
        let dead = &done[0];
        assert_eq!(
            (dead.state, dead.attempts, dead.last_status),
            (DeliveryState::Dead, 1, Some(400))
        );
        assert_eq!(
            dead.last_error.as_deref(),
            Some("HTTP 400: [invalid] CarePlan.category: unknown code")
        );
        assert!(ehr.stored("CarePlan").is_empty());

        // Stopped, so that the re-queued record is seen before a worker claims it again.
        worker.stop().await;
        let admin = DeliveryAdmin::new(&ts.store);
        let listed = admin.list(Some("dead"), None, None).await.unwrap();
        assert_eq!(listed.len(), 1);
        let requeued = admin.retry(&dead.id).await.unwrap();
        assert_eq!(
            (requeued.state, requeued.attempts),
            (DeliveryState::Pending, 0)
        );
        let worker = start_worker(&ts.store, &settings);
        let done = settled(&ts.store, Duration::from_secs(20)).await;
        worker.stop().await;
        assert_eq!(
            (done[0].state, done[0].attempts),
            (DeliveryState::Delivered, 1)
        );
        // A delivered record is not re-queued.
        assert!(admin.retry(&dead.id).await.is_err());
        assert_one_each(&ehr, &["1"]);
    }
}

#[tokio::test]
async fn retryable_failures_become_dead_after_max_attempts() {
    for ts in stores().await {
        eprintln!("-- backend: {}", ts.backend);
        let ehr = FakeEhr::start().await;
        ehr.push_faults(std::iter::repeat_n(Fault::Status(502), 3));
        let mut settings = settings(&ehr, DeliveryMode::Transaction);
        settings.upstreams.get_mut("ehr").unwrap().max_attempts = 3;
        referral(&ts.store, &Delivery::new(&settings), "1").await;
        let worker = start_worker(&ts.store, &settings);
        let done = settled(&ts.store, Duration::from_secs(20)).await;
        worker.stop().await;
        assert_eq!(
            (done[0].state, done[0].attempts, done[0].last_status),
            (DeliveryState::Dead, 3, Some(502))
        );
        assert!(done[0]
            .last_error
            .as_deref()
            .unwrap()
            .starts_with("gave up after 3 attempts: HTTP 502"));
    }
}

#[tokio::test]
async fn many_referrals_under_mixed_faults_arrive_once_each() {
    for ts in stores().await {
        eprintln!("-- backend: {}", ts.backend);
        let ehr = FakeEhr::start().await;
        ehr.push_faults([
            Fault::Status(500),
            Fault::Reset,
            Fault::RetryAfter(503, "0".into()),
            Fault::Stall(Duration::from_millis(1200)),
            Fault::Status(500),
            Fault::Reset,
        ]);
        let settings = settings(&ehr, DeliveryMode::Transaction);
        let delivery = Delivery::new(&settings);
        let names: Vec<String> = (0..20).map(|i| i.to_string()).collect();
        for n in &names {
            referral(&ts.store, &delivery, n).await;
        }
        let worker = start_worker(&ts.store, &settings);
        let done = settled(&ts.store, Duration::from_secs(30)).await;
        worker.stop().await;
        assert!(
            done.iter().all(|r| r.state == DeliveryState::Delivered),
            "{done:#?}"
        );
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_one_each(&ehr, &names);
    }
}
