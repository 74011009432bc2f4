//! Delivery to a standard FHIR server (issue #20): a second `hbpc-gateway serve` is the upstream
//! EHR, in both delivery modes. The drill: referrals delivered; an upstream outage with a
//! SIGKILL of the sender; exactly one Task, CarePlan and CareTeam per referral upstream; no
//! reference upstream that dangles; a revoked referral (by re-evaluation and by staff) reaches
//! the upstream as an allowed Task transition (`accepted → cancelled`), its plan revoked.

use crate::delivery::{deliveries, numbered_referral, post_referral, wait_for};
use crate::support::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

const SID: &str = "http://hbpc.example.org/fhir/sid/";

/// The sender's config: every referral to `upstream`, tiny backoffs, a short lease.
fn sender_config(dir: &tempfile::TempDir, upstream: &TestServer, mode: &str) -> String {
    let path = dir.path().join("gateway.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[delivery]
poll_interval_ms = 20
lease_secs = 4
default_upstream = "gateway"

[delivery.upstreams.gateway]
base_url = "{}"
mode = "{mode}"
concurrency = 4
connect_timeout_ms = 300
request_timeout_ms = 2000
retry_initial_ms = 50
retry_max_ms = 300
max_attempts = 100000
"#,
            upstream.base
        ),
    )
    .unwrap();
    path.display().to_string()
}

async fn post_bundle(server: &TestServer, body: Vec<u8>) {
    let res = client()
        .post(&server.base)
        .header("Content-Type", FHIR_JSON)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

/// Every resource of `rt` the upstream holds.
async fn upstream_all(upstream: &TestServer, rt: &str) -> Vec<Value> {
    let (status, bundle) = get_json(upstream, &format!("/fhir/{rt}?_count=200")).await;
    assert_eq!(status, 200, "{bundle}");
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["resource"].clone())
        .collect()
}

/// The value of the resource's identifier in our `…/sid/{kind}` system.
fn business_id(resource: &Value, kind: &str) -> String {
    resource["identifier"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["system"] == format!("{SID}{kind}"))
        .and_then(|i| i["value"].as_str())
        .unwrap_or_else(|| panic!("no {kind} identifier: {resource}"))
        .to_string()
}

/// Exactly one Task, CarePlan and CareTeam per referral `numbers`; returns the upstream Tasks by
/// placer number (`REF-E2E-00n`).
async fn assert_one_each(upstream: &TestServer, numbers: &[usize]) -> Vec<(String, Value)> {
    let placers: BTreeSet<String> = numbers.iter().map(|n| format!("REF-E2E-{n:03}")).collect();
    let tasks = upstream_all(upstream, "Task").await;
    let mut by_placer: Vec<(String, Value)> = tasks
        .iter()
        .map(|t| {
            let placer = t["focus"]["identifier"]["value"]
                .as_str()
                .unwrap_or_else(|| panic!("the Task's focus is a logical reference: {t}"))
                .to_string();
            (placer, t.clone())
        })
        .collect();
    by_placer.sort_by(|a, b| a.0.cmp(&b.0));
    let seen: Vec<String> = by_placer.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(
        seen,
        placers.iter().cloned().collect::<Vec<_>>(),
        "one Task per referral upstream"
    );
    for (rt, kind) in [("CarePlan", "careplan"), ("CareTeam", "careteam")] {
        let held = upstream_all(upstream, rt).await;
        let ids: BTreeSet<String> = held.iter().map(|r| business_id(r, kind)).collect();
        assert_eq!(
            (held.len(), ids.len()),
            (numbers.len(), numbers.len()),
            "one {rt} per referral upstream"
        );
    }
    by_placer
}

/// Every `reference` in the upstream's copies is contained (`#…`) or resolves there (the others
/// are logical references or descriptions): none names one of our own ids.
async fn assert_no_dangling_references(upstream: &TestServer) {
    for rt in ["Task", "CarePlan", "CareTeam", "Goal"] {
        for resource in upstream_all(upstream, rt).await {
            let mut refs = Vec::new();
            references(&resource, &mut refs);
            for r in refs {
                if r.starts_with('#') {
                    continue;
                }
                let (status, _) = get_json(upstream, &format!("/fhir/{r}")).await;
                assert_eq!(
                    status, 200,
                    "{rt} upstream refers to {r}, which it does not hold"
                );
            }
        }
    }
}

fn references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (k, v) in fields {
                match (k.as_str(), v) {
                    ("reference", Value::String(s)) => out.push(s.clone()),
                    _ => references(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

/// The sender's referral Task for placer number `n`.
async fn sender_task(sender: &TestServer, n: usize) -> Value {
    let (status, bundle) = get_json(
        sender,
        &format!(
            "/fhir/ServiceRequest?identifier=http://hospital.example.org/fhir/sid/referral|REF-E2E-{n:03}"
        ),
    )
    .await;
    assert_eq!(status, 200, "{bundle}");
    let referral = bundle["entry"][0]["resource"]["id"].as_str().unwrap();
    let (status, bundle) = get_json(
        sender,
        &format!("/fhir/Task?focus=ServiceRequest/{referral}"),
    )
    .await;
    assert_eq!(status, 200, "{bundle}");
    let tasks = bundle["entry"].as_array().unwrap();
    assert_eq!(tasks.len(), 1, "{bundle}");
    tasks[0]["resource"].clone()
}

/// Waits until the upstream's Task for placer `n` has `status`.
async fn wait_upstream_status(upstream: &TestServer, n: usize, status: &str) -> Value {
    let placer = format!("REF-E2E-{n:03}");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let tasks = upstream_all(upstream, "Task").await;
        if let Some(t) = tasks
            .iter()
            .find(|t| t["focus"]["identifier"]["value"] == placer.as_str())
        {
            if t["status"] == status {
                return t.clone();
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the upstream Task of {placer} never became {status}: {tasks:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The upstream's CarePlan with our business identifier `careplan_id`.
async fn upstream_plan(upstream: &TestServer, careplan_id: &str) -> Value {
    upstream_all(upstream, "CarePlan")
        .await
        .into_iter()
        .find(|p| business_id(p, "careplan") == careplan_id)
        .unwrap_or_else(|| panic!("no CarePlan {careplan_id} upstream"))
}

async fn drill(backend: Backend, mode: &str) {
    eprintln!("-- backend: {}, mode: {mode}", backend.name());
    let mut upstream = TestServer::start_on(backend.clone(), &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = sender_config(&dir, &upstream, mode);
    let mut sender = TestServer::start_on(backend, &[("HBPC_CONFIG", &config)]).await;

    // A referral reaches the upstream gateway.
    post_referral(&sender, 1).await;
    wait_for(&sender, "delivered", 1, Duration::from_secs(30)).await;
    assert_one_each(&upstream, &[1]).await;

    // The upstream goes down; referrals keep coming; the sender is killed mid-retry.
    upstream.kill9();
    for n in 2..=4 {
        post_referral(&sender, n).await;
    }
    wait_for(&sender, "retrying", 3, Duration::from_secs(30)).await;
    sender.kill9();
    upstream.restart_after_kill9().await;
    sender.restart_after_kill9().await;
    wait_for(&sender, "delivered", 4, Duration::from_secs(60)).await;
    assert!(deliveries(&sender, "state=dead").await.is_empty());
    let tasks = assert_one_each(&upstream, &[1, 2, 3, 4]).await;
    assert!(tasks.iter().all(|(_, t)| t["status"] == "accepted"));
    assert_no_dangling_references(&upstream).await;
    // Evidence the EHR sent without an identifier is described, not pointed at.
    let described = tasks[0].1["input"].as_array().unwrap().iter().any(|i| {
        i["valueReference"]["type"] == "Condition" && i["valueReference"]["display"].is_string()
    });
    assert!(described, "{}", tasks[0].1);

    // Re-evaluation revokes referral 1: the EHR sends the patient's new home, outside the
    // service area, and the referral again, both as conditional updates (a conditional create
    // that matches would change nothing). Our Task is cancelled, not rejected, and the upstream
    // follows with its plan revoked.
    let moved = String::from_utf8(numbered_referral(1))
        .unwrap()
        .replace("Contra Costa County", "Los Angeles County")
        .replace("94598", "90012")
        .replace("Walnut Creek", "Los Angeles");
    let mut moved: Value = serde_json::from_str(&moved).unwrap();
    for entry in moved["entry"].as_array_mut().unwrap() {
        let rt = entry["resource"]["resourceType"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if let Some(criteria) = entry["request"]["ifNoneExist"].as_str().map(str::to_string) {
            if rt == "Patient" || rt == "ServiceRequest" {
                entry["request"] = json!({"method": "PUT", "url": format!("{rt}?{criteria}")});
            }
        }
    }
    post_bundle(&sender, moved.to_string().into_bytes()).await;
    wait_for(&sender, "delivered", 5, Duration::from_secs(30)).await;
    let ours = sender_task(&sender, 1).await;
    assert_eq!(ours["status"], "cancelled", "{ours}");
    assert_eq!(ours["businessStatus"]["coding"][0]["code"], "6.0");
    let reason = ours["statusReason"]["text"].as_str().unwrap();
    assert!(
        reason.contains("no longer eligible") && reason.contains("service area"),
        "{reason}"
    );
    let theirs = wait_upstream_status(&upstream, 1, "cancelled").await;
    assert_eq!(theirs["statusReason"]["text"], reason);
    let careplan = ours["output"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["type"]["coding"][0]["code"] == "care-plan")
        .and_then(|o| o["valueReference"]["reference"].as_str())
        .map(str::to_string)
        .expect("the cancelled Task still names its plan");
    let (_, our_plan) = get_json(&sender, &format!("/fhir/{careplan}")).await;
    assert_eq!(our_plan["status"], "revoked");
    let their_plan = upstream_plan(&upstream, &business_id(&our_plan, "careplan")).await;
    assert_eq!(their_plan["status"], "revoked", "{their_plan}");

    // Staff cancel referral 2: the upstream Task and plan follow.
    let mut task = sender_task(&sender, 2).await;
    let path = format!("/fhir/Task/{}", task["id"].as_str().unwrap());
    task["status"] = json!("cancelled");
    task["statusReason"] = json!({"text": "the patient elected hospice"});
    let version = task["meta"]["versionId"].as_str().unwrap().to_string();
    let (status, body, _) = request(
        &sender,
        reqwest::Method::PUT,
        &path,
        Some(&task),
        &[("If-Match", &format!("W/\"{version}\""))],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    wait_for(&sender, "delivered", 6, Duration::from_secs(30)).await;
    let dead = deliveries(&sender, "state=dead").await;
    assert!(dead.is_empty(), "{dead:?}");
    let theirs = wait_upstream_status(&upstream, 2, "cancelled").await;
    assert_eq!(
        theirs["statusReason"]["text"],
        "the patient elected hospice"
    );
    let their_plans = upstream_all(&upstream, "CarePlan").await;
    let revoked = their_plans.iter().filter(|p| p["status"] == "revoked");
    assert_eq!(revoked.count(), 2, "{their_plans:?}");
    // Still one of each per referral, and nothing dangling.
    assert_one_each(&upstream, &[1, 2, 3, 4]).await;
    assert_no_dangling_references(&upstream).await;
}

#[tokio::test]
async fn per_resource_delivery_to_a_gateway() {
    for backend in backends() {
        drill(backend, "per-resource").await;
    }
}

/// The default mode: conditional updates (`PUT Type?identifier=…`) inside one transaction
/// Bundle per delivery, which any R4 server with transactions takes, ours included.
#[tokio::test]
async fn transaction_delivery_to_a_gateway() {
    for backend in backends() {
        drill(backend, "transaction").await;
    }
}

/// What an upstream gateway receives in one transaction: the Task cancelled and its CarePlan
/// already revoked. The staff action on the Task leaves that plan as sent (it would otherwise
/// write the plan a second time in the same transaction, against a stale version, and fail).
#[tokio::test]
async fn a_task_ended_with_its_plan_in_one_transaction_keeps_the_plan_as_sent() {
    let server = TestServer::start().await;
    post_referral(&server, 7).await;
    let task = sender_task(&server, 7).await;
    let plan_ref = task["output"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["type"]["coding"][0]["code"] == "care-plan")
        .and_then(|o| o["valueReference"]["reference"].as_str())
        .expect("an accepted referral has a plan")
        .to_string();
    let (_, mut plan) = get_json(&server, &format!("/fhir/{plan_ref}")).await;
    let mut task = task;
    task["status"] = json!("cancelled");
    task["statusReason"] = json!({"text": "the patient moved away"});
    plan["status"] = json!("revoked");
    plan["note"] = json!([{"text": "revoked by the sender"}]);
    let entry = |r: &Value| {
        let url = format!(
            "{}/{}",
            r["resourceType"].as_str().unwrap(),
            r["id"].as_str().unwrap()
        );
        json!({"fullUrl": format!("{}/{url}", server.base), "resource": r,
               "request": {"method": "PUT", "url": url}})
    };
    let bundle = json!({"resourceType": "Bundle", "type": "transaction",
                        "entry": [entry(&task), entry(&plan)]});
    let (status, body) = post_json(&server, "/fhir", &bundle).await;
    assert_eq!(status, 200, "{body}");
    let (_, stored) = get_json(&server, &format!("/fhir/{plan_ref}")).await;
    assert_eq!(stored["status"], "revoked");
    assert_eq!(
        stored["note"][0]["text"], "revoked by the sender",
        "{stored}"
    );
    let (_, stored_task) = get_json(
        &server,
        &format!("/fhir/Task/{}", task["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(stored_task["status"], "cancelled");
}
