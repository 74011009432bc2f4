//! The referral workflow through the HTTP API: every `fixtures/referrals/*.expected.json`
//! (Task, criteria, missing evidence, CarePlan activities, CareTeam roles), the generated
//! resources against our profiles, idempotent resubmission, staff actions, the dry run, and
//! the three ways a referral arrives.

use crate::support::*;
use hbpc_gateway::domain::care_planning::ReferralIdentity;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const CRITERION_SYSTEM: &str = "http://hbpc.example.org/fhir/CodeSystem/hbpc-eligibility-criterion";
const SERVICES_SYSTEM: &str = "http://hbpc.example.org/fhir/CodeSystem/hbpc-services";

fn expected_files() -> Vec<String> {
    let dir = fixture_path("referrals");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures/referrals")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".expected.json"))
        .collect();
    names.sort();
    names
}

/// The HBPC referral in a Bundle or a single resource.
fn referral_in(resource: &Value) -> Option<Value> {
    let is_referral = |r: &Value| {
        r["resourceType"] == "ServiceRequest"
            && r["code"]["coding"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["code"] == "306237005"))
    };
    match resource["resourceType"].as_str() {
        Some("Bundle") => resource["entry"]
            .as_array()?
            .iter()
            .map(|e| &e["resource"])
            .find(|r| is_referral(r))
            .cloned(),
        _ if is_referral(resource) => Some(resource.clone()),
        _ => None,
    }
}

/// What a Task says: status, business status, each criterion's result, missing evidence.
struct TaskView {
    status: String,
    business_status: String,
    criteria: BTreeMap<String, String>,
    missing: Vec<String>,
    care_plan: Option<String>,
    care_team: Option<String>,
}

fn read_task(task: &Value) -> TaskView {
    let determination = task["contained"]
        .as_array()
        .and_then(|c| c.iter().find(|r| r["id"] == "determination"))
        .expect("contained determination");
    let mut criteria = BTreeMap::new();
    for p in determination["parameter"].as_array().unwrap() {
        if p["name"] != "criterion" {
            continue;
        }
        let part = |name: &str| {
            p["part"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["name"] == name)
                .cloned()
                .unwrap_or(Value::Null)
        };
        assert_eq!(part("code")["valueCoding"]["system"], CRITERION_SYSTEM);
        assert!(part("reason")["valueString"]
            .as_str()
            .is_some_and(|r| !r.is_empty()));
        assert!(part("expression")["valueString"].as_str().is_some());
        criteria.insert(
            part("code")["valueCoding"]["code"]
                .as_str()
                .unwrap()
                .to_string(),
            part("result")["valueCoding"]["code"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let outputs = task["output"].as_array().cloned().unwrap_or_default();
    let output_ref = |code: &str| {
        outputs
            .iter()
            .find(|o| o["type"]["coding"][0]["code"] == code)
            .and_then(|o| o["valueReference"]["reference"].as_str())
            .map(str::to_string)
    };
    let mut missing: Vec<String> = outputs
        .iter()
        .filter(|o| o["type"]["coding"][0]["code"] == "missing-evidence")
        .filter_map(|o| o["valueString"].as_str())
        .filter_map(|s| s.split(':').next())
        .map(str::to_string)
        .collect();
    missing.sort();
    TaskView {
        status: task["status"].as_str().unwrap_or_default().to_string(),
        business_status: task["businessStatus"]["coding"][0]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        criteria,
        missing,
        care_plan: output_ref("care-plan"),
        care_team: output_ref("care-team"),
    }
}

pub(crate) fn activities(plan: &Value) -> Vec<String> {
    plan["activity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            a["detail"]["code"]["coding"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["system"] == SERVICES_SYSTEM)
                .and_then(|c| c["code"].as_str())
                .expect("an hbpc-services code")
                .to_string()
        })
        .collect()
}

pub(crate) fn team_roles(team: &Value) -> Vec<String> {
    let mut roles: Vec<String> = team["participant"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let codings = p["role"][0]["coding"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let coding = codings
                .iter()
                .find(|c| c["system"] == "http://snomed.info/sct")
                .or(codings.first())
                .expect("a coded role");
            format!(
                "{}|{}",
                coding["system"].as_str().unwrap(),
                coding["code"].as_str().unwrap()
            )
        })
        .collect();
    roles.sort();
    roles
}

async fn task_of(server: &TestServer, referral: &Value) -> Value {
    let id = ReferralIdentity::of(referral).id("Task");
    let (status, task) = get_json(server, &format!("/fhir/Task/{id}")).await;
    assert_eq!(status, 200, "the referral's Task: {task}");
    task
}

#[tokio::test]
async fn every_referral_fixture_reaches_its_expected_outcome() {
    on_each_backend(&[], |server| async move {
        for name in expected_files() {
            let expected = fixture_json(&format!("referrals/{name}"));
            let mut referral = None;
            for (n, step) in expected["steps"].as_array().unwrap().iter().enumerate() {
                let what = format!("{name} step {}", n + 1);
                let body = fixture_json(&format!("referrals/{}", step["file"].as_str().unwrap()));
                referral = referral_in(&body).or(referral);
                let (status, response) =
                    post_json(&server, step["post"].as_str().unwrap(), &body).await;
                assert!(
                    status == 200 || status == 201,
                    "{what}: {status} {response}"
                );

                let task = task_of(&server, referral.as_ref().expect("a referral")).await;
                assert_valid(&server, &task, &format!("{what}: Task")).await;
                let view = read_task(&task);
                assert_eq!(view.status, step["task"]["status"], "{what}: Task.status");
                assert_eq!(
                    view.business_status, step["task"]["businessStatus"],
                    "{what}"
                );
                let want: BTreeMap<String, String> =
                    serde_json::from_value(step["criteria"].clone()).unwrap();
                assert_eq!(view.criteria, want, "{what}: criteria");
                let mut missing: Vec<String> =
                    serde_json::from_value(step["missingEvidence"].clone()).unwrap();
                missing.sort();
                assert_eq!(view.missing, missing, "{what}: missing evidence");
                if view.status == "rejected" || view.status == "on-hold" {
                    assert!(
                        task["statusReason"]["text"].as_str().is_some(),
                        "{what}: statusReason"
                    );
                }

                if step["carePlan"].is_null() {
                    assert_eq!(view.care_plan, None, "{what}: no CarePlan expected");
                    continue;
                }
                let (status, plan) = get_json(
                    &server,
                    &format!("/fhir/{}", view.care_plan.expect("care-plan output")),
                )
                .await;
                assert_eq!(status, 200, "{what}");
                assert_eq!(
                    plan["status"], step["carePlan"]["status"],
                    "{what}: CarePlan.status"
                );
                let want: Vec<String> =
                    serde_json::from_value(step["carePlan"]["activities"].clone()).unwrap();
                assert_eq!(activities(&plan), want, "{what}: activities");
                assert_valid(&server, &plan, &format!("{what}: CarePlan")).await;

                let (status, team) = get_json(
                    &server,
                    &format!("/fhir/{}", view.care_team.expect("care-team output")),
                )
                .await;
                assert_eq!(status, 200, "{what}");
                let want: Vec<String> =
                    serde_json::from_value(step["careTeamRoles"].clone()).unwrap();
                assert_eq!(team_roles(&team), want, "{what}: CareTeam roles");
                assert_valid(&server, &team, &format!("{what}: CareTeam")).await;

                // Provenance names what was generated, by the gateway, from the referral.
                let prov_id = ReferralIdentity::of(referral.as_ref().unwrap()).id("Provenance");
                let (status, prov) =
                    get_json(&server, &format!("/fhir/Provenance/{prov_id}")).await;
                assert_eq!(status, 200, "{what}: Provenance");
                let targets: Vec<&str> = prov["target"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|t| t["reference"].as_str())
                    .collect();
                assert!(
                    targets
                        .contains(&format!("CarePlan/{}", plan["id"].as_str().unwrap()).as_str()),
                    "{what}: {prov}"
                );
                assert_eq!(prov["agent"][0]["who"]["reference"], "Device/hbpc-gateway");
                assert_eq!(
                    prov["entity"][0]["what"]["reference"],
                    task["focus"]["reference"]
                );
                for goal in plan["goal"].as_array().unwrap() {
                    let (status, _) = get_json(
                        &server,
                        &format!("/fhir/{}", goal["reference"].as_str().unwrap()),
                    )
                    .await;
                    assert_eq!(status, 200, "{what}: {goal}");
                }
            }
        }
    })
    .await;
}

#[tokio::test]
async fn resubmission_updates_rather_than_duplicates() {
    on_each_backend(&[], |server| async move {
        let bundle = fixture_json("referrals/eligible-cancer.json");
        let referral = referral_in(&bundle).unwrap();
        let identity = ReferralIdentity::of(&referral);
        let mut inputs = Vec::new();
        for _ in 0..3 {
            let (status, body) = post_json(&server, "/fhir", &bundle).await;
            assert_eq!(status, 200, "{body}");
            let task = task_of(&server, &referral).await;
            inputs.push(task["input"].as_array().unwrap().len());
        }
        // a resent referral restates its evidence: it does not pile up on the Task
        assert_eq!(inputs[0], inputs[2], "{inputs:?}");
        assert_eq!(
            server
                .stored_with_identifier("ServiceRequest", "REF-2026-000521")
                .await,
            1
        );
        for kind in ["Task", "CarePlan", "CareTeam"] {
            assert_eq!(
                server
                    .stored_with_identifier(kind, &identity.id(kind))
                    .await,
                1,
                "{kind}"
            );
        }
        let task = task_of(&server, &referral).await;
        assert_eq!(task["status"], "accepted");
        assert_eq!(
            task["meta"]["versionId"], "1",
            "a resubmission whose referral matched re-evaluates nothing (issue #25): {task}"
        );
    })
    .await;
}

#[tokio::test]
async fn staff_move_the_task_through_valid_transitions_only() {
    on_each_backend(&[], |server| async move {
        let bundle = fixture_json("referrals/eligible-copd.json");
        let referral = referral_in(&bundle).unwrap();
        assert_eq!(post_json(&server, "/fhir", &bundle).await.0, 200);
        let mut task = task_of(&server, &referral).await;
        let id = task["id"].as_str().unwrap().to_string();
        let path = format!("/fhir/Task/{id}");
        let put = |task: Value, version: String| {
            let server = &server;
            let path = path.clone();
            async move {
                let etag = format!("W/\"{version}\"");
                let (status, body, _) = request(
                    server,
                    Method::PUT,
                    &path,
                    Some(&task),
                    &[("If-Match", &etag)],
                )
                .await;
                (status, body)
            }
        };
        // accepted → in-progress → completed
        for next in ["in-progress", "completed"] {
            task["status"] = json!(next);
            let version = task["meta"]["versionId"].as_str().unwrap().to_string();
            let (status, body) = put(task.clone(), version).await;
            assert_eq!(status, 200, "to {next}: {body}");
            task = get_json(&server, &path).await.1;
        }
        let view = read_task(&task);
        let (_, plan) = get_json(&server, &format!("/fhir/{}", view.care_plan.unwrap())).await;
        assert_eq!(plan["status"], "completed", "ending the Task ends the plan");
        assert!(plan["activity"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["detail"]["status"] == "completed"));
        let (_, team) = get_json(&server, &format!("/fhir/{}", view.care_team.unwrap())).await;
        assert_eq!(team["status"], "inactive");

        // completed is final
        task["status"] = json!("in-progress");
        let version = task["meta"]["versionId"].as_str().unwrap().to_string();
        let before = server.stored_versions().await;
        let (status, body) = put(task.clone(), version).await;
        assert_eq!(status, 409, "{body}");
        assert_outcome(&body, "business-rule");
        assert_eq!(expressions(&body), vec!["Task.status"]);
        assert_eq!(server.stored_versions().await, before, "nothing stored");
    })
    .await;
}

#[tokio::test]
async fn evaluate_eligibility_is_a_dry_run() {
    on_each_backend(&[], |server| async move {
        let before = server.stored_versions().await;
        let bundle = fixture_json("referrals/fails-service-area.json");
        let (status, parameters) =
            post_json(&server, "/fhir/ServiceRequest/$evaluate-eligibility", &bundle).await;
        assert_eq!(status, 200, "{parameters}");
        let param = |name: &str| {
            parameters["parameter"].as_array().unwrap().iter().find(|p| p["name"] == name).cloned()
        };
        assert_eq!(param("decision").unwrap()["valueCode"], "ineligible");
        let view = read_task(&param("task").unwrap()["resource"]);
        assert_eq!(view.criteria["service-area"], "not-met");
        assert!(param("carePlan").is_none());
        // the same as Parameters
        let wrapped = json!({"resourceType": "Parameters", "parameter": [
            {"name": "referral", "resource": fixture_json("referrals/eligible-heart-failure.json")}]});
        let (status, parameters) =
            post_json(&server, "/fhir/ServiceRequest/$evaluate-eligibility", &wrapped).await;
        assert_eq!(status, 200, "{parameters}");
        assert_eq!(parameters["parameter"][0]["valueCode"], "eligible");
        assert_eq!(server.stored_versions().await, before, "a dry run stores nothing");
        // no referral inside
        let empty = json!({"resourceType": "Bundle", "type": "collection", "entry": [
            {"fullUrl": "urn:uuid:8b0e5f61-3c0e-4c55-9f5e-2d2f0d8c1a01",
             "resource": {"resourceType": "Patient", "name": [{"family": "Doe"}]}}]});
        let (status, body) =
            post_json(&server, "/fhir/ServiceRequest/$evaluate-eligibility", &empty).await;
        assert_eq!(status, 422, "{body}");
    })
    .await;
}

/// Task status, criteria and activities: what must not depend on how the referral arrived.
async fn result_of(
    server: &TestServer,
    referral: &Value,
) -> (String, BTreeMap<String, String>, Vec<String>) {
    let task = task_of(server, referral).await;
    let view = read_task(&task);
    let (_, plan) = get_json(
        server,
        &format!("/fhir/{}", view.care_plan.clone().expect("a plan")),
    )
    .await;
    (view.status, view.criteria, activities(&plan))
}

#[tokio::test]
async fn rest_transaction_and_message_give_the_same_result() {
    for backend in backends() {
        let transaction = fixture_json("referral-transaction.json");
        let referral = referral_in(&transaction).unwrap();

        let server = TestServer::start_on(backend.clone(), &[]).await;
        assert_eq!(post_json(&server, "/fhir", &transaction).await.0, 200);
        let by_transaction = result_of(&server, &referral).await;
        assert_eq!(by_transaction.0, "accepted", "{by_transaction:?}");
        drop(server);

        let server = TestServer::start_on(backend.clone(), &[]).await;
        let mut names: Vec<String> = std::fs::read_dir(fixture_path("referral-separate"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        for name in &names {
            let resource = fixture_json(&format!("referral-separate/{name}"));
            let rt = resource["resourceType"].as_str().unwrap();
            let (status, body) = if rt == "ServiceRequest" {
                post_json(&server, "/fhir/ServiceRequest", &resource).await
            } else {
                let path = format!("/fhir/{rt}/{}", resource["id"].as_str().unwrap());
                let (s, b, _) = request(&server, Method::PUT, &path, Some(&resource), &[]).await;
                (s, b)
            };
            assert!(status == 200 || status == 201, "{name}: {body}");
        }
        let by_rest = result_of(&server, &referral).await;
        assert_eq!(by_rest, by_transaction, "REST create vs transaction");
        drop(server);

        let server = TestServer::start_on(backend.clone(), &[]).await;
        let (status, response) = post_json(
            &server,
            "/fhir/$process-message",
            &fixture_json("referral-message.json"),
        )
        .await;
        assert_eq!(status, 200, "{response}");
        assert_eq!(response["type"], "message");
        let header = &response["entry"][0]["resource"];
        assert_eq!(header["resourceType"], "MessageHeader");
        assert_eq!(header["response"]["code"], "ok");
        assert_eq!(
            header["response"]["identifier"],
            "0f4d3c2b-1a09-4876-9543-210fedcba987"
        );
        assert_eq!(
            header["destination"][0]["endpoint"],
            "https://ehr.hospital.example.org/fhir"
        );
        let task = &response["entry"][1]["resource"];
        assert_eq!(task["resourceType"], "Task");
        assert_eq!(
            header["focus"][0]["reference"],
            format!("Task/{}", task["id"].as_str().unwrap())
        );
        let by_message = result_of(&server, &referral).await;
        assert_eq!(by_message, by_transaction, "message vs transaction");
        // a resent message finds the same referral and Task
        let (status, again) = post_json(
            &server,
            "/fhir/$process-message",
            &fixture_json("referral-message.json"),
        )
        .await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(again["entry"][1]["resource"]["id"], task["id"]);
        assert_eq!(
            server
                .stored_with_identifier("ServiceRequest", "REF-2026-000417")
                .await,
            1
        );
        drop(server);
    }
}

#[tokio::test]
async fn process_message_rejects_what_is_not_a_referral_message() {
    on_each_backend(&[], |server| async move {
        let mut message = fixture_json("referral-message.json");
        message["entry"][0]["resource"]["eventCoding"] =
            json!({"system": "http://example.org/events", "code": "admit"});
        let before = server.stored_versions().await;
        let (status, body) = post_json(&server, "/fhir/$process-message", &message).await;
        assert_eq!(status, 422, "{body}");
        assert_outcome(&body, "not-supported");
        assert_eq!(
            expressions(&body),
            vec!["Bundle.entry[0].resource.eventCoding"]
        );

        let transaction = fixture_json("referral-transaction.json");
        let (status, body) = post_json(&server, "/fhir/$process-message", &transaction).await;
        assert_eq!(status, 400, "{body}");
        assert_outcome(&body, "invalid");
        assert_eq!(server.stored_versions().await, before, "nothing stored");
    })
    .await;
}

#[tokio::test]
async fn a_draft_plan_waits_for_evidence_when_configured() {
    on_each_backend(
        &[("HBPC_CARE_PLAN_DRAFT_WHEN_ON_HOLD", "true")],
        |server| async move {
            let bundle = fixture_json("referrals/missing-homebound.json");
            let referral = referral_in(&bundle).unwrap();
            assert_eq!(post_json(&server, "/fhir", &bundle).await.0, 200);
            let view = read_task(&task_of(&server, &referral).await);
            assert_eq!(view.status, "on-hold");
            let plan_path = format!("/fhir/{}", view.care_plan.expect("a draft plan"));
            let (_, plan) = get_json(&server, &plan_path).await;
            assert_eq!(plan["status"], "draft");
            assert_valid(&server, &plan, "draft CarePlan").await;
            let (_, team) = get_json(&server, &format!("/fhir/{}", view.care_team.unwrap())).await;
            assert_eq!(team["status"], "proposed");

            let followup = fixture_json("referrals/missing-homebound-followup.json");
            assert_eq!(
                post_json(&server, "/fhir/Observation", &followup).await.0,
                201
            );
            let (_, plan) = get_json(&server, &plan_path).await;
            assert_eq!(plan["status"], "active", "the same plan, now active");
            assert_eq!(plan["meta"]["versionId"], "2");
        },
    )
    .await;
}

/// A BSeR-shaped message: absolute fullUrls (`http://ehr.example.org/fhir/Type/id`) and
/// relative references between its entries. Each reference is stored pointing at the entry
/// it names (R4 "Resolving references in Bundles"), so the criteria are decided from the
/// message's evidence (step 1 of `fixtures/bser/referral-message.expected.json`).
#[tokio::test]
async fn a_bser_message_is_stored_with_its_references_resolved_and_evaluated() {
    on_each_backend(&[], |server| async move {
        let message = fixture_json("bser/referral-message.json");
        let expected = fixture_json("bser/referral-message.expected.json");
        let step = &expected["steps"][0];
        let referral = referral_in(&message).expect("a referral");
        let (status, response) = post_json(&server, "/fhir/$process-message", &message).await;
        assert_eq!(
            status,
            step["status"].as_u64().unwrap() as u16,
            "{response}"
        );

        // the Task's id depends on the sender (a placer identifier without a system is
        // scoped by MessageHeader.source.endpoint): take it from the response message
        let task_id = response["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["resource"]["resourceType"] == "Task")
            .and_then(|e| e["resource"]["id"].as_str())
            .unwrap_or_else(|| panic!("the response message carries the Task: {response}"))
            .to_string();
        let (status, task) = get_json(&server, &format!("/fhir/Task/{task_id}")).await;
        assert_eq!(status, 200, "the referral's Task: {task}");
        let view = read_task(&task);
        assert_eq!(view.status, step["task"]["status"], "{task}");
        assert_eq!(view.business_status, step["task"]["businessStatus"]);
        let want: BTreeMap<String, String> =
            serde_json::from_value(step["criteria"].clone()).unwrap();
        assert_eq!(view.criteria, want, "criteria");
        assert!(view.missing.is_empty(), "{:?}", view.missing);
        let (_, plan) = get_json(&server, &format!("/fhir/{}", view.care_plan.unwrap())).await;
        let want: Vec<String> =
            serde_json::from_value(step["carePlan"]["activities"].clone()).unwrap();
        assert_eq!(activities(&plan), want);

        // Every reference of the stored referral names a resource stored here: the one the
        // message's entry with that fullUrl carried.
        let focus = task["focus"]["reference"].as_str().unwrap();
        let (_, stored) = get_json(&server, &format!("/fhir/{focus}")).await;
        let as_list = |v: &Value| match v {
            Value::Array(items) => items.clone(),
            single => vec![single.clone()],
        };
        let entry_named = |r: &str| {
            message["entry"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["fullUrl"] == format!("http://ehr.example.org/fhir/{r}"))
                .map(|e| e["resource"].clone())
                .expect("the message names its entries by relative references")
        };
        let mut checked = 0;
        for element in [
            "subject",
            "requester",
            "insurance",
            "supportingInfo",
            "reasonReference",
        ] {
            let sent = as_list(&referral[element]);
            let kept = as_list(&stored[element]);
            assert_eq!(sent.len(), kept.len(), "{element}");
            for (sent, kept) in sent.iter().zip(&kept) {
                let r = kept["reference"].as_str().expect("a literal reference");
                let (status, target) = get_json(&server, &format!("/fhir/{r}")).await;
                assert_eq!(status, 200, "{element} -> {r} dangles");
                let carried = entry_named(sent["reference"].as_str().unwrap());
                assert_eq!(target["resourceType"], carried["resourceType"], "{element}");
                for key in ["identifier", "code", "category", "scope"] {
                    if !carried[key].is_null() {
                        assert_eq!(target[key], carried[key], "{element} -> {r}: {key}");
                    }
                }
                checked += 1;
            }
        }
        assert!(checked >= 7, "{checked} references checked");
    })
    .await;
}
