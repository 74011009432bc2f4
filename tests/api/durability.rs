use crate::support::*;
use serde_json::Value;

/// An acknowledged write survives SIGKILL right after the 201.
#[tokio::test]
async fn acknowledged_writes_survive_kill_9() {
    on_each_backend(&[], |mut server| async move {
        let http = client();
        let res = http
            .post(server.url("ServiceRequest"))
            .header("Content-Type", FHIR_JSON)
            .body(fixture_bytes(
                "referral-separate/13-servicerequest-referral.json",
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let single = res.text().await.unwrap();
        let res = http
            .post(&server.base)
            .header("Content-Type", FHIR_JSON)
            .header("Prefer", "return=representation")
            .body(fixture_bytes("referral-transaction.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let bundle: Value = res.json().await.unwrap();
        server.restart_after_kill9().await;

        let single: Value = serde_json::from_str(&single).unwrap();
        let res = http
            .get(server.url(&format!(
                "ServiceRequest/{}",
                single["id"].as_str().unwrap()
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.unwrap(), single);
        for entry in bundle["entry"].as_array().unwrap() {
            let r = &entry["resource"];
            let url = server.url(&format!(
                "{}/{}",
                r["resourceType"].as_str().unwrap(),
                r["id"].as_str().unwrap()
            ));
            let back: Value = http.get(url).send().await.unwrap().json().await.unwrap();
            assert_eq!(&back, r);
        }
    })
    .await;
}
