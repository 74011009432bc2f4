//! The workbench (issue #23): its routes through the real server (on each backend), and a real
//! browser driving the page (`tests/workbench/drive.py`: selenium, headless Chromium) against a
//! real server delivering to a fake upstream EHR.

use crate::delivery::fake_ehr::FakeEhr;
use crate::security_support::*;
use crate::support::*;
use reqwest::header;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
    img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn url(server: &TestServer, path: &str) -> String {
    format!("http://127.0.0.1:{}{path}", server.port)
}

async fn get(server: &TestServer, path: &str) -> reqwest::Response {
    client().get(url(server, path)).send().await.unwrap()
}

fn header_of(res: &reqwest::Response, name: header::HeaderName) -> String {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// The files the page loads: its stylesheet and module scripts, and what they import.
async fn page_assets(server: &TestServer) -> Vec<String> {
    let html = get(server, "/workbench").await.text().await.unwrap();
    let mut names: Vec<String> = Vec::new();
    let mut queue: Vec<String> = html
        .split("/workbench/")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_string)
        .collect();
    while let Some(name) = queue.pop() {
        if names.contains(&name) {
            continue;
        }
        if name.ends_with(".js") {
            let js = get(server, &format!("/workbench/{name}")).await;
            let js = js.text().await.unwrap();
            queue.extend(
                js.split("from \"./")
                    .skip(1)
                    .filter_map(|s| s.split('"').next())
                    .map(str::to_string),
            );
        }
        names.push(name);
    }
    names.sort();
    names
}

#[tokio::test]
async fn the_page_and_its_assets_are_served_with_a_strict_policy_and_etags() {
    on_each_backend(&[], |server| async move {
        for path in ["/workbench", "/workbench/"] {
            let res = get(&server, path).await;
            assert_eq!(res.status(), 200, "{path}");
            assert_eq!(
                header_of(&res, header::CONTENT_TYPE),
                "text/html; charset=utf-8"
            );
            assert_eq!(header_of(&res, header::CONTENT_SECURITY_POLICY), CSP);
            assert_eq!(header_of(&res, header::CACHE_CONTROL), "no-cache");
            assert_eq!(header_of(&res, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
            assert_eq!(header_of(&res, header::X_FRAME_OPTIONS), "DENY");
            assert_eq!(header_of(&res, header::REFERRER_POLICY), "no-referrer");
            assert!(header_of(&res, header::ETAG).starts_with('"'));
            let html = res.text().await.unwrap();
            assert!(html.contains(r#"<script type="module" src="/workbench/app.js">"#));
        }
        let assets = page_assets(&server).await;
        for expected in [
            "workbench.css",
            "app.js",
            "api.js",
            "validate.js",
            "evaluate.js",
            "referrals.js",
            "server.js",
        ] {
            assert!(
                assets.iter().any(|a| a == expected),
                "{expected} in {assets:?}"
            );
        }
        for name in &assets {
            let res = get(&server, &format!("/workbench/{name}")).await;
            assert_eq!(res.status(), 200, "{name}");
            let want = if name.ends_with(".css") {
                "text/css; charset=utf-8"
            } else {
                "text/javascript; charset=utf-8"
            };
            assert_eq!(header_of(&res, header::CONTENT_TYPE), want, "{name}");
            assert_eq!(header_of(&res, header::CONTENT_SECURITY_POLICY), CSP);
            let etag = header_of(&res, header::ETAG);
            // revalidation: the same ETag (also weak, or in a list) answers 304 without a body
            for if_none_match in [etag.clone(), format!("W/{etag}"), format!("\"x\", {etag}")] {
                let again = client()
                    .get(url(&server, &format!("/workbench/{name}")))
                    .header(header::IF_NONE_MATCH, if_none_match)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(again.status(), 304, "{name}");
                assert_eq!(header_of(&again, header::ETAG), etag);
                assert!(again.bytes().await.unwrap().is_empty());
            }
            let changed = client()
                .get(url(&server, &format!("/workbench/{name}")))
                .header(header::IF_NONE_MATCH, "\"something-else\"")
                .send()
                .await
                .unwrap();
            assert_eq!(changed.status(), 200, "{name}");
        }
        assert_eq!(get(&server, "/workbench/nothing.js").await.status(), 404);
        assert_eq!(get(&server, "/workbench/a/b.js").await.status(), 404);
        let post = client()
            .post(url(&server, "/workbench"))
            .send()
            .await
            .unwrap();
        assert_eq!(post.status(), 405);
        // the API keeps its own policy
        let metadata = get(&server, "/fhir/metadata").await;
        assert_eq!(
            header_of(&metadata, header::CONTENT_SECURITY_POLICY),
            "default-src 'none'; frame-ancestors 'none'"
        );
    })
    .await;
}

/// `fixtures/**/*.json` but the expectations, as the server should list them.
fn fixture_inputs() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "json") {
                let name = path.strip_prefix(root).unwrap().to_str().unwrap();
                out.push(name.replace('\\', "/"));
            }
        }
    }
    let root = fixture_path("");
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.retain(|n| !n.ends_with(".expected.json") && n != "expected-outcomes.json");
    out.sort();
    out
}

#[tokio::test]
async fn the_fixtures_are_listed_by_folder_and_served_as_stored() {
    on_each_backend(&[], |server| async move {
        let res = get(&server, "/workbench/fixtures").await;
        assert_eq!(res.status(), 200);
        assert_eq!(header_of(&res, header::CACHE_CONTROL), "no-store");
        let listing: Value = res.json().await.unwrap();
        let groups = listing["groups"].as_array().unwrap();
        assert_eq!(groups[0]["folder"], "", "top-level files first");
        let mut listed: Vec<String> = Vec::new();
        for group in groups {
            let folder = group["folder"].as_str().unwrap();
            for name in group["fixtures"].as_array().unwrap() {
                let name = name.as_str().unwrap();
                let in_folder = name.rsplit_once('/').map_or("", |(f, _)| f);
                assert_eq!(in_folder, folder, "{name} is listed under its folder");
                listed.push(name.to_string());
            }
        }
        listed.sort();
        assert_eq!(listed, fixture_inputs());
        assert!(listed.iter().any(|n| n == "invalid/malformed-json.json"));
        assert!(listed
            .iter()
            .any(|n| n == "referrals/missing-homebound.json"));
        for name in &listed {
            let res = get(&server, &format!("/workbench/fixtures/{name}")).await;
            assert_eq!(res.status(), 200, "{name}");
            assert_eq!(
                header_of(&res, header::CONTENT_TYPE),
                "application/json; charset=utf-8"
            );
            assert_eq!(
                res.bytes().await.unwrap().as_ref(),
                fixture_bytes(name).as_slice(),
                "{name} is served byte for byte (broken ones too)"
            );
        }
        for missing in [
            "/workbench/fixtures/nothing.json",
            "/workbench/fixtures/referrals/missing-homebound.expected.json",
            "/workbench/fixtures/../Cargo.toml",
            "/workbench/fixtures/%2e%2e/Cargo.toml",
        ] {
            assert_eq!(get(&server, missing).await.status(), 404, "{missing}");
        }
    })
    .await;
}

#[tokio::test]
async fn with_auth_on_the_page_is_public_and_the_fixtures_need_a_token() {
    let auth = AuthConfig::new("");
    let env = auth.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    on_each_backend(&env, |server| async move {
        for public in [
            "/workbench",
            "/workbench/",
            "/workbench/app.js",
            "/workbench/workbench.css",
        ] {
            assert_eq!(get(&server, public).await.status(), 200, "{public}");
        }
        for protected in [
            "/workbench/fixtures",
            "/workbench/fixtures/referrals/eligible-cancer.json",
            "/workbench/%66ixtures",
            "/workbench/%66ixtures/referrals/eligible-cancer.json",
        ] {
            let res = get(&server, protected).await;
            assert_eq!(res.status(), 401, "{protected}");
            assert!(header_of(&res, header::WWW_AUTHENTICATE).starts_with("Bearer"));
        }
        // any valid token will do: the interface engineer's has only system/$validate
        let token = token_for(&server, ENGINEER).await;
        for path in [
            "/workbench/fixtures",
            "/workbench/fixtures/referrals/eligible-cancer.json",
        ] {
            let res = client()
                .get(url(&server, path))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{path}");
        }
        let bad = client()
            .get(url(&server, "/workbench/fixtures"))
            .bearer_auth("not-a-token")
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 401);
    })
    .await;
}

// ---------- the browser ----------

/// Where the marker goes that makes `scripts/test.sh` report the browser test as NOT TESTED.
fn not_tested_marker() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("not-tested/workbench-browser.txt")
}

/// Why the browser test cannot run here, if it cannot.
fn browser_missing() -> Option<String> {
    let mut missing = Vec::new();
    for (path, package) in [
        ("/usr/bin/chromium", "chromium"),
        ("/usr/bin/chromedriver", "chromium-driver"),
    ] {
        if !Path::new(path).exists() {
            missing.push(format!("{path} (Debian package {package})"));
        }
    }
    let selenium = std::process::Command::new("python3")
        .args(["-c", "import selenium"])
        .output();
    if !selenium.is_ok_and(|o| o.status.success()) {
        missing.push("the Python package selenium (pip install selenium)".into());
    }
    (!missing.is_empty()).then(|| format!("missing {}", missing.join(", ")))
}

/// A config delivering every referral to `ehr`: two attempts, so that a delivery dies fast.
fn delivery_config(dir: &Path, ehr: &FakeEhr) -> String {
    let path = dir.join("gateway.toml");
    let text = format!(
        r#"
[delivery]
poll_interval_ms = 50
lease_secs = 4
default_upstream = "ehr"

[delivery.upstreams.ehr]
base_url = "{}"
connect_timeout_ms = 300
request_timeout_ms = 1000
retry_initial_ms = 50
retry_max_ms = 200
max_attempts = 2
"#,
        ehr.base_url()
    );
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

async fn dead_deliveries(server: &TestServer) -> Vec<Value> {
    let body: Value = get(server, "/admin/deliveries?state=dead")
        .await
        .json()
        .await
        .unwrap();
    body["deliveries"].as_array().cloned().unwrap_or_default()
}

/// Whether the browser tests can run; when not, says why (or fails under
/// `HBPC_TEST_REQUIRE_BROWSER=1`) and leaves the marker `scripts/test.sh` reports.
fn browser_available() -> bool {
    let Some(why) = browser_missing() else {
        return true;
    };
    if std::env::var("HBPC_TEST_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
        panic!("HBPC_TEST_REQUIRE_BROWSER=1 but the workbench browser test cannot run: {why}");
    }
    eprintln!("SKIPPED (workbench browser): {why}");
    let marker = not_tested_marker();
    std::fs::create_dir_all(marker.parent().unwrap()).unwrap();
    std::fs::write(&marker, why).unwrap();
    false
}

/// `python3 tests/workbench/drive.py --base … [args]`, off the runtime's thread (the fake EHR
/// answers meanwhile); its output is shown with the test's.
async fn drive(server: &TestServer, args: &[&str]) -> std::process::Output {
    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("workbench-screenshots");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/workbench/drive.py");
    let base = format!("http://127.0.0.1:{}", server.port);
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(script)
            .args(["--base", &base, "--screenshots"])
            .arg(&screenshots)
            .args(&args)
            .output()
    })
    .await
    .unwrap()
    .expect("run python3 tests/workbench/drive.py");
    eprintln!("{}", String::from_utf8_lossy(&output.stdout));
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    output
}

#[tokio::test]
async fn a_real_browser_validates_evaluates_and_works_the_referral_queue() {
    if !browser_available() {
        return;
    }
    let started = Instant::now();
    // The upstream EHR is down while one referral is accepted: its delivery goes dead.
    let ehr = FakeEhr::start().await;
    ehr.set_down(true);
    let dir = tempfile::tempdir().unwrap();
    let config = delivery_config(dir.path(), &ehr);
    let server = TestServer::start_on(Backend::Sqlite, &[("HBPC_CONFIG", &config)]).await;
    let res = client()
        .post(server.url(""))
        .header(header::CONTENT_TYPE, FHIR_JSON)
        .body(fixture_bytes("referrals/eligible-heart-failure.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    while dead_deliveries(&server).await.is_empty() {
        assert!(Instant::now() < deadline, "the delivery never went dead");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Told otherwise: the EHR is back; the browser re-queues the dead delivery.
    ehr.set_down(false);

    let output = drive(&server, &[]).await;
    assert!(
        output.status.success(),
        "the browser test failed ({}); screenshots in target/workbench-screenshots",
        output.status
    );
    // what the page re-queued reached the EHR
    assert!(dead_deliveries(&server).await.is_empty());
    assert!(!ehr.stored("CarePlan").is_empty());
    eprintln!(
        "workbench browser test: {:.1} s in all",
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test]
async fn with_auth_on_the_browser_asks_for_a_token_and_keeps_it_in_memory() {
    if !browser_available() {
        return;
    }
    let auth = AuthConfig::new("");
    let env = auth.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = TestServer::start_on(Backend::Sqlite, &env).await;
    let token = token_for(&server, ENGINEER).await;
    let output = drive(&server, &["--auth-token", &token]).await;
    assert!(
        output.status.success(),
        "the browser's token flow failed ({}); screenshots in target/workbench-screenshots",
        output.status
    );
}
