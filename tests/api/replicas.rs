//! Two real `serve` processes on one PostgreSQL database (skipped without HBPC_TEST_DATABASE_URL).

use crate::support::*;
use serde_json::Value;

fn postgres() -> Option<Backend> {
    backends()
        .into_iter()
        .find(|b| matches!(b, Backend::Postgres { .. }))
}

#[tokio::test]
async fn two_replicas_store_one_copy_of_concurrent_conditional_writes() {
    let Some(pg) = postgres() else { return };
    let a = TestServer::start_on(pg, &[]).await;
    let b = a.replica().await;
    let http = client();
    let bases = [a.base.clone(), b.base.clone()];

    // 32 identical conditional creates and 8 identical referral Bundles, alternating replicas.
    let creates: Vec<_> = (0..32)
        .map(|i| {
            let (http, base) = (http.clone(), bases[i % 2].clone());
            tokio::spawn(async move {
                http.post(format!("{base}/ServiceRequest"))
                    .header("Content-Type", FHIR_JSON)
                    .header(
                        "If-None-Exist",
                        "identifier=http://hospital.example.org/fhir/sid/referral|REF-2026-000417",
                    )
                    .body(fixture_bytes(
                        "referral-separate/13-servicerequest-referral.json",
                    ))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let bundles: Vec<_> = (0..8)
        .map(|i| {
            let (http, base) = (http.clone(), bases[i % 2].clone());
            tokio::spawn(async move {
                let res = http
                    .post(&base)
                    .header("Content-Type", FHIR_JSON)
                    .body(fixture_bytes("referral-transaction.json"))
                    .send()
                    .await
                    .unwrap();
                (res.status().as_u16(), res.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in creates {
        statuses.push(t.await.unwrap());
    }
    // Whichever came first, a create or a Bundle's conditional entry, created the referral;
    // every other request found it.
    let mut bundle_referral_created = 0;
    for t in bundles {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 200, "{body}");
        if body["entry"][12]["response"]["status"]
            .as_str()
            .is_some_and(|s| s.starts_with("201"))
        {
            bundle_referral_created += 1;
        }
    }
    let created = statuses.iter().filter(|s| **s == 201).count();
    assert_eq!(created + bundle_referral_created, 1, "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        32 - created,
        "{statuses:?}"
    );
    // One ServiceRequest with the placer id (the Bundles' conditional entry matched it),
    // one Patient per MRN, one plan Organization.
    assert_eq!(
        a.stored_with_identifier("ServiceRequest", "REF-2026-000417")
            .await,
        1
    );
    assert_eq!(a.stored_with_identifier("Patient", "MRN-448210").await, 1);
    assert_eq!(
        a.stored_with_identifier("Organization", "1234567893").await,
        1
    );
}

#[tokio::test]
async fn a_killed_replica_loses_no_acknowledged_write() {
    let Some(pg) = postgres() else { return };
    let a = TestServer::start_on(pg, &[]).await;
    let mut b = a.replica().await;
    let http = client();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let res = http
            .post(b.url("ServiceRequest"))
            .header("Content-Type", FHIR_JSON)
            .body(fixture_bytes(
                "referral-separate/13-servicerequest-referral.json",
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        ids.push(
            res.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    b.kill9();
    for id in ids {
        let res = http
            .get(a.url(&format!("ServiceRequest/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            200,
            "written through the killed replica, read through the other"
        );
    }
}
