use crate::support::*;
use serde_json::Value;

const REFERRAL: &str = "referral-separate/13-servicerequest-referral.json";
const IF_NONE_EXIST: &str =
    "identifier=http://hospital.example.org/fhir/sid/referral|REF-2026-000417";

async fn conditional_post(http: &reqwest::Client, server: &TestServer) -> (u16, Value) {
    let res = http
        .post(server.url("ServiceRequest"))
        .header("Content-Type", FHIR_JSON)
        .header("If-None-Exist", IF_NONE_EXIST)
        .body(fixture_bytes(REFERRAL))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn sequential_conditional_create_stores_once() {
    on_each_backend(&[], |server| async move {
        let http = client();
        let (first, created) = conditional_post(&http, &server).await;
        assert_eq!(first, 201);
        let stored = server.stored_versions().await;
        let (second, existing) = conditional_post(&http, &server).await;
        assert_eq!(second, 200);
        assert_eq!(existing["id"], created["id"]);
        assert_eq!(existing["meta"]["versionId"], "1", "nothing new was stored");
        assert_eq!(
            server.stored_versions().await,
            stored,
            "not even a re-evaluation: the evidence is the same"
        );
        assert_eq!(
            server
                .stored_with_identifier("ServiceRequest", "REF-2026-000417")
                .await,
            1
        );
    })
    .await;
}

#[tokio::test]
async fn several_matches_is_412_and_stores_nothing() {
    on_each_backend(&[], |server| async move {
        let http = client();
        for _ in 0..2 {
            let res = http
                .post(server.url("ServiceRequest"))
                .header("Content-Type", FHIR_JSON)
                .body(fixture_bytes(REFERRAL))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
        }
        let stored = server.stored_versions().await;
        let (status, body) = conditional_post(&http, &server).await;
        assert_eq!(status, 412);
        assert_outcome(&body, "duplicate");
        assert_eq!(server.stored_versions().await, stored);
        assert_eq!(
            server
                .stored_with_identifier("ServiceRequest", "REF-2026-000417")
                .await,
            2
        );
    })
    .await;
}

#[tokio::test]
async fn unsupported_criteria_are_rejected() {
    on_each_backend(&[], |server| async move {
        let res = client()
            .post(server.url("ServiceRequest"))
            .header("Content-Type", FHIR_JSON)
            .header("If-None-Exist", "status=active")
            .body(fixture_bytes(REFERRAL))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        assert_outcome(&res.json().await.unwrap(), "not-supported");
        assert_eq!(server.stored_versions().await, 0);
    })
    .await;
}

#[tokio::test]
async fn sixteen_concurrent_identical_conditional_creates_store_one() {
    on_each_backend(&[], |server| async move {
        let http = client();
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(16));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (http, url, barrier) =
                    (http.clone(), server.url("ServiceRequest"), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    let res = http
                        .post(url)
                        .header("Content-Type", FHIR_JSON)
                        .header("If-None-Exist", IF_NONE_EXIST)
                        .body(fixture_bytes(REFERRAL))
                        .send()
                        .await
                        .unwrap();
                    let status = res.status().as_u16();
                    let body: Value = res.json().await.unwrap();
                    (status, body["id"].as_str().unwrap().to_string())
                })
            })
            .collect();
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        let created = results.iter().filter(|(s, _)| *s == 201).count();
        let matched = results.iter().filter(|(s, _)| *s == 200).count();
        assert_eq!((created, matched), (1, 15), "{results:?}");
        assert!(
            results.iter().all(|(_, id)| *id == results[0].1),
            "all answers name one resource"
        );
        assert_eq!(
            server
                .stored_with_identifier("ServiceRequest", "REF-2026-000417")
                .await,
            1
        );
        // one referral Task however many concurrent evaluations wrote it
        let task =
            hbpc_gateway::domain::care_planning::ReferralIdentity::of(&fixture_json(REFERRAL))
                .id("Task");
        assert_eq!(server.stored_with_identifier("Task", &task).await, 1);
    })
    .await;
}
