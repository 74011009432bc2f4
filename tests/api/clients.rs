//! The client compatibility suite: third-party FHIR clients drive a real server through every
//! interaction they will use against us (metadata, CRUD, conditional create and update, PATCH,
//! paging by `next`, _include/_revinclude, transaction, batch, history, compartment search,
//! $validate). The scripts are in tests/clients/; `.ci/run` installs the pinned clients into
//! target/clients/ (a Python venv and an npm prefix). A client that is not installed is skipped
//! with a NOT TESTED note, or fails the test under `HBPC_TEST_REQUIRE_CLIENTS=1` (set in CI).

use crate::search_support::PLAIN_R4;
use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// The venv `.ci/run` makes, else the system's python3.
fn python() -> PathBuf {
    let venv = Path::new(REPO).join("target/clients/venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// fhir-kit-client as `.ci/run` installs it (an ESM-only package: the script imports it by
/// path).
fn fhir_kit_client() -> PathBuf {
    Path::new(REPO).join("target/clients/node/node_modules/fhir-kit-client/dist/index.js")
}

/// Whether `program args` runs and succeeds (a client's import check).
fn runs(program: &Path, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether the client can run here; when not, says why (or fails under
/// `HBPC_TEST_REQUIRE_CLIENTS=1`) and leaves the marker `scripts/test.sh` reports.
fn client_available(name: &str, present: bool, install: &str) -> bool {
    if present {
        return true;
    }
    let why = format!("the {name} client is not installed ({install}; .ci/run does it)");
    if std::env::var("HBPC_TEST_REQUIRE_CLIENTS").is_ok_and(|v| v == "1") {
        panic!("HBPC_TEST_REQUIRE_CLIENTS=1 but {why}");
    }
    eprintln!("SKIPPED (client {name}): {why}");
    let marker =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("not-tested/client-{name}.txt"));
    std::fs::create_dir_all(marker.parent().unwrap()).unwrap();
    std::fs::write(&marker, why).unwrap();
    false
}

/// Runs one client script against a fresh server (each backend), off the runtime's thread so
/// that the server answers meanwhile; its checks are printed with the test's output.
async fn drive(program: PathBuf, script: &str, node: bool) {
    on_each_backend(PLAIN_R4, |server| {
        let program = program.clone();
        async move {
            let script = Path::new(REPO).join("tests/clients").join(script);
            let base = server.url("").trim_end_matches('/').to_string();
            let output = tokio::task::spawn_blocking(move || {
                let mut cmd = Command::new(program);
                cmd.arg(&script).arg(&base);
                if node {
                    cmd.env("FHIR_KIT_CLIENT", fhir_kit_client());
                }
                cmd.output()
            })
            .await
            .unwrap()
            .expect("run the client script");
            let stdout = String::from_utf8_lossy(&output.stdout);
            eprintln!("{stdout}");
            eprintln!("{}", String::from_utf8_lossy(&output.stderr));
            assert!(
                output.status.success(),
                "the client script failed: {stdout}"
            );
            assert!(stdout.contains("all checks passed"), "{stdout}");
        }
    })
    .await;
}

#[tokio::test]
async fn fhirpy_drives_every_interaction() {
    let py = python();
    if client_available(
        "fhirpy",
        runs(&py, &["-c", "import fhirpy"]),
        "pip install fhirpy==2.3.1",
    ) {
        drive(py, "fhirpy_client.py", false).await;
    }
}

#[tokio::test]
async fn fhirclient_drives_every_interaction() {
    let py = python();
    if client_available(
        "fhirclient",
        runs(&py, &["-c", "import fhirclient"]),
        "pip install fhirclient==4.4.0",
    ) {
        drive(py, "fhirclient_client.py", false).await;
    }
}

#[tokio::test]
async fn fhir_kit_client_drives_every_interaction() {
    let node = PathBuf::from("node");
    if client_available(
        "fhir-kit-client",
        fhir_kit_client().exists() && runs(&node, &["--version"]),
        "npm install --prefix target/clients/node fhir-kit-client@2.0.3",
    ) {
        drive(node, "fhir_kit_client.mjs", true).await;
    }
}
