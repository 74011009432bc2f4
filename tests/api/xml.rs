//! FHIR XML through the real server: XML bodies on create, update, transaction and
//! `$validate`; XML answers by `Accept` and `_format` (which overrides `Accept`) for resources,
//! Bundles and OperationOutcomes, errors included; 406 and 415 for formats we do not speak.

use crate::support::*;
use fhir_engine::json::JsonLimits;
use serde_json::Value;

const FHIR_XML: &str = "application/fhir+xml";

const LIMITS: JsonLimits = JsonLimits {
    max_depth: 64,
    max_elements: 1_000_000,
};

/// A fixture written as FHIR XML by the engine's writer.
fn fixture_xml(name: &str) -> String {
    fhir_engine::xml::write_resource(&fixture_json(name))
}

fn read_xml(text: &str) -> Value {
    fhir_engine::xml::parse_resource(text.as_bytes(), LIMITS)
        .unwrap_or_else(|e| panic!("not FHIR XML ({e}): {text}"))
}

async fn send(
    request: reqwest::RequestBuilder,
    content_type: &str,
    body: String,
) -> (u16, String, String) {
    let res = request
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, content_type, res.text().await.unwrap())
}

async fn get(server: &TestServer, path: &str, accept: Option<&str>) -> (u16, String, String) {
    let mut request = client().get(server.url(path));
    if let Some(accept) = accept {
        request = request.header("Accept", accept);
    }
    let res = request.send().await.unwrap();
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, content_type, res.text().await.unwrap())
}

#[tokio::test]
async fn xml_bodies_are_stored_and_read_back_in_either_format() {
    let server = TestServer::start().await;
    let files: Vec<String> = std::fs::read_dir(fixture_path("referral-separate"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| !n.starts_with("13-"))
        .collect();
    for name in &files {
        let resource = fixture_json(&format!("referral-separate/{name}"));
        let path = format!(
            "{}/{}",
            resource["resourceType"].as_str().unwrap(),
            resource["id"].as_str().unwrap()
        );
        let (status, _, body) = send(
            client().put(server.url(&path)),
            FHIR_XML,
            fixture_xml(&format!("referral-separate/{name}")),
        )
        .await;
        assert_eq!(status, 201, "{name}: {body}");
        // the answer is JSON (nothing asked for XML) and holds what the XML said
        let stored: Value = serde_json::from_str(&body).unwrap();
        let mut sent = resource.clone();
        sent["meta"] = stored["meta"].clone();
        assert_eq!(stored, sent, "{name}");

        let (status, content_type, xml) = get(&server, &path, Some(FHIR_XML)).await;
        assert_eq!(status, 200);
        assert!(
            content_type.starts_with("application/fhir+xml"),
            "{content_type}"
        );
        assert_eq!(read_xml(&xml), stored, "{name}");
    }
    // the referral itself as `text/xml`, answered in XML
    let (status, content_type, xml) = send(
        client()
            .post(server.url("ServiceRequest"))
            .header("Accept", "application/xml"),
        "text/xml",
        fixture_xml("referral-separate/13-servicerequest-referral.json"),
    )
    .await;
    assert_eq!(status, 201, "{xml}");
    assert!(content_type.starts_with("application/fhir+xml"));
    let referral = read_xml(&xml);
    assert_eq!(referral["resourceType"], "ServiceRequest");
    let id = referral["id"].as_str().unwrap();

    // `_format` overrides Accept, both ways
    let (_, content_type, body) = get(
        &server,
        &format!("ServiceRequest/{id}?_format=xml"),
        Some(FHIR_JSON),
    )
    .await;
    assert!(
        content_type.starts_with("application/fhir+xml"),
        "{content_type}"
    );
    assert_eq!(read_xml(&body), referral);
    let (_, content_type, body) = get(
        &server,
        &format!("ServiceRequest/{id}?_format=application/fhir%2Bjson"),
        Some(FHIR_XML),
    )
    .await;
    assert!(content_type.starts_with("application/fhir+json"));
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), referral);

    // search and history Bundles
    for path in ["Patient?_format=xml", "Patient/_history?_format=xml"] {
        let (status, content_type, xml) = get(&server, path, None).await;
        assert_eq!(status, 200, "{xml}");
        assert!(content_type.starts_with("application/fhir+xml"));
        let bundle = read_xml(&xml);
        assert_eq!(bundle["resourceType"], "Bundle");
        assert_eq!(bundle["entry"][0]["resource"]["resourceType"], "Patient");
    }
}

#[tokio::test]
async fn a_transaction_in_xml_is_answered_in_xml() {
    let server = TestServer::start().await;
    let (status, content_type, xml) = send(
        client().post(server.url("")).header("Accept", FHIR_XML),
        FHIR_XML,
        fixture_xml("referral-transaction.json"),
    )
    .await;
    assert_eq!(status, 200, "{xml}");
    assert!(content_type.starts_with("application/fhir+xml"));
    let bundle = read_xml(&xml);
    assert_eq!(bundle["type"], "transaction-response");
    let entries = bundle["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 13);
    assert!(entries
        .iter()
        .all(|e| e["response"]["status"] == "201 Created"));
}

#[tokio::test]
async fn validate_places_issues_at_the_lines_of_the_xml_sent() {
    let server = TestServer::start().await;
    let body = String::from_utf8(fixture_bytes("xml/patient-gender-not-in-value-set.xml")).unwrap();
    let (status, _, text) = send(
        client().post(server.url("Patient/$validate")),
        FHIR_XML,
        body.clone(),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let oo: Value = serde_json::from_str(&text).unwrap();
    let gender = oo["issue"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["expression"][0] == "Patient.gender")
        .unwrap_or_else(|| panic!("{oo}"));
    assert_eq!(gender["diagnostics"], "line 6, column 3", "{oo}");

    // the same outcome, in XML
    let (_, content_type, xml) = send(
        client()
            .post(server.url("Patient/$validate?_format=xml"))
            .header("Accept", FHIR_JSON),
        FHIR_XML,
        body,
    )
    .await;
    assert!(content_type.starts_with("application/fhir+xml"));
    assert_eq!(read_xml(&xml), oo);
    assert_eq!(server.stored_versions().await, 0);
}

#[tokio::test]
async fn xml_that_is_not_fhir_is_a_400_naming_the_element_and_line() {
    let server = TestServer::start().await;
    for (file, expression, line) in [
        ("patient-birthdate-twice.xml", Some("Patient.birthDate"), 4),
        ("patient-not-well-formed.xml", None, 5),
        ("patient-external-entity.xml", None, 2),
    ] {
        let body = String::from_utf8(fixture_bytes(&format!("xml/{file}"))).unwrap();
        let (status, content_type, xml) = send(
            client()
                .post(server.url("Patient"))
                .header("Accept", FHIR_XML),
            FHIR_XML,
            body,
        )
        .await;
        assert_eq!(status, 400, "{file}: {xml}");
        assert!(content_type.starts_with("application/fhir+xml"), "{file}");
        let oo = read_xml(&xml);
        assert_outcome(&oo, "structure");
        let issue = &oo["issue"][0];
        if let Some(expression) = expression {
            assert_eq!(issue["expression"][0], expression, "{file}: {oo}");
        }
        assert!(
            issue["diagnostics"]
                .as_str()
                .is_some_and(|d| d.starts_with(&format!("line {line}, column "))),
            "{file}: {oo}"
        );
        assert!(!xml.contains("root:"), "no entity is expanded");
    }
    assert_eq!(server.stored_versions().await, 0);
}

#[tokio::test]
async fn unsupported_formats_are_refused_with_an_outcome() {
    let server = TestServer::start().await;
    let (status, _, body) = get(&server, "Patient", Some("application/pdf")).await;
    assert_eq!(status, 406, "{body}");
    assert_outcome(&serde_json::from_str(&body).unwrap(), "not-supported");
    let (status, _, body) = get(&server, "Patient?_format=turtle", Some(FHIR_XML)).await;
    assert_eq!(status, 406, "{body}");
    let (status, _, body) = send(
        client()
            .post(server.url("Patient"))
            .header("Accept", FHIR_XML),
        "text/plain",
        "<Patient/>".into(),
    )
    .await;
    assert_eq!(status, 415);
    assert_outcome(&read_xml(&body), "not-supported");

    // errors follow Accept: a 404 in XML
    let (status, content_type, xml) = get(&server, "Patient/nobody", Some(FHIR_XML)).await;
    assert_eq!(status, 404);
    assert!(content_type.starts_with("application/fhir+xml"));
    assert_eq!(read_xml(&xml)["resourceType"], "OperationOutcome");

    // the CapabilityStatement says so
    let (_, _, xml) = get(&server, "metadata?_format=xml", None).await;
    let capability = read_xml(&xml);
    let formats = capability["format"].as_array().unwrap();
    assert!(
        formats.iter().any(|f| f == "application/fhir+xml"),
        "{capability}"
    );
}
