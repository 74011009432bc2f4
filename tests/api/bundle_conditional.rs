//! Transaction and batch entries beyond plain writes (issue #20): references resolved against
//! absolute fullUrls, conditional update and delete URLs, conditional references, `ifMatch`,
//! `ifNoneMatch`, GET reads and searches in R4 processing order; and `POST [type]?criteria`.

use crate::support::*;
use reqwest::Method;
use serde_json::{json, Value};

const EHR: &str = "http://ehr.example.org/fhir";

async fn post_bundle(server: &TestServer, bundle: &Value) -> (u16, Value) {
    let (status, body, _) = request(
        server,
        Method::POST,
        "/fhir",
        Some(bundle),
        &[("Prefer", "return=representation")],
    )
    .await;
    (status, body)
}

fn patient(mrn: &str) -> Value {
    json!({"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": mrn}],
           "name": [{"family": "Okafor", "given": ["Ada"]}]})
}

fn observation(identifier: &str, subject: &str) -> Value {
    json!({"resourceType": "Observation", "status": "final",
           "identifier": [{"system": "urn:obs", "value": identifier}],
           "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
           "subject": {"reference": subject}, "valueInteger": 7})
}

fn related_person(patient: &str, phone: &str) -> Value {
    json!({"resourceType": "RelatedPerson", "identifier": [{"system": "urn:rp", "value": "R-1"}],
           "patient": {"reference": patient}, "telecom": [{"system": "phone", "value": phone}]})
}

async fn create(server: &TestServer, resource: &Value) -> String {
    let rt = resource["resourceType"].as_str().unwrap();
    let (status, body) = post_json(server, &format!("/fhir/{rt}"), resource).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

fn statuses(response: &Value) -> Vec<String> {
    response["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["response"]["status"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn transaction_resolves_full_urls_conditional_urls_and_references_then_reads() {
    on_each_backend(&[], |server| async move {
        let known = create(&server, &patient("T-1")).await;
        let old_obs = create(&server, &observation("old", &format!("Patient/{known}"))).await;
        let rp = create(
            &server,
            &related_person(&format!("Patient/{known}"), "555-0100"),
        )
        .await;

        let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            // a GET first in the request: still processed after every write
            {"request": {"method": "GET", "url": "Patient?identifier=urn:mrn|T-2"}},
            {"fullUrl": format!("{EHR}/Observation/o-1"),
             "resource": {
                 "resourceType": "Observation", "status": "final",
                 "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
                 "subject": {"reference": "Patient?identifier=urn:mrn|T-1"},
                 "derivedFrom": [{"reference": "Observation/o-2"}]},
             "request": {"method": "POST", "url": "Observation"}},
            {"fullUrl": format!("{EHR}/Observation/o-2"),
             "resource": observation("o-2", &format!("{EHR}/Patient/ehr-p")),
             "request": {"method": "POST", "url": "Observation"}},
            {"fullUrl": format!("{EHR}/Patient/ehr-p"), "resource": patient("T-2"),
             "request": {"method": "POST", "url": "Patient"}},
            {"fullUrl": format!("{EHR}/RelatedPerson/rp"),
             "resource": related_person("Patient/ehr-p", "555-0199"),
             "request": {"method": "PUT", "url": "RelatedPerson?identifier=urn:rp|R-1",
                         "ifMatch": "W/\"1\""}},
            {"request": {"method": "DELETE", "url": "Observation?identifier=urn:obs|old"}},
            {"request": {"method": "GET", "url": format!("Patient/{known}"),
                         "ifNoneMatch": "W/\"1\""}},
            {"request": {"method": "GET", "url": format!("RelatedPerson/{rp}")}},
            {"request": {"method": "GET", "url": format!("RelatedPerson/{rp}/_history/1")}},
        ]});
        let (status, response) = post_bundle(&server, &bundle).await;
        assert_eq!(status, 200, "{response}");
        assert_eq!(
            statuses(&response),
            [
                "200 OK",
                "201 Created",
                "201 Created",
                "201 Created",
                "200 OK",
                "204 No Content",
                "304 Not Modified",
                "200 OK",
                "200 OK"
            ],
            "{response}"
        );
        let entries = response["entry"].as_array().unwrap();
        let id_of = |i: usize| entries[i]["resource"]["id"].as_str().unwrap().to_string();
        let new_patient = id_of(3);
        assert_ne!(new_patient, "ehr-p", "POST assigns the server's id");

        // conditional reference, relative reference against the entry's base, absolute
        // reference: each stored pointing at this server's resource
        let (_, o1) = get_json(&server, &format!("/fhir/Observation/{}", id_of(1))).await;
        assert_eq!(o1["subject"]["reference"], format!("Patient/{known}"));
        assert_eq!(
            o1["derivedFrom"][0]["reference"],
            format!("Observation/{}", id_of(2))
        );
        let (_, o2) = get_json(&server, &format!("/fhir/Observation/{}", id_of(2))).await;
        assert_eq!(o2["subject"]["reference"], format!("Patient/{new_patient}"));

        // the conditional update updated the one match
        assert_eq!(id_of(4), rp);
        let (_, stored_rp) = get_json(&server, &format!("/fhir/RelatedPerson/{rp}")).await;
        assert_eq!(stored_rp["meta"]["versionId"], "2");
        assert_eq!(
            stored_rp["patient"]["reference"],
            format!("Patient/{new_patient}")
        );
        // the conditional delete deleted the one match
        let (status, _) = get_json(&server, &format!("/fhir/Observation/{old_obs}")).await;
        assert_eq!(status, 410);

        // GETs ran after the writes: the search finds the Patient this Bundle created, the
        // read sees the RelatedPerson's new version
        let searchset = &entries[0]["resource"];
        assert_eq!(searchset["type"], "searchset", "{searchset}");
        assert_eq!(searchset["entry"].as_array().unwrap().len(), 1);
        assert_eq!(
            searchset["entry"][0]["resource"]["id"],
            new_patient.as_str()
        );
        assert!(entries[6].get("resource").is_none(), "304 has no body");
        assert_eq!(entries[6]["response"]["etag"], "W/\"1\"");
        assert_eq!(entries[7]["resource"]["meta"]["versionId"], "2");
        assert_eq!(entries[7]["response"]["etag"], "W/\"2\"");
        // a vread: the version before the conditional update
        assert_eq!(entries[8]["resource"]["meta"]["versionId"], "1");
        assert_eq!(
            entries[8]["resource"]["telecom"][0]["value"], "555-0100",
            "{response}"
        );
    })
    .await;
}

#[tokio::test]
async fn conditional_references_that_match_none_or_several_fail_the_transaction() {
    on_each_backend(&[], |server| async move {
        let first = create(&server, &patient("DUP")).await;
        create(&server, &patient("DUP")).await;
        let stored = server.stored_versions().await;
        for (criteria, code) in [("urn:mrn|NONE", "not-found"), ("urn:mrn|DUP", "duplicate")] {
            let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
                {"resource": patient("OTHER"), "request": {"method": "POST", "url": "Patient"}},
                {"resource": observation("x", &format!("Patient?identifier={criteria}")),
                 "request": {"method": "POST", "url": "Observation"}},
            ]});
            let (status, body) = post_bundle(&server, &bundle).await;
            assert_eq!(status, 412, "{criteria}: {body}");
            assert_outcome(&body, code);
            assert_eq!(
                expressions(&body),
                ["Bundle.entry[1].resource.subject.reference"]
            );
            assert_eq!(server.stored_versions().await, stored, "nothing stored");
        }
        // a conditional update whose criteria match several: 412 at the entry's URL
        let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": patient("DUP"),
             "request": {"method": "PUT", "url": "Patient?identifier=urn:mrn|DUP"}},
        ]});
        let (status, body) = post_bundle(&server, &bundle).await;
        assert_eq!(status, 412, "{body}");
        assert_eq!(expressions(&body), ["Bundle.entry[0].request.url"]);
        // a stale ifMatch on a DELETE: 412, the Patient stays
        let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"request": {"method": "DELETE", "url": format!("Patient/{first}"),
                         "ifMatch": "W/\"7\""}},
        ]});
        let (status, body) = post_bundle(&server, &bundle).await;
        assert_eq!(status, 412, "{body}");
        assert_outcome(&body, "conflict");
        let (status, _) = get_json(&server, &format!("/fhir/Patient/{first}")).await;
        assert_eq!(status, 200);
        assert_eq!(server.stored_versions().await, stored);
    })
    .await;
}

#[tokio::test]
async fn batch_entries_resolve_alone_and_run_in_processing_order() {
    on_each_backend(&[], |server| async move {
        let known = create(&server, &patient("B-1")).await;
        let bundle = json!({"resourceType": "Bundle", "type": "batch", "entry": [
            // reads see the batch's writes (GET is processed last)
            {"request": {"method": "GET", "url": "Observation?subject=Patient/".to_string() + &known}},
            {"resource": observation("b-1", "Patient?identifier=urn:mrn|B-1"),
             "request": {"method": "POST", "url": "Observation"}},
            // an entry the batch creates has no id a sibling could use
            {"fullUrl": "urn:uuid:1b7d5c8e-3f4a-4b6e-9c2d-8e1f0a3b5c7d", "resource": patient("B-2"),
             "request": {"method": "POST", "url": "Patient"}},
            {"resource": observation("b-2", "urn:uuid:1b7d5c8e-3f4a-4b6e-9c2d-8e1f0a3b5c7d"),
             "request": {"method": "POST", "url": "Observation"}},
            // a PUT's id is known up front: a sibling's relative reference resolves to it
            {"fullUrl": format!("{EHR}/Patient/b-3"), "resource": {"resourceType": "Patient", "id": "b-3"},
             "request": {"method": "PUT", "url": "Patient/b-3"}},
            {"fullUrl": format!("{EHR}/Observation/b-3"), "resource": observation("b-3", "Patient/b-3"),
             "request": {"method": "POST", "url": "Observation"}},
            {"request": {"method": "GET", "url": "Patient/unknown-id"}},
            {"resource": observation("b-4", "Patient?identifier=urn:mrn|NONE"),
             "request": {"method": "POST", "url": "Observation"}},
            // a conditional update that matches nothing creates; a conditional delete that
            // matches nothing does nothing
            {"resource": {"resourceType": "Patient", "id": "ignored",
                          "identifier": [{"system": "urn:mrn", "value": "B-9"}]},
             "request": {"method": "PUT", "url": "Patient?identifier=urn:mrn|B-9"}},
            {"request": {"method": "DELETE", "url": "Observation?identifier=urn:obs|none"}},
        ]});
        let (status, response) = post_bundle(&server, &bundle).await;
        assert_eq!(status, 200, "{response}");
        assert_eq!(
            statuses(&response),
            [
                "200 OK",
                "201 Created",
                "201 Created",
                "400 Bad Request",
                "201 Created",
                "201 Created",
                "404 Not Found",
                "412 Precondition Failed",
                "201 Created",
                "204 No Content"
            ],
            "{response}"
        );
        let entries = response["entry"].as_array().unwrap();
        assert_eq!(entries[0]["resource"]["entry"].as_array().unwrap().len(), 1);
        assert_eq!(
            entries[1]["resource"]["subject"]["reference"],
            format!("Patient/{known}")
        );
        assert_eq!(
            expressions(&entries[3]["response"]["outcome"]),
            ["Bundle.entry[3].resource.subject.reference"]
        );
        assert_eq!(entries[5]["resource"]["subject"]["reference"], "Patient/b-3");
        assert_ne!(entries[8]["resource"]["id"], "ignored", "R4: a create");
        assert_eq!(server.stored_with_identifier("Patient", "B-9").await, 1);
    })
    .await;
}

#[tokio::test]
async fn post_with_criteria_in_the_query_is_a_conditional_create() {
    on_each_backend(&[], |server| async move {
        let path = "/fhir/Patient?identifier=urn%3Amrn%7CQ-1";
        let (first, created, _) =
            request(&server, Method::POST, path, Some(&patient("Q-1")), &[]).await;
        assert_eq!(first, 201, "{created}");
        let (second, existing, _) =
            request(&server, Method::POST, path, Some(&patient("Q-1")), &[]).await;
        assert_eq!(second, 200, "{existing}");
        assert_eq!(existing["id"], created["id"]);
        assert_eq!(server.stored_with_identifier("Patient", "Q-1").await, 1);
        // the same criteria in the header agree; other criteria contradict the query
        let (status, _, _) = request(
            &server,
            Method::POST,
            path,
            Some(&patient("Q-1")),
            &[("If-None-Exist", "identifier=urn:mrn|Q-1")],
        )
        .await;
        assert_eq!(status, 200);
        let (status, body, _) = request(
            &server,
            Method::POST,
            path,
            Some(&patient("Q-1")),
            &[("If-None-Exist", "identifier=urn:mrn|Q-2")],
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_outcome(&body, "invalid");
        assert_eq!(server.stored_with_identifier("Patient", "Q-1").await, 1);
    })
    .await;
}
