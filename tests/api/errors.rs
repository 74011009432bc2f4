use crate::support::*;
use serde_json::Value;

/// Every fixture under fixtures/ is listed in expected-outcomes.json, and every listed
/// error fixture gets exactly its documented status, issue code and expression.
#[tokio::test]
async fn invalid_fixtures_get_their_documented_outcome_and_store_nothing() {
    let expected: Vec<Value> =
        serde_json::from_slice(&fixture_bytes("expected-outcomes.json")).unwrap();
    let listed: Vec<&str> = expected
        .iter()
        .map(|e| e["fixture"].as_str().unwrap())
        .collect();
    for entry in std::fs::read_dir(fixture_path("invalid")).unwrap() {
        let name = format!("invalid/{}", entry.unwrap().file_name().to_string_lossy());
        assert!(
            listed.contains(&name.as_str()),
            "{name} has no expected outcome"
        );
    }

    on_each_backend(&[], |server| {
        let expected = expected.clone();
        async move {
            let http = client();
            for case in expected.iter().filter(|e| e["issueCode"].is_string()) {
                let fixture = case["fixture"].as_str().unwrap();
                let path = case["request"]
                    .as_str()
                    .unwrap()
                    .strip_prefix("POST /fhir")
                    .unwrap();
                let res = http
                    .post(format!("{}{path}", server.base))
                    .header("Content-Type", FHIR_JSON)
                    .body(fixture_bytes(fixture))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    res.status().as_u16() as u64,
                    case["status"].as_u64().unwrap(),
                    "{fixture}"
                );
                let body: Value = res.json().await.unwrap();
                assert_outcome(&body, case["issueCode"].as_str().unwrap());
                if let Some(expression) = case["expression"].as_str() {
                    assert!(
                        expressions(&body).iter().any(|e| e == expression),
                        "{fixture}: expected expression {expression} in {body}"
                    );
                }
                if let Some(text) = case["textContains"].as_str() {
                    assert!(
                        body.to_string().contains(text),
                        "{fixture}: expected '{text}' in {body}"
                    );
                }
            }
            assert_eq!(
                server.stored_versions().await,
                0,
                "rejected requests store nothing"
            );
        }
    })
    .await;
}

async fn post(server: &TestServer, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let res = client()
        .post(server.url(path))
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn every_error_class_is_an_operation_outcome() {
    on_each_backend(
        &[("HBPC_LIMITS_MAX_BODY_BYTES", "65536")],
        |server| async move {
            let http = client();
            let referral = fixture_bytes("referral-separate/13-servicerequest-referral.json");

            let (status, body) =
                post(&server, "ServiceRequest", "text/plain", referral.clone()).await;
            assert_eq!(status, 415);
            assert_outcome(&body, "not-supported");

            let (status, body) = post(
                &server,
                "ServiceRequest",
                "application/fhir+json; fhirVersion=3.0",
                referral.clone(),
            )
            .await;
            assert_eq!(status, 415);
            assert_outcome(&body, "not-supported");

            let (status, body) = post(
                &server,
                "ServiceRequest",
                "application/json",
                referral.clone(),
            )
            .await;
            assert_eq!(status, 201, "application/json is accepted: {body}");
            // the referral and its evaluation (Task, Provenance, program resources)
            let stored = server.stored_versions().await;

            let res = http
                .post(server.url("ServiceRequest"))
                .header("Content-Type", FHIR_JSON)
                .header("Accept", "application/pdf")
                .body(referral.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 406);
            assert_outcome(&res.json().await.unwrap(), "not-supported");

            // Wrong resource type for the URL.
            let (status, body) = post(&server, "Patient", FHIR_JSON, referral.clone()).await;
            assert_eq!(status, 400);
            assert_outcome(&body, "invalid");
            assert_eq!(expressions(&body), ["ServiceRequest.resourceType"]);

            // Over the body limit, declared and streamed.
            let mut big =
                b"{\"resourceType\":\"Patient\",\"text\":{\"status\":\"generated\",\"div\":\""
                    .to_vec();
            big.extend(std::iter::repeat_n(b'a', 70_000));
            big.extend_from_slice(b"\"}}");
            let (status, body) = post(&server, "Patient", FHIR_JSON, big.clone()).await;
            assert_eq!(status, 413);
            assert_outcome(&body, "too-long");
            let stream = futures_util::stream::iter(
                big.chunks(8192)
                    .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
                    .collect::<Vec<_>>(),
            );
            let res = http
                .post(server.url("Patient"))
                .header("Content-Type", FHIR_JSON)
                .body(reqwest::Body::wrap_stream(stream))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 413);

            let (status, body) = post(&server, "Patient", FHIR_JSON, Vec::new()).await;
            assert_eq!(status, 400);
            assert_outcome(&body, "required");

            let (status, body) = post(&server, "Patient", FHIR_JSON, b"[1,2]".to_vec()).await;
            assert_eq!(status, 400);
            assert_outcome(&body, "structure");

            let (status, body) =
                post(&server, "Patient", FHIR_JSON, b"{\"name\":[]}".to_vec()).await;
            assert_eq!(status, 400);
            assert_outcome(&body, "required");

            // Unknown routes, methods and types.
            let res = http
                .get(format!("http://127.0.0.1:{}/nowhere", server.port))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 404);
            assert_outcome(&res.json().await.unwrap(), "not-found");
            // 405 names what the URL serves in `Allow`
            for (method, path, allow) in [
                (
                    reqwest::Method::POST,
                    "/fhir/Patient/x",
                    "GET, PUT, PATCH, DELETE",
                ),
                (
                    reqwest::Method::OPTIONS,
                    "/fhir/Patient",
                    "POST, GET, PUT, PATCH, DELETE",
                ),
                (reqwest::Method::DELETE, "/fhir/metadata", "GET"),
                (reqwest::Method::GET, "/fhir/$process-message", "POST"),
                (reqwest::Method::PUT, "/fhir/Patient/x/_history", "GET"),
                (reqwest::Method::POST, "/healthz", "GET"),
                (reqwest::Method::DELETE, "/admin/deliveries", "GET"),
            ] {
                let url = format!("http://127.0.0.1:{}{path}", server.port);
                let res = http.request(method.clone(), &url).send().await.unwrap();
                assert_eq!(res.status(), 405, "{method} {path}");
                assert_eq!(
                    res.headers().get("allow").and_then(|v| v.to_str().ok()),
                    Some(allow),
                    "{method} {path}"
                );
                assert_outcome(&res.json().await.unwrap(), "not-supported");
            }
            let (status, body) = post(
                &server,
                "Basic",
                FHIR_JSON,
                br#"{"resourceType":"Basic","code":{"text":"x"}}"#.to_vec(),
            )
            .await;
            assert_eq!(status, 404);
            assert_outcome(&body, "not-supported");
            let res = http
                .get(server.url("Patient/bad id!"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 404);
            let res = http
                .get(server.url("Patient/x/_history/notanumber"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 404);
            assert_outcome(&res.json().await.unwrap(), "not-found");
            let res = http
                .put(server.url("Patient/other-id"))
                .header("Content-Type", FHIR_JSON)
                .body(fixture_bytes("referral-separate/04-patient-patient.json"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 400, "id in body must match the URL");
            assert_outcome(&res.json().await.unwrap(), "invalid");

            // A message Bundle on the transaction endpoint, and a Bundle over the entry limit.
            let (status, body) = post(
                &server,
                "",
                FHIR_JSON,
                br#"{"resourceType":"Bundle","type":"message"}"#.to_vec(),
            )
            .await;
            assert_eq!(status, 400);
            assert_outcome(&body, "not-supported");

            assert_eq!(
                server.stored_versions().await,
                stored,
                "only the one valid create was stored"
            );
        },
    )
    .await;
}
