use crate::support::*;
use serde_json::Value;

async fn post_bundle(server: &TestServer, fixture: &str, prefer: &str) -> (u16, Value) {
    let res = client()
        .post(&server.base)
        .header("Content-Type", FHIR_JSON)
        .header("Prefer", prefer)
        .body(fixture_bytes(fixture))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn referral_transaction_is_stored_with_references_resolved() {
    on_each_backend(&[], |server| async move {
        let http = client();
        let (status, response) = post_bundle(
            &server,
            "referral-transaction.json",
            "return=representation",
        )
        .await;
        assert_eq!(status, 200, "{response}");
        assert_eq!(response["type"], "transaction-response");
        let entries = response["entry"].as_array().unwrap();
        assert_eq!(entries.len(), 13);
        for e in entries {
            assert_eq!(e["response"]["status"], "201 Created", "{e}");
            assert_eq!(e["response"]["etag"], "W/\"1\"");
            let location = e["response"]["location"].as_str().unwrap();
            assert!(location.ends_with("/_history/1"));
            assert!(e["fullUrl"].as_str().unwrap().starts_with(&server.base));
        }
        // Entry order is the request's order.
        let types: Vec<&str> = entries
            .iter()
            .map(|e| e["resource"]["resourceType"].as_str().unwrap())
            .collect();
        assert_eq!(types[3], "Patient");
        assert_eq!(types[12], "ServiceRequest");

        let sr = &entries[12]["resource"];
        let patient_id = entries[3]["resource"]["id"].as_str().unwrap();
        assert_eq!(sr["subject"]["reference"], format!("Patient/{patient_id}"));
        // Every reference now resolves on this server.
        let references = [
            sr["subject"]["reference"].clone(),
            sr["requester"]["reference"].clone(),
            sr["insurance"][0]["reference"].clone(),
            sr["reasonReference"][0]["reference"].clone(),
            sr["supportingInfo"][2]["reference"].clone(),
        ];
        for r in references {
            let r = r.as_str().unwrap();
            assert!(!r.starts_with("urn:"), "{r}");
            let res = http.get(server.url(r)).send().await.unwrap();
            assert_eq!(res.status(), 200, "{r}");
        }
        // 13 entries; the evaluation's Task, CarePlan, CareTeam, 2 Goals and Provenance; and the
        // program's Organization, Device and 6 role PractitionerRoles, written with the first one
        assert_eq!(server.stored_versions().await, 13 + 6 + 8);

        // The same referral again: the conditional entries match, nothing is duplicated for them.
        let (status, again) =
            post_bundle(&server, "referral-transaction.json", "return=minimal").await;
        assert_eq!(status, 200);
        let again = again["entry"].as_array().unwrap();
        for i in [0, 1, 3, 12] {
            assert_eq!(again[i]["response"]["status"], "200 OK", "entry {i}");
            assert!(again[i].get("resource").is_none(), "return=minimal");
        }
        assert_eq!(
            server
                .stored_with_identifier("ServiceRequest", "REF-2026-000417")
                .await,
            1
        );
        assert_eq!(
            server.stored_with_identifier("Patient", "MRN-448210").await,
            1
        );
        // The re-sent Coverage points at the existing Patient, not at a fresh id.
        let coverage_loc = again[5]["response"]["location"].as_str().unwrap();
        let coverage: Value = http
            .get(server.url(coverage_loc))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            coverage["beneficiary"]["reference"],
            format!("Patient/{patient_id}")
        );
    })
    .await;
}

#[tokio::test]
async fn invalid_entry_rejects_the_whole_transaction() {
    on_each_backend(&[], |server| async move {
        let (status, body) = post_bundle(
            &server,
            "invalid/transaction-invalid-entry.json",
            "return=minimal",
        )
        .await;
        assert_eq!(status, 400);
        assert_outcome(&body, "structure");
        assert!(
            expressions(&body).contains(&"Bundle.entry[3].resource.birthdate".to_string()),
            "{body}"
        );
        assert_eq!(server.stored_versions().await, 0, "all or nothing");
    })
    .await;
}

#[tokio::test]
async fn failure_inside_the_store_rolls_back_every_entry() {
    // Two ServiceRequests already share the placer identifier, so the Bundle's conditional
    // ServiceRequest (processed after all the others) matches twice: 412, and the twelve
    // entries written before it in the same database transaction are rolled back.
    on_each_backend(&[], |server| async move {
        let http = client();
        for _ in 0..2 {
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
        }
        let stored = server.stored_versions().await;
        let (status, body) =
            post_bundle(&server, "referral-transaction.json", "return=minimal").await;
        assert_eq!(status, 412, "{body}");
        assert_outcome(&body, "duplicate");
        assert_eq!(expressions(&body), ["Bundle.entry[12]"]);
        assert_eq!(server.stored_versions().await, stored);
    })
    .await;
}

#[tokio::test]
async fn batch_processes_entries_independently() {
    on_each_backend(&[], |server| async move {
        let (status, body) =
            post_bundle(&server, "referral-batch-partial.json", "return=minimal").await;
        assert_eq!(status, 200);
        assert_eq!(body["type"], "batch-response");
        let expected: Vec<Value> =
            serde_json::from_slice(&fixture_bytes("expected-outcomes.json")).unwrap();
        let case = expected
            .iter()
            .find(|c| c["fixture"] == "referral-batch-partial.json")
            .unwrap();
        let statuses: Vec<&Value> = body["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["response"]["status"])
            .collect();
        let wanted: Vec<&Value> = case["entryStatuses"].as_array().unwrap().iter().collect();
        assert_eq!(statuses, wanted);
        let failed = &body["entry"][1]["response"]["outcome"];
        assert_outcome(failed, "structure");
        assert!(
            expressions(failed)
                .iter()
                .any(|e| e.starts_with("Bundle.entry[1].resource.clinicalStatus")),
            "{failed}"
        );
        assert_eq!(server.stored_versions().await, 2);
    })
    .await;
}
