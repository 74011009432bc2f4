//! Real-world-shaped referrals (`fixtures/real-world/`, US Core content as EHRs export it) end to
//! end: each `NAME.expected.json` through `POST /fhir` and, as a FHIR message, through
//! `$process-message`: the HTTP status, the Task's status and business status, every criterion's
//! verdict and the words its reason must contain, the status reason, missing evidence, the plan
//! and the team. And ordinary orders and care plans without `meta.profile` are stored (201)
//! without a Task.

use crate::referrals::{activities, team_roles};
use crate::support::*;
use hbpc_gateway::domain::care_planning::ReferralIdentity;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const CRITERION_SYSTEM: &str = "http://hbpc.example.org/fhir/CodeSystem/hbpc-eligibility-criterion";
const REFERRAL_CODES: [&str; 4] = ["306237005", "306288008", "713281006", "103735009"];

fn expected_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixture_path("real-world"))
        .expect("fixtures/real-world")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".expected.json"))
        .collect();
    names.sort();
    assert!(names.len() >= 19, "the real-world cases: {names:?}");
    names
}

fn is_referral(r: &Value) -> bool {
    r["resourceType"] == "ServiceRequest"
        && r["code"]["coding"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| REFERRAL_CODES.contains(&c["code"].as_str().unwrap_or_default()))
        })
}

fn referral_in(body: &Value) -> Option<Value> {
    match body["resourceType"].as_str() {
        Some("Bundle") => body["entry"]
            .as_array()?
            .iter()
            .map(|e| &e["resource"])
            .find(|r| is_referral(r))
            .cloned(),
        _ if is_referral(body) => Some(body.clone()),
        _ => None,
    }
}

/// The transaction as the BSeR push would send it: a message whose header names the referral.
fn as_message(transaction: &Value, name: &str) -> Value {
    let referral_url = transaction["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| is_referral(&e["resource"]))
        .and_then(|e| e["fullUrl"].as_str())
        .expect("the referral's fullUrl")
        .to_string();
    let mut entries = vec![json!({
        "fullUrl": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        "resource": {"resourceType": "MessageHeader", "id": format!("rw-{}", name.replace('.', "-")),
            "eventCoding": {"system": "http://terminology.hl7.org/CodeSystem/v2-0003", "code": "I12"},
            "source": {"endpoint": "http://ehr.example.org/fhir/$process-message"},
            "focus": [{"reference": referral_url}]}
    })];
    for entry in transaction["entry"].as_array().unwrap() {
        entries.push(json!({"fullUrl": entry["fullUrl"], "resource": entry["resource"]}));
    }
    json!({"resourceType": "Bundle", "type": "message", "timestamp": "2026-11-20T09:00:00-08:00",
        "entry": entries})
}

/// Each criterion's result and reason, from the Task's contained determination.
fn criteria(task: &Value) -> BTreeMap<String, (String, String)> {
    let determination = task["contained"]
        .as_array()
        .and_then(|c| c.iter().find(|r| r["id"] == "determination"))
        .expect("contained determination");
    let mut out = BTreeMap::new();
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
        out.insert(
            part("code")["valueCoding"]["code"]
                .as_str()
                .unwrap()
                .to_string(),
            (
                part("result")["valueCoding"]["code"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                part("reason")["valueString"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            ),
        );
    }
    out
}

fn output_ref(task: &Value, code: &str) -> Option<String> {
    task["output"]
        .as_array()?
        .iter()
        .find(|o| o["type"]["coding"][0]["code"] == code)
        .and_then(|o| o["valueReference"]["reference"].as_str())
        .map(str::to_string)
}

/// Checks one step's Task, plan and team against the expected file.
async fn check_step(server: &TestServer, what: &str, step: &Value, task: &Value) {
    assert_valid(server, task, &format!("{what}: Task")).await;
    assert_eq!(
        task["status"], step["task"]["status"],
        "{what}: Task.status {task}"
    );
    let business = task["businessStatus"]["coding"][0]["code"].clone();
    assert_eq!(
        business, step["task"]["businessStatus"],
        "{what}: businessStatus"
    );
    let found = criteria(task);
    if step["criteria"].is_null() {
        assert!(
            found.is_empty(),
            "{what}: no criterion is evaluated, got {found:?}"
        );
    } else {
        let want: BTreeMap<String, String> =
            serde_json::from_value(step["criteria"].clone()).unwrap();
        let got: BTreeMap<String, String> = found
            .iter()
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect();
        assert_eq!(got, want, "{what}: criteria {found:#?}");
    }
    for (criterion, words) in step["reasonMentions"].as_object().into_iter().flatten() {
        let reason = &found[criterion].1;
        for word in words.as_array().unwrap() {
            let word = word.as_str().unwrap();
            assert!(
                reason.contains(word),
                "{what}: {criterion} reason lacks '{word}': {reason}"
            );
        }
    }
    let status_reason = task["statusReason"]["text"].as_str().unwrap_or_default();
    for word in step["statusReasonMentions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let word = word.as_str().unwrap();
        assert!(
            status_reason.contains(word),
            "{what}: statusReason lacks '{word}': {status_reason}"
        );
    }
    if matches!(
        task["status"].as_str(),
        Some("rejected" | "on-hold" | "cancelled" | "draft")
    ) {
        assert!(
            !status_reason.is_empty(),
            "{what}: a Task not accepted says why"
        );
    }
    let mut missing: Vec<String> = task["output"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| o["type"]["coding"][0]["code"] == "missing-evidence")
        .filter_map(|o| o["valueString"].as_str())
        .filter_map(|s| s.split(':').next())
        .map(str::to_string)
        .collect();
    missing.sort();
    let mut want: Vec<String> = serde_json::from_value(step["missingEvidence"].clone()).unwrap();
    want.sort();
    assert_eq!(missing, want, "{what}: missing evidence");

    let plan_ref = output_ref(task, "care-plan");
    if step["carePlan"].is_null() {
        assert_eq!(plan_ref, None, "{what}: no CarePlan expected");
        return;
    }
    let (status, plan) = get_json(
        server,
        &format!("/fhir/{}", plan_ref.expect("a care-plan output")),
    )
    .await;
    assert_eq!(status, 200, "{what}");
    assert_eq!(
        plan["status"], step["carePlan"]["status"],
        "{what}: CarePlan.status"
    );
    let activities = activities(&plan);
    let want: Vec<String> = serde_json::from_value(step["carePlan"]["activities"].clone()).unwrap();
    assert_eq!(activities, want, "{what}: activities");
    let (status, team) = get_json(
        server,
        &format!(
            "/fhir/{}",
            output_ref(task, "care-team").expect("care-team")
        ),
    )
    .await;
    assert_eq!(status, 200, "{what}");
    let roles = team_roles(&team);
    let want: Vec<String> = serde_json::from_value(step["careTeamRoles"].clone()).unwrap();
    assert_eq!(roles, want, "{what}: CareTeam roles");
}

async fn task_of(server: &TestServer, referral: &Value, what: &str) -> Value {
    let id = ReferralIdentity::of(referral).id("Task");
    let (status, task) = get_json(server, &format!("/fhir/Task/{id}")).await;
    assert_eq!(status, 200, "{what}: the referral's Task: {task}");
    task
}

#[tokio::test]
async fn real_world_referrals_posted_as_transactions_get_the_clinicians_decision() {
    on_each_backend(&[], |server| async move {
        for name in expected_files() {
            let expected = fixture_json(&format!("real-world/{name}"));
            let mut referral = None;
            for (n, step) in expected["steps"].as_array().unwrap().iter().enumerate() {
                let what = format!("{name} step {}", n + 1);
                let body = fixture_json(&format!("real-world/{}", step["file"].as_str().unwrap()));
                referral = referral_in(&body).or(referral);
                let (status, response) =
                    post_json(&server, step["post"].as_str().unwrap(), &body).await;
                assert_eq!(status, step["status"], "{what}: {response}");
                let task = task_of(&server, referral.as_ref().expect("a referral"), &what).await;
                check_step(&server, &what, step, &task).await;
            }
        }
    })
    .await;
}

#[tokio::test]
async fn real_world_referrals_sent_as_messages_get_the_same_decision() {
    on_each_backend(&[], |server| async move {
        for name in expected_files() {
            let expected = fixture_json(&format!("real-world/{name}"));
            let steps = expected["steps"].as_array().unwrap();
            // follow-up evidence is posted on its own; the message carries a whole referral
            if steps.len() != 1 || steps[0]["post"] != "/fhir" {
                continue;
            }
            let step = &steps[0];
            let what = format!("{name} as a message");
            let transaction =
                fixture_json(&format!("real-world/{}", step["file"].as_str().unwrap()));
            let referral = referral_in(&transaction).expect("a referral");
            let (status, response) = post_json(
                &server,
                "/fhir/$process-message",
                &as_message(&transaction, &name),
            )
            .await;
            assert_eq!(status, 200, "{what}: {response}");
            assert_eq!(response["type"], "message", "{what}");
            let answered = &response["entry"][1]["resource"];
            assert_eq!(answered["resourceType"], "Task", "{what}: {response}");
            let task = task_of(&server, &referral, &what).await;
            assert_eq!(answered["id"], task["id"], "{what}");
            check_step(&server, &what, step, &task).await;
        }
    })
    .await;
}

#[tokio::test]
async fn ordinary_orders_and_care_plans_are_stored_without_a_task() {
    on_each_backend(&[], |server| async move {
        let expected = fixture_json("real-world/ordinary/expected.json");
        for step in expected["steps"].as_array().unwrap() {
            let file = step["file"].as_str().unwrap();
            let body = fixture_json(&format!("real-world/ordinary/{file}"));
            assert!(
                body["meta"]["profile"].is_null(),
                "{file} declares no profile"
            );
            let (method, path) = match (step["put"].as_str(), step["post"].as_str()) {
                (Some(path), _) => (Method::PUT, path),
                (_, Some(path)) => (Method::POST, path),
                _ => panic!("{file}: put or post"),
            };
            let (status, response, headers) =
                request(&server, method, path, Some(&body), &[]).await;
            assert_eq!(status, step["status"], "{file}: {response}");
            let location = headers
                .get("location")
                .and_then(|l| l.to_str().ok())
                .expect("a Location");
            let key: Vec<&str> = location
                .split("/_history")
                .next()
                .unwrap()
                .rsplit('/')
                .take(2)
                .collect();
            let (id, rt) = (key[0], key[1]);
            let (status, bundle) = get_json(&server, &format!("/fhir/Task?focus={rt}/{id}")).await;
            assert_eq!(status, 200, "{file}: {bundle}");
            assert_eq!(
                bundle["entry"].as_array().map_or(0, Vec::len),
                0,
                "{file}: no Task for an ordinary resource: {bundle}"
            );
        }
    })
    .await;
}

/// A referral that misses our profile only in its evidence is a referral: stored (201), the
/// profile issue returned as a warning at the element, and a Task on hold naming what is needed.
#[tokio::test]
async fn a_referral_missing_evidence_is_stored_with_a_warning_and_a_task_on_hold() {
    let expected: Vec<Value> =
        serde_json::from_slice(&fixture_bytes("expected-outcomes.json")).unwrap();
    let cases: Vec<Value> = expected
        .into_iter()
        .filter(|c| c["task"].is_object())
        .collect();
    assert_eq!(cases.len(), 3, "no-requester, no-reason, no-insurance");
    on_each_backend(&[], |server| {
        let cases = cases.clone();
        async move {
            for case in &cases {
                let fixture = case["fixture"].as_str().unwrap();
                let body = fixture_json(fixture);
                let (status, outcome, _) = request(
                    &server,
                    Method::POST,
                    "/fhir/ServiceRequest",
                    Some(&body),
                    &[("Prefer", "return=OperationOutcome")],
                )
                .await;
                assert_eq!(status, case["status"], "{fixture}: {outcome}");
                let element = case["expression"].as_str().unwrap();
                let warned = outcome["issue"].as_array().unwrap().iter().any(|i| {
                    i["severity"] == "warning"
                        && i["expression"]
                            .as_array()
                            .is_some_and(|e| e.iter().any(|e| e == element))
                });
                assert!(warned, "{fixture}: a warning at {element}: {outcome}");
                let task = task_of(&server, &body, fixture).await;
                assert_eq!(task["status"], case["task"]["status"], "{fixture}");
                let criterion = case["task"]["unknown"].as_str().unwrap();
                let (verdict, reason) = &criteria(&task)[criterion];
                assert_eq!(verdict, "unknown", "{fixture}: {reason}");
                assert!(
                    reason.contains(element),
                    "{fixture}: {reason} names {element}"
                );
            }
        }
    })
    .await;
}

/// The entry a referral's first `reasonReference` names, by fullUrl.
fn reason_entry(bundle: &Value) -> usize {
    let entries = bundle["entry"].as_array().unwrap();
    let referral = entries
        .iter()
        .find(|e| is_referral(&e["resource"]))
        .expect("a referral");
    let target = referral["resource"]["reasonReference"][0]["reference"].clone();
    entries
        .iter()
        .position(|e| e["fullUrl"] == target)
        .expect("the reason in the Bundle")
}

/// A referenced Condition that misses its target profile is evidence, not a refusal: the
/// transaction is stored, the warnings name each rule at the Condition's own elements (as
/// `$validate` on it would), and the criterion is unknown, naming the element.
#[tokio::test]
async fn a_referenced_condition_missing_its_profile_is_named_and_judged_not_refused() {
    on_each_backend(&[], |server| async move {
        let mut bundle = fixture_json("referral-transaction.json");
        let at = reason_entry(&bundle);
        let condition = bundle["entry"][at]["resource"].as_object_mut().unwrap();
        condition.remove("clinicalStatus");
        condition.remove("verificationStatus");
        let (status, response) = post_json(&server, "/fhir", &bundle).await;
        assert_eq!(status, 200, "{response}");
        let warnings: Vec<&Value> = response["entry"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|e| {
                e["response"]["outcome"]["issue"]
                    .as_array()
                    .into_iter()
                    .flatten()
            })
            .filter(|i| i["severity"] == "warning")
            .collect();
        let named = |element: &str, profile: &str| {
            warnings.iter().any(|i| {
                i["expression"][0] == format!("Bundle.entry[{at}].resource.{element}")
                    && i["details"]["text"]
                        .as_str()
                        .is_some_and(|t| t.contains(profile))
            })
        };
        assert!(
            named("clinicalStatus", "hbpc-advanced-illness-condition"),
            "{warnings:#?}"
        );
        assert!(
            named("verificationStatus", "hbpc-advanced-illness-condition"),
            "{warnings:#?}"
        );
        assert!(
            warnings.iter().any(|i| i["details"]["text"]
                .as_str()
                .is_some_and(|t| t.contains("does not conform") && t.contains("accepted"))),
            "the referral's own warning: {warnings:#?}"
        );
        let referral = referral_in(&bundle).unwrap();
        let task = task_of(&server, &referral, "no-status").await;
        assert_eq!(task["status"], "on-hold");
        let (verdict, reason) = &criteria(&task)["advanced-illness"];
        assert_eq!(verdict, "unknown", "{reason}");
        assert!(
            reason.contains("clinicalStatus or verificationStatus"),
            "{reason}"
        );
    })
    .await;
}

/// The program extends the advanced-illness set without a rebuild: a ValueSet in `ig_dirs` that
/// imports the built-in one and adds a local code, named in the configuration.
#[tokio::test]
async fn the_advanced_illness_set_is_extended_through_ig_dirs_and_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let url = "http://plan.example.org/fhir/ValueSet/advanced-illness-with-local-codes";
    let local = "http://ehr.example.org/fhir/CodeSystem/problem-list";
    let value_set = json!({"resourceType": "ValueSet", "id": "plan-advanced-illness", "url": url,
        "status": "active", "compose": {"include": [
            {"valueSet": ["http://hbpc.example.org/fhir/ValueSet/hbpc-advanced-illness"]},
            {"system": local, "concept": [{"code": "PL-ONC-7", "display": "Metastatic cancer"}]}]}});
    std::fs::write(dir.path().join("ValueSet-plan.json"), value_set.to_string()).unwrap();
    let mut bundle = fixture_json("referrals/eligible-cancer.json");
    let at = reason_entry(&bundle);
    bundle["entry"][at]["resource"]["code"] =
        json!({"coding": [{"system": local, "code": "PL-ONC-7"}], "text": "Metastatic cancer"});
    let referral = referral_in(&bundle).unwrap();
    let verdict_on = |env: Vec<(&'static str, String)>| {
        let bundle = bundle.clone();
        let referral = referral.clone();
        async move {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let mut seen = Vec::new();
            for backend in backends() {
                let server = TestServer::start_on(backend, &env).await;
                let (status, response) = post_json(&server, "/fhir", &bundle).await;
                assert_eq!(status, 200, "{response}");
                let task = task_of(&server, &referral, "local code").await;
                seen.push(criteria(&task)["advanced-illness"].clone());
            }
            seen
        }
    };
    // built in: a local code cannot be placed, so the diagnosis is unknown (never not met)
    for (verdict, reason) in verdict_on(vec![]).await {
        assert_eq!(verdict, "unknown", "{reason}");
        assert!(reason.contains("PL-ONC-7"), "{reason}");
    }
    let dirs = dir.path().display().to_string();
    let extended = vec![
        ("HBPC_VALIDATION_IG_DIRS", dirs),
        (
            "HBPC_ELIGIBILITY_ADVANCED_ILLNESS_VALUE_SET",
            url.to_string(),
        ),
    ];
    for (verdict, reason) in verdict_on(extended).await {
        assert_eq!(verdict, "met", "{reason}");
    }
}

/// A requester contained in the referral is evidence: with its qualification sent, the referral
/// is accepted, and the Task and CareTeam stay valid (the Task carries the contained requester,
/// the CareTeam names it by its NPI).
#[tokio::test]
async fn a_contained_requester_with_its_qualification_is_read() {
    on_each_backend(&[], |server| async move {
        let mut bundle = fixture_json("real-world/requester-no-qualification.json");
        let entries = bundle["entry"].as_array_mut().unwrap();
        let referral = entries
            .iter_mut()
            .map(|e| &mut e["resource"])
            .find(|r| is_referral(r))
            .unwrap();
        referral["contained"][0]["qualification"] = json!([{"code": {"coding": [
            {"system": "http://nucc.org/provider-taxonomy", "code": "207RH0002X"}]}}]);
        let referral = referral.clone();
        let (status, response) = post_json(&server, "/fhir", &bundle).await;
        assert_eq!(status, 200, "{response}");
        let task = task_of(&server, &referral, "contained requester").await;
        assert_valid(&server, &task, "Task").await;
        assert_eq!(task["status"], "accepted", "{task}");
        let found = criteria(&task);
        assert_eq!(found["physician-referral"].0, "met", "{found:?}");
        assert_eq!(found["plan-physician-directs"].0, "met", "{found:?}");
        let (status, team) = get_json(
            &server,
            &format!("/fhir/{}", output_ref(&task, "care-team").unwrap()),
        )
        .await;
        assert_eq!(status, 200);
        assert_valid(&server, &team, "CareTeam").await;
        assert!(!team.to_string().contains("/#"), "{team}");
        assert!(
            team["participant"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["member"]["identifier"]["value"] == "1548293750"),
            "{team}"
        );
    })
    .await;
}
