//! What an integration test could not test, said where `scripts/test.sh` reads it.

use std::path::PathBuf;

/// Says on stderr why `test` did not run, and leaves the reason in
/// `target/tmp/not-tested/<test>.txt`, which `scripts/test.sh` lists at the end of its run.
pub fn not_tested(test: &str, reason: &str) {
    eprintln!("SKIPPED: {reason}");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("not-tested");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("{test}.txt")), format!("{reason}\n"));
}

/// The official R4 examples (npm `hl7.fhir.r4.examples@4.0.1`'s `package/` folder), which
/// `scripts/test.sh` fetches and names in `FHIR_R4_EXAMPLES`.
pub fn examples_dir(test: &str) -> Option<PathBuf> {
    match std::env::var("FHIR_R4_EXAMPLES") {
        Ok(dir) => Some(dir.into()),
        Err(_) => {
            not_tested(
                test,
                "FHIR_R4_EXAMPLES is not set (scripts/test.sh fetches the R4 examples and sets it)",
            );
            None
        }
    }
}
