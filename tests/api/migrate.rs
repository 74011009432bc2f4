//! `hbpc-gateway migrate`: a SQLite store copied into PostgreSQL, every version included.

use crate::support::*;
use serde_json::{json, Value};
use std::process::Command;

#[tokio::test]
async fn sqlite_store_is_copied_into_postgres_with_all_versions() {
    let Some(pg) = backends()
        .into_iter()
        .find(|b| matches!(b, Backend::Postgres { .. }))
    else {
        return;
    };
    let mut source = TestServer::start().await;
    let http = client();
    let res = http
        .post(&source.base)
        .header("Content-Type", FHIR_JSON)
        .header("Prefer", "return=representation")
        .body(fixture_bytes("referral-transaction.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let bundle: Value = res.json().await.unwrap();
    let mut patient = bundle["entry"][3]["resource"].clone();
    let patient_id = patient["id"].as_str().unwrap().to_string();
    patient["active"] = json!(false);
    let res = http
        .put(source.url(&format!("Patient/{patient_id}")))
        .header("Content-Type", FHIR_JSON)
        .body(patient.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    source.kill9();

    let target = TestServer::start_on(pg, &[]).await;
    let out = Command::new(env!("CARGO_BIN_EXE_hbpc-gateway"))
        .args([
            "migrate",
            "--from",
            &source.database_url,
            "--to",
            &target.database_url,
        ])
        .env("HBPC_LOG_LEVEL", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let copied = source.stored_versions().await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("copied {copied} versions of ")),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let current: Value = http
        .get(target.url(&format!("Patient/{patient_id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(current["meta"]["versionId"], "2");
    assert_eq!(current["active"], false);
    let v1: Value = http
        .get(target.url(&format!("Patient/{patient_id}/_history/1")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v1, bundle["entry"][3]["resource"]);
    // The identifier index came along: the referral is still found by its placer id.
    assert_eq!(
        target
            .stored_with_identifier("ServiceRequest", "REF-2026-000417")
            .await,
        1
    );
    assert_eq!(target.stored_versions().await, copied);
}
