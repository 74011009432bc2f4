//! In-process cost of intake: parsing and structure-validating the referral transaction Bundle,
//! and of one single resource. HTTP and store throughput are measured by scripts/load/.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hbpc_gateway::domain::fhir::json::parse_resource;
use hbpc_gateway::domain::validation::json_schema::JsonSchemaValidator;
use hbpc_gateway::domain::validation::IntakeValidator;
use std::hint::black_box;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

fn intake(c: &mut Criterion) {
    let validator = JsonSchemaValidator::load_embedded().expect("schema");
    validator
        .precompile([
            "Bundle",
            "ServiceRequest",
            "Patient",
            "Observation",
            "Condition",
            "Coverage",
            "Consent",
            "Organization",
            "Practitioner",
            "PractitionerRole",
            "RelatedPerson",
        ])
        .expect("compile");
    let mut group = c.benchmark_group("intake");
    for (name, file) in [
        ("referral_transaction_bundle", "referral-transaction.json"),
        (
            "single_service_request",
            "referral-separate/13-servicerequest-referral.json",
        ),
    ] {
        let bytes = fixture(file);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(format!("{name}/parse"), |b| {
            b.iter(|| parse_resource(black_box(&bytes), 64).expect("valid"))
        });
        let value = parse_resource(&bytes, 64).expect("valid");
        group.bench_function(format!("{name}/validate"), |b| {
            b.iter(|| {
                let issues = validator.validate(black_box(&value));
                assert!(issues.is_empty());
            })
        });
    }
    group.finish();
}

criterion_group!(benches, intake);
criterion_main!(benches);
