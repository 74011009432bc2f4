//! "An EHR creates referrals and reads its own Tasks": two EHR clients registered with
//! `own_referrals_only` each see the Task of their own referral, never the other's, by read,
//! vread, search, `_revinclude` and history; an unrestricted client sees both, and its
//! updates keep the submitter.

use crate::security_support::*;
use crate::support::*;
use serde_json::{json, Value};

const SUBMITTER: &str = "http://hbpc.example.org/fhir/CodeSystem/submitting-client";
const EHR_A: (&str, &str, &str, &str) = (
    "ehr-a",
    "rsa2048-client.pem",
    "rsa2048-client.jwks.json",
    "system/ServiceRequest.crs system/Task.rs",
);
const EHR_B: (&str, &str, &str, &str) = (
    "ehr-b",
    "ec384-client.pem",
    "ec384-client.jwks.json",
    "system/ServiceRequest.crs system/Task.rs",
);

fn restricted_clients() -> String {
    let mut text = String::new();
    for (id, _, jwks, scopes) in [EHR_A, EHR_B] {
        let scopes: Vec<String> = scopes
            .split_whitespace()
            .map(|s| format!("\"{s}\""))
            .collect();
        text.push_str(&format!(
            "[[auth.clients]]\nclient_id = \"{id}\"\nscopes = [{}]\njwks_file = \"{}\"\nown_referrals_only = true\n",
            scopes.join(", "),
            key_path(jwks)
        ));
    }
    text
}

async fn get(server: &TestServer, token: &str, path: &str) -> (u16, Value) {
    let res = client()
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Posts the example referral under its own placer identifier; returns its id.
async fn submit(server: &TestServer, token: &str, placer: &str) -> String {
    let mut referral = fixture_json("referral-separate/13-servicerequest-referral.json");
    referral["identifier"][0]["value"] = json!(placer);
    let res = client()
        .post(server.url("ServiceRequest"))
        .bearer_auth(token)
        .header("Content-Type", FHIR_JSON)
        .body(referral.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let body: Value = res.json().await.unwrap();
    body["id"].as_str().unwrap().to_string()
}

/// Ids of the entries of a searchset or history Bundle with this resource type (and mode).
fn ids(bundle: &Value, resource_type: &str, mode: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["resource"]["resourceType"] == resource_type)
        .filter(|e| mode.is_none_or(|m| e["search"]["mode"] == m))
        .map(|e| e["resource"]["id"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

fn submitter(task: &Value) -> Vec<&str> {
    task["meta"]["tag"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["system"] == SUBMITTER)
        .filter_map(|t| t["code"].as_str())
        .collect()
}

#[tokio::test]
async fn each_ehr_sees_its_own_tasks_only() {
    let config = AuthConfig::new(&restricted_clients());
    for backend in backends() {
        let env: Vec<(String, String)> = config.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let server = TestServer::start_on(backend, &env).await;
        let a = token_for(&server, EHR_A).await;
        let b = token_for(&server, EHR_B).await;
        let staff = token_for(&server, ALL).await;
        let sr_a = submit(&server, &a, "REF-A-1").await;
        let sr_b = submit(&server, &b, "REF-B-1").await;

        // the unrestricted client finds both Tasks, each recording its submitter
        let task_of = |sr: String| {
            let server = &server;
            let staff = &staff;
            async move {
                let (status, found) =
                    get(server, staff, &format!("Task?focus=ServiceRequest/{sr}")).await;
                assert_eq!(status, 200, "{found}");
                let found = ids(&found, "Task", Some("match"));
                assert_eq!(found.len(), 1, "one Task for {sr}");
                found[0].clone()
            }
        };
        let task_a = task_of(sr_a.clone()).await;
        let task_b = task_of(sr_b.clone()).await;
        let (_, stored_a) = get(&server, &staff, &format!("Task/{task_a}")).await;
        assert_eq!(submitter(&stored_a), ["ehr-a"]);
        let (_, stored_b) = get(&server, &staff, &format!("Task/{task_b}")).await;
        assert_eq!(submitter(&stored_b), ["ehr-b"]);
        let (_, all) = get(&server, &staff, "Task").await;
        assert_eq!(ids(&all, "Task", Some("match")).len(), 2);

        for (token, own, other, own_sr) in
            [(&a, &task_a, &task_b, &sr_a), (&b, &task_b, &task_a, &sr_b)]
        {
            // read and vread
            assert_eq!(get(&server, token, &format!("Task/{own}")).await.0, 200);
            let (status, body) = get(&server, token, &format!("Task/{other}")).await;
            assert_eq!(status, 404, "{body}");
            assert_outcome(&body, "not-found");
            assert_eq!(
                get(&server, token, &format!("Task/{other}/_history/1"))
                    .await
                    .0,
                404
            );
            assert_eq!(
                get(&server, token, &format!("Task/{own}/_history/1"))
                    .await
                    .0,
                200
            );
            // search, by type and by the other's id
            let (status, found) = get(&server, token, "Task").await;
            assert_eq!(status, 200);
            assert_eq!(ids(&found, "Task", Some("match")), [own.as_str()]);
            let self_link = found["link"][0]["url"].as_str().unwrap_or_default();
            assert!(!self_link.contains("submitting-client"), "{self_link}");
            let (_, by_id) = get(&server, token, &format!("Task?_id={other}")).await;
            assert!(ids(&by_id, "Task", None).is_empty(), "{by_id}");
            let (_, counted) = get(&server, token, "Task?_summary=count").await;
            assert_eq!(counted["total"], 1, "{counted}");
            // _revinclude from the referrals: both referrals, only the own Task
            let (status, with_tasks) =
                get(&server, token, "ServiceRequest?_revinclude=Task:focus").await;
            assert_eq!(status, 200, "{with_tasks}");
            assert_eq!(ids(&with_tasks, "ServiceRequest", Some("match")).len(), 2);
            assert_eq!(
                ids(&with_tasks, "Task", Some("include")),
                [own.as_str()],
                "{with_tasks}"
            );
            let (_, one) = get(
                &server,
                token,
                &format!("ServiceRequest?_id={own_sr}&_revinclude=Task:focus"),
            )
            .await;
            assert_eq!(ids(&one, "Task", Some("include")), [own.as_str()]);
            // history: instance, type
            let (status, _) = get(&server, token, &format!("Task/{other}/_history")).await;
            assert_eq!(status, 404);
            let (status, own_history) = get(&server, token, &format!("Task/{own}/_history")).await;
            assert_eq!(status, 200);
            assert_eq!(ids(&own_history, "Task", None), [own.as_str()]);
            let (status, type_history) = get(&server, token, "Task/_history").await;
            assert_eq!(status, 200);
            assert_eq!(ids(&type_history, "Task", None), [own.as_str()]);
        }

        // GET entries of a Bundle would bypass the filter: refused; staff may use them
        let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
            {"request": {"method": "GET", "url": format!("Task/{task_b}")}},
            {"request": {"method": "GET", "url": "ServiceRequest?_revinclude=Task:focus"}},
        ]});
        for (token, status) in [(&a, 403), (&staff, 200)] {
            let res = client()
                .post(server.url(""))
                .bearer_auth(token)
                .header("Content-Type", FHIR_JSON)
                .body(batch.to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), status);
            let body: Value = res.json().await.unwrap();
            if status == 403 {
                assert_outcome(&body, "forbidden");
            } else {
                assert_eq!(
                    body["entry"][0]["resource"]["id"],
                    task_b.as_str(),
                    "{body}"
                );
            }
        }

        // a staff update keeps the submitter, whatever tag the body carries
        let mut edited = stored_a.clone();
        edited["note"] = json!([{"text": "called the caregiver"}]);
        edited["meta"] = json!({"tag": [{"system": SUBMITTER, "code": "ehr-b"}]});
        let res = client()
            .put(server.url(&format!("Task/{task_a}")))
            .bearer_auth(&staff)
            .header("Content-Type", FHIR_JSON)
            .body(edited.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        let (_, after) = get(&server, &staff, &format!("Task/{task_a}")).await;
        assert_eq!(after["meta"]["versionId"], "2");
        assert_eq!(submitter(&after), ["ehr-a"]);
        assert_eq!(get(&server, &a, &format!("Task/{task_a}")).await.0, 200);
        assert_eq!(get(&server, &b, &format!("Task/{task_a}")).await.0, 404);
        let (_, history) = get(&server, &a, &format!("Task/{task_a}/_history")).await;
        assert_eq!(history["entry"].as_array().map(Vec::len), Some(2));
        // the other EHR still sees only its own
        let (_, b_tasks) = get(&server, &b, "Task").await;
        assert_eq!(ids(&b_tasks, "Task", Some("match")), [task_b.as_str()]);
    }
}
