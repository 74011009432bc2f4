//! The shell examples in docs/*.md that call the server: each is run here against a real server
//! with its promised outcomes checked, or named with the reason it cannot run here. A new curl
//! example fails the first test until it is one or the other.

use crate::delivery::deliveries;
use crate::delivery::fake_ehr::FakeEhr;
use crate::readme::documents;
use crate::support::*;
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// Every shell block of docs/*.md that calls curl, by file and first line: `None` when a test
/// here runs it, else why it cannot run in this suite.
const CURL_BLOCKS: [(&str, &str, Option<&str>); 3] = [
    ("delivery.md", "BASE=${BASE:-http://127.0.0.1:8080}", None),
    (
        "deployment.md",
        "docker compose -f deploy/docker-compose.yml up --build",
        Some("needs Docker and the compose stack (tests/api/dockerfile.rs checks the image's build file)"),
    ),
    (
        "security.md",
        "A=$(hbpc-gateway assertion",
        Some("a production host's token endpoint (tests/api/security*.rs request tokens the same way)"),
    ),
];

/// `(file, block)` of every ```sh block in docs/*.md, indented ones included.
fn shell_blocks() -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(format!("{REPO}/docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut block: Option<Vec<&str>> = None;
        for line in text.lines() {
            match (&mut block, line.trim()) {
                (None, "```sh") => block = Some(Vec::new()),
                (Some(lines), "```") => {
                    found.push((name.clone(), lines.join("\n")));
                    block = None;
                }
                (Some(lines), trimmed) => lines.push(trimmed),
                (None, _) => {}
            }
        }
    }
    found
}

#[test]
fn every_curl_example_in_docs_is_run_or_named() {
    let mut unknown = Vec::new();
    for (file, block) in shell_blocks() {
        if !block.contains("curl ") {
            continue;
        }
        let first = block.lines().find(|l| !l.is_empty()).unwrap_or_default();
        if !CURL_BLOCKS
            .iter()
            .any(|(f, start, _)| *f == file && first.starts_with(start))
        {
            unknown.push(format!("{file}: {first}"));
        }
    }
    assert!(
        unknown.is_empty(),
        "curl examples no test runs: {unknown:#?}\nrun them in tests/api/docs_examples.rs, or name why not in CURL_BLOCKS"
    );
}

/// Runs one step of a docs block in its own bash: `hbpc-gateway` is the binary under test.
fn run_step(step: &str, env: &[(&str, &str)]) -> String {
    let script = step.replace(
        "hbpc-gateway ",
        &format!("{} ", env!("CARGO_BIN_EXE_hbpc-gateway")),
    );
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(&script)
        .current_dir(REPO)
        .env_remove("HBPC_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("bash runs");
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Waits until the delivery is dead (the EHR is down and one attempt is all it gets).
async fn dead(server: &TestServer, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let all = deliveries(server, "limit=100").await;
        if all.iter().any(|d| d["id"] == id && d["status"] == "dead") {
            return;
        }
        assert!(Instant::now() < deadline, "never dead: {all:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn delivery_operations_examples_do_what_they_say() {
    let ehr = FakeEhr::start().await;
    ehr.set_down(true);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "[delivery]\npoll_interval_ms = 20\ndefault_upstream = \"ehr\"\n\n\
             [delivery.upstreams.ehr]\nbase_url = \"{}\"\nmax_attempts = 1\n",
            ehr.base_url()
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    let markdown = std::fs::read_to_string(format!("{REPO}/docs/delivery.md")).unwrap();
    let block = shell_blocks()
        .into_iter()
        .find(|(f, b)| f == "delivery.md" && b.starts_with(CURL_BLOCKS[0].1))
        .expect("the operations block")
        .1;
    assert!(markdown.contains("tests/api/docs_examples.rs"));
    let steps: Vec<&str> = block
        .split("\n\n")
        .filter(|s| !s.trim().is_empty())
        .collect();
    assert_eq!(steps.len(), 5, "the test knows five steps: {block}");

    on_each_backend(&[("HBPC_CONFIG", &config)], |server| {
        let steps = steps.clone();
        async move {
            let server = server;
            let (status, body) =
                post_json(&server, "/fhir", &fixture_json("referral-transaction.json")).await;
            assert_eq!(status, 200, "{body}");
            let all = deliveries(&server, "limit=100").await;
            assert_eq!(all.len(), 1, "{all:#?}");
            let delivery = all[0]["id"].as_str().unwrap().to_string();
            let task = all[0]["task"].as_str().unwrap();
            let task = task.strip_prefix("Task/").unwrap().to_string();
            dead(&server, &delivery).await;
            let base = format!("http://127.0.0.1:{}", server.port);
            let env = [
                ("BASE", base.as_str()),
                ("TASK", task.as_str()),
                ("DELIVERY", delivery.as_str()),
                ("HBPC_DATABASE_URL", server.database_url.as_str()),
            ];

            assert_eq!(run_step(steps[0], &env).trim(), "");

            assert!(steps[1].contains("One Task's deliveries, and the dead letters"));
            let docs = documents(&run_step(steps[1], &env));
            assert_eq!(docs.len(), 2, "{docs:?}");
            let of_task = docs[0]["deliveries"].as_array().unwrap();
            assert_eq!(of_task.len(), 1, "{}", docs[0]);
            assert_eq!(of_task[0]["task"], format!("Task/{task}"));
            let dead_letters = docs[1]["deliveries"].as_array().unwrap();
            assert!(
                dead_letters.iter().all(|d| d["status"] == "dead"),
                "{}",
                docs[1]
            );
            assert!(
                dead_letters.iter().any(|d| d["id"] == delivery),
                "{}",
                docs[1]
            );

            assert!(steps[2].contains("on the configured database"));
            let out = run_step(steps[2], &env);
            let text: Vec<&str> = out.lines().filter(|l| !l.starts_with('{')).collect();
            assert!(
                text.iter()
                    .any(|l| l.starts_with(&delivery) && l.contains("dead")),
                "{out}"
            );
            assert_eq!(text.last(), Some(&"1 deliveries"), "{out}");
            let json: Vec<Value> = out
                .lines()
                .filter(|l| l.starts_with('{'))
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            assert_eq!(json.len(), 1, "{out}");
            assert_eq!(json[0]["task"], format!("Task/{task}"), "{out}");

            assert!(steps[3].contains("Re-queue a dead letter"));
            let docs = documents(&run_step(steps[3], &env));
            assert_eq!(docs.len(), 1, "{docs:?}");
            assert_eq!(docs[0]["id"], delivery.as_str(), "{}", docs[0]);
            assert!(
                ["pending", "retrying"].contains(&docs[0]["status"].as_str().unwrap_or_default()),
                "{}",
                docs[0]
            );

            // the re-queued delivery fails again (the EHR is still down) before the CLI's turn
            dead(&server, &delivery).await;
            let out = run_step(steps[4], &env);
            assert_eq!(
                out.trim(),
                format!("re-queued delivery {delivery} (Task/{task})"),
                "{out}"
            );
        }
    })
    .await;
}
