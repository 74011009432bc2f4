//! Search parameter types and modifiers, with their edge cases (R4 §3.1.1).

use crate::search_support::*;
use crate::support::*;
use serde_json::{json, Value};

async fn patients(server: &TestServer) {
    put(
        server,
        json!({"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1950-05-06",
        "identifier": [{"system": "http://hospital.example/mrn", "value": "123"}],
        "name": [{"family": "Müller", "given": ["Zoë"]}]}),
    )
    .await;
    put(
        server,
        json!({"resourceType": "Patient", "id": "p2", "gender": "male", "birthDate": "1962",
        "identifier": [{"system": "http://hospital.example/mrn", "value": "456"},
                       {"system": "http://other.example/id", "value": "123"}],
        "name": [{"family": "Mueller-Smith", "given": ["Ann"]}]}),
    )
    .await;
    put(
        server,
        json!({"resourceType": "Patient", "id": "p3", "gender": "other", "birthDate": "2026-03-04",
        "identifier": [{"value": "789"}], "name": [{"family": "García"}]}),
    )
    .await;
    put(
        server,
        json!({"resourceType": "Patient", "id": "p4", "name": [{"text": "No Birthdate"}]}),
    )
    .await;
}

async fn expect(server: &TestServer, query: &str, expected: &[&str]) {
    let bundle = search(server, query).await;
    let want: Vec<String> = strs(expected)
        .into_iter()
        .map(|id| format!("Patient/{id}"))
        .collect();
    assert_eq!(ids(&bundle, "match"), want, "{query}");
}

#[tokio::test]
async fn token_string_date_missing_and_combinations() {
    on_each_backend_and_index_layout(PLAIN_R4, |server| async move {
        patients(&server).await;
        // token: system|code, code (any system), |code (no system), :not, OR
        expect(
            &server,
            "Patient?identifier=http://hospital.example/mrn|123",
            &["p1"],
        )
        .await;
        expect(&server, "Patient?identifier=123", &["p1", "p2"]).await;
        expect(&server, "Patient?identifier=%7C789", &["p3"]).await;
        expect(&server, "Patient?identifier=%7C123", &[]).await;
        expect(&server, "Patient?gender=female", &["p1"]).await;
        expect(&server, "Patient?gender:not=female", &["p2", "p3", "p4"]).await;
        expect(&server, "Patient?gender=female,male", &["p1", "p2"]).await;
        // string: starts-with, case and accents ignored; :exact; :contains
        expect(&server, "Patient?family=muller", &["p1"]).await;
        expect(&server, "Patient?family=MUE", &["p2"]).await;
        expect(&server, "Patient?family=garcia", &["p3"]).await;
        expect(&server, "Patient?family:exact=M%C3%BCller", &["p1"]).await;
        expect(&server, "Patient?family:exact=m%C3%BCller", &[]).await;
        expect(&server, "Patient?family:contains=SMITH", &["p2"]).await;
        expect(&server, "Patient?name=zoe", &["p1"]).await;
        expect(&server, "Patient?given=ann", &["p2"]).await;
        // date: precision makes a range; prefixes
        expect(&server, "Patient?birthdate=1950", &["p1"]).await;
        expect(&server, "Patient?birthdate=1950-05", &["p1"]).await;
        expect(&server, "Patient?birthdate=1950-05-07", &[]).await;
        expect(&server, "Patient?birthdate=2026", &["p3"]).await;
        expect(&server, "Patient?birthdate=ge1960", &["p2", "p3"]).await;
        expect(&server, "Patient?birthdate=lt1960", &["p1"]).await;
        expect(&server, "Patient?birthdate=ne1950", &["p2", "p3"]).await;
        expect(&server, "Patient?birthdate=sa1962", &["p3"]).await;
        expect(&server, "Patient?birthdate=eb1962-06", &["p1"]).await;
        expect(
            &server,
            "Patient?birthdate=gt1950&birthdate=lt2000",
            &["p2"],
        )
        .await;
        // a whole-year birth date is not inside one month of that year, but overlaps it
        expect(&server, "Patient?birthdate=1962-06", &[]).await;
        expect(&server, "Patient?birthdate=ap1962-06", &["p2"]).await;
        // :missing
        expect(&server, "Patient?birthdate:missing=true", &["p4"]).await;
        expect(
            &server,
            "Patient?birthdate:missing=false",
            &["p1", "p2", "p3"],
        )
        .await;
        // AND across parameters, _id, _lastUpdated
        expect(&server, "Patient?gender=female&birthdate=1950", &["p1"]).await;
        expect(&server, "Patient?gender=female&birthdate=1962", &[]).await;
        expect(&server, "Patient?_id=p1,p3", &["p1", "p3"]).await;
        expect(
            &server,
            "Patient?_lastUpdated=gt2000-01-01",
            &["p1", "p2", "p3", "p4"],
        )
        .await;
        expect(&server, "Patient", &["p1", "p2", "p3", "p4"]).await;
    })
    .await;
}

/// A reference is found by its type and id, and one that is not ours (an absolute URL
/// elsewhere, a urn) also by its text as written. A row of a `Type/id` reference keeps no
/// text of its own (its type and id columns are that text), so this also pins that nothing
/// searched it: relative, versioned, foreign and urn references, on every layout.
#[tokio::test]
async fn references_are_found_by_type_and_id_and_foreign_ones_as_written() {
    on_each_backend_and_index_layout(PLAIN_R4, |server| async move {
        let foreign = "https://other.example.org/fhir/Patient/p1";
        let urn = "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0";
        for (id, reference) in [
            ("o1", "Patient/p1"),
            ("o2", foreign),
            ("o3", "Patient/p2"),
            ("o4", "Patient/p1/_history/3"),
            ("o5", urn),
        ] {
            put(
                &server,
                json!({"resourceType": "Observation", "id": id, "status": "final",
                    "code": {"text": "pain"}, "subject": {"reference": reference}}),
            )
            .await;
        }
        let found = |query: String| {
            let server = &server;
            async move { ids(&search(server, &query).await, "match") }
        };
        let obs = |ids: &[&str]| -> Vec<String> {
            ids.iter().map(|id| format!("Observation/{id}")).collect()
        };
        let by_type_and_id = obs(&["o1", "o2", "o4"]);
        assert_eq!(
            found("Observation?subject=Patient/p1".into()).await,
            by_type_and_id
        );
        assert_eq!(
            found("Observation?subject:Patient=p1".into()).await,
            by_type_and_id
        );
        assert_eq!(found("Observation?patient=p1".into()).await, by_type_and_id);
        let ours = format!("{}/Patient/p1", server.base.trim_end_matches('/'));
        assert_eq!(
            found(format!("Observation?subject={ours}")).await,
            by_type_and_id
        );
        assert_eq!(
            found(format!("Observation?subject={foreign}")).await,
            obs(&["o2"])
        );
        assert_eq!(
            found(format!("Observation?subject={urn}")).await,
            obs(&["o5"])
        );
        assert_eq!(
            found("Observation?subject=Patient/p2".into()).await,
            obs(&["o3"])
        );
        assert_eq!(
            found("Observation?subject:missing=false".into()).await,
            obs(&["o1", "o2", "o3", "o4", "o5"])
        );
    })
    .await;
}

/// `_id` and `_lastUpdated` are answered from the resource tables (no index rows): exact
/// instants and every comparison, sorting both ways on the current version, `:not`,
/// `:missing`, a system on `_id`, and deleted resources, on both backends.
#[tokio::test]
async fn id_and_last_updated_match_sort_and_skip_deleted_resources() {
    on_each_backend_and_index_layout(PLAIN_R4, |server| async move {
        let mut at = Vec::new();
        for id in ["u1", "u2", "u3", "gone"] {
            let stored = put(&server, json!({"resourceType": "Patient", "id": id})).await;
            at.push(
                stored["meta"]["lastUpdated"]
                    .as_str()
                    .expect("lastUpdated")
                    .to_string(),
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let (status, _, _) = request(
            &server,
            reqwest::Method::DELETE,
            "/fhir/Patient/gone",
            None,
            &[],
        )
        .await;
        assert!(status == 200 || status == 204, "delete: {status}");
        let q = |s: &str| s.replace('+', "%2B").replace(':', "%3A");
        expect(
            &server,
            &format!("Patient?_lastUpdated=eq{}", q(&at[1])),
            &["u2"],
        )
        .await;
        expect(
            &server,
            &format!("Patient?_lastUpdated={}", q(&at[1])),
            &["u2"],
        )
        .await;
        expect(
            &server,
            &format!("Patient?_lastUpdated=gt{}", q(&at[0])),
            &["u2", "u3"],
        )
        .await;
        expect(
            &server,
            &format!("Patient?_lastUpdated=ge{}", q(&at[1])),
            &["u2", "u3"],
        )
        .await;
        expect(
            &server,
            &format!("Patient?_lastUpdated=lt{}", q(&at[1])),
            &["u1"],
        )
        .await;
        expect(
            &server,
            &format!("Patient?_lastUpdated=le{}", q(&at[1])),
            &["u1", "u2"],
        )
        .await;
        expect(
            &server,
            &format!("Patient?_lastUpdated=ne{}", q(&at[1])),
            &["u1", "u3"],
        )
        .await;
        expect(&server, "Patient?_lastUpdated=lt2000-01-01", &[]).await;
        expect(&server, "Patient?_id=gone", &[]).await;
        expect(&server, "Patient?_id:not=u1", &["u2", "u3"]).await;
        expect(&server, "Patient?_id:missing=true", &[]).await;
        expect(&server, "Patient?_id:missing=false", &["u1", "u2", "u3"]).await;
        expect(
            &server,
            "Patient?_lastUpdated:missing=false",
            &["u1", "u2", "u3"],
        )
        .await;
        expect(&server, "Patient?_id=http://example.org%7Cu1", &[]).await;
        expect(&server, "Patient?_id=%7Cu1", &["u1"]).await;
        expect(&server, "Patient", &["u1", "u2", "u3"]).await;

        let in_order = |b: &Value| -> Vec<String> {
            b["entry"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| e["resource"]["id"].as_str().unwrap_or_default().to_string())
                .collect()
        };
        let b = search(&server, "Patient?_sort=_lastUpdated").await;
        assert_eq!(in_order(&b), ["u1", "u2", "u3"], "{b}");
        // an update moves u1 to the end: the current version's lastUpdated counts
        put(
            &server,
            json!({"resourceType": "Patient", "id": "u1", "gender": "female"}),
        )
        .await;
        let b = search(&server, "Patient?_sort=_lastUpdated").await;
        assert_eq!(in_order(&b), ["u2", "u3", "u1"], "{b}");
        let b = search(&server, "Patient?_sort=-_lastUpdated&_count=2").await;
        assert_eq!(in_order(&b), ["u1", "u3"], "{b}");
        let next = b["link"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["relation"] == "next")
            .and_then(|l| l["url"].as_str())
            .expect("a next page")
            .to_string();
        let (status, page) = get_url(&next).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(in_order(&page), ["u2"], "{page}");
        expect(
            &server,
            &format!("Patient?_lastUpdated=gt{}", q(&at[2])),
            &["u1"],
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn results_parameters_and_strictness() {
    on_each_backend_and_index_layout(PLAIN_R4, |server| async move {
        patients(&server).await;
        // _summary=count: the total, no entries
        let b = search(&server, "Patient?_summary=count").await;
        assert_eq!(b["total"], 4, "{b}");
        assert!(b["entry"].as_array().is_none_or(|e| e.is_empty()), "{b}");
        let b = search(&server, "Patient?gender=female,male&_total=accurate").await;
        assert_eq!(b["total"], 2);
        // _elements: only what was asked, marked SUBSETTED
        let b = search(&server, "Patient?_id=p1&_elements=gender").await;
        let p = &b["entry"][0]["resource"];
        assert_eq!(p["gender"], "female");
        assert!(p.get("name").is_none(), "{p}");
        assert_eq!(p["meta"]["tag"][0]["code"], "SUBSETTED");
        // unknown parameters: refused by default, naming the parameter (an ignored
        // criterion would return more than the client asked for) ...
        let (status, body) = get_url(&server.url("Patient?nonsense=1&gender=female")).await;
        assert_eq!(status, 400, "{body}");
        assert_outcome(&body, "not-supported");
        assert!(body.to_string().contains("'nonsense'"), "{body}");
        for risky in [
            "CarePlan?_text=hospice",
            "CarePlan?_content=x",
            "CarePlan?_list=l1",
        ] {
            let (status, body) = get_url(&server.url(risky)).await;
            assert_eq!(status, 400, "{risky}: {body}");
        }
        // ... and ignored with Prefer: handling=lenient, the self link showing what applied
        let res = client()
            .get(server.url("Patient?nonsense=1&gender=female"))
            .header("Prefer", "handling=lenient")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let b: serde_json::Value = res.json().await.unwrap();
        assert_eq!(ids(&b, "match"), vec!["Patient/p1"]);
        let self_link = link(&b, "self").unwrap();
        assert!(!self_link.contains("nonsense"), "{self_link}");
        assert!(self_link.contains("gender=female"), "{self_link}");
        // bad values and unsupported modifiers are always refused, with an OperationOutcome
        for bad in [
            "Patient?birthdate=19x0",
            "Patient?family:below=x",
            "Patient?_count=many",
            "Patient?gender:missing=maybe",
        ] {
            let (status, body) = get_url(&server.url(bad)).await;
            assert_eq!(status, 400, "{bad}: {body}");
            assert_eq!(body["resourceType"], "OperationOutcome");
        }
        // POST _search with a form body
        let res = client()
            .post(server.url("Patient/_search"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("family=muller&gender=female")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let b: serde_json::Value = res.json().await.unwrap();
        assert_eq!(ids(&b, "match"), vec!["Patient/p1"]);
        // unsupported types are 404
        let (status, _) = get_url(&server.url("Medication?code=x")).await;
        assert_eq!(status, 404);
    })
    .await;
}

/// `_elements` and `_summary` name elements as the definitions do: a choice element by its base
/// name (`deceased` is `deceasedDateTime` here), mandatory elements always kept.
#[tokio::test]
async fn elements_and_summary_know_choice_and_mandatory_elements() {
    on_each_backend_and_index_layout(PLAIN_R4, |server| async move {
        put(
            &server,
            json!({"resourceType": "Patient", "id": "d1", "gender": "male",
            "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">A patient</div>"},
            "deceasedDateTime": "2026-01-02", "multipleBirthInteger": 2}),
        )
        .await;
        put(
            &server,
            json!({"resourceType": "Observation", "id": "o1", "status": "final",
            "code": {"text": "weight"}, "subject": {"reference": "Patient/d1"},
            "valueQuantity": {"value": 70, "unit": "kg"}}),
        )
        .await;
        let resource = |b: &serde_json::Value| b["entry"][0]["resource"].clone();

        let p = resource(&search(&server, "Patient?_id=d1&_elements=deceased").await);
        assert_eq!(p["deceasedDateTime"], "2026-01-02", "{p}");
        assert!(p.get("gender").is_none() && p.get("multipleBirthInteger").is_none(), "{p}");
        assert_eq!(p["meta"]["tag"][0]["code"], "SUBSETTED");
        // Observation.status and .code are 1..1: kept whatever was asked
        let o = resource(&search(&server, "Observation?_id=o1&_elements=value").await);
        assert_eq!(o["valueQuantity"]["value"], 70, "{o}");
        assert_eq!((&o["status"], &o["code"]["text"]), (&json!("final"), &json!("weight")));
        assert!(o.get("subject").is_none(), "{o}");

        let p = resource(&search(&server, "Patient?_id=d1&_summary=data").await);
        assert!(p.get("text").is_none(), "{p}");
        assert_eq!(p["deceasedDateTime"], "2026-01-02", "{p}");
        assert_eq!(p["multipleBirthInteger"], 2, "{p}");
        let p = resource(&search(&server, "Patient?_id=d1&_summary=text").await);
        assert_eq!(p["text"]["status"], "generated", "{p}");
        assert!(p.get("deceasedDateTime").is_none() && p.get("gender").is_none(), "{p}");
        assert_eq!(p["meta"]["tag"][0]["code"], "SUBSETTED");
        let o = resource(&search(&server, "Observation?_id=o1&_summary=text").await);
        assert_eq!(o["status"], "final", "{o}");
        assert!(o.get("valueQuantity").is_none(), "{o}");
        // _summary=true: what R4 marks isSummary (Patient.gender and .deceased[x] are; .text
        // and .multipleBirth[x] are not; Observation.value[x] is, Observation.text not)
        let p = resource(&search(&server, "Patient?_id=d1&_summary=true").await);
        assert_eq!(p["gender"], "male", "{p}");
        assert_eq!(p["deceasedDateTime"], "2026-01-02", "{p}");
        assert!(p.get("text").is_none() && p.get("multipleBirthInteger").is_none(), "{p}");
        assert_eq!(p["meta"]["tag"][0]["code"], "SUBSETTED");
        let o = resource(&search(&server, "Observation?_id=o1&_summary=true").await);
        assert_eq!(o["valueQuantity"]["value"], 70, "{o}");
        assert_eq!(o["subject"]["reference"], "Patient/d1", "{o}");
        // included resources are summarised too, and the self link keeps _summary
        let b = search(
            &server,
            "Observation?_id=o1&_include=Observation:subject&_summary=data",
        )
        .await;
        let included = b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["search"]["mode"] == "include")
            .expect("the included Patient");
        assert!(included["resource"].get("text").is_none(), "{b}");
        assert!(link(&b, "self").unwrap().contains("_summary=data"), "{b}");
    })
    .await;
}

#[tokio::test]
async fn unknown_parameters_can_be_ignored_by_setting() {
    let env: Vec<(&str, &str)> = PLAIN_R4
        .iter()
        .copied()
        .chain([("HBPC_SEARCH_UNKNOWN_PARAMETERS", "ignore")])
        .collect();
    on_each_backend_and_index_layout(&env, |server| async move {
        patients(&server).await;
        expect(&server, "Patient?nonsense=1&gender=female", &["p1"]).await;
        // Prefer still wins over the setting
        let res = client()
            .get(server.url("Patient?nonsense=1"))
            .header("Prefer", "handling=strict")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
    })
    .await;
}

/// `_has` (reverse chaining, R4 §3.1.1.5.8): Patients that an Observation with a given code
/// points at, nested `_has`, combined with other parameters, and refused when malformed.
#[tokio::test]
async fn reverse_chaining_with_has() {
    on_each_backend_and_index_layout(PLAIN_R4, |server| async move {
        patients(&server).await;
        let obs = |id: &str, patient: &str, code: &str| {
            json!({"resourceType": "Observation", "id": id, "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                "subject": {"reference": format!("Patient/{patient}")}})
        };
        put(&server, obs("o1", "p1", "8867-4")).await;
        put(&server, obs("o2", "p1", "8867-4")).await;
        put(&server, obs("o3", "p2", "8867-4")).await;
        put(&server, obs("o4", "p3", "2339-0")).await;
        // a panel whose member o4 is p3's
        put(
            &server,
            json!({"resourceType": "Observation", "id": "o5", "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "24323-8"}]},
                "subject": {"reference": "Patient/p4"},
                "hasMember": [{"reference": "Observation/o4"}]}),
        )
        .await;

        expect(
            &server,
            "Patient?_has:Observation:patient:code=8867-4",
            &["p1", "p2"],
        )
        .await;
        expect(
            &server,
            "Patient?_has:Observation:subject:code=http://loinc.org%7C2339-0",
            &["p3"],
        )
        .await;
        expect(
            &server,
            "Patient?_has:Observation:patient:code=8867-4&gender=male",
            &["p2"],
        )
        .await;
        expect(
            &server,
            "Patient?gender=male,female&_has:Observation:patient:code=2339-0",
            &[],
        )
        .await;
        // nested: Patients of an Observation that a panel coded 24323-8 has as a member
        expect(
            &server,
            "Patient?_has:Observation:patient:_has:Observation:has-member:code=24323-8",
            &["p3"],
        )
        .await;
        // each matching Patient once, however many Observations point at it
        let b = search(
            &server,
            "Patient?_has:Observation:patient:code=8867-4&_total=accurate",
        )
        .await;
        assert_eq!(b["total"], 2, "{b}");
        let self_link = link(&b, "self").unwrap();
        assert!(self_link.contains("_has"), "{self_link}");

        for bad in [
            "Patient?_has:Observation:patient=8867-4",
            "Patient?_has:Observation:encounter:code=8867-4",
            "Patient?_has:Observation:patient:code:below=8867-4",
        ] {
            let (status, body) = get_url(&server.url(bad)).await;
            assert_eq!(status, 400, "{bad}: {body}");
            assert_eq!(body["resourceType"], "OperationOutcome", "{bad}");
        }
    })
    .await;
}

#[tokio::test]
async fn capability_statement_lists_search_from_the_registry() {
    let server = TestServer::start().await;
    let (status, cs) = get_url(&server.url("metadata")).await;
    assert_eq!(status, 200);
    let resources = cs["rest"][0]["resource"].as_array().unwrap();
    let care_plan = resources.iter().find(|r| r["type"] == "CarePlan").unwrap();
    let names: Vec<&str> = care_plan["searchParam"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for p in [
        "patient",
        "subject",
        "category",
        "status",
        "date",
        "based-on",
        "care-team",
        "_id",
        "_lastUpdated",
        "identifier",
        "_profile",
    ] {
        assert!(names.contains(&p), "CarePlan.{p}: {names:?}");
    }
    assert!(care_plan["searchInclude"]
        .as_array()
        .unwrap()
        .contains(&json!("CarePlan:care-team")));
    assert!(care_plan["searchRevInclude"]
        .as_array()
        .unwrap()
        .contains(&json!("Provenance:target")));
    let codes: Vec<&str> = care_plan["interaction"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["code"].as_str())
        .collect();
    for c in [
        "search-type",
        "history-instance",
        "history-type",
        "read",
        "update",
    ] {
        assert!(codes.contains(&c), "{codes:?}");
    }
    assert_eq!(care_plan["conditionalUpdate"], true);
    assert_eq!(care_plan["conditionalDelete"], "single");
    for (ty, params) in [
        (
            "CareTeam",
            &["patient", "subject", "status", "category"][..],
        ),
        (
            "ServiceRequest",
            &[
                "patient",
                "subject",
                "status",
                "code",
                "category",
                "authored",
                "requester",
                "identifier",
            ][..],
        ),
        (
            "Task",
            &["focus", "status", "business-status", "patient", "owner"][..],
        ),
        (
            "Patient",
            &[
                "identifier",
                "name",
                "family",
                "given",
                "birthdate",
                "gender",
            ][..],
        ),
    ] {
        let r = resources.iter().find(|r| r["type"] == ty).unwrap();
        let names: Vec<&str> = r["searchParam"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        for p in params {
            assert!(names.contains(p), "{ty}.{p}");
        }
    }
    let system: Vec<&str> = cs["rest"][0]["interaction"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["code"].as_str())
        .collect();
    assert!(system.contains(&"history-system"));
}
