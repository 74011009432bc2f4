//! Issue #25: an EHR's retry never changes a decision. A conditional create that matches, a
//! resent transaction and a resent message store nothing new for the referral: same Task
//! version and status, no new delivery. An accepted referral stays accepted when unrelated
//! resources with the same business identifiers arrive.

use crate::delivery::deliveries;
use crate::delivery::fake_ehr::FakeEhr;
use crate::support::*;
use reqwest::Method;
use serde_json::Value;

const REFERRAL_QUERY: &str =
    "identifier=http://hospital.example.org/fhir/sid/referral|REF-2026-000417";

/// A config whose delivery goes to `ehr`.
fn delivery_config(dir: &tempfile::TempDir, ehr: &FakeEhr) -> String {
    let path = dir.path().join("gateway.toml");
    let text = format!(
        "[delivery]\npoll_interval_ms = 20\ndefault_upstream = \"ehr\"\n\n\
         [delivery.upstreams.ehr]\nbase_url = \"{}\"\n",
        ehr.base_url()
    );
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// The referral's Task (found by its focus) and how many deliveries it has in the outbox.
struct Decision {
    version: String,
    status: String,
    deliveries: usize,
    task: Value,
}

/// The referral's decision once every delivery is done (the worker records each delivery's
/// state on the Task, which makes versions of its own).
async fn decision(server: &TestServer) -> Decision {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let all = deliveries(server, "limit=1000").await;
        // done when the outbox says delivered and the Task has recorded it (the worker
        // writes that Task version just after the record settles); nothing to wait for
        // without a delivery
        if all.iter().all(|d| d["status"] == "delivered") {
            let decided = current_decision(server).await;
            if all.is_empty() || shows_delivered(&decided.task) {
                return decided;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "deliveries not done: {all:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Whether the Task's output records its delivery as delivered.
fn shows_delivered(task: &Value) -> bool {
    task["output"].as_array().into_iter().flatten().any(|o| {
        o["type"]["coding"][0]["code"] == "delivery"
            && o["valueCodeableConcept"]["coding"][0]["code"] == "delivered"
    })
}

async fn current_decision(server: &TestServer) -> Decision {
    let (status, bundle) =
        get_json(server, &format!("/fhir/ServiceRequest?{REFERRAL_QUERY}")).await;
    assert_eq!(status, 200, "{bundle}");
    let referral_id = bundle["entry"][0]["resource"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no referral: {bundle}"))
        .to_string();
    let (_, tasks) = get_json(
        server,
        &format!("/fhir/Task?focus=ServiceRequest/{referral_id}"),
    )
    .await;
    let task = tasks["entry"][0]["resource"].clone();
    let task_id = task["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no Task: {tasks}"));
    let listed = deliveries(server, &format!("task=Task/{task_id}&limit=1000")).await;
    Decision {
        version: task["meta"]["versionId"].as_str().unwrap().to_string(),
        status: task["status"].as_str().unwrap().to_string(),
        deliveries: listed.len(),
        task,
    }
}

fn assert_unchanged(before: &Decision, after: &Decision, retry: &str) {
    assert_eq!(
        (&before.version, &before.status, before.deliveries),
        (&after.version, &after.status, after.deliveries),
        "{retry} changed the referral: {}",
        after.task
    );
}

#[tokio::test]
async fn retries_through_if_none_exist_transaction_and_message_change_nothing() {
    let ehr = FakeEhr::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = delivery_config(&dir, &ehr);
    on_each_backend(&[("HBPC_CONFIG", &config)], |server| async move {
        let transaction = fixture_json("referral-transaction.json");
        let (status, body) = post_json(&server, "/fhir", &transaction).await;
        assert_eq!(status, 200, "{body}");
        let first = decision(&server).await;
        assert_eq!(first.status, "accepted", "{}", first.task);
        assert_eq!(first.deliveries, 1, "{}", first.task);

        // 1. The referral alone, with If-None-Exist: 200 with the stored one, nothing else.
        let versions = server.stored_versions().await;
        let referral = fixture_json("referral-separate/13-servicerequest-referral.json");
        let (status, body, _) = request(
            &server,
            Method::POST,
            "/fhir/ServiceRequest",
            Some(&referral),
            &[("If-None-Exist", REFERRAL_QUERY)],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(server.stored_versions().await, versions, "nothing stored");
        assert_unchanged(&first, &decision(&server).await, "If-None-Exist");

        // 1b. The stored referral PUT back unchanged (an EHR's update retried): 200 with the
        // current version, no new version, no re-evaluation, no delivery.
        let (_, found) = get_json(&server, &format!("/fhir/ServiceRequest?{REFERRAL_QUERY}")).await;
        let stored = found["entry"][0]["resource"].clone();
        let path = format!("/fhir/ServiceRequest/{}", stored["id"].as_str().unwrap());
        let (status, body, headers) =
            request(&server, Method::PUT, &path, Some(&stored), &[]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(server.stored_versions().await, versions, "nothing stored");
        assert_eq!(
            headers.get("etag").and_then(|v| v.to_str().ok()),
            Some(format!("W/\"{}\"", stored["meta"]["versionId"].as_str().unwrap()).as_str()),
        );
        assert_unchanged(&first, &decision(&server).await, "an identical PUT");

        // 2. The same transaction again: its conditional entries match; the referral is the
        // stored one, not re-decided from the Bundle's new copies of the evidence.
        let (status, body) = post_json(&server, "/fhir", &transaction).await;
        assert_eq!(status, 200, "{body}");
        assert_unchanged(&first, &decision(&server).await, "a resent transaction");

        // 3. A message, then the same message again (same MessageHeader.id).
        let message = fixture_json("referral-message.json");
        let (status, response) = post_json(&server, "/fhir/$process-message", &message).await;
        assert_eq!(status, 200, "{response}");
        let after_message = decision(&server).await;
        assert_eq!(after_message.status, "accepted", "{}", after_message.task);
        let versions = server.stored_versions().await;
        let (status, again) = post_json(&server, "/fhir/$process-message", &message).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(again, response, "a resend gets the first response");
        assert_eq!(server.stored_versions().await, versions, "nothing stored");
        assert_unchanged(&after_message, &decision(&server).await, "a resent message");
    })
    .await;
}

#[tokio::test]
async fn an_accepted_referral_stays_accepted_when_unrelated_resources_share_its_identifiers() {
    on_each_backend(&[], |server| async move {
        let (status, body) =
            post_json(&server, "/fhir", &fixture_json("referral-transaction.json")).await;
        assert_eq!(status, 200, "{body}");
        let first = decision(&server).await;
        assert_eq!(first.status, "accepted", "{}", first.task);

        // Another ServiceRequest with the same placer identifier that references a patient
        // and coverage nobody sent: the evidence for it is missing, not contrary.
        let mut unrelated = fixture_json("referral-separate/13-servicerequest-referral.json");
        unrelated["id"] = "unrelated-referral".into();
        unrelated["subject"]["reference"] = "Patient/never-sent".into();
        unrelated["insurance"] = serde_json::json!([{"reference": "Coverage/never-sent"}]);
        let (status, body, _) = request(
            &server,
            Method::PUT,
            "/fhir/ServiceRequest/unrelated-referral",
            Some(&unrelated),
            &[],
        )
        .await;
        assert!(status == 200 || status == 201, "{body}");
        // and a Patient and a Coverage under other ids, with the same MRN and member id
        for name in ["04-patient-patient.json", "06-coverage-coverage.json"] {
            let resource = fixture_json(&format!("referral-separate/{name}"));
            let rt = resource["resourceType"].as_str().unwrap();
            let path = format!("/fhir/{rt}/{}", resource["id"].as_str().unwrap());
            let (status, body, _) = request(&server, Method::PUT, &path, Some(&resource), &[]).await;
            assert!(status == 200 || status == 201, "{name}: {body}");
        }

        let (_, tasks) = get_json(&server, "/fhir/Task?status=accepted,on-hold,rejected").await;
        let all: Vec<&Value> = tasks["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| &e["resource"])
            .collect();
        assert_eq!(all.len(), 1, "one referral, one Task: {tasks}");
        let task = all[0];
        assert_eq!(task["status"], "accepted", "{task}");
        // what the re-evaluation lacked is recorded, naming the criteria
        let note = task["note"].to_string();
        assert!(note.contains("stays accepted"), "{task}");
        assert!(
            task["output"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| o["type"]["coding"][0]["code"] == "missing-evidence"),
            "{task}"
        );
        // the plan the HIE reads is untouched
        let (_, plans) = get_json(
            &server,
            "/fhir/CarePlan?patient.identifier=http://hospital.example.org/fhir/sid/mrn|MRN-448210&status=active",
        )
        .await;
        assert_eq!(plans["entry"].as_array().map_or(0, Vec::len), 1, "{plans}");
    })
    .await;
}
