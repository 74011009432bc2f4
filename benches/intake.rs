//! In-process cost of intake: parsing and validating (R4 base plus the HBPC profiles, as intake
//! does by default) the referral transaction Bundle and one ServiceRequest, and the one-time
//! load of the definitions. HTTP and store throughput are measured by scripts/load/.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fhir_engine::json::{parse_resource, JsonLimits};
use fhir_engine::validation::structure::{
    fhirpath_invariants::FhirPathInvariants, IntakeProfiles, LoadOptions, StructureValidator,
};
use fhir_engine::validation::IntakeValidator;
use hbpc_gateway::domain::guide;
use std::hint::black_box;
use std::sync::Arc;

/// The same allocator as the `hbpc-gateway` binary.
#[global_allocator]
static ALLOCATOR: hbpc_gateway::allocator::Allocator = hbpc_gateway::allocator::Allocator;

/// The service's defaults (`limits.max_json_depth`, `limits.max_elements`).
const LIMITS: JsonLimits = JsonLimits {
    max_depth: 64,
    max_elements: 200_000,
};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

fn intake(c: &mut Criterion) {
    // As intake runs it: FHIRPath invariants included.
    let options = LoadOptions {
        invariants: Some(Arc::new(FhirPathInvariants::new())),
        ..guide::load_options()
    };
    let structure = Arc::new(StructureValidator::load(&options).expect("load"));
    let validator = IntakeProfiles {
        validator: structure,
        default_profiles: true,
    };
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
            b.iter(|| parse_resource(black_box(&bytes), LIMITS).expect("valid"))
        });
        let value = parse_resource(&bytes, LIMITS).expect("valid");
        group.bench_function(format!("{name}/validate"), |b| {
            b.iter(|| {
                let outcome = validator.check(black_box(&value));
                assert!(!outcome.base_errors() && !outcome.profile_errors());
            })
        });
        group.bench_function(format!("{name}/parse_and_validate"), |b| {
            b.iter(|| {
                let value = parse_resource(black_box(&bytes), LIMITS).expect("valid");
                let outcome = validator.check(&value);
                assert!(!outcome.base_errors() && !outcome.profile_errors());
            })
        });
    }
    group.finish();
    peer_fixture(c);
    let mut load = c.benchmark_group("startup");
    load.sample_size(10);
    load.bench_function("load_and_compile_definitions", |b| {
        b.iter(|| {
            StructureValidator::load(&LoadOptions {
                invariants: Some(Arc::new(FhirPathInvariants::new())),
                ..guide::load_options()
            })
            .expect("load")
        })
    });
    // the guide plus a large IG whose profiles are all differential only (US Core 9.0.0,
    // shared material: ../shared/ig/us-core beside the repository, or US_CORE_IG)
    let us_core = std::env::var_os("US_CORE_IG")
        .map_or_else(
            || std::path::PathBuf::from("../shared/ig/us-core"),
            Into::into,
        )
        .join("resources");
    if us_core.is_dir() {
        load.bench_function("load_and_compile_definitions_with_us_core", |b| {
            b.iter(|| {
                StructureValidator::load(&LoadOptions {
                    invariants: Some(Arc::new(FhirPathInvariants::new())),
                    ig_dirs: vec![us_core.clone()],
                    ..guide::load_options()
                })
                .expect("load")
            })
        });
    } else {
        eprintln!(
            "US Core load bench skipped: {} is absent",
            us_core.display()
        );
    }
    load.finish();
}

/// The peers' own fixture and custom profile (`../shared/peers/validators`, see
/// scripts/peers/compare.sh): the same work Medplum times as "JSON.parse+validate (custom
/// profile)". Skipped unless `HBPC_PEER_DIR` names a folder holding `servicerequest.json` and an
/// `ig/` folder with the profile that `make-profile.cjs` wrote.
fn peer_fixture(c: &mut Criterion) {
    let Ok(dir) = std::env::var("HBPC_PEER_DIR") else {
        eprintln!("peer fixture bench skipped: HBPC_PEER_DIR is not set");
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let structure = Arc::new(
        StructureValidator::load(&LoadOptions {
            ig_dirs: vec![dir.join("ig")],
            invariants: Some(Arc::new(FhirPathInvariants::new())),
            ..guide::load_options()
        })
        .expect("load with the peer profile"),
    );
    let bytes = std::fs::read(dir.join("servicerequest.json")).expect("servicerequest.json");
    let validator = IntakeProfiles {
        validator: structure,
        default_profiles: false,
    };
    // The profile must really apply: without `priority` (1..1 in it) the referral fails.
    let mut no_priority = parse_resource(&bytes, LIMITS).expect("valid");
    no_priority
        .as_object_mut()
        .expect("object")
        .remove("priority");
    assert!(validator.check(&no_priority).profile_errors());
    let mut group = c.benchmark_group("peer_fixture");
    group.bench_function("servicerequest_custom_profile/parse_and_validate", |b| {
        b.iter(|| {
            let value = parse_resource(black_box(&bytes), LIMITS).expect("valid");
            let outcome = validator.check(&value);
            assert!(!outcome.base_errors() && !outcome.profile_errors());
        })
    });
    group.finish();
}

criterion_group!(benches, intake);
criterion_main!(benches);
