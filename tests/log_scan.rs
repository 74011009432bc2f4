//! No PHI in the logs of a whole test run (issue #7): every API test server logs at info level
//! into one folder (tests/api/support.rs), and this scan, run by `scripts/test.sh` after the
//! suite, looks there for the names, identifiers, phone numbers and addresses of every person
//! in `fixtures/`. Ignored in a plain `cargo test`, which may run it before the servers log.

use serde_json::Value;
use std::path::Path;

const SERVER_LOG_DIR: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/server-logs");
const PEOPLE: &[&str] = &["Patient", "RelatedPerson", "Practitioner"];

fn resources<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Object(map) => {
            if map.contains_key("resourceType") {
                out.push(value);
            }
            map.values().for_each(|v| resources(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| resources(v, out)),
        _ => {}
    }
}

fn strings_at(value: &Value, keys: &[&str], out: &mut Vec<String>) {
    let mut current = vec![value];
    for key in keys {
        let mut next = Vec::new();
        for v in current {
            match v.get(key) {
                Some(Value::Array(items)) => next.extend(items.iter()),
                Some(other) => next.push(other),
                None => {}
            }
        }
        current = next;
    }
    out.extend(
        current
            .into_iter()
            .filter_map(Value::as_str)
            .map(str::to_string),
    );
}

/// What identifies a person in the fixtures.
fn phi_of(resource: &Value, out: &mut Vec<String>) {
    let rt = resource["resourceType"].as_str().unwrap_or_default();
    if PEOPLE.contains(&rt) {
        for keys in [
            &["name", "family"][..],
            &["name", "given"],
            &["identifier", "value"],
            &["telecom", "value"],
            &["address", "line"],
        ] {
            strings_at(resource, keys, out);
        }
    }
    if rt == "Coverage" {
        strings_at(resource, &["identifier", "value"], out);
        strings_at(resource, &["subscriberId"], out);
    }
}

fn collect(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("fixtures") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            let Ok(value) = serde_json::from_slice::<Value>(&std::fs::read(&path).unwrap()) else {
                continue; // the malformed fixtures
            };
            let mut found = Vec::new();
            resources(&value, &mut found);
            found.into_iter().for_each(|r| phi_of(r, out));
        }
    }
}

#[test]
#[ignore = "run by scripts/test.sh after the whole suite"]
fn no_fixture_phi_in_the_server_logs_of_the_test_run() {
    let mut phi = Vec::new();
    collect(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"),
        &mut phi,
    );
    // short given names ("Al") would match ordinary words
    phi.retain(|s| s.len() >= 4);
    phi.sort();
    phi.dedup();
    assert!(phi.len() >= 20, "too few PHI strings found: {phi:?}");

    let logs = std::fs::read_dir(SERVER_LOG_DIR).unwrap_or_else(|e| {
        panic!("no server logs in {SERVER_LOG_DIR} ({e}): run scripts/test.sh")
    });
    let (mut files, mut lines) = (0, 0);
    for entry in logs {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("log");
        files += 1;
        lines += text.lines().count();
        for word in &phi {
            assert!(
                !text.contains(word.as_str()),
                "{} contains '{word}' from the fixtures",
                path.display()
            );
        }
    }
    // a real run starts dozens of servers, each logging every request
    assert!(
        files >= 20 && lines >= 1000,
        "only {files} logs with {lines} lines"
    );
    eprintln!(
        "scanned {files} server logs ({lines} lines) for {} PHI strings",
        phi.len()
    );
}
