//! Loads the vendored R4 core plus the IGs given (folders, package tarballs, unpacked packages,
//! package caches), compiles them as the validator does at start-up, and prints how long each
//! step took, what was loaded and what loading warned about. docs/performance.md
//! ("Start-up with IG packages") runs it:
//!
//! ```sh
//! cargo run --release -p fhir-engine --example load_definitions -- profiles hl7.fhir.uv.extensions.r4.tgz
//! ```

use fhir_engine::validation::structure::definitions::Definitions;
use fhir_engine::validation::structure::fhirpath_invariants::FhirPathInvariants;
use fhir_engine::validation::structure::StructureValidator;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

fn main() -> ExitCode {
    let paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let started = Instant::now();
    let mut defs = match Definitions::r4_core() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let core = started.elapsed();
    if let Err(e) = defs.add_igs(&paths) {
        eprintln!("{e}");
        return ExitCode::from(2);
    }
    let loaded = started.elapsed();
    println!(
        "read: StructureDefinitions {}, ValueSets {}, CodeSystems {} (URLs); R4 core {:.0} ms, IGs {:.0} ms",
        defs.structure_definitions.len(),
        defs.value_sets.len(),
        defs.code_systems.len(),
        core.as_secs_f64() * 1e3,
        (loaded - core).as_secs_f64() * 1e3,
    );
    let validator =
        match StructureValidator::compile(defs, Some(Arc::new(FhirPathInvariants::new()))) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
    let compiled = started.elapsed();
    for warning in validator.load_warnings() {
        eprintln!("warning: {warning}");
    }
    println!(
        "compiled: {:.0} ms; total {:.0} ms",
        (compiled - loaded).as_secs_f64() * 1e3,
        compiled.as_secs_f64() * 1e3
    );
    ExitCode::SUCCESS
}
