//! The indexed search parameters are exactly the advertised ones (issue #22): every parameter
//! the CapabilityStatement lists for a type is in the search index and finds a resource by a
//! value of it, nothing else is indexed, and an R4 parameter left out is refused like any
//! unknown one.

use crate::search_support::*;
use crate::support::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const TAG: &str = "http://example.org/tags|t1";

/// One resource of each stored type that has parameters, filled where the default set looks.
fn resources() -> Vec<Value> {
    let concept = |system: &str, code: &str| json!({"coding": [{"system": system, "code": code}]});
    let ident = |value: &str| json!([{"system": "http://example.org/ids", "value": value}]);
    let mut all = vec![
        json!({"resourceType": "Patient", "id": "p1", "identifier": ident("p1"), "gender": "female",
               "birthDate": "1941-03-14", "name": [{"family": "Chalmers", "given": ["Peter"]}],
               "link": [{"other": {"reference": "Patient/p2"}, "type": "seealso"}]}),
        json!({"resourceType": "Practitioner", "id": "d1", "identifier": ident("d1"),
               "name": [{"family": "Careful", "given": ["Adam"]}]}),
        json!({"resourceType": "PractitionerRole", "id": "r1", "identifier": ident("r1"),
               "practitioner": {"reference": "Practitioner/d1"}, "organization": {"reference": "Organization/o1"}}),
        json!({"resourceType": "Organization", "id": "o1", "identifier": ident("o1"), "name": "Example Health"}),
        json!({"resourceType": "ServiceRequest", "id": "s1", "identifier": ident("s1"), "status": "active",
               "intent": "order", "category": [concept("http://snomed.info/sct", "386053000")],
               "code": concept("http://snomed.info/sct", "103735009"), "subject": {"reference": "Patient/p1"},
               "requester": {"reference": "Practitioner/d1"}, "performer": [{"reference": "Organization/o1"}],
               "authoredOn": "2026-01-02"}),
        json!({"resourceType": "Coverage", "id": "v1", "identifier": ident("v1"), "status": "active",
               "beneficiary": {"reference": "Patient/p1"}, "subscriber": {"reference": "Patient/p1"},
               "policyHolder": {"reference": "Patient/p1"}, "payor": [{"reference": "Organization/o1"}]}),
        json!({"resourceType": "Condition", "id": "c1", "identifier": ident("c1"),
               "clinicalStatus": concept("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
               "category": [concept("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item")],
               "code": concept("http://hl7.org/fhir/sid/icd-10-cm", "C79.51"), "subject": {"reference": "Patient/p1"},
               "asserter": {"reference": "Practitioner/d1"}}),
        json!({"resourceType": "Observation", "id": "b1", "identifier": ident("b1"), "status": "final",
               "category": [concept("http://terminology.hl7.org/CodeSystem/observation-category", "survey")],
               "code": concept("http://loinc.org", "72514-3"), "subject": {"reference": "Patient/p1"},
               "encounter": {"reference": "Encounter/e1"}, "effectiveDateTime": "2026-01-02T09:00:00Z",
               "performer": [{"reference": "Practitioner/d1"}], "hasMember": [{"reference": "Observation/b2"}],
               "valueString": "7"}),
        json!({"resourceType": "Consent", "id": "n1", "identifier": ident("n1"), "status": "active",
               "scope": concept("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy"),
               "category": [concept("http://loinc.org", "59284-0")], "patient": {"reference": "Patient/p1"},
               "policyRule": concept("http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTIN")}),
        json!({"resourceType": "RelatedPerson", "id": "f1", "identifier": ident("f1"),
               "patient": {"reference": "Patient/p1"}}),
        json!({"resourceType": "DocumentReference", "id": "k1", "identifier": ident("k1"), "status": "current",
               "type": concept("http://loinc.org", "34133-9"), "subject": {"reference": "Patient/p1"},
               "author": [{"reference": "Practitioner/d1"}],
               "content": [{"attachment": {"contentType": "application/pdf", "url": "http://example.org/k1.pdf"}}]}),
        json!({"resourceType": "QuestionnaireResponse", "id": "q1", "identifier": {"system": "http://example.org/ids", "value": "q1"},
               "status": "completed", "questionnaire": "http://example.org/fhir/Questionnaire/q",
               "subject": {"reference": "Patient/p1"}, "author": {"reference": "Practitioner/d1"}}),
        json!({"resourceType": "Task", "id": "t1", "identifier": ident("t1"), "status": "requested", "intent": "order",
               "businessStatus": concept("http://example.org/status", "received"),
               "focus": {"reference": "ServiceRequest/s1"}, "for": {"reference": "Patient/p1"},
               "owner": {"reference": "Organization/o1"}}),
        json!({"resourceType": "CarePlan", "id": "cp1", "identifier": ident("cp1"), "status": "active", "intent": "plan",
               "basedOn": [{"reference": "CarePlan/cp0"}],
               "category": [concept("http://hl7.org/fhir/us/core/CodeSystem/careplan-category", "assess-plan")],
               "subject": {"reference": "Patient/p1"}, "period": {"start": "2026-01-02"},
               "careTeam": [{"reference": "CareTeam/ct1"}],
               "activity": [{"detail": {"status": "scheduled", "performer": [{"reference": "Practitioner/d1"}]}}]}),
        json!({"resourceType": "CareTeam", "id": "ct1", "identifier": ident("ct1"), "status": "active",
               "category": [concept("http://loinc.org", "LA27976-2")], "subject": {"reference": "Patient/p1"},
               "participant": [{"member": {"reference": "Practitioner/d1"}}]}),
        json!({"resourceType": "Goal", "id": "g1", "identifier": ident("g1"), "lifecycleStatus": "active",
               "description": {"text": "comfort"}, "subject": {"reference": "Patient/p1"}}),
        json!({"resourceType": "Provenance", "id": "v2", "target": [{"reference": "CarePlan/cp1"}, {"reference": "Patient/p1"}],
               "recorded": "2026-01-02T09:00:00Z",
               "agent": [{"who": {"reference": "Practitioner/d1"}}]}),
    ];
    for r in &mut all {
        let ty = r["resourceType"].as_str().unwrap_or_default().to_string();
        r["meta"] = json!({"tag": [{"system": "http://example.org/tags", "code": "t1"}],
                           "profile": [format!("http://hl7.org/fhir/StructureDefinition/{ty}")]});
    }
    all
}

/// A search value of `param` that finds the resource `id` of `ty` above.
fn value_of(ty: &str, id: &str, param: &str) -> Option<String> {
    Some(match param {
        "_id" => id.to_string(),
        "_lastUpdated" => "gt2000-01-01".into(),
        "_tag" => TAG.into(),
        "_profile" => format!("http://hl7.org/fhir/StructureDefinition/{ty}"),
        "identifier" => format!("http://example.org/ids|{id}"),
        "patient" | "subject" | "beneficiary" | "subscriber" | "policy-holder" => {
            "Patient/p1".into()
        }
        "link" => "Patient/p2".into(),
        "performer" if ty == "ServiceRequest" => "Organization/o1".into(),
        "performer" | "asserter" | "author" | "requester" | "participant" | "agent"
        | "practitioner" => "Practitioner/d1".into(),
        "payor" | "owner" | "organization" => "Organization/o1".into(),
        "focus" => "ServiceRequest/s1".into(),
        "care-team" => "CareTeam/ct1".into(),
        "based-on" => "CarePlan/cp0".into(),
        "has-member" => "Observation/b2".into(),
        "encounter" => "Encounter/e1".into(),
        "target" => "CarePlan/cp1".into(),
        "status" => match ty {
            "ServiceRequest" | "Coverage" | "Consent" | "CarePlan" | "CareTeam" => "active",
            "Observation" => "final",
            "DocumentReference" => "current",
            "QuestionnaireResponse" => "completed",
            "Task" => "requested",
            _ => return None,
        }
        .into(),
        "clinical-status" | "lifecycle-status" => "active".into(),
        "business-status" => "received".into(),
        "code" => match ty {
            "ServiceRequest" => "http://snomed.info/sct|103735009",
            "Condition" => "C79.51",
            "Observation" => "http://loinc.org|72514-3",
            _ => return None,
        }
        .into(),
        "category" => match ty {
            "ServiceRequest" => "386053000",
            "Condition" => "problem-list-item",
            "Observation" => "survey",
            "CarePlan" => "assess-plan",
            "CareTeam" => "LA27976-2",
            _ => return None,
        }
        .into(),
        "type" => "http://loinc.org|34133-9".into(),
        "authored" | "date" => "ge2026-01-01".into(),
        "birthdate" => "1941-03-14".into(),
        "gender" => "female".into(),
        "name" => match ty {
            "Organization" => "example",
            "Practitioner" => "careful",
            _ => "chalmers",
        }
        .into(),
        "family" => "chalm".into(),
        "given" => "pet".into(),
        "questionnaire" => "http://example.org/fhir/Questionnaire/q".into(),
        _ => return None,
    })
}

/// Type → the names its CapabilityStatement entry lists under `searchParam`.
fn advertised(cs: &Value) -> BTreeMap<String, BTreeSet<String>> {
    cs["rest"][0]["resource"]
        .as_array()
        .expect("resources")
        .iter()
        .filter(|r| r["searchParam"].as_array().is_some_and(|p| p.len() > 1))
        .map(|r| {
            let names = r["searchParam"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["name"].as_str().map(String::from))
                .collect();
            (r["type"].as_str().unwrap_or_default().to_string(), names)
        })
        .collect()
}

#[tokio::test]
async fn the_indexed_parameters_are_the_advertised_ones_and_each_finds_its_resource() {
    on_each_backend_and_index_layout(PLAIN_R4, |server| async move {
        let (status, cs) = get_url(&server.url("metadata")).await;
        assert_eq!(status, 200);
        let advertised = advertised(&cs);
        let stored = resources();
        for r in &stored {
            put(&server, r.clone()).await;
        }
        // every type stored here is advertised with parameters, and every advertised type is here
        let stored_types: BTreeSet<String> = stored
            .iter()
            .map(|r| r["resourceType"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(
            advertised.keys().cloned().collect::<BTreeSet<_>>(),
            stored_types
        );

        // what the index holds is exactly what is advertised, but `_id` and `_lastUpdated`:
        // the resource tables answer those, so they have no rows
        let expected: BTreeSet<(String, String)> = advertised
            .iter()
            .flat_map(|(ty, names)| names.iter().map(move |n| (ty.clone(), n.clone())))
            .filter(|(_, n)| n != "_id" && n != "_lastUpdated")
            .collect();
        let indexed = server.indexed_parameters().await;
        let missing: Vec<_> = expected.difference(&indexed).collect();
        let extra: Vec<_> = indexed.difference(&expected).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "advertised but not indexed: {missing:?}; indexed but not advertised: {extra:?}"
        );

        // a search on every advertised parameter finds the resource
        for r in &stored {
            let ty = r["resourceType"].as_str().unwrap_or_default();
            let id = r["id"].as_str().unwrap_or_default();
            for param in &advertised[ty] {
                let value = value_of(ty, id, param)
                    .unwrap_or_else(|| panic!("no search value for the advertised {ty}.{param}"));
                let query = format!("{ty}?{param}={}", urlencoding(&value));
                let found = ids(&search(&server, &query).await, "match");
                assert!(found.contains(&format!("{ty}/{id}")), "{query}: {found:?}");
            }
        }

        // an R4 parameter outside the set is refused like any unknown one
        for query in ["Patient?address-city=Oakland", "Observation?value-string=7"] {
            let (status, body) = get_url(&server.url(query)).await;
            assert_eq!(status, 400, "{query}: {body}");
            assert_outcome(&body, "not-supported");
        }
    })
    .await;
}

fn urlencoding(value: &str) -> String {
    value
        .replace('|', "%7C")
        .replace(':', "%3A")
        .replace('/', "%2F")
}

/// The SQLite layouts the search suites run in are real: rows stay recent below the merge
/// size, move after every commit at 0, and move in bulk in between; searches see them all.
#[tokio::test]
async fn sqlite_index_rows_move_from_recent_to_merged_by_the_merge_size() {
    for (layout, merge_rows) in SQLITE_INDEX_LAYOUTS {
        let env = [PLAIN_R4[0], ("HBPC_DATABASE_INDEX_MERGE_ROWS", merge_rows)];
        let server = TestServer::start_on(Backend::Sqlite, &env).await;
        let patients = 8;
        for i in 0..patients {
            put(
                &server,
                json!({"resourceType": "Patient", "id": format!("m{i}"), "gender": "female",
                       "birthDate": "1941-03-14", "name": [{"family": "Merge", "given": [format!("G{i}")]}],
                       "identifier": [{"system": "http://example.org/ids", "value": format!("m{i}")}]}),
            )
            .await;
        }
        // a merge runs after the commit's answer: wait for the writer to finish it
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let (merged, recent) = loop {
            let (merged, recent) = sqlite_index_rows(&server);
            let settled = match layout {
                "merged" => recent == 0,
                "mixed" => merged > 0,
                _ => true,
            };
            if settled || std::time::Instant::now() > deadline {
                break (merged, recent);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        let rows_per_patient = (merged + recent) / patients;
        assert!(rows_per_patient >= 4, "{layout}: {merged} + {recent} rows");
        match layout {
            "recent" => assert_eq!((merged, recent > 0), (0, true), "{layout}"),
            "merged" => assert_eq!((merged > 0, recent), (true, 0), "{layout}"),
            _ => assert!(
                merged >= 25 && merged % rows_per_patient == 0,
                "{layout}: {merged}"
            ),
        }
        let found = ids(
            &search(&server, "Patient?family=merge&gender=female").await,
            "match",
        );
        assert_eq!(found.len(), patients as usize, "{layout}: {found:?}");
        let found = ids(&search(&server, "Patient?given=g3").await, "match");
        assert_eq!(found, vec!["Patient/m3"], "{layout}");
    }
}

/// A start with another indexed set rebuilds the rows of every stored resource, straight into
/// the merged table on SQLite, and the new parameters find them.
#[tokio::test]
async fn a_start_with_another_indexed_set_rebuilds_the_rows() {
    let mut server = TestServer::start_on(Backend::Sqlite, PLAIN_R4).await;
    for i in 0..3 {
        put(
            &server,
            json!({"resourceType": "Patient", "id": format!("a{i}"), "gender": "female",
                   "address": [{"city": format!("Oakland-{i}")}]}),
        )
        .await;
    }
    let query = "Patient?address-city=oakland-1";
    let (status, body) = get_url(&server.url(query)).await;
    assert_eq!(status, 400, "not indexed by default: {body}");
    let (_, recent_before) = sqlite_index_rows(&server);
    assert!(
        recent_before > 0,
        "a commit's rows wait in the recent table"
    );

    server.set_env("HBPC_SEARCH_INDEXED_PARAMETERS", "*");
    server.restart_after_kill9().await;
    let found = ids(&search(&server, query).await, "match");
    assert_eq!(found, vec!["Patient/a1"]);
    let found = ids(&search(&server, "Patient?gender=female").await, "match");
    assert_eq!(found.len(), 3, "{found:?}");
    let (merged, recent) = sqlite_index_rows(&server);
    assert_eq!(recent, 0, "nothing is left recent after the rebuild");
    assert!(merged > recent_before, "{merged} rows for every parameter");
}
