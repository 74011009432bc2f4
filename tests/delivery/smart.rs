//! SMART Backend Services: the fake EHR plays the token endpoint and verifies our signed client
//! assertion (signature, aud, exp, jti); the token is cached, and an expired one renewed once.

use super::fake_ehr::{FakeEhr, TokenPolicy};
use super::harness::*;
use hbpc_gateway::app::delivery::worker::DeliveryWorker;
use hbpc_gateway::app::delivery::Delivery;
use hbpc_gateway::config::{AuthKind, DeliveryMode, DeliverySettings};
use hbpc_gateway::store::outbox::DeliveryState;
use jsonwebtoken::Algorithm;
use std::path::PathBuf;
use std::time::Duration;

fn key(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/keys/delivery")
        .join(name)
}

fn smart_settings(
    ehr: &FakeEhr,
    algorithm: &str,
    key_file: &str,
    token_endpoint: &str,
) -> DeliverySettings {
    let mut s = settings(ehr, DeliveryMode::Transaction);
    let auth = &mut s.upstreams.get_mut("ehr").unwrap().auth;
    auth.kind = AuthKind::SmartBackend;
    auth.client_id = "hbpc-gateway".into();
    auth.algorithm = algorithm.into();
    auth.key_file = key(key_file).display().to_string();
    auth.token_endpoint = token_endpoint.into();
    s.validate().unwrap();
    s
}

fn policy(algorithm: Algorithm, public: &str) -> TokenPolicy {
    TokenPolicy {
        client_id: "hbpc-gateway".into(),
        algorithm,
        public_key_pem: std::fs::read(key(public)).unwrap(),
        expires_in: 300,
    }
}

#[tokio::test]
async fn rs384_assertion_discovered_endpoint_cached_token_and_one_renewal() {
    for ts in stores().await {
        eprintln!("-- backend: {}", ts.backend);
        let ehr = FakeEhr::start().await;
        ehr.require_tokens(policy(Algorithm::RS384, "rsa-public.pem"));
        let settings = smart_settings(&ehr, "RS384", "rsa-private.pem", "");
        let delivery = Delivery::new(&settings);
        referral(&ts.store, &delivery, "1").await;
        referral(&ts.store, &delivery, "2").await;
        let worker = start_worker(&ts.store, &settings);
        let done = settled(&ts.store, Duration::from_secs(20)).await;
        assert!(
            done.iter().all(|r| r.state == DeliveryState::Delivered),
            "{done:#?}"
        );
        assert_eq!(ehr.assertion_errors(), Vec::<String>::new());
        // Discovered once, one token for both deliveries.
        assert_eq!(ehr.token_requests(), 1);
        let discovery = ehr
            .requests()
            .iter()
            .filter(|r| r.path.contains(".well-known"))
            .count();
        assert_eq!(discovery, 1);

        // The EHR considers the token expired: one 401, one renewal, then success.
        ehr.expire_tokens();
        referral(&ts.store, &delivery, "3").await;
        let done = settled(&ts.store, Duration::from_secs(20)).await;
        worker.stop().await;
        assert_eq!(
            (done[0].state, done[0].attempts),
            (DeliveryState::Delivered, 1)
        );
        assert_eq!(ehr.token_requests(), 2);
        assert_eq!(
            ehr.fhir_requests().len(),
            4,
            "2 deliveries, then a 401 and its retry"
        );
        assert_eq!(ehr.assertion_errors(), Vec::<String>::new());
        assert_one_each(&ehr, &["1", "2", "3"]);
    }
}

#[tokio::test]
async fn es384_jwks_key_with_a_configured_endpoint() {
    let ts = stores().await.remove(0);
    let ehr = FakeEhr::start().await;
    ehr.require_tokens(policy(Algorithm::ES384, "ec-public.pem"));
    let settings = smart_settings(&ehr, "ES384", "ec-private.jwks.json", &ehr.token_url());
    referral(&ts.store, &Delivery::new(&settings), "1").await;
    let worker = start_worker(&ts.store, &settings);
    let done = settled(&ts.store, Duration::from_secs(20)).await;
    worker.stop().await;
    assert_eq!(
        done[0].state,
        DeliveryState::Delivered,
        "{:?}",
        ehr.assertion_errors()
    );
    assert_eq!(ehr.token_requests(), 1);
    assert!(ehr
        .requests()
        .iter()
        .all(|r| !r.path.contains(".well-known")));
    assert_one_each(&ehr, &["1"]);
}

#[tokio::test]
async fn rs384_jwk_key_signs_too() {
    let ts = stores().await.remove(0);
    let ehr = FakeEhr::start().await;
    ehr.require_tokens(policy(Algorithm::RS384, "rsa-public.pem"));
    let settings = smart_settings(&ehr, "RS384", "rsa-private.jwk.json", "");
    referral(&ts.store, &Delivery::new(&settings), "1").await;
    let worker = start_worker(&ts.store, &settings);
    let done = settled(&ts.store, Duration::from_secs(20)).await;
    worker.stop().await;
    assert_eq!(
        done[0].state,
        DeliveryState::Delivered,
        "{:?}",
        ehr.assertion_errors()
    );
}

#[tokio::test]
async fn an_assertion_the_ehr_cannot_verify_is_a_dead_letter() {
    let ts = stores().await.remove(0);
    let ehr = FakeEhr::start().await;
    // The EHR knows our EC key, but we sign with the RSA one.
    ehr.require_tokens(policy(Algorithm::ES384, "ec-public.pem"));
    let settings = smart_settings(&ehr, "RS384", "rsa-private.pem", "");
    referral(&ts.store, &Delivery::new(&settings), "1").await;
    let worker = start_worker(&ts.store, &settings);
    let done = settled(&ts.store, Duration::from_secs(20)).await;
    worker.stop().await;
    assert_eq!(done[0].state, DeliveryState::Dead);
    assert!(
        done[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("token request refused"),
        "{:?}",
        done[0]
    );
    assert_eq!(ehr.assertion_errors().len(), 1);
    assert!(ehr.fhir_requests().is_empty());
}

#[tokio::test]
async fn a_missing_key_file_stops_the_worker_at_start() {
    let ts = stores().await.remove(0);
    let ehr = FakeEhr::start().await;
    let mut settings = smart_settings(&ehr, "RS384", "rsa-private.pem", "");
    settings.upstreams.get_mut("ehr").unwrap().auth.key_file = "/nonexistent/key.pem".into();
    let error = DeliveryWorker::new(ts.store.clone(), &settings)
        .err()
        .expect("refused");
    assert!(
        error.to_string().contains("/nonexistent/key.pem"),
        "{error}"
    );
}
