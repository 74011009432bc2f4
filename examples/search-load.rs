//! Loads N referrals' worth of synthetic HBPC data straight into a store (no HTTP, no
//! validation: this measures search, not ingest), for `scripts/load/search.sh`.
//!
//! Per referral i: Patient pat-i (MRN-i), ServiceRequest, Coverage, Condition, Observation,
//! Consent, Task, CarePlan (active for 4 in 5), CareTeam, Goal, Provenance: 11 resources, plus
//! 1 Practitioner per 100 referrals and 1 Organization per 1,000.
//!
//! Usage: cargo run --release --example search-load -- DATABASE_URL REFERRALS [REFERRALS_PER_WRITE]
//! (a developer tool for scripts/load/search.sh, not part of the service)

use hbpc_gateway::config::DatabaseSettings;
use hbpc_gateway::store::{self, SharedStore, WriteOp};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;

fn put(resource: Value) -> WriteOp {
    WriteOp::Update {
        resource_type: resource["resourceType"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        id: resource["id"].as_str().unwrap_or_default().to_string(),
        resource,
        if_match: None,
    }
}

fn referral(i: usize) -> Vec<WriteOp> {
    let pat = format!("Patient/pat-{i}");
    let doc = format!("Practitioner/doc-{}", i / 100);
    let org = format!("Organization/org-{}", i / 1000);
    let mut ops = Vec::with_capacity(13);
    if i % 100 == 0 {
        ops.push(put(
            json!({"resourceType": "Practitioner", "id": format!("doc-{}", i / 100),
            "name": [{"family": format!("Doctor{}", i / 100)}]}),
        ));
    }
    if i % 1000 == 0 {
        ops.push(put(
            json!({"resourceType": "Organization", "id": format!("org-{}", i / 1000),
            "name": format!("HBPC Team {}", i / 1000)}),
        ));
    }
    let day = 1 + i % 28;
    ops.extend([
        put(json!({"resourceType": "Patient", "id": format!("pat-{i}"),
            "identifier": [{"system": "http://hospital.example/mrn", "value": format!("MRN-{i}")}],
            "name": [{"family": format!("Family{}", i % 5000), "given": ["Rosa"]}],
            "gender": if i % 2 == 0 { "female" } else { "male" },
            "birthDate": format!("19{:02}-0{}-{:02}", 30 + i % 60, 1 + i % 9, day)})),
        put(json!({"resourceType": "ServiceRequest", "id": format!("sr-{i}"), "status": "active", "intent": "order",
            "identifier": [{"system": "http://hospital.example/referral", "value": format!("REF-{i}")}],
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "103735009"}]},
            "subject": {"reference": pat}, "requester": {"reference": doc},
            "authoredOn": format!("2026-01-{day:02}")})),
        put(json!({"resourceType": "Coverage", "id": format!("cov-{i}"), "status": "active",
            "beneficiary": {"reference": pat}, "payor": [{"reference": org}]})),
        put(json!({"resourceType": "Condition", "id": format!("cond-{i}"), "subject": {"reference": pat},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "363346000"}]}})),
        put(json!({"resourceType": "Observation", "id": format!("obs-{i}"), "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
            "subject": {"reference": pat}, "effectiveDateTime": format!("2026-01-{day:02}T10:00:00Z")})),
        put(json!({"resourceType": "Consent", "id": format!("consent-{i}"), "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "treatment"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": {"reference": pat}})),
        put(json!({"resourceType": "CareTeam", "id": format!("ct-{i}"), "status": "active",
            "subject": {"reference": pat},
            "participant": [{"member": {"reference": doc}}, {"member": {"reference": org}}]})),
        put(json!({"resourceType": "Goal", "id": format!("goal-{i}"), "lifecycleStatus": "active",
            "description": {"text": "Comfort at home"}, "subject": {"reference": pat}})),
        put(json!({"resourceType": "CarePlan", "id": format!("cp-{i}"),
            "status": if i % 5 == 4 { "completed" } else { "active" }, "intent": "plan",
            "subject": {"reference": pat}, "careTeam": [{"reference": format!("CareTeam/ct-{i}")}],
            "basedOn": [{"reference": format!("ServiceRequest/sr-{i}")}],
            "goal": [{"reference": format!("Goal/goal-{i}")}],
            "period": {"start": format!("2026-01-{day:02}")}})),
        put(json!({"resourceType": "Task", "id": format!("task-{i}"), "status": "completed", "intent": "order",
            "focus": {"reference": format!("ServiceRequest/sr-{i}")}, "for": {"reference": pat},
            "owner": {"reference": org}})),
        put(json!({"resourceType": "Provenance", "id": format!("prov-{i}"),
            "target": [{"reference": format!("CarePlan/cp-{i}")}], "recorded": "2026-01-15T10:00:00Z",
            "agent": [{"who": {"reference": doc}}]})),
    ]);
    ops
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(url), Some(n)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: search-load DATABASE_URL REFERRALS [REFERRALS_PER_WRITE]");
        std::process::exit(2);
    };
    let n: usize = n.parse()?;
    let per_write: usize = args.get(3).map_or(Ok(20), |s| s.parse())?;
    let store: SharedStore = store::open(url, &DatabaseSettings::default()).await?;
    let started = Instant::now();
    let in_flight = Arc::new(tokio::sync::Semaphore::new(8));
    let mut tasks = tokio::task::JoinSet::new();
    let mut written = 0usize;
    for start in (0..n).step_by(per_write) {
        let ops: Vec<WriteOp> = (start..(start + per_write).min(n))
            .flat_map(referral)
            .collect();
        written += ops.len();
        let permit = in_flight.clone().acquire_owned().await?;
        let store = store.clone();
        tasks.spawn(async move {
            let result = store.apply(ops).await;
            drop(permit);
            result
        });
        while let Some(done) = tasks.try_join_next() {
            done??;
        }
        if start % 10_000 == 0 && start > 0 {
            eprintln!(
                "{start} referrals, {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "loaded {n} referrals, {written} resources in {secs:.1} s ({:.0} resources/s)",
        written as f64 / secs
    );
    Ok(())
}
