//! `$validate` (system, type, instance; raw resource or Parameters), the conformance
//! resources we serve, and the CapabilityStatement entries for both.

use crate::support::*;
use serde_json::{json, Value};

const REFERRAL_PROFILE: &str =
    "http://hbpc.example.org/fhir/StructureDefinition/hbpc-referral-servicerequest";

async fn post_json(server: &TestServer, path: &str, body: &Value) -> (u16, Value) {
    let res = client()
        .post(server.url(path))
        .header("Content-Type", FHIR_JSON)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn validate_answers_200_with_the_outcome_valid_or_not() {
    let server = TestServer::start().await;
    let referral = fixture_json("referral-separate/13-servicerequest-referral.json");

    let (status, oo) = post_json(&server, "ServiceRequest/$validate", &referral).await;
    assert_eq!(status, 200, "{oo}");
    assert_eq!(oo["resourceType"], "OperationOutcome");
    assert!(
        oo["issue"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["severity"] != "error"),
        "{oo}"
    );

    let invalid = fixture_json("invalid/hbpc-servicerequest-intent-plan.json");
    let (status, oo) = post_json(&server, "ServiceRequest/$validate", &invalid).await;
    assert_eq!(status, 200, "{oo}");
    assert_outcome(&oo, "value");
    assert!(
        expressions(&oo).contains(&"ServiceRequest.intent".to_string()),
        "{oo}"
    );
    let intent = oo["issue"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["expression"][0] == "ServiceRequest.intent")
        .unwrap();
    // the test sends minified JSON: one line
    assert!(
        intent["diagnostics"]
            .as_str()
            .is_some_and(|d| d.starts_with("line 1, column ")),
        "{oo}"
    );

    // system level, and instance level with a matching id
    let (status, oo) = post_json(&server, "$validate", &invalid).await;
    assert_eq!(status, 200);
    assert_outcome(&oo, "value");
    let mut with_id = referral.clone();
    with_id["id"] = json!("r1");
    let (status, oo) = post_json(&server, "ServiceRequest/r2/$validate", &with_id).await;
    assert_eq!(status, 200);
    assert!(
        expressions(&oo).contains(&"ServiceRequest.id".to_string()),
        "{oo}"
    );
    assert_eq!(
        server.stored_versions().await,
        0,
        "$validate stores nothing"
    );
}

#[tokio::test]
async fn validate_takes_parameters_and_rejects_unknown_profiles() {
    let server = TestServer::start().await;
    let coverage = fixture_json("referral-separate/06-coverage-coverage.json");
    let mut no_period = coverage.clone();
    no_period.as_object_mut().unwrap().remove("period");
    let params = json!({"resourceType": "Parameters", "parameter": [
        {"name": "resource", "resource": no_period},
        {"name": "mode", "valueCode": "create"},
        {"name": "profile", "valueUri": "http://hbpc.example.org/fhir/StructureDefinition/hbpc-coverage"}
    ]});
    let (status, oo) = post_json(&server, "Coverage/$validate", &params).await;
    assert_eq!(status, 200, "{oo}");
    assert_outcome(&oo, "required");
    assert!(
        expressions(&oo).contains(&"Coverage.period".to_string()),
        "{oo}"
    );

    let unknown = json!({"resourceType": "Parameters", "parameter": [
        {"name": "resource", "resource": coverage},
        {"name": "profile", "valueUri": "http://acme.test/StructureDefinition/nope"}
    ]});
    let (status, oo) = post_json(&server, "Coverage/$validate", &unknown).await;
    assert_eq!(status, 400, "{oo}");
    assert_outcome(&oo, "not-supported");

    let res = client()
        .post(server.url("ServiceRequest/$validate?profile=http://acme.test/x"))
        .header("Content-Type", FHIR_JSON)
        .body(fixture_bytes(
            "referral-separate/13-servicerequest-referral.json",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn profiles_are_served_and_advertised() {
    let server = TestServer::start().await;
    let http = client();
    let bundle: Value = http
        .get(server.url(&format!("StructureDefinition?url={REFERRAL_PROFILE}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bundle["type"], "searchset");
    assert_eq!(bundle["total"], 1, "{bundle}");
    assert_eq!(bundle["entry"][0]["resource"]["url"], REFERRAL_PROFILE);
    // served as authored (SUSHI's output, differential only): the snapshot the validator uses is
    // generated at load, and a client that needs one generates it the same way
    let served = &bundle["entry"][0]["resource"];
    assert!(served["differential"]["element"].is_array(), "{served}");
    let all: Value = http
        .get(server.url("ValueSet"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(all["total"].as_u64().unwrap() >= 8, "{all}");
    let res = http
        .get(server.url("CodeSystem/hbpc-observation-codes"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let cs: Value = http
        .get(server.url("metadata"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rest = &cs["rest"][0];
    assert_eq!(rest["operation"][0]["name"], "validate");
    let sr = rest["resource"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "ServiceRequest")
        .unwrap();
    assert!(
        sr["supportedProfile"]
            .as_array()
            .unwrap()
            .contains(&json!(REFERRAL_PROFILE)),
        "{sr}"
    );
    assert_eq!(sr["operation"][0]["name"], "validate");
}

#[tokio::test]
async fn intake_accepts_warnings_and_returns_them() {
    let server = TestServer::start().await;
    // MB is not in the extensible R4 identifier-type value set: a warning, not a rejection
    let res = client()
        .post(server.url("Coverage"))
        .header("Content-Type", FHIR_JSON)
        .header("Prefer", "return=OperationOutcome")
        .body(fixture_bytes("referral-separate/06-coverage-coverage.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let oo: Value = res.json().await.unwrap();
    assert_eq!(oo["issue"][0]["severity"], "information", "{oo}");
    assert!(
        oo["issue"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["severity"] == "warning"
                && i["expression"][0] == "Coverage.identifier[0].type.coding[0]"),
        "{oo}"
    );

    let (status, bundle) = post_json(&server, "", &fixture_json("referral-transaction.json")).await;
    assert_eq!(status, 200, "{bundle}");
    let outcome = &bundle["entry"][5]["response"]["outcome"];
    assert!(
        outcome["issue"]
            .as_array()
            .is_some_and(|issues| issues.iter().any(|i| i["severity"] == "warning")),
        "{bundle}"
    );
}

/// Every conformance resource we serve is valid R4 by our own validator: a strict parser that
/// reads `GET /fhir/StructureDefinition` must not meet an element R4 does not allow.
#[tokio::test]
async fn every_served_conformance_resource_is_valid_r4() {
    let server = TestServer::start().await;
    let http = client();
    let mut checked = 0;
    for kind in ["StructureDefinition", "ValueSet", "CodeSystem"] {
        let mut next = Some(server.url(&format!("{kind}?_count=100")));
        while let Some(url) = next.take() {
            let page: Value = http.get(url).send().await.unwrap().json().await.unwrap();
            assert_eq!(page["type"], "searchset", "{page}");
            for entry in page["entry"].as_array().into_iter().flatten() {
                let resource = &entry["resource"];
                let (status, oo) = post_json(&server, &format!("{kind}/$validate"), resource).await;
                assert_eq!(status, 200, "{oo}");
                let errors: Vec<&Value> = oo["issue"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|i| i["severity"] == "error" || i["severity"] == "fatal")
                    .collect();
                assert!(
                    errors.is_empty(),
                    "served {kind}/{} is not valid R4: {errors:#?}",
                    resource["id"]
                );
                checked += 1;
            }
            next = page["link"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|l| l["relation"] == "next")
                .and_then(|l| l["url"].as_str())
                .map(str::to_owned);
        }
    }
    // 12 StructureDefinitions, 11 ValueSets and 6 CodeSystems in profiles/ today
    assert!(
        checked >= 29,
        "only {checked} conformance resources were served"
    );
}

/// `validation.ig_dirs` may name a package cache: its packages and their dependencies load at
/// start, `url|version` picks the profile's version, and only the named packages are published.
#[tokio::test]
async fn ig_dirs_take_a_package_cache_with_dependencies() {
    let cache = tempfile::tempdir().unwrap();
    let url = "http://acme.test/StructureDefinition/coverage-with-order";
    let mut profile = fixture_json("../profiles/StructureDefinition-hbpc-coverage.json");
    profile["url"] = url.into();
    profile["id"] = "coverage-with-order".into();
    profile["version"] = "2.0.0".into();
    // the guide's profiles are differential-only (SUSHI's output): the gateway makes the snapshot
    profile["differential"]["element"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "Coverage.order", "path": "Coverage.order", "min": 1}));
    // acme.coverage#2.0.0 (the profile) needs acme.terms#1.0.0 (a ValueSet)
    let value_set = json!({"resourceType": "ValueSet", "id": "acme-plans", "status": "active",
        "url": "http://acme.test/ValueSet/acme-plans", "version": "1.0.0",
        "compose": {"include": [{"system": "http://acme.test/plans", "concept": [{"code": "gold"}]}]}});
    for (folder, manifest, file, resource) in [
        (
            "acme.coverage#2.0.0",
            json!({"name": "acme.coverage", "version": "2.0.0", "fhirVersions": ["4.0.1"],
                   "dependencies": {"hl7.fhir.r4.core": "4.0.1", "acme.terms": "1.0.0"}}),
            "StructureDefinition-coverage-with-order.json",
            &profile,
        ),
        (
            "acme.terms#1.0.0",
            json!({"name": "acme.terms", "version": "1.0.0", "fhirVersions": ["4.0.1"]}),
            "ValueSet-acme-plans.json",
            &value_set,
        ),
    ] {
        let dir = cache.path().join(folder).join("package");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("package.json"), manifest.to_string()).unwrap();
        std::fs::write(dir.join(file), resource.to_string()).unwrap();
    }
    let package = cache
        .path()
        .join("acme.coverage#2.0.0")
        .display()
        .to_string();
    let server = TestServer::start_on(
        Backend::Sqlite,
        &[("HBPC_VALIDATION_IG_DIRS", package.as_str())],
    )
    .await;
    let coverage = fixture_json("referral-separate/06-coverage-coverage.json");
    let (status, oo) = post_json(
        &server,
        &format!("Coverage/$validate?profile={url}|2.0.0"),
        &coverage,
    )
    .await;
    assert_eq!(status, 200, "{oo}");
    assert!(
        oo.to_string()
            .contains("coverage-with-order: missing required element 'order'"),
        "{oo}"
    );
    // the named package is published, its dependency is not
    let (_, bundle) = get_json(&server, &format!("StructureDefinition?url={url}")).await;
    assert_eq!(bundle["total"], 1, "{bundle}");
    let (_, bundle) = get_json(&server, "ValueSet?url=http://acme.test/ValueSet/acme-plans").await;
    assert_eq!(bundle["total"], 0, "{bundle}");
}
