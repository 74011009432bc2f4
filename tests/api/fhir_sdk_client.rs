//! fhir-sdk, a FHIR client nobody here wrote, drives the API; its typed R4B model must parse
//! everything we emit.

use crate::support::*;
use fhir_sdk::client::{Client, ResourceWrite};
use fhir_sdk::r4b::codes::AdministrativeGender;
use fhir_sdk::r4b::resources::{
    BaseResource, Bundle, CapabilityStatement, Observation, OperationOutcome, Patient,
    ServiceRequest,
};
use fhir_sdk::r4b::types::{HumanName, Identifier};
use fhir_sdk::version::FhirR4B;

fn sdk_client(server: &TestServer) -> Client<FhirR4B> {
    Client::builder()
        .base_url(format!("{}/", server.base).parse().unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn fhir_sdk_creates_and_reads_through_our_api() {
    let server = TestServer::start().await;
    let client = sdk_client(&server);
    let mut patient = Patient::builder()
        .identifier(vec![Some(
            Identifier::builder()
                .system("http://hospital.example.org/fhir/sid/mrn".to_owned())
                .value("MRN-1".to_owned())
                .build()
                .unwrap(),
        )])
        .name(vec![Some(
            HumanName::builder()
                .family("Delgado".to_owned())
                .build()
                .unwrap(),
        )])
        .gender(AdministrativeGender::Female)
        .build()
        .unwrap();
    let id = patient.create(&client).await.expect("fhir-sdk create");
    let read = client
        .read::<Patient>(&id)
        .await
        .unwrap()
        .expect("read back");
    assert_eq!(read.id.as_deref(), Some(id.as_str()));
    assert_eq!(read.gender, Some(AdministrativeGender::Female));
    assert_eq!(
        read.meta.as_ref().and_then(|m| m.version_id.as_deref()),
        Some("1")
    );
    let v1 = client.read_version::<Patient>(&id, "1").await.unwrap();
    assert!(v1.is_some());
    assert!(client
        .read::<Patient>("unknown-id")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn everything_we_emit_parses_with_the_fhir_sdk_model() {
    let server = TestServer::start().await;
    let http = client();
    let cs: CapabilityStatement = http
        .get(server.url("metadata"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cs.rest.len(), 1);

    let response: Bundle = http
        .post(&server.base)
        .header("Content-Type", FHIR_JSON)
        .header("Prefer", "return=representation")
        .body(fixture_bytes("referral-transaction.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .expect("transaction-response parses");
    assert_eq!(response.entry.len(), 13);
    let sr = response.entry[12]
        .as_ref()
        .and_then(|e| e.resource.as_ref())
        .unwrap();
    let sr: &ServiceRequest = sr.try_into().expect("a ServiceRequest");
    let stored: ServiceRequest = http
        .get(server.url(&format!("ServiceRequest/{}", sr.id().as_ref().unwrap())))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .expect("read parses");
    assert_eq!(&stored, sr);

    let observation: Observation = http
        .get(
            server.url(
                response.entry[8]
                    .as_ref()
                    .unwrap()
                    .response
                    .as_ref()
                    .unwrap()
                    .location
                    .as_deref()
                    .unwrap(),
            ),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .expect("vread parses");
    assert!(observation.value.is_some());

    let outcome: OperationOutcome = http
        .post(server.url("ServiceRequest"))
        .header("Content-Type", FHIR_JSON)
        .body(fixture_bytes("invalid/servicerequest-unknown-element.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .expect("OperationOutcome parses");
    assert!(!outcome.issue.is_empty());
}
