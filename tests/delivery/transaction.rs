//! A normal delivery: what the EHR receives, in both modes, and that resends never duplicate.

use super::fake_ehr::{references, FakeEhr};
use super::harness::*;
use hbpc_gateway::app::delivery::Delivery;
use hbpc_gateway::config::DeliveryMode;
use hbpc_gateway::store::delivery_request::ResourceKey;
use hbpc_gateway::store::outbox::DeliveryState;
use hbpc_gateway::store::WriteOp;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_referral_arrives_as_one_conditional_transaction() {
    for ts in stores().await {
        eprintln!("-- backend: {}", ts.backend);
        let ehr = FakeEhr::start().await;
        let settings = settings(&ehr, DeliveryMode::Transaction);
        let delivery = Delivery::new(&settings);
        let task = referral(&ts.store, &delivery, "1").await;
        let worker = start_worker(&ts.store, &settings);
        let done = settled(&ts.store, Duration::from_secs(20)).await;
        worker.stop().await;

        assert_eq!(done.len(), 1);
        let record = &done[0];
        assert_eq!(record.state, DeliveryState::Delivered, "{record:?}");
        assert_eq!(
            (record.task_id.as_str(), record.attempts),
            (task.as_str(), 1)
        );
        let upstream = record.upstream.as_ref().expect("upstream answer kept");
        assert_eq!(upstream[1]["resource"], "CarePlan/cp-1");
        assert!(upstream[1]["location"]
            .as_str()
            .unwrap()
            .starts_with("CarePlan/"));

        let requests = ehr.fhir_requests();
        assert_eq!(requests.len(), 1);
        let r = &requests[0];
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/fhir"));
        assert_eq!(
            r.headers["content-type"],
            "application/fhir+json; fhirVersion=4.0"
        );
        let bundle = r.json();
        assert_eq!(bundle["type"], "transaction");
        let entries = bundle["entry"].as_array().unwrap();
        let urls: Vec<&str> = entries
            .iter()
            .map(|e| e["request"]["url"].as_str().unwrap())
            .collect();
        assert_eq!(
            urls,
            [
                "Task?identifier=http://hbpc.example.org/fhir/sid/task|REF-1",
                "CarePlan?identifier=http://hbpc.example.org/fhir/sid/careplan|REF-1",
                "CareTeam?identifier=http://hbpc.example.org/fhir/sid/careteam|REF-1",
                "Goal?identifier=http://hbpc.example.org/fhir/sid/goal|REF-1",
            ]
        );
        assert!(entries.iter().all(|e| e["request"]["method"] == "PUT"));
        let full_url = |i: usize| entries[i]["fullUrl"].as_str().unwrap().to_string();
        assert!(full_url(0).starts_with("urn:uuid:"));
        let care_plan = &entries[1]["resource"];
        // Our ids and version stamps do not travel.
        assert!(
            care_plan.get("id").is_none() && care_plan.get("meta").is_none(),
            "{care_plan}"
        );
        // Among delivered resources: urn:uuid fullUrls.
        assert_eq!(care_plan["careTeam"][0]["reference"], full_url(2).as_str());
        assert_eq!(care_plan["goal"][0]["reference"], full_url(3).as_str());
        assert_eq!(
            entries[0]["resource"]["output"][0]["valueReference"]["reference"],
            full_url(1).as_str()
        );
        // To the EHR's own resources: logical references by their identifiers.
        assert_eq!(
            care_plan["subject"],
            json!({"display": "the patient", "type": "Patient",
                   "identifier": {"system": "http://hospital.example.org/fhir/sid/mrn", "value": "MRN-1"}})
        );
        assert_eq!(
            entries[0]["resource"]["focus"],
            json!({"type": "ServiceRequest",
                   "identifier": {"system": "http://hospital.example.org/fhir/sid/referral", "value": "REF-1"}})
        );
        for e in entries {
            for reference in references(&e["resource"]) {
                assert!(
                    reference.starts_with("urn:uuid:"),
                    "{reference} left in {}",
                    e["resource"]
                );
            }
        }
        assert_one_each(&ehr, &["1"]);
    }
}

#[tokio::test]
async fn per_resource_mode_sends_one_conditional_put_each() {
    for ts in stores().await {
        eprintln!("-- backend: {}", ts.backend);
        let ehr = FakeEhr::start().await;
        let settings = settings(&ehr, DeliveryMode::PerResource);
        let delivery = Delivery::new(&settings);
        referral(&ts.store, &delivery, "7").await;
        let worker = start_worker(&ts.store, &settings);
        let done = settled(&ts.store, Duration::from_secs(20)).await;
        worker.stop().await;
        assert_eq!(done[0].state, DeliveryState::Delivered);

        let requests = ehr.fhir_requests();
        let lines: Vec<String> = requests
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert_eq!(
            lines,
            [
                "PUT /fhir/Task?identifier=http://hbpc.example.org/fhir/sid/task|REF-7",
                "PUT /fhir/CarePlan?identifier=http://hbpc.example.org/fhir/sid/careplan|REF-7",
                "PUT /fhir/CareTeam?identifier=http://hbpc.example.org/fhir/sid/careteam|REF-7",
                "PUT /fhir/Goal?identifier=http://hbpc.example.org/fhir/sid/goal|REF-7",
            ]
        );
        // Without a transaction, delivered resources refer to each other by identifier.
        let care_plan = requests[1].json();
        assert_eq!(
            care_plan["careTeam"][0],
            json!({"type": "CareTeam", "identifier": {"system": format!("{SID}careteam"), "value": "REF-7"}})
        );
        assert_one_each(&ehr, &["7"]);
    }
}

#[tokio::test]
async fn a_newer_record_supersedes_and_the_current_version_is_sent() {
    for ts in stores().await {
        eprintln!("-- backend: {}", ts.backend);
        let ehr = FakeEhr::start().await;
        let settings = settings(&ehr, DeliveryMode::Transaction);
        let delivery = Delivery::new(&settings);
        let task = referral(&ts.store, &delivery, "2").await;
        // The workflow changes the CarePlan before the first delivery went out.
        let mut ops = vec![WriteOp::Update {
            resource_type: "CarePlan".into(),
            id: "cp-2".into(),
            resource: json!({"resourceType": "CarePlan", "identifier": identifier("careplan", "2"),
                "status": "revoked", "intent": "plan", "subject": {"reference": "Patient/p-2"}}),
            if_match: Some(1),
        }];
        ops.extend(delivery.enqueue(
            &Default::default(),
            &task,
            vec![ResourceKey::new("CarePlan", "cp-2")],
        ));
        ts.store.apply(ops).await.unwrap();

        let worker = start_worker(&ts.store, &settings);
        let done = settled(&ts.store, Duration::from_secs(20)).await;
        let states: Vec<_> = done.iter().map(|r| r.state).collect();
        assert_eq!(
            states,
            [DeliveryState::Delivered, DeliveryState::Superseded]
        );
        // The newer record took over the older one's resources.
        assert_eq!(done[0].resources.len(), 4, "{:?}", done[0].resources);
        assert_eq!(ehr.fhir_requests().len(), 1);
        assert_eq!(ehr.stored("CarePlan")[0].1["status"], "revoked");

        // A later change is sent again; upstream it updates, never duplicates.
        let mut ops = vec![WriteOp::Update {
            resource_type: "CarePlan".into(),
            id: "cp-2".into(),
            resource: json!({"resourceType": "CarePlan", "identifier": identifier("careplan", "2"),
                "status": "completed", "intent": "plan", "subject": {"reference": "Patient/p-2"}}),
            if_match: Some(2),
        }];
        ops.extend(delivery.enqueue(
            &Default::default(),
            &task,
            vec![ResourceKey::new("CarePlan", "cp-2")],
        ));
        ts.store.apply(ops).await.unwrap();
        let done = settled(&ts.store, Duration::from_secs(20)).await;
        worker.stop().await;
        assert_eq!(done[0].state, DeliveryState::Delivered);
        let care_plans = ehr.stored("CarePlan");
        assert_eq!(care_plans.len(), 1);
        assert_eq!(
            (care_plans[0].1["status"].as_str(), care_plans[0].2),
            (Some("completed"), 2)
        );
        assert_one_each(&ehr, &["2"]);
    }
}

#[tokio::test]
async fn nothing_is_enqueued_without_an_upstream() {
    let delivery = Delivery::new(&Default::default());
    assert!(!delivery.enabled());
    assert!(delivery
        .enqueue(
            &Default::default(),
            "t",
            vec![ResourceKey::new("Task", "t")]
        )
        .is_none());
}
