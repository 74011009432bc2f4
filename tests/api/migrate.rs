//! `hbpc-gateway migrate`: a SQLite store (resources and history, claims, the delivery
//! outbox, the audit trail) moved into PostgreSQL, verified, resumed after a kill -9, and a
//! tampered or conflicting target caught. Skipped without HBPC_TEST_DATABASE_URL.

use crate::delivery::deliveries;
use crate::delivery::fake_ehr::FakeEhr;
use crate::support::*;
use serde_json::{json, Value};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn postgres() -> Option<Backend> {
    backends()
        .into_iter()
        .find(|b| matches!(b, Backend::Postgres { .. }))
}

fn migrate(from: &TestServer, to: &TestServer, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hbpc-gateway"))
        .args([
            "migrate",
            "--from",
            &from.database_url,
            "--to",
            &to.database_url,
        ])
        .args(extra)
        .env_remove("HBPC_CONFIG")
        .env("HBPC_LOG_LEVEL", "warn")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_exact(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("exact copy of the source: safe to switch"),
        "{}",
        text(&out.stdout)
    );
}

async fn target_sql(target: &TestServer, statement: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&target.database_url)
        .await
        .unwrap();
    sqlx::raw_sql(statement).execute(&mut conn).await.unwrap();
}

async fn target_count(target: &TestServer, table: &str) -> i64 {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&target.database_url)
        .await
        .unwrap();
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

/// A referral fixture with its own placer identifier and MRN.
fn numbered(fixture: &str, n: usize) -> Vec<u8> {
    let text = String::from_utf8(fixture_bytes(fixture)).unwrap();
    let placer = find_value(&text, "REF-");
    let mrn = find_value(&text, "MRN-");
    text.replace(&placer, &format!("REF-MIG-{n:04}"))
        .replace(&mrn, &format!("MRN-MIG-{n:04}"))
        .into_bytes()
}

/// The first `"PREFIX…"` string value in `text`.
fn find_value(text: &str, prefix: &str) -> String {
    let start = text.find(&format!("\"{prefix}")).unwrap() + 1;
    let len = text[start..].find('"').unwrap();
    text[start..start + len].to_string()
}

async fn post(server: &TestServer, body: Vec<u8>) -> Value {
    let res = client()
        .post(&server.base)
        .header("Content-Type", FHIR_JSON)
        .header("Prefer", "return=representation")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn get(server: &TestServer, path: &str) -> (u16, Value) {
    let res = client().get(server.url(path)).send().await.unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

/// What a client sees of a search: total and the entries' full URLs and versions.
fn entries(bundle: &Value) -> Vec<(String, String)> {
    bundle["entry"]
        .as_array()
        .map(|es| {
            es.iter()
                .map(|e| {
                    (
                        format!(
                            "{}/{}",
                            e["resource"]["resourceType"].as_str().unwrap_or(""),
                            e["resource"]["id"].as_str().unwrap_or("")
                        ),
                        e["resource"]["meta"]["versionId"].to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn delivery_config(dir: &tempfile::TempDir, ehr: &FakeEhr) -> String {
    let path = dir.path().join("gateway.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[delivery]
poll_interval_ms = 20
lease_secs = 2
default_upstream = "ehr"

[delivery.upstreams.ehr]
base_url = "{}"
connect_timeout_ms = 300
request_timeout_ms = 1000
retry_initial_ms = 50
retry_max_ms = 300
max_attempts = 100000
"#,
            ehr.base_url()
        ),
    )
    .unwrap();
    path.display().to_string()
}

#[tokio::test]
async fn a_store_with_referrals_in_every_state_moves_whole_and_a_postgres_replica_answers_the_same()
{
    let Some(pg) = postgres() else { return };
    let ehr = FakeEhr::start().await;
    ehr.set_down(true);
    let dir = tempfile::tempdir().unwrap();
    let config = delivery_config(&dir, &ehr);
    let mut source = TestServer::start_on(Backend::Sqlite, &[("HBPC_CONFIG", &config)]).await;

    // Accepted, with its delivery pending while the EHR is down; rejected; a plain
    // transaction; a Patient updated (history); a resource deleted.
    post(&source, numbered("referrals/eligible-cancer.json", 1)).await;
    post(&source, numbered("referrals/fails-home-safe.json", 2)).await;
    post(
        &source,
        numbered("referrals/fails-advanced-illness.json", 3),
    )
    .await;
    let bundle = post(&source, fixture_bytes("referral-transaction.json")).await;
    let mut patient = bundle["entry"][3]["resource"].clone();
    let patient_id = patient["id"].as_str().unwrap().to_string();
    patient["active"] = json!(false);
    let res = client()
        .put(source.url(&format!("Patient/{patient_id}")))
        .header("Content-Type", FHIR_JSON)
        .body(patient.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = client()
        .post(source.url("Practitioner"))
        .header("Content-Type", FHIR_JSON)
        .body(r#"{"resourceType":"Practitioner","name":[{"family":"Gone"}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let gone: Value = res.json().await.unwrap();
    let gone = format!("Practitioner/{}", gone["id"].as_str().unwrap());
    let res = client().delete(source.url(&gone)).send().await.unwrap();
    assert!(res.status().is_success());

    // The delivery has failed at least once: pending, with attempts and an error.
    let deadline = Instant::now() + Duration::from_secs(30);
    let pending = loop {
        let all = deliveries(&source, "limit=1000").await;
        if let Some(d) = all.iter().find(|d| d["lastError"].is_string()) {
            break d.clone();
        }
        assert!(Instant::now() < deadline, "no failed attempt: {all:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(pending["status"], "retrying", "{pending}");

    // What clients see on the source, kept to compare.
    let paths = [
        format!("Patient/{patient_id}"),
        format!("Patient/{patient_id}/_history/1"),
        format!("Patient/{patient_id}/_history"),
        gone.clone(),
        format!("{gone}/_history"),
        "ServiceRequest?identifier=REF-MIG-0001".to_string(),
        "Task?_sort=_id".to_string(),
        "Task?status=rejected".to_string(),
        "Patient?_sort=_id".to_string(),
        "CarePlan?_sort=_id".to_string(),
    ];
    // AuditEvent searches whose answer the target's own new records (reads) cannot change.
    let audit_searches = [
        "AuditEvent?subtype=transaction&_count=1000",
        "AuditEvent?subtype=update&_count=1000",
        "AuditEvent?subtype=delete&_count=1000",
        "AuditEvent?subtype=create&_count=1000",
    ];
    // Captured while nothing else writes: the workflow may still be finishing a referral, so
    // capture again until the stored versions did not change between capture and kill -9.
    let (seen, audit_ids, audit_seen, source_deliveries) = loop {
        let before = source.stored_versions().await;
        let mut seen = vec![];
        for p in &paths {
            seen.push(get(&source, p).await);
        }
        let (_, audit) = get(&source, "AuditEvent?_count=1000").await;
        let audit_ids: Vec<String> = audit["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resource"]["id"].as_str().unwrap().to_string())
            .collect();
        assert!(!audit_ids.is_empty());
        let mut audit_seen = vec![];
        for q in audit_searches {
            let (status, bundle) = get(&source, q).await;
            assert_eq!(status, 200, "{q}: {bundle}");
            audit_seen.push(bundle);
        }
        assert!(audit_seen.iter().all(|b| !entries(b).is_empty()));
        let source_deliveries = deliveries(&source, "limit=1000").await;
        source.kill9();
        if source.stored_versions().await == before {
            break (seen, audit_ids, audit_seen, source_deliveries);
        }
        source.restart_after_kill9().await;
    };

    // The target database exists, no server runs on it during the move.
    let mut target = TestServer::start_on(pg, &[("HBPC_CONFIG", &config)]).await;
    target.kill9();
    let out = migrate(&source, &target, &["--quiet"]);
    assert_exact(&out);
    assert!(
        text(&out.stderr).is_empty(),
        "--quiet: {}",
        text(&out.stderr)
    );
    assert_exact(&migrate(&source, &target, &["--verify"]));
    let audit_rows = target_count(&target, "audit_event").await;
    assert!(audit_rows as usize > audit_ids.len());
    assert!(
        text(&out.stdout).contains(&format!("audit_event: {audit_rows} rows")),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        target_count(&target, "delivery WHERE lease_owner IS NOT NULL").await,
        0
    );

    target.restart_after_kill9().await;
    for (p, (status, body)) in paths.iter().zip(&seen) {
        let (t_status, t_body) = get(&target, p).await;
        assert_eq!(
            (t_status, entries(&t_body)),
            (*status, entries(body)),
            "{p}"
        );
        if body["resourceType"] != "Bundle" {
            assert_eq!(&t_body, body, "{p}");
        }
    }
    for (q, bundle) in audit_searches.iter().zip(&audit_seen) {
        let (status, moved) = get(&target, q).await;
        assert_eq!(status, 200, "{q}");
        assert_eq!(entries(&moved), entries(bundle), "{q}");
    }
    for id in &audit_ids {
        let (status, event) = get(&target, &format!("AuditEvent/{id}")).await;
        assert_eq!(status, 200, "AuditEvent/{id}");
        assert_eq!(event["id"], id.as_str());
    }

    // `deliveries list` on the target shows the same outbox, then the EHR comes back and the
    // pending delivery goes out from the PostgreSQL replica.
    let out = Command::new(env!("CARGO_BIN_EXE_hbpc-gateway"))
        .args(["deliveries", "list", "--json"])
        .env_remove("HBPC_CONFIG")
        .env("HBPC_DATABASE_URL", &target.database_url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), source_deliveries.len());
    let moved = listed.iter().find(|d| d["id"] == pending["id"]).unwrap();
    assert_eq!(moved["task"], pending["task"]);
    assert!(moved["attempts"].as_u64() >= pending["attempts"].as_u64());
    ehr.set_down(false);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let all = deliveries(&target, "limit=1000").await;
        let d = all.iter().find(|d| d["id"] == pending["id"]).unwrap();
        if d["status"] == "delivered" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not delivered from PostgreSQL: {d}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!ehr.fhir_requests().is_empty());
}

#[tokio::test]
async fn a_killed_migration_is_finished_by_a_rerun_and_a_tampered_or_conflicting_target_is_caught()
{
    let Some(pg) = postgres() else { return };
    let mut source = TestServer::start().await;
    for n in 0..12 {
        post(&source, numbered("referrals/eligible-cancer.json", n)).await;
    }
    source.kill9();
    let versions = source.stored_versions().await as i64;
    let mut target = TestServer::start_on(pg, &[]).await;
    target.kill9();

    // kill -9 part way: one row per page, so the copy takes a while.
    let mut child = Command::new(env!("CARGO_BIN_EXE_hbpc-gateway"))
        .args([
            "migrate",
            "--from",
            &source.database_url,
            "--to",
            &target.database_url,
        ])
        .args(["--batch", "1", "--quiet"])
        .env_remove("HBPC_CONFIG")
        .env("HBPC_LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if target_count(&target, "schema_migrations").await > 0
            && target_count(&target, "resource_version").await > versions / 4
        {
            break;
        }
        assert!(Instant::now() < deadline, "migrate did not start copying");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let copied = target_count(&target, "resource_version").await;
    assert!(
        copied < versions,
        "killed after the copy: {copied} of {versions}"
    );
    assert_eq!(target_count(&target, "audit_event").await, 0);

    // Only verifying the half copy: not safe, and says what is missing.
    let out = migrate(&source, &target, &["--verify"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("NOT safe to switch"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("audit_event: "),
        "{}",
        text(&out.stderr)
    );

    // The rerun finishes the copy exactly.
    let out = migrate(&source, &target, &[]);
    assert_exact(&out);
    assert_eq!(target_count(&target, "resource_version").await, versions);

    // A tampered version and a lost audit record are both named.
    target_sql(
        &target,
        "UPDATE resource_version SET body_text = replace(body_text, 'MRN-MIG', 'MRN-XXX')
          WHERE resource_type = 'Patient';
         DELETE FROM audit_event WHERE seq = (SELECT MAX(seq) FROM audit_event);",
    )
    .await;
    let out = migrate(&source, &target, &["--verify"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.contains("resource_version Patient: ") && err.contains("contents differ"),
        "{err}"
    );
    assert!(err.contains("audit_event: "), "{err}");
    assert!(!err.contains("MRN-"), "no data in the report: {err}");

    // Migrating again into a target with other data for the same ids is refused, and the
    // refusal writes nothing.
    let audit_before = target_count(&target, "audit_event").await;
    let out = migrate(&source, &target, &["--quiet"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("already holds different data in resource_version"),
        "{err}"
    );
    assert_eq!(target_count(&target, "audit_event").await, audit_before);
}

/// Cut-over step 1: with `server.read_only` writes get 503 with `Retry-After`, reads go on.
#[tokio::test]
async fn a_read_only_node_refuses_writes_with_503_and_retry_after_and_still_serves_reads() {
    let mut server = TestServer::start().await;
    let bundle = post(&server, fixture_bytes("referral-transaction.json")).await;
    let patient = bundle["entry"][3]["resource"].clone();
    let patient_path = format!("Patient/{}", patient["id"].as_str().unwrap());
    // The same database, restarted read-only.
    server.set_env("HBPC_SERVER_READ_ONLY", "true");
    server.restart_after_kill9().await;
    let server_ro = server;

    let res = client()
        .post(&server_ro.base)
        .header("Content-Type", FHIR_JSON)
        .body(fixture_bytes("referral-transaction.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "300");
    assert_outcome(&res.json().await.unwrap(), "transient");
    let res = client()
        .put(server_ro.url(&patient_path))
        .header("Content-Type", FHIR_JSON)
        .body(patient.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let (status, read) = get(&server_ro, &patient_path).await;
    assert_eq!(status, 200);
    assert_eq!(read, patient);
    let res = client()
        .post(server_ro.url("Patient/_search"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("_id=".to_string() + patient["id"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
