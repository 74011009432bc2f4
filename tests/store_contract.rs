//! The ResourceStore contract, run against every backend: SQLite always, PostgreSQL when
//! HBPC_TEST_DATABASE_URL is set (each run in a database of its own, dropped afterwards).

use fhir_engine::model::identifier::IdentifierToken;
use hbpc_gateway::store::{OpFailure, SharedStore, StoreError, WriteOp, WriteOutcome};
use serde_json::{json, Value};

#[path = "common/test_stores.rs"]
mod test_stores;

async fn stores() -> Vec<(&'static str, test_stores::TestStore)> {
    test_stores::stores("hbpc_store")
        .await
        .into_iter()
        .map(|t| (t.backend, t))
        .collect()
}

fn patient(mrn: &str) -> Value {
    json!({"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": mrn}], "active": true})
}

fn create(id: &str, resource: Value, conditional: Option<&str>) -> WriteOp {
    WriteOp::Create {
        resource_type: resource["resourceType"].as_str().unwrap().to_string(),
        id: id.to_string(),
        resource,
        if_none_exist: conditional.and_then(IdentifierToken::parse),
    }
}

fn delete(resource_type: &str, id: &str) -> WriteOp {
    WriteOp::Delete {
        resource_type: resource_type.to_string(),
        id: id.to_string(),
        if_match: None,
    }
}

fn body(outcome: &WriteOutcome) -> Value {
    match outcome {
        WriteOutcome::Created(s) | WriteOutcome::Matched(s) | WriteOutcome::Updated(s) => {
            serde_json::from_str(s.body.as_deref().unwrap()).unwrap()
        }
        WriteOutcome::Deleted { .. }
        | WriteOutcome::DeliveryEnqueued { .. }
        | WriteOutcome::Audited { .. } => Value::Null,
    }
}

#[tokio::test]
async fn versions_reads_and_tombstones() {
    for (name, t) in stores().await {
        let s = &t.store;
        let out = s
            .apply(vec![create("p1", patient("1"), None)])
            .await
            .unwrap();
        assert!(
            matches!(&out[0], WriteOutcome::Created(r) if r.version_id == 1),
            "{name}"
        );
        assert_eq!(body(&out[0])["meta"]["versionId"], "1");

        let mut changed = patient("1");
        changed["id"] = json!("p1");
        changed["active"] = json!(false);
        let op = |m| WriteOp::Update {
            resource_type: "Patient".into(),
            id: "p1".into(),
            resource: changed.clone(),
            if_match: m,
        };
        let out = s.apply(vec![op(Some(1))]).await.unwrap();
        assert!(
            matches!(&out[0], WriteOutcome::Updated(r) if r.version_id == 2),
            "{name}"
        );
        let err = s.apply(vec![op(Some(1))]).await.unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Op {
                    index: 0,
                    failure: OpFailure::VersionConflict {
                        expected: 1,
                        current: Some(2)
                    }
                }
            ),
            "{name}: {err:?}"
        );

        let v1 = s.vread("Patient", "p1", 1).await.unwrap().unwrap();
        assert!(v1.body.unwrap().contains("\"active\":true"));
        let delete = |m| WriteOp::Delete {
            resource_type: "Patient".into(),
            id: "p1".into(),
            if_match: m,
        };
        // a stale If-Match deletes nothing
        let err = s.apply(vec![delete(Some(1))]).await.unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Op {
                    failure: OpFailure::VersionConflict {
                        expected: 1,
                        current: Some(2)
                    },
                    ..
                }
            ),
            "{name}: {err:?}"
        );
        let out = s.apply(vec![delete(Some(2))]).await.unwrap();
        assert!(
            matches!(
                out[0],
                WriteOutcome::Deleted {
                    version_id: Some(3)
                }
            ),
            "{name}"
        );
        assert!(s.read("Patient", "p1").await.unwrap().unwrap().deleted);
        assert!(s
            .find_by_identifier("Patient", &IdentifierToken::parse("urn:mrn|1").unwrap())
            .await
            .unwrap()
            .is_empty());
        let stats = s.stats().await.unwrap();
        assert_eq!((stats.versions, stats.live_resources), (3, 0), "{name}");
    }
}

#[tokio::test]
async fn conditional_create_matches_and_redirects_references() {
    for (name, t) in stores().await {
        let s = &t.store;
        s.apply(vec![create("existing", patient("42"), None)])
            .await
            .unwrap();
        let coverage = json!({"resourceType": "Coverage", "status": "active",
            "beneficiary": {"reference": "Patient/fresh"}, "payor": [{"reference": "Patient/fresh"}]});
        let out = s
            .apply(vec![
                create("fresh", patient("42"), Some("urn:mrn|42")),
                create("c1", coverage, None),
            ])
            .await
            .unwrap();
        assert!(
            matches!(&out[0], WriteOutcome::Matched(r) if r.id == "existing"),
            "{name}"
        );
        assert_eq!(
            body(&out[1])["beneficiary"]["reference"],
            "Patient/existing",
            "{name}"
        );
        assert!(s.read("Patient", "fresh").await.unwrap().is_none());

        s.apply(vec![create("second", patient("42"), None)])
            .await
            .unwrap();
        let err = s
            .apply(vec![create("third", patient("42"), Some("urn:mrn|42"))])
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Op {
                    index: 0,
                    failure: OpFailure::MultipleMatches { count: 2 }
                }
            ),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_failing_operation_rolls_back_the_whole_apply() {
    for (name, t) in stores().await {
        let s = &t.store;
        s.apply(vec![create("p1", patient("7"), None)])
            .await
            .unwrap();
        let err = s
            .apply(vec![
                create("p2", patient("8"), None),
                WriteOp::Update {
                    resource_type: "Patient".into(),
                    id: "p1".into(),
                    resource: json!({"resourceType": "Patient", "id": "p1"}),
                    if_match: Some(9),
                },
            ])
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Op { index: 1, .. }), "{name}");
        assert!(
            s.read("Patient", "p2").await.unwrap().is_none(),
            "{name}: p2 rolled back"
        );
        assert_eq!(s.stats().await.unwrap().versions, 1, "{name}");
    }
}

#[tokio::test]
async fn a_create_of_an_existing_or_deleted_id_fails_and_writes_nothing() {
    for (name, t) in stores().await {
        let s = &t.store;
        s.apply(vec![
            create("p1", patient("11"), None),
            create("p2", patient("12"), None),
        ])
        .await
        .unwrap();
        s.apply(vec![delete("Patient", "p2")]).await.unwrap();
        for taken in ["p1", "p2"] {
            let err = s
                .apply(vec![
                    create("p3", patient("13"), None),
                    create(taken, patient("14"), None),
                ])
                .await
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    StoreError::Op {
                        index: 1,
                        failure: OpFailure::AlreadyExists
                    }
                ),
                "{name}: {taken}: {err:?}"
            );
            assert!(
                s.read("Patient", "p3").await.unwrap().is_none(),
                "{name}: p3 rolled back"
            );
        }
        let p1 = s.read("Patient", "p1").await.unwrap().unwrap();
        assert_eq!(p1.version_id, 1, "{name}");
        assert!(!p1.deleted, "{name}");
        let p2 = s.read("Patient", "p2").await.unwrap().unwrap();
        assert_eq!((p2.version_id, p2.deleted), (2, true), "{name}");
        assert!(
            found(s, "Patient", &[("identifier", "urn:mrn|14")])
                .await
                .is_empty(),
            "{name}: nothing indexed"
        );
        assert_eq!(s.stats().await.unwrap().versions, 3, "{name}");
    }
}

#[tokio::test]
async fn concurrent_conditional_creates_store_one() {
    for (name, t) in stores().await {
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let s = t.store.clone();
                tokio::spawn(async move {
                    s.apply(vec![create(
                        &format!("p{i}"),
                        patient("race"),
                        Some("urn:mrn|race"),
                    )])
                    .await
                })
            })
            .collect();
        let mut ids = Vec::new();
        for task in tasks {
            match task.await.unwrap().unwrap().pop().unwrap() {
                WriteOutcome::Created(r) | WriteOutcome::Matched(r) => ids.push(r.id),
                other => panic!("{name}: {other:?}"),
            }
        }
        ids.dedup();
        assert_eq!(ids.len(), 1, "{name}: every caller sees the one resource");
        assert_eq!(t.store.stats().await.unwrap().versions, 1, "{name}");
    }
}

#[tokio::test]
async fn concurrent_updates_of_one_version_let_one_writer_win() {
    for (name, t) in stores().await {
        t.store
            .apply(vec![create("p1", patient("u"), None)])
            .await
            .unwrap();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let s = t.store.clone();
                tokio::spawn(async move {
                    let mut r = patient("u");
                    r["id"] = json!("p1");
                    s.apply(vec![WriteOp::Update {
                        resource_type: "Patient".into(),
                        id: "p1".into(),
                        resource: r,
                        if_match: Some(1),
                    }])
                    .await
                })
            })
            .collect();
        let mut won = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => won += 1,
                Err(StoreError::Op {
                    failure: OpFailure::VersionConflict { .. },
                    ..
                }) => {}
                Err(e) => panic!("{name}: {e:?}"),
            }
        }
        assert_eq!(won, 1, "{name}");
        assert_eq!(
            t.store
                .read("Patient", "p1")
                .await
                .unwrap()
                .unwrap()
                .version_id,
            2
        );
    }
}

fn search_query(resource_type: &str, params: &[(&str, &str)]) -> fhir_engine::search::SearchQuery {
    use fhir_engine::search::parse::{Handling, Parser, SearchLimits};
    let limits = SearchLimits {
        default_count: 50,
        max_count: 100,
        max_included: 100,
    };
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    Parser {
        registry: hbpc_gateway::domain::guide::resource_types::search_registry(),
        base_url: "http://gw.example/fhir",
        handling: Handling::Strict,
        limits: &limits,
    }
    .parse(resource_type, &params)
    .unwrap()
}

async fn found(s: &SharedStore, resource_type: &str, params: &[(&str, &str)]) -> Vec<String> {
    let mut ids: Vec<String> = s
        .search(&search_query(resource_type, params))
        .await
        .unwrap()
        .matches
        .into_iter()
        .map(|r| r.id)
        .collect();
    ids.sort();
    ids
}

/// The index follows the stored resource: references redirected by a conditional-create
/// match, values changed by an update, and deletions.
#[tokio::test]
async fn search_index_follows_the_final_stored_resource() {
    for (name, t) in stores().await {
        let s = &t.store;
        s.apply(vec![create("existing", patient("M-1"), None)])
            .await
            .unwrap();
        // a transaction: the Patient matches `existing`, the CarePlan points at the
        // pre-assigned id and must be indexed against `existing`
        let plan = json!({"resourceType": "CarePlan", "status": "active", "intent": "plan",
                          "subject": {"reference": "Patient/pre-assigned"}});
        s.apply(vec![
            create("pre-assigned", patient("M-1"), Some("urn:mrn|M-1")),
            create("cp1", plan, None),
        ])
        .await
        .unwrap();
        assert_eq!(
            found(s, "CarePlan", &[("patient", "existing")]).await,
            vec!["cp1"],
            "{name}"
        );
        assert!(
            found(s, "CarePlan", &[("patient", "pre-assigned")])
                .await
                .is_empty(),
            "{name}"
        );
        assert_eq!(
            found(
                s,
                "CarePlan",
                &[("patient.identifier", "urn:mrn|M-1"), ("status", "active")]
            )
            .await,
            vec!["cp1"],
            "{name}"
        );
        // an update replaces the indexed values
        let done = json!({"resourceType": "CarePlan", "id": "cp1", "status": "completed", "intent": "plan",
                          "subject": {"reference": "Patient/existing"}});
        s.apply(vec![WriteOp::Update {
            resource_type: "CarePlan".into(),
            id: "cp1".into(),
            resource: done,
            if_match: None,
        }])
        .await
        .unwrap();
        assert!(
            found(s, "CarePlan", &[("status", "active")])
                .await
                .is_empty(),
            "{name}"
        );
        assert_eq!(
            found(s, "CarePlan", &[("status", "completed")]).await,
            vec!["cp1"],
            "{name}"
        );
        // a deletion removes it from search, not from history
        s.apply(vec![delete("CarePlan", "cp1")]).await.unwrap();
        assert!(found(s, "CarePlan", &[]).await.is_empty(), "{name}");
        let history = s
            .history(&fhir_engine::search::HistoryQuery {
                resource_type: Some("CarePlan".into()),
                id: Some("cp1".into()),
                since_ms: None,
                count: 10,
                after: None,
            })
            .await
            .unwrap();
        let versions: Vec<(u64, bool)> =
            history.iter().map(|v| (v.version_id, v.deleted)).collect();
        assert_eq!(versions, vec![(3, true), (2, false), (1, false)], "{name}");
    }
}
