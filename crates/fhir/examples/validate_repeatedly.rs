//! Validates one resource N times against a profile, over the R4 core plus the IGs given, so
//! that callgrind can count the instructions of one validation without the rest of the server.
//! docs/performance.md ("Per-ServiceRequest validation") runs it:
//!
//! ```sh
//! cargo build --release -p fhir-engine --example validate_repeatedly
//! valgrind --tool=callgrind --toggle-collect='fhir_engine::validation::structure::StructureValidator::validate' \
//!   target/release/examples/validate_repeatedly fixtures/referral-separate/13-servicerequest-referral.json \
//!   http://hbpc.example.org/fhir/StructureDefinition/hbpc-referral-servicerequest 1000 profiles
//! ```

use fhir_engine::validation::structure::fhirpath_invariants::FhirPathInvariants;
use fhir_engine::validation::structure::{LoadOptions, Request, StructureValidator};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [file, profile, times, igs @ ..] = args.as_slice() else {
        eprintln!("usage: validate_repeatedly FILE PROFILE_URL TIMES [IG_PATH…]");
        return ExitCode::from(2);
    };
    let Ok(times) = times.parse::<usize>() else {
        eprintln!("TIMES must be a number");
        return ExitCode::from(2);
    };
    let resource = match std::fs::read(file).map(|b| serde_json::from_slice(&b)) {
        Ok(Ok(r)) => r,
        _ => {
            eprintln!("{file}: cannot read it as JSON");
            return ExitCode::from(2);
        }
    };
    let validator = match StructureValidator::load(&LoadOptions {
        ig_paths: igs.iter().map(PathBuf::from).collect(),
        invariants: Some(Arc::new(FhirPathInvariants::new())),
        ..LoadOptions::default()
    }) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let request = Request {
        profiles: vec![profile.clone()],
        default_profiles: false,
    };
    let mut errors = 0;
    for _ in 0..times {
        let outcome = validator.validate(&resource, &request);
        errors = outcome
            .base
            .iter()
            .chain(&outcome.profile)
            .filter(|i| i.is_error())
            .count();
    }
    println!("{times} validations, {errors} errors in the last");
    ExitCode::SUCCESS
}
