//! No Docker engine runs here, so check what can be checked: the runtime stage's settings,
//! and the binary started with the Dockerfile's own arguments and environment.

use crate::support::*;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};

struct Runtime {
    env: BTreeMap<String, String>,
    entrypoint: Vec<String>,
    cmd: Vec<String>,
    lines: Vec<String>,
}

/// The instructions of the last stage, with continuation lines joined.
fn runtime_stage() -> Runtime {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile")).unwrap();
    let joined = text.replace("\\\n", " ");
    let lines: Vec<String> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let last_from = lines.iter().rposition(|l| l.starts_with("FROM ")).unwrap();
    let lines = lines[last_from..].to_vec();
    let json_array = |prefix: &str| -> Vec<String> {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .map(|rest| serde_json::from_str(rest.trim()).expect("exec form"))
            .unwrap_or_default()
    };
    let mut env = BTreeMap::new();
    for l in lines.iter().filter_map(|l| l.strip_prefix("ENV ")) {
        for pair in l.split_whitespace() {
            let (k, v) = pair.split_once('=').unwrap();
            env.insert(k.to_string(), v.to_string());
        }
    }
    Runtime {
        env,
        entrypoint: json_array("ENTRYPOINT "),
        cmd: json_array("CMD "),
        lines,
    }
}

#[test]
fn runtime_stage_is_slim_non_root_with_volume_healthcheck_and_port() {
    let rt = runtime_stage();
    assert!(
        rt.lines[0].contains("debian:") && rt.lines[0].contains("slim"),
        "{}",
        rt.lines[0]
    );
    let user = rt
        .lines
        .iter()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("USER");
    assert!(user != "root" && user != "0");
    assert!(rt.lines.iter().any(|l| l == "VOLUME [\"/data\"]"));
    assert!(rt.lines.iter().any(|l| l == "EXPOSE 8080"));
    let health = rt
        .lines
        .iter()
        .find(|l| l.starts_with("HEALTHCHECK"))
        .expect("HEALTHCHECK");
    assert!(health.contains("http://127.0.0.1:8080/healthz"), "{health}");
    assert_eq!(rt.env["HBPC_SERVER_LISTEN"], "0.0.0.0:8080");
    assert!(rt.env["HBPC_DATABASE_URL"].contains("/data/"));
}

#[tokio::test]
async fn binary_serves_with_the_dockerfile_arguments_and_environment() {
    let rt = runtime_stage();
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hbpc-gateway"));
    cmd.args(rt.entrypoint.iter().skip(1).chain(&rt.cmd));
    for (k, v) in &rt.env {
        // Same settings, with this test's data directory and a free port.
        let v = v
            .replace("/data/", &format!("{}/", data.path().display()))
            .replace(":8080", &format!(":{port}"));
        cmd.env(k, v);
    }
    let mut child = cmd.stdout(Stdio::null()).spawn().unwrap();
    wait_ready(port).await;
    let health = client()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert!(
        data.path().join("hbpc.sqlite").exists(),
        "data lives in the volume path"
    );
    let _ = child.kill();
    let _ = child.wait();
}
