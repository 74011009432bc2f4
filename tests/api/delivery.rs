//! Delivery through the real `hbpc-gateway serve` binary (issue #5): its worker drains the outbox
//! to a fake EHR on 127.0.0.1; the admin endpoint and the CLI show and re-queue deliveries; a
//! SIGKILL with 50 deliveries pending loses none and duplicates none.
//!
//! The first tests write outbox records through `ResourceStore::apply` on the server's database
//! (as the workflow does); the last ones post real referrals and let the workflow enqueue them.

#[path = "../delivery/fake_ehr.rs"]
pub(crate) mod fake_ehr; // also the workbench's browser test's upstream

use crate::support::*;
use fake_ehr::{FakeEhr, Fault};
use hbpc_gateway::app::delivery::{Delivery, DeliverySource};
use hbpc_gateway::config::{DatabaseSettings, DeliverySettings, UpstreamSettings};
use hbpc_gateway::store::delivery_request::ResourceKey;
use hbpc_gateway::store::{SharedStore, WriteOp};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const SID: &str = "http://hbpc.example.org/fhir/sid/";

/// A server whose worker delivers to `ehr`; keep the directory (its config file) alive.
async fn serve_to(backend: Backend, ehr: &FakeEhr) -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(&dir, ehr);
    let server = TestServer::start_on(backend, &[("HBPC_CONFIG", &config)]).await;
    (dir, server)
}

/// A config file routing every referral to the fake EHR, with tiny backoffs and a short lease.
fn config_file(dir: &tempfile::TempDir, ehr: &FakeEhr) -> String {
    config_with_backoff(dir, ehr, 20)
}

fn config_with_backoff(dir: &tempfile::TempDir, ehr: &FakeEhr, retry_initial_ms: u64) -> String {
    let path = dir.path().join("gateway.toml");
    let text = format!(
        r#"
[delivery]
poll_interval_ms = 20
lease_secs = 2
default_upstream = "ehr"

[delivery.upstreams.ehr]
base_url = "{}"
concurrency = 4
connect_timeout_ms = 300
request_timeout_ms = 1000
retry_initial_ms = {}
retry_max_ms = 300
max_attempts = 100000
"#,
        ehr.base_url(),
        retry_initial_ms
    );
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn delivery() -> Delivery {
    let mut s = DeliverySettings {
        default_upstream: "ehr".into(),
        ..DeliverySettings::default()
    };
    s.upstreams.insert(
        "ehr".into(),
        UpstreamSettings {
            base_url: "http://127.0.0.1:9/fhir".into(),
            ..UpstreamSettings::default()
        },
    );
    Delivery::new(&s)
}

async fn open(server: &TestServer) -> SharedStore {
    hbpc_gateway::store::open(&server.database_url, &DatabaseSettings::default())
        .await
        .expect("open the server's database")
}

/// A referral's generated Task, CarePlan and CareTeam plus their outbox record, in one apply.
async fn referral(store: &SharedStore, n: usize) {
    let put = |rt: &str, id: String, resource: Value| WriteOp::Update {
        resource_type: rt.into(),
        id,
        resource,
        if_match: None,
    };
    let ident =
        |kind: &str| json!([{"system": format!("{SID}{kind}"), "value": format!("REF-{n}")}]);
    let mut ops = vec![
        put(
            "Patient",
            format!("p-{n}"),
            json!({"resourceType": "Patient",
            "identifier": [{"system": "urn:mrn", "value": format!("MRN-{n}")}]}),
        ),
        put(
            "Task",
            format!("t-{n}"),
            json!({"resourceType": "Task", "identifier": ident("task"),
            "status": "accepted", "intent": "order", "for": {"reference": format!("Patient/p-{n}")}}),
        ),
        put(
            "CarePlan",
            format!("cp-{n}"),
            json!({"resourceType": "CarePlan", "identifier": ident("careplan"),
            "status": "active", "intent": "plan", "subject": {"reference": format!("Patient/p-{n}")},
            "careTeam": [{"reference": format!("CareTeam/ct-{n}")}]}),
        ),
        put(
            "CareTeam",
            format!("ct-{n}"),
            json!({"resourceType": "CareTeam", "identifier": ident("careteam"),
            "status": "active", "subject": {"reference": format!("Patient/p-{n}")}}),
        ),
    ];
    let keys = ["Task", "CarePlan", "CareTeam"]
        .iter()
        .zip(["t", "cp", "ct"])
        .map(|(rt, p)| ResourceKey::new(*rt, format!("{p}-{n}")))
        .collect();
    ops.extend(delivery().enqueue(&DeliverySource::default(), &format!("t-{n}"), keys));
    store.apply(ops).await.expect("referral stored");
}

/// `POST /admin/deliveries/{id}/$retry`.
async fn retry(server: &TestServer, id: &str) -> reqwest::Response {
    client()
        .post(admin_url(server, &format!("deliveries/{id}/$retry")))
        .send()
        .await
        .unwrap()
}

fn admin_url(server: &TestServer, path: &str) -> String {
    format!("http://127.0.0.1:{}/admin/{path}", server.port)
}

pub(crate) async fn deliveries(server: &TestServer, query: &str) -> Vec<Value> {
    let body: Value = client()
        .get(admin_url(server, &format!("deliveries?{query}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["deliveries"].as_array().cloned().unwrap_or_default()
}

/// Waits until `count` deliveries have `status`.
pub(crate) async fn wait_for(
    server: &TestServer,
    status: &str,
    count: usize,
    within: Duration,
) -> Vec<Value> {
    let deadline = Instant::now() + within;
    loop {
        let found = deliveries(server, &format!("state={status}&limit=1000")).await;
        if found.len() >= count {
            return found;
        }
        if Instant::now() > deadline {
            panic!(
                "{} of {count} deliveries {status} after {within:?}: {:#?}",
                found.len(),
                deliveries(server, "limit=5").await
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn assert_one_each(ehr: &FakeEhr, n: usize) {
    for (rt, kind) in [
        ("Task", "task"),
        ("CarePlan", "careplan"),
        ("CareTeam", "careteam"),
    ] {
        let keys: Vec<String> = ehr.stored(rt).into_iter().map(|(k, _, _)| k).collect();
        let mut want: Vec<String> = (0..n).map(|i| format!("{SID}{kind}|REF-{i}")).collect();
        want.sort();
        assert_eq!(keys, want, "{rt} upstream");
    }
}

#[tokio::test]
async fn serve_delivers_and_the_admin_endpoint_lists_and_requeues() {
    for backend in backends() {
        eprintln!("-- backend: {}", backend.name());
        let ehr = FakeEhr::start().await;
        let (_config_dir, server) = serve_to(backend, &ehr).await;
        let store = open(&server).await;

        referral(&store, 0).await;
        let delivered = wait_for(&server, "delivered", 1, Duration::from_secs(20)).await;
        assert_eq!(delivered[0]["task"], "Task/t-0");
        assert_eq!(delivered[0]["upstream"][1]["resource"], "CarePlan/cp-0");
        assert_eq!(ehr.fhir_requests()[0].json()["type"], "transaction");
        assert_one_each(&ehr, 1);

        // A permanent refusal: a dead letter with the EHR's reason, then a re-queue.
        ehr.push_faults([Fault::Invalid("CareTeam.participant is required".into())]);
        referral(&store, 1).await;
        let dead = wait_for(&server, "dead", 1, Duration::from_secs(20)).await;
        assert_eq!(dead[0]["task"], "Task/t-1");
        assert_eq!(dead[0]["lastStatus"], 400);
        assert_eq!(
            dead[0]["lastError"],
            "HTTP 400: [invalid] CareTeam.participant is required"
        );
        // GET /metrics (issue #18): the dead letter and the outbox by state, per upstream name
        let metrics = client()
            .get(format!("http://127.0.0.1:{}/metrics", server.port))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for series in [
            "hbpc_delivery_dead_letters_total{upstream=\"ehr\"} 1",
            "hbpc_delivery_attempts_total{result=\"delivered\",upstream=\"ehr\"} 1",
            "hbpc_deliveries{state=\"dead\",upstream=\"ehr\"} 1",
            "hbpc_deliveries{state=\"delivered\",upstream=\"ehr\"} 1",
        ] {
            assert!(metrics.lines().any(|l| l == series), "{series}\n{metrics}");
        }
        let by_task = deliveries(&server, "task=Task/t-1").await;
        assert_eq!(by_task.len(), 1);
        let id = dead[0]["id"].as_str().unwrap();
        let res = retry(&server, id).await;
        assert_eq!(res.status(), 200);
        wait_for(&server, "delivered", 2, Duration::from_secs(20)).await;
        assert_one_each(&ehr, 2);

        // Errors are OperationOutcomes with the right status.
        let res = retry(&server, id).await;
        assert_eq!(res.status(), 409);
        assert_outcome(&res.json().await.unwrap(), "conflict");
        let res = client()
            .post(admin_url(&server, "deliveries/no-such-delivery/$retry"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        let res = client()
            .get(admin_url(&server, "deliveries?state=lost"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        assert_outcome(&res.json().await.unwrap(), "value");

        // The CLI sees the same outbox.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hbpc-gateway"))
            .args(["deliveries", "list", "--state", "delivered", "--json"])
            .env_remove("HBPC_CONFIG")
            .env("HBPC_DATABASE_URL", &server.database_url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hbpc-gateway"))
            .args(["deliveries", "retry", "no-such-delivery"])
            .env_remove("HBPC_CONFIG")
            .env("HBPC_DATABASE_URL", &server.database_url)
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("no delivery no-such-delivery"));
    }
}

/// 50 referrals while the EHR is down, SIGKILL, restart, EHR back: all 50 delivered, once each.
#[tokio::test]
async fn nothing_is_lost_or_duplicated_across_kill_9() {
    for backend in backends() {
        eprintln!("-- backend: {}", backend.name());
        let ehr = FakeEhr::start().await;
        ehr.set_down(true);
        let (_config_dir, mut server) = serve_to(backend, &ehr).await;
        let store = open(&server).await;
        for n in 0..50 {
            referral(&store, n).await;
        }
        // Attempts are failing against the dead EHR (some are in flight) when the server dies.
        wait_for(&server, "retrying", 10, Duration::from_secs(20)).await;
        server.kill9();
        ehr.set_down(false);
        server.restart_after_kill9().await;
        wait_for(&server, "delivered", 50, Duration::from_secs(60)).await;
        assert_one_each(&ehr, 50);
        assert!(deliveries(&server, "state=dead").await.is_empty());
    }
}

/// The eligible-cancer referral as referral number `n`: its own placer identifier and MRN.
pub(crate) fn numbered_referral(n: usize) -> Vec<u8> {
    String::from_utf8(fixture_bytes("referrals/eligible-cancer.json"))
        .unwrap()
        .replace("REF-2026-000521", &format!("REF-E2E-{n:03}"))
        .replace("MRN-512877", &format!("MRN-E2E-{n:03}"))
        .into_bytes()
}

pub(crate) async fn post_referral(server: &TestServer, n: usize) {
    let res = client()
        .post(&server.base)
        .header("Content-Type", FHIR_JSON)
        .body(numbered_referral(n))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

#[tokio::test]
async fn a_posted_referral_reaches_the_ehr_as_a_conditional_transaction() {
    for backend in backends() {
        eprintln!("-- backend: {}", backend.name());
        let ehr = FakeEhr::start().await;
        let (_config_dir, server) = serve_to(backend, &ehr).await;
        post_referral(&server, 1).await;
        let delivered = wait_for(&server, "delivered", 1, Duration::from_secs(30)).await;

        let requests = ehr.fhir_requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(
            requests[0].headers["content-type"],
            "application/fhir+json; fhirVersion=4.0"
        );
        let bundle = requests[0].json();
        assert_eq!(bundle["type"], "transaction");
        let entries = bundle["entry"].as_array().unwrap();
        let types: Vec<&str> = entries
            .iter()
            .map(|e| e["resource"]["resourceType"].as_str().unwrap())
            .collect();
        assert_eq!(&types[..3], ["Task", "CarePlan", "CareTeam"], "{types:?}");
        assert!(types[3..].iter().all(|t| *t == "Goal"), "{types:?}");
        let task_id = delivered[0]["task"].as_str().unwrap();
        for e in entries {
            let rt = e["resource"]["resourceType"].as_str().unwrap();
            let url = e["request"]["url"].as_str().unwrap();
            let prefix = format!(
                "{rt}?identifier=http://hbpc.example.org/fhir/sid/{}",
                rt.to_lowercase()
            );
            assert!(url.starts_with(&prefix), "{url}");
            assert_eq!(e["request"]["method"], "PUT");
            assert!(e["resource"].get("id").is_none());
        }
        let care_plan = &entries[1]["resource"];
        assert_eq!(
            care_plan["subject"]["identifier"],
            json!({"system": "http://hospital.example.org/fhir/sid/mrn", "value": "MRN-E2E-001"})
        );
        assert_eq!(care_plan["careTeam"][0]["reference"], entries[2]["fullUrl"]);
        assert_eq!(entries[0]["resource"]["status"], "accepted");
        // The same Task as ours, under its business identifier.
        let ours: Value = client()
            .get(server.url(task_id))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(entries[0]["resource"]["identifier"], ours["identifier"]);
        assert_eq!(
            (ehr.stored("CarePlan").len(), ehr.stored("CareTeam").len()),
            (1, 1)
        );

        // Resubmitting the same referral changes nothing, so nothing is delivered (issue #25)...
        post_referral(&server, 1).await;
        // ...while a change to the referral re-evaluates it; upstream it updates, never
        // duplicates.
        let (_, found) = get_json(
            &server,
            "/fhir/ServiceRequest?identifier=http://hospital.example.org/fhir/sid/referral|REF-E2E-001",
        )
        .await;
        let mut referral = found["entry"][0]["resource"].clone();
        let path = format!("/fhir/ServiceRequest/{}", referral["id"].as_str().unwrap());
        referral["priority"] = "asap".into();
        let (status, body, _) =
            request(&server, reqwest::Method::PUT, &path, Some(&referral), &[]).await;
        assert_eq!(status, 200, "{body}");
        wait_for(&server, "delivered", 2, Duration::from_secs(30)).await;
        assert_eq!(
            deliveries(&server, "limit=100").await.len(),
            2,
            "the resubmission delivered nothing"
        );
        assert_eq!(
            (ehr.stored("CarePlan").len(), ehr.stored("CareTeam").len()),
            (1, 1)
        );
        assert_eq!(ehr.stored("Task")[0].2, 2, "the Task was updated upstream");
    }
}

/// The crash test of issue #5, through the real workflow.
#[tokio::test]
async fn fifty_posted_referrals_survive_kill_9_while_the_ehr_is_down() {
    for backend in backends() {
        eprintln!("-- backend: {}", backend.name());
        let ehr = FakeEhr::start().await;
        ehr.set_down(true);
        let (_config_dir, mut server) = serve_to(backend, &ehr).await;
        for n in 0..50 {
            post_referral(&server, n).await;
        }
        server.kill9();
        ehr.set_down(false);
        server.restart_after_kill9().await;
        wait_for(&server, "delivered", 50, Duration::from_secs(90)).await;
        for rt in ["Task", "CarePlan", "CareTeam"] {
            assert_eq!(ehr.stored(rt).len(), 50, "{rt} upstream");
        }
        let mut placers: Vec<String> = ehr
            .stored("Task")
            .iter()
            .map(|(_, task, _)| {
                task["focus"]["identifier"]["value"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string()
            })
            .collect();
        placers.sort();
        placers.dedup();
        assert_eq!(placers.len(), 50, "{placers:?}");
        assert!(deliveries(&server, "state=dead").await.is_empty());
    }
}

/// Issue #8: two replicas on one PostgreSQL database drain one outbox. Each record is sent once
/// while both live; when one dies mid-delivery, the other finishes its records after the lease.
#[tokio::test]
async fn two_replicas_share_the_outbox_and_survive_one_dying() {
    let Some(backend) = backends()
        .into_iter()
        .find(|b| matches!(b, Backend::Postgres { .. }))
    else {
        return;
    };
    let ehr = FakeEhr::start().await;
    let (_config_dir, mut first) = serve_to(backend, &ehr).await;
    let second = first.replica().await;
    let store = open(&first).await;

    for n in 0..30 {
        referral(&store, n).await;
    }
    let delivered = wait_for(&second, "delivered", 30, Duration::from_secs(60)).await;
    // One request per claimed attempt (normally one each): no record was sent by both replicas.
    let attempts: u64 = delivered
        .iter()
        .map(|d| d["attempts"].as_u64().unwrap())
        .sum();
    assert_eq!(
        ehr.fhir_requests().len() as u64,
        attempts,
        "a record was sent twice"
    );
    assert_one_each(&ehr, 30);

    // Slow answers keep deliveries in flight; then the first replica dies holding some.
    ehr.push_faults(std::iter::repeat_n(
        Fault::Stall(Duration::from_millis(800)),
        8,
    ));
    for n in 30..40 {
        referral(&store, n).await;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while deliveries(&second, "state=pending&limit=1000")
        .await
        .iter()
        .all(|d| d["leaseUntil"].is_null())
    {
        assert!(Instant::now() < deadline, "nothing was ever in flight");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill9();
    wait_for(&second, "delivered", 40, Duration::from_secs(60)).await;
    assert_one_each(&ehr, 40);
}

/// A referral sent as a FHIR message goes back to its sender (`MessageHeader.source.endpoint`),
/// not to the default upstream.
#[tokio::test]
async fn a_message_referral_is_delivered_to_its_sender() {
    let backend = backends().remove(0);
    let default_ehr = FakeEhr::start().await;
    let sender = FakeEhr::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[delivery]
poll_interval_ms = 20
lease_secs = 2
default_upstream = "default"

[delivery.upstreams.default]
base_url = "{}"
request_timeout_ms = 1000
retry_initial_ms = 20

[delivery.upstreams.sender]
base_url = "{}"
sources = ["https://ehr.hospital.example.org/fhir"]
request_timeout_ms = 1000
retry_initial_ms = 20
"#,
            default_ehr.base_url(),
            sender.base_url()
        ),
    )
    .unwrap();
    let config = path.display().to_string();
    let server = TestServer::start_on(backend, &[("HBPC_CONFIG", &config)]).await;
    let (status, body) = post_json(
        &server,
        "/fhir/$process-message",
        &fixture_json("referral-message.json"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    wait_for(&server, "delivered", 1, Duration::from_secs(30)).await;
    assert_eq!(sender.stored("CarePlan").len(), 1);
    assert!(default_ehr.fhir_requests().is_empty());
}

/// The Task's delivery outputs (`delivery`, `delivery-location`, `delivery-http-status`).
fn delivery_outputs(task: &Value) -> Vec<(String, Value)> {
    task["output"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| {
            let coding = &o["type"]["coding"][0];
            let code = coding["code"].as_str()?;
            (coding["system"] == "http://hbpc.example.org/fhir/CodeSystem/hbpc-task-parameter"
                && code.starts_with("delivery"))
            .then(|| (code.to_string(), o.clone()))
        })
        .collect()
}

/// The delivery state the Task shows, if any.
fn shown_state(task: &Value) -> Option<String> {
    delivery_outputs(task)
        .into_iter()
        .find(|(code, _)| code == "delivery")
        .map(|(_, o)| {
            let coding = &o["valueCodeableConcept"]["coding"][0];
            assert_eq!(
                coding["system"],
                "http://hbpc.example.org/fhir/CodeSystem/hbpc-delivery-state"
            );
            coding["code"].as_str().unwrap().to_string()
        })
}

pub(crate) async fn read_task(server: &TestServer, task: &str) -> Value {
    let (status, body) = get_json(server, &format!("/fhir/{task}")).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The delivery state of each version of the Task, oldest first.
async fn history_states(server: &TestServer, task: &str) -> Vec<Option<String>> {
    let (status, bundle) = get_json(server, &format!("/fhir/{task}/_history")).await;
    assert_eq!(status, 200, "{bundle}");
    let mut versions: Vec<(u64, Option<String>)> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let r = &e["resource"];
            let v = r["meta"]["versionId"].as_str().unwrap().parse().unwrap();
            (v, shown_state(r))
        })
        .collect();
    versions.sort_by_key(|(v, _)| *v);
    versions.into_iter().map(|(_, s)| s).collect()
}

/// Waits until the Task shows `state`.
async fn wait_for_task(server: &TestServer, task: &str, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body = read_task(server, task).await;
        if shown_state(&body).as_deref() == Some(state) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{task} never showed {state}: {:?}",
            delivery_outputs(&body)
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// Issue #5: the delivery state is on the referral Task, one version per transition.
#[tokio::test]
async fn the_task_shows_its_delivery_state_one_version_per_transition() {
    for backend in backends() {
        eprintln!("-- backend: {}", backend.name());
        let ehr = FakeEhr::start().await;
        // Backoffs long enough that each failure's Task write lands before the next attempt.
        ehr.push_faults([Fault::Status(500), Fault::Status(502), Fault::Status(500)]);
        let dir = tempfile::tempdir().unwrap();
        let config = config_with_backoff(&dir, &ehr, 250);
        let server = TestServer::start_on(backend, &[("HBPC_CONFIG", &config)]).await;

        // Three server errors, then success: pending, failed-retrying once, delivered.
        post_referral(&server, 1).await;
        let records = deliveries(&server, "limit=5").await;
        let task_ref = records[0]["task"].as_str().unwrap().to_string();
        let retrying = wait_for_task(&server, &task_ref, "failed-retrying").await;
        assert!(delivery_outputs(&retrying)
            .iter()
            .any(|(code, o)| code == "delivery-http-status" && o["valueString"] == "5xx"));
        let task = wait_for_task(&server, &task_ref, "delivered").await;
        let record = &wait_for(&server, "delivered", 1, Duration::from_secs(20)).await[0];
        assert_eq!(record["attempts"], 4);
        assert_eq!(
            history_states(&server, &task_ref).await,
            [
                Some("pending".to_string()),
                Some("failed-retrying".to_string()),
                Some("delivered".to_string())
            ],
            "one Task version per transition, none per retry"
        );
        // One location per delivered resource, versioned, at the EHR, naming ours.
        let locations: Vec<Value> = delivery_outputs(&task)
            .into_iter()
            .filter(|(code, _)| code == "delivery-location")
            .map(|(_, o)| o["valueReference"].clone())
            .collect();
        let sent = record["resources"].as_array().unwrap();
        assert_eq!(locations.len(), sent.len(), "{locations:?}");
        let plan = locations
            .iter()
            .find(|l| l["type"] == "CarePlan")
            .expect("the CarePlan's location");
        let upstream_plan = &ehr.stored("CarePlan")[0];
        let at = plan["reference"].as_str().unwrap();
        assert!(
            at.starts_with(&format!("{}/CarePlan/", ehr.base_url()))
                && at.ends_with(&format!("/_history/{}", upstream_plan.2)),
            "{at}"
        );
        assert!(plan["display"]
            .as_str()
            .unwrap()
            .starts_with(sent[1].as_str().unwrap()));
        assert!(delivery_outputs(&task)
            .iter()
            .all(|(code, _)| code != "delivery-http-status"));
        assert_valid(&server, &task, "the Task").await;
        // Upstream gets the referral's state, not our bookkeeping about the exchange.
        let upstream_task = &ehr.stored("Task")[0].1;
        assert!(
            delivery_outputs(upstream_task).is_empty(),
            "{upstream_task}"
        );
        assert!(!upstream_task["output"].as_array().unwrap().is_empty());

        // A permanent refusal: dead with the status class only, then a re-queue.
        ehr.push_faults([Fault::Invalid("Patient MRN-E2E-002 is unknown".into())]);
        post_referral(&server, 2).await;
        let dead = wait_for(&server, "dead", 1, Duration::from_secs(20)).await;
        let task_ref = dead[0]["task"].as_str().unwrap().to_string();
        let task = wait_for_task(&server, &task_ref, "dead").await;
        assert!(delivery_outputs(&task)
            .iter()
            .any(|(code, o)| code == "delivery-http-status" && o["valueString"] == "4xx"));
        assert!(
            !task.to_string().contains("MRN-E2E-002 is unknown"),
            "the EHR's answer stays behind the admin endpoint"
        );
        assert_valid(&server, &task, "the Task").await;
        // The re-queued attempt is slow (then a 503), so the Task is seen pending first.
        ehr.push_faults([Fault::Stall(Duration::from_millis(700))]);
        let id = dead[0]["id"].as_str().unwrap();
        let res = retry(&server, id).await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            shown_state(&read_task(&server, &task_ref).await).as_deref(),
            Some("pending")
        );
        let task = wait_for_task(&server, &task_ref, "delivered").await;
        assert_valid(&server, &task, "the Task").await;
        assert_eq!(
            history_states(&server, &task_ref).await,
            ["pending", "dead", "pending", "failed-retrying", "delivered"]
                .map(|s| Some(s.to_string()))
        );

        // Re-evaluating the same referral with nothing new writes nothing (the delivery
        // output is not part of the comparison), so no new delivery either.
        let before = deliveries(&server, "limit=1000").await.len();
        post_referral(&server, 2).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let after = deliveries(&server, "limit=1000").await;
        if after.len() > before {
            // A changed evaluation: its new Task version said pending, then delivered again.
            wait_for_task(&server, &task_ref, "delivered").await;
            let states = history_states(&server, &task_ref).await;
            assert_eq!(states[5].as_deref(), Some("pending"), "{states:?}");
            assert_eq!(states.len(), 7, "{states:?}");
        } else {
            assert_eq!(history_states(&server, &task_ref).await.len(), 5);
        }
    }
}

/// Without an upstream, Tasks carry no delivery output at all.
#[tokio::test]
async fn without_an_upstream_the_task_has_no_delivery_output() {
    let backend = backends().remove(0);
    let server = TestServer::start_on(backend, &[]).await;
    post_referral(&server, 3).await;
    let (status, bundle) = get_json(&server, "/fhir/Task?_count=50").await;
    assert_eq!(status, 200);
    let tasks = bundle["entry"].as_array().unwrap();
    assert!(!tasks.is_empty());
    for e in tasks {
        assert!(delivery_outputs(&e["resource"]).is_empty());
    }
}

/// The delivery outputs belong to the service: a staff status change says `pending` (and is
/// delivered), a client's other Task update keeps the stored state whatever it sent.
#[tokio::test]
async fn staff_updates_do_not_set_the_delivery_state() {
    for backend in backends() {
        eprintln!("-- backend: {}", backend.name());
        let ehr = FakeEhr::start().await;
        let (_config_dir, server) = serve_to(backend, &ehr).await;
        post_referral(&server, 4).await;
        let task_ref = deliveries(&server, "limit=5").await[0]["task"]
            .as_str()
            .unwrap()
            .to_string();
        let mut task = wait_for_task(&server, &task_ref, "delivered").await;
        let put = |task: Value| {
            let server = &server;
            let path = format!("/fhir/{task_ref}");
            async move {
                let (status, body, _) =
                    request(server, reqwest::Method::PUT, &path, Some(&task), &[]).await;
                assert_eq!(status, 200, "{body}");
            }
        };

        // A note, with a forged dead letter: stored, but the Task still says delivered.
        task["note"] = json!([{"text": "called the family"}]);
        for output in task["output"].as_array_mut().unwrap() {
            if output["type"]["coding"][0]["code"] == "delivery" {
                output["valueCodeableConcept"]["coding"][0]["code"] = json!("dead");
            }
        }
        put(task.clone()).await;
        let stored = read_task(&server, &task_ref).await;
        assert_eq!(stored["note"][0]["text"], "called the family");
        assert_eq!(shown_state(&stored).as_deref(), Some("delivered"));
        assert_eq!(deliveries(&server, "limit=1000").await.len(), 1);

        // A status change is sent upstream: pending in that very version, then delivered.
        let mut task = stored;
        task["status"] = json!("in-progress");
        let version: u64 = task["meta"]["versionId"].as_str().unwrap().parse().unwrap();
        put(task).await;
        let (_, staff_version) = get_json(
            &server,
            &format!("/fhir/{task_ref}/_history/{}", version + 1),
        )
        .await;
        assert_eq!(staff_version["status"], "in-progress");
        assert_eq!(shown_state(&staff_version).as_deref(), Some("pending"));
        let delivered = wait_for_task(&server, &task_ref, "delivered").await;
        assert_eq!(delivered["status"], "in-progress");
        wait_for(&server, "delivered", 2, Duration::from_secs(20)).await;
        assert_eq!(ehr.stored("Task")[0].1["status"], "in-progress");
    }
}
