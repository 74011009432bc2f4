use crate::support::*;
use serde_json::{json, Value};

fn observation_with_precision() -> Value {
    // Parsed from text: the json! macro would turn 1.50 into an f64.
    serde_json::from_str(r#"{
        "resourceType": "Observation",
        "id": "client-chosen-id-is-ignored",
        "meta": { "profile": ["http://example.org/fhir/StructureDefinition/pain-score"] },
        "extension": [{ "url": "http://example.org/fhir/StructureDefinition/observed-at-home", "valueBoolean": true }],
        "modifierExtension": [{ "url": "http://example.org/fhir/StructureDefinition/home-visit-only", "valueBoolean": true }],
        "status": "final",
        "_status": { "extension": [{ "url": "http://example.org/fhir/StructureDefinition/status-source", "valueString": "nurse" }] },
        "code": { "coding": [{ "system": "http://loinc.org", "code": "72514-3" }] },
        "subject": { "reference": "Patient/p1", "display": "R. Delgado" },
        "valueQuantity": { "value": 1.50, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg" },
        "component": [{ "code": { "text": "precise" }, "valueQuantity": { "value": 0.000100 } }]
    }"#)
    .unwrap()
}

#[tokio::test]
async fn create_read_vread_round_trip_keeps_every_element() {
    on_each_backend(&[], |server| async move {
        let http = client();
        let sent = observation_with_precision();
        // Serialize by hand so 1.50 stays 1.50 on the wire.
        let text = sent.to_string();
        assert!(text.contains("1.50"));
        let res = http
            .post(server.url("Observation"))
            .header("Content-Type", FHIR_JSON)
            .body(text)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let location = res.headers()["location"].to_str().unwrap().to_string();
        let etag = res.headers()["etag"].to_str().unwrap().to_string();
        assert!(res.headers().contains_key("last-modified"));
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with(FHIR_JSON));
        assert_eq!(etag, "W/\"1\"");
        let created_text = res.text().await.unwrap();
        assert!(created_text.contains("\"value\":1.50"), "{created_text}");
        assert!(
            created_text.contains("\"value\":0.000100"),
            "{created_text}"
        );
        let created: Value = serde_json::from_str(&created_text).unwrap();
        let id = created["id"].as_str().unwrap().to_string();
        assert_ne!(id, "client-chosen-id-is-ignored");
        assert!(
            location.ends_with(&format!("/fhir/Observation/{id}/_history/1")),
            "{location}"
        );
        assert_eq!(created["meta"]["versionId"], "1");
        assert!(created["meta"]["lastUpdated"].is_string());
        assert_eq!(created["meta"]["profile"], sent["meta"]["profile"]);

        // Everything the client sent, apart from id and meta stamps, is kept as sent.
        let mut expected = sent.clone();
        expected["id"] = json!(id);
        expected["meta"]["versionId"] = json!("1");
        expected["meta"]["lastUpdated"] = created["meta"]["lastUpdated"].clone();
        assert_eq!(created, expected);

        let read = http
            .get(server.url(&format!("Observation/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), 200);
        assert_eq!(read.headers()["etag"], "W/\"1\"");
        assert_eq!(read.text().await.unwrap(), created_text);

        let vread = http.get(&location).send().await.unwrap();
        assert_eq!(vread.status(), 200);
        assert_eq!(vread.text().await.unwrap(), created_text);

        let not_modified = http
            .get(server.url(&format!("Observation/{id}")))
            .header("If-None-Match", "W/\"1\"")
            .send()
            .await
            .unwrap();
        assert_eq!(not_modified.status(), 304);
    })
    .await;
}

#[tokio::test]
async fn prefer_return_controls_the_body() {
    let server = TestServer::start().await;
    let http = client();
    let body = fixture_bytes("referral-separate/04-patient-patient.json");
    let minimal = http
        .post(server.url("Patient"))
        .header("Content-Type", FHIR_JSON)
        .header("Prefer", "return=minimal")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(minimal.status(), 201);
    assert!(minimal.headers().contains_key("location"));
    assert!(minimal.text().await.unwrap().is_empty());

    let outcome = http
        .post(server.url("Patient"))
        .header("Content-Type", FHIR_JSON)
        .header("Prefer", "return=OperationOutcome")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(outcome.status(), 201);
    let oo: Value = outcome.json().await.unwrap();
    assert_eq!(oo["resourceType"], "OperationOutcome");
    assert_eq!(oo["issue"][0]["severity"], "information");
}

#[tokio::test]
async fn separate_referral_resources_update_version_and_delete() {
    on_each_backend(&[], |server| async move {
        let http = client();
        let mut names: Vec<_> = std::fs::read_dir(fixture_path("referral-separate"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        let (referral, supporting) = names.split_last().unwrap();
        for name in supporting {
            let resource = fixture_json(&format!("referral-separate/{name}"));
            let url = server.url(&format!(
                "{}/{}",
                resource["resourceType"].as_str().unwrap(),
                resource["id"].as_str().unwrap()
            ));
            let res = http
                .put(&url)
                .header("Content-Type", FHIR_JSON)
                .body(resource.to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201, "{name}: update-as-create");
        }
        let res = http
            .post(server.url("ServiceRequest"))
            .header("Content-Type", FHIR_JSON)
            .body(fixture_bytes(&format!("referral-separate/{referral}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let sr: Value = res.json().await.unwrap();
        assert_eq!(sr["subject"]["reference"], "Patient/hbpc-example-patient");

        // Update with the right version, then with a stale one.
        let patient_url = server.url("Patient/hbpc-example-patient");
        let mut patient = fixture_json("referral-separate/04-patient-patient.json");
        patient["telecom"][0]["value"] = json!("+1-510-555-0100");
        let ok = http
            .put(&patient_url)
            .header("Content-Type", FHIR_JSON)
            .header("If-Match", "W/\"1\"")
            .body(patient.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.headers()["etag"], "W/\"2\"");
        let stale = http
            .put(&patient_url)
            .header("Content-Type", FHIR_JSON)
            .header("If-Match", "W/\"1\"")
            .body(patient.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), 412);
        assert_outcome(&stale.json().await.unwrap(), "conflict");

        let v1: Value = http
            .get(format!("{patient_url}/_history/1"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v1["telecom"][0]["value"], "+1-510-555-0198");

        let deleted = http.delete(&patient_url).send().await.unwrap();
        assert_eq!(deleted.status(), 200);
        let gone = http.get(&patient_url).send().await.unwrap();
        assert_eq!(gone.status(), 410);
        assert_outcome(&gone.json().await.unwrap(), "deleted");
        let v2 = http
            .get(format!("{patient_url}/_history/2"))
            .send()
            .await
            .unwrap();
        assert_eq!(v2.status(), 200, "older versions stay readable");
    })
    .await;
}

#[tokio::test]
async fn capability_statement_lists_what_is_served() {
    let server = TestServer::start().await;
    let http = client();
    let res = http.get(server.url("metadata")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let cs: Value = res.json().await.unwrap();
    assert_eq!(cs["fhirVersion"], "4.0.1");
    assert!(
        cs["rest"][0].get("security").is_none(),
        "auth is off: no security to advertise, and never a null"
    );
    let resources = cs["rest"][0]["resource"].as_array().unwrap();
    let sr = resources
        .iter()
        .find(|r| r["type"] == "ServiceRequest")
        .unwrap();
    let codes: Vec<&str> = sr["interaction"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "create",
            "read",
            "vread",
            "update",
            "patch",
            "delete",
            "search-type",
            "history-instance",
            "history-type"
        ]
    );
    // Every advertised type really answers; an unadvertised one does not.
    for r in resources {
        let t = r["type"].as_str().unwrap();
        let res = http
            .get(server.url(&format!("{t}/does-not-exist")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        assert_outcome(&res.json().await.unwrap(), "not-found");
    }
    let res = http.get(server.url("Medication/x")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_outcome(&res.json().await.unwrap(), "not-supported");
    let system: Vec<&str> = cs["rest"][0]["interaction"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap())
        .collect();
    assert_eq!(system, ["transaction", "batch", "history-system"]);
}

#[tokio::test]
async fn health_and_request_id() {
    let server = TestServer::start().await;
    let http = client();
    let res = http
        .get(format!("http://127.0.0.1:{}/healthz", server.port))
        .header("X-Request-Id", "ehr-trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-request-id"], "ehr-trace-42");
    let ready = http
        .get(format!("http://127.0.0.1:{}/readyz", server.port))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert!(ready.headers().contains_key("x-request-id"));
}
