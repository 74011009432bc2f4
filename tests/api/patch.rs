//! `PATCH /fhir/{type}/{id}`: JSON Patch and FHIRPath Patch stored as updates, with If-Match,
//! validation of the result and an audit record, on each backend.

use crate::support::*;
use reqwest::Method;
use serde_json::{json, Value};

const JSON_PATCH: &str = "application/json-patch+json";

async fn patch(
    server: &TestServer,
    path: &str,
    content_type: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut req = client()
        .request(Method::PATCH, server.url(path))
        .header("Accept", FHIR_JSON)
        .header("Content-Type", content_type)
        .body(body.to_string());
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let res = req.send().await.expect("patch");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, json, headers)
}

fn operation(parts: Value) -> Value {
    json!({"resourceType": "Parameters", "parameter": [{"name": "operation", "part": parts}]})
}

async fn version_of(server: &TestServer, path: &str) -> String {
    let (status, body) = get_json(server, path).await;
    assert_eq!(status, 200, "{body}");
    body["meta"]["versionId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn json_patch_and_fhirpath_patch_are_updates_with_if_match_and_validation() {
    on_each_backend(&[], |server| async move {
        let (status, _, _) = request(
            &server,
            Method::PUT,
            "/fhir/Patient/pp1",
            Some(
                &json!({"resourceType": "Patient", "id": "pp1", "active": true,
                         "name": [{"family": "Lee", "given": ["Ann"]}]}),
            ),
            &[],
        )
        .await;
        assert_eq!(status, 201);

        // JSON Patch
        let (status, body, headers) = patch(
            &server,
            "Patient/pp1",
            JSON_PATCH,
            &json!([{"op": "test", "path": "/name/0/family", "value": "Lee"},
                    {"op": "replace", "path": "/active", "value": false},
                    {"op": "add", "path": "/name/0/given/-", "value": "Beth"}]),
            &[("If-Match", "W/\"1\""), ("X-Request-Id", "patch-audit-1")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(headers["etag"], "W/\"2\"");
        assert_eq!(body["active"], false);
        assert_eq!(body["name"][0]["given"], json!(["Ann", "Beth"]));
        assert_eq!(body["meta"]["versionId"], "2");

        // FHIRPath Patch, without If-Match
        let (status, body, _) = patch(
            &server,
            "Patient/pp1",
            FHIR_JSON,
            &operation(json!([{"name": "type", "valueCode": "add"},
                              {"name": "path", "valueString": "Patient"},
                              {"name": "name", "valueString": "birthDate"},
                              {"name": "value", "valueDate": "1940-02-03"}])),
            &[],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["birthDate"], "1940-02-03");
        assert_eq!(body["meta"]["versionId"], "3");
        let (_, history) = get_json(&server, "/fhir/Patient/pp1/_history").await;
        assert_eq!(
            history["entry"].as_array().map(Vec::len),
            Some(3),
            "{history}"
        );

        // a stale If-Match: 412, nothing stored
        let (status, body, _) = patch(
            &server,
            "Patient/pp1",
            JSON_PATCH,
            &json!([{"op": "replace", "path": "/active", "value": true}]),
            &[("If-Match", "W/\"1\"")],
        )
        .await;
        assert_eq!(status, 412, "{body}");
        assert_outcome(&body, "conflict");

        // refused: the id, a failed test, a result that is not valid R4, a bad document
        for (content_type, doc, want, code) in [
            (
                JSON_PATCH,
                json!([{"op": "replace", "path": "/id", "value": "other"}]),
                422,
                "processing",
            ),
            (
                JSON_PATCH,
                json!([{"op": "remove", "path": "/resourceType"}]),
                422,
                "processing",
            ),
            (
                JSON_PATCH,
                json!([{"op": "test", "path": "/active", "value": true}]),
                422,
                "processing",
            ),
            (
                JSON_PATCH,
                json!([{"op": "replace", "path": "/gender", "value": "robot"}]),
                422,
                "",
            ),
            (
                JSON_PATCH,
                json!([{"op": "add", "path": "/birthDate", "value": 1940}]),
                422,
                "",
            ),
            (
                JSON_PATCH,
                json!([{"op": "jump", "path": "/active"}]),
                400,
                "invalid",
            ),
            (JSON_PATCH, json!({"op": "add"}), 400, "invalid"),
            (
                FHIR_JSON,
                operation(json!([{"name": "type", "valueCode": "replace"},
                                         {"name": "path", "valueString": "Patient.id"},
                                         {"name": "value", "valueId": "x"}])),
                422,
                "processing",
            ),
            (
                FHIR_JSON,
                json!({"resourceType": "Patient"}),
                400,
                "invalid",
            ),
            ("text/plain", json!([]), 415, "not-supported"),
        ] {
            let (status, body, _) = patch(&server, "Patient/pp1", content_type, &doc, &[]).await;
            assert_eq!(status, want, "{doc}: {body}");
            assert_eq!(body["resourceType"], "OperationOutcome", "{doc}: {body}");
            if !code.is_empty() {
                assert_outcome(&body, code);
            }
            let text = body["issue"][0]["details"]["text"]
                .as_str()
                .unwrap_or_default();
            assert!(!text.is_empty(), "{doc}: {body}");
        }
        let (_, body, _) = patch(
            &server,
            "Patient/pp1",
            JSON_PATCH,
            &json!([{"op": "test", "path": "/name/0/family", "value": "Kim"}]),
            &[],
        )
        .await;
        assert_eq!(expressions(&body), vec!["Patient.name[0].family"], "{body}");
        assert_eq!(
            version_of(&server, "/fhir/Patient/pp1").await,
            "3",
            "nothing was stored"
        );

        // what is not there
        let (status, _, _) = patch(&server, "Patient/nope", JSON_PATCH, &json!([]), &[]).await;
        assert_eq!(status, 404);

        // audited like an update
        let mut found = None;
        for _ in 0..250 {
            let (_, trail) = get_json(&server, "/fhir/AuditEvent?_count=1000").await;
            found = trail["entry"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|e| {
                    e["resource"]["entity"].as_array().is_some_and(|es| {
                        es.iter()
                            .any(|x| x["what"]["identifier"]["value"] == "patch-audit-1")
                    })
                })
                .cloned();
            if found.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let record = found.expect("the PATCH has an audit record");
        assert_eq!(
            record["resource"]["subtype"][0]["code"], "patch",
            "{record}"
        );
        assert_eq!(record["resource"]["outcome"], "0", "{record}");

        // advertised
        let (_, capability) = get_json(&server, "/fhir/metadata").await;
        let patient = capability["rest"][0]["resource"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == "Patient")
            .unwrap()
            .clone();
        assert!(patient["interaction"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["code"] == "patch"));
    })
    .await;
}

#[tokio::test]
async fn conditional_patch_patches_the_one_match() {
    let server = TestServer::start().await;
    for (id, value) in [("cp1", "A-1"), ("cp2", "B-1"), ("cp3", "B-1")] {
        let (status, _, _) = request(
            &server,
            Method::PUT,
            &format!("/fhir/Patient/{id}"),
            Some(&json!({"resourceType": "Patient", "id": id,
                         "identifier": [{"system": "urn:mrn", "value": value}]})),
            &[],
        )
        .await;
        assert_eq!(status, 201);
    }
    let doc = json!([{"op": "add", "path": "/gender", "value": "female"}]);
    let (status, body, _) = patch(
        &server,
        "Patient?identifier=urn:mrn|A-1",
        JSON_PATCH,
        &doc,
        &[],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], "cp1");
    assert_eq!(body["gender"], "female");
    let (status, body, _) = patch(
        &server,
        "Patient?identifier=urn:mrn|B-1",
        JSON_PATCH,
        &doc,
        &[],
    )
    .await;
    assert_eq!(status, 412, "{body}");
    assert_outcome(&body, "duplicate");
    let (status, body, _) = patch(
        &server,
        "Patient?identifier=urn:mrn|none",
        JSON_PATCH,
        &doc,
        &[],
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_outcome(&body, "not-found");
    assert_eq!(version_of(&server, "/fhir/Patient/cp2").await, "1");
    assert_eq!(version_of(&server, "/fhir/Patient/cp3").await, "1");
}
