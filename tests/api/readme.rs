//! README's "Try it with the fixtures" block, run as written (bash, curl) against a real server
//! on a fresh database, step by step, with every result it promises checked. `cargo run --`
//! becomes the binary under test; `BASE` is the server's address.

use crate::support::*;
use serde_json::Value;
use std::process::Command;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// The shell block that follows `heading` in a Markdown file.
pub fn shell_block(markdown: &str, heading: &str) -> String {
    let after = markdown
        .split_once(heading)
        .unwrap_or_else(|| panic!("no heading '{heading}'"))
        .1;
    let body = after
        .split_once("```sh\n")
        .unwrap_or_else(|| panic!("no ```sh block after '{heading}'"))
        .1;
    body.split_once("\n```")
        .expect("an unterminated ```sh block")
        .0
        .to_string()
}

/// Runs `block`'s steps (separated by blank lines) in one bash, against `base`; returns each
/// step's text and its output.
pub fn run_steps(block: &str, base: &str) -> Vec<(String, String)> {
    let steps: Vec<String> = block
        .split("\n\n")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let binary = env!("CARGO_BIN_EXE_hbpc-gateway");
    let mut script = String::new();
    for (i, step) in steps.iter().enumerate() {
        script.push_str(&format!("echo '@@step {i}'\n"));
        script.push_str(&step.replace("cargo run --", binary));
        script.push('\n');
    }
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(REPO)
        .env("BASE", base)
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    // what curl or bash complained about, for the failure's report
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    let mut outputs = Vec::new();
    for i in 0..steps.len() {
        let marker = format!("@@step {i}\n");
        let from = stdout
            .find(&marker)
            .unwrap_or_else(|| panic!("step {i} did not run: {stdout}"))
            + marker.len();
        let to = stdout[from..]
            .find("@@step ")
            .map_or(stdout.len(), |n| from + n);
        outputs.push(stdout[from..to].to_string());
    }
    steps.into_iter().zip(outputs).collect()
}

/// The JSON objects printed one after the other (a status printed after them is left out).
pub fn documents(output: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(output.trim_start())
        .into_iter::<Value>()
        .map_while(Result::ok)
        .filter(Value::is_object)
        .collect()
}

fn resources<'a>(bundle: &'a Value, rt: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["resource"])
        .filter(move |r| r["resourceType"] == rt)
}

/// One promised outcome: a phrase the step's comment must contain (so that a reordered README
/// fails here rather than checking the wrong step), and the check of its output.
type Promise = (&'static str, fn(&str));

const PROMISES: [Promise; 14] = [
    ("BASE=", |out| assert_eq!(out.trim(), "")),
    ("A complete referral as a transaction Bundle", |out| {
        let bundle = &documents(out)[0];
        let statuses: Vec<&str> = bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["response"]["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses.len(), 13, "{bundle}");
        assert!(
            statuses.iter().all(|s| s.starts_with("201")),
            "{statuses:?}"
        );
    }),
    ("retries the referral alone", |out| {
        let mut lines = out.lines();
        let status = lines.next().unwrap_or_default();
        assert!(status.contains(" 200"), "{out}");
        let id = lines.next().unwrap_or_default();
        assert!(id.len() > "ServiceRequest/".len(), "no id: {out}");
    }),
    ("Read it back", |out| {
        let docs = documents(out);
        assert_eq!(docs.len(), 2, "{out}");
        for doc in &docs {
            assert_eq!(doc["resourceType"], "ServiceRequest", "{doc}");
            assert_eq!(doc["meta"]["versionId"], "1", "{doc}");
        }
        assert_eq!(out.lines().last(), Some("304"), "{out}");
    }),
    ("gets a decision, kept in a Task", |out| {
        let bundle = &documents(out)[0];
        let tasks: Vec<&Value> = resources(bundle, "Task").collect();
        assert_eq!(tasks.len(), 1, "{bundle}");
        assert_eq!(tasks[0]["status"], "accepted", "{}", tasks[0]);
        // the retry re-evaluated nothing
        assert_eq!(tasks[0]["meta"]["versionId"], "1", "{}", tasks[0]);
    }),
    ("What an HIE asks", |out| {
        let bundle = &documents(out)[0];
        let plans: Vec<&Value> = resources(bundle, "CarePlan").collect();
        assert_eq!(plans.len(), 1, "{bundle}");
        assert_eq!(plans[0]["status"], "active");
        assert_eq!(resources(bundle, "CareTeam").count(), 1, "{bundle}");
        assert!(resources(bundle, "Provenance").count() >= 1, "{bundle}");
    }),
    ("Supporting resources sent one by one", |out| {
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 12, "{out}");
        assert!(lines.iter().all(|l| l.ends_with(" 201")), "{out}");
    }),
    ("The same referral as a FHIR message", |out| {
        assert_eq!(out.lines().last(), Some("HTTP 200"), "{out}");
        let response = &documents(out)[0];
        assert_eq!(response["type"], "message");
        assert_eq!(
            response["entry"][0]["resource"]["response"]["code"], "ok",
            "{response}"
        );
        let task = &response["entry"][1]["resource"];
        assert_eq!(task["resourceType"], "Task", "{response}");
        assert_eq!(task["status"], "accepted", "{task}");
    }),
    ("Validate without storing", |out| {
        let outcome = &documents(out)[0];
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        assert!(
            outcome["issue"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["severity"] == "error"),
            "{outcome}"
        );
    }),
    ("The same, offline", |out| {
        assert_eq!(out.lines().last(), Some("exit 1"), "{out}")
    }),
    ("A broken referral", |out| {
        assert_eq!(out.lines().last(), Some("HTTP 400"), "{out}");
        assert!(out.contains("ServiceRequest.priorty"), "{out}");
    }),
    ("A dry run", |out| {
        let result = &documents(out)[0];
        assert_eq!(result["resourceType"], "Parameters", "{result}");
        assert!(result.to_string().contains("ineligible"), "{result}");
    }),
    ("Offline, criterion by criterion", |out| {
        assert_eq!(out.lines().last(), Some("exit 0"), "{out}")
    }),
    ("What the server implements", |out| {
        assert_eq!(documents(out)[0]["resourceType"], "CapabilityStatement")
    }),
];

#[tokio::test]
async fn readme_walkthrough_runs_top_to_bottom_with_every_promised_result() {
    let readme = std::fs::read_to_string(format!("{REPO}/README.md")).unwrap();
    let block = shell_block(&readme, "## Try it with the fixtures");
    on_each_backend(&[], |server| {
        let block = block.clone();
        async move {
            // the whole server moves in (not only its port), so that it lives to the end
            let server = server;
            let base = format!("http://127.0.0.1:{}", server.port);
            let steps = run_steps(&block, &base);
            assert_eq!(
                steps.len(),
                PROMISES.len(),
                "README's walkthrough has {} steps, the test knows {}",
                steps.len(),
                PROMISES.len()
            );
            for ((step, output), (phrase, check)) in steps.iter().zip(PROMISES) {
                assert!(
                    step.contains(phrase),
                    "expected the step about '{phrase}', found:\n{step}"
                );
                eprintln!(
                    "README step: {phrase}\n{}",
                    output.chars().take(1500).collect::<String>()
                );
                check(output);
            }
        }
    })
    .await;
}
