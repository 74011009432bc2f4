//! Compartment search, `GET /fhir/Patient/{id}/{type}`: the R4 Patient CompartmentDefinition's
//! parameters for the type, ORed, combined with the request's own parameters, and links that
//! stay in the compartment.

use crate::search_support::*;
use crate::support::*;
use serde_json::{json, Value};

fn obs(id: &str, subject: &str, performer: Option<&str>, code: &str) -> Value {
    let mut o = json!({"resourceType": "Observation", "id": id, "status": "final",
                       "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                       "subject": {"reference": subject}});
    if let Some(p) = performer {
        o["performer"] = json!([{"reference": p}]);
    }
    o
}

#[tokio::test]
async fn a_patients_compartment_holds_what_its_parameters_point_at() {
    on_each_backend_and_index_layout(PLAIN_R4, |server| async move {
        for r in [
            json!({"resourceType": "Patient", "id": "p1", "link": [{"other": {"reference": "Patient/p3"}, "type": "seealso"}]}),
            json!({"resourceType": "Patient", "id": "p2"}),
            json!({"resourceType": "Patient", "id": "p3", "link": [{"other": {"reference": "Patient/p1"}, "type": "seealso"}]}),
            json!({"resourceType": "CarePlan", "id": "cp1", "status": "active", "intent": "plan",
                   "subject": {"reference": "Patient/p1"}}),
            json!({"resourceType": "CarePlan", "id": "cp2", "status": "active", "intent": "plan",
                   "subject": {"reference": "Patient/p2"}}),
            obs("o-subject", "Patient/p1", None, "8867-4"),
            obs("o-performer", "Patient/p2", Some("Patient/p1"), "8867-4"),
            obs("o-other-code", "Patient/p1", None, "72514-3"),
            obs("o-other", "Patient/p2", None, "8867-4"),
            json!({"resourceType": "Task", "id": "t1", "status": "requested", "intent": "order",
                   "for": {"reference": "Patient/p1"}}),
        ] {
            put(&server, r).await;
        }
        let b = search(&server, "Patient/p1/CarePlan").await;
        assert_eq!(ids(&b, "match"), vec!["CarePlan/cp1"]);
        // subject OR performer
        let b = search(&server, "Patient/p1/Observation").await;
        assert_eq!(
            ids(&b, "match"),
            vec!["Observation/o-other-code", "Observation/o-performer", "Observation/o-subject"]
        );
        // ANDed with the request's own parameters
        let b = search(&server, "Patient/p1/Observation?code=http://loinc.org|8867-4").await;
        assert_eq!(ids(&b, "match"), vec!["Observation/o-performer", "Observation/o-subject"]);
        // the patient itself, and the patients that link to it
        let b = search(&server, "Patient/p1/Patient").await;
        assert_eq!(ids(&b, "match"), vec!["Patient/p1", "Patient/p3"]);

        // paging by following `next` stays in the compartment
        let mut url = server.url("Patient/p1/Observation?_count=1");
        let mut seen = Vec::new();
        for _ in 0..10 {
            let (status, page) = get_url(&url).await;
            assert_eq!(status, 200, "{page}");
            let links = page["link"].as_array().unwrap();
            let self_link = links.iter().find(|l| l["relation"] == "self").unwrap();
            assert!(
                self_link["url"].as_str().unwrap().contains("/fhir/Patient/p1/Observation"),
                "{page}"
            );
            seen.extend(ids(&page, "match"));
            match links.iter().find(|l| l["relation"] == "next") {
                Some(next) => url = next["url"].as_str().unwrap().to_string(),
                None => break,
            }
        }
        seen.sort();
        assert_eq!(
            seen,
            vec!["Observation/o-other-code", "Observation/o-performer", "Observation/o-subject"]
        );

        // not in the compartment, not a compartment, unknown parameters, a bad id
        let (status, body) = get_json(&server, "/fhir/Patient/p1/Task").await;
        assert_eq!(status, 400, "{body}");
        assert_outcome(&body, "not-supported");
        let (status, body) = get_json(&server, "/fhir/Practitioner/d1/CarePlan").await;
        assert_eq!(status, 404, "{body}");
        assert_outcome(&body, "not-supported");
        let (status, body) = get_json(&server, "/fhir/Patient/p1/CarePlan?bogus=1").await;
        assert_eq!(status, 400, "{body}");
        let (status, _) = get_json(&server, "/fhir/Patient/p1/Nonsense").await;
        assert!(status == 400 || status == 404, "{status}");
        let (status, body) = get_json(&server, "/fhir/Patient/p1/CarePlan/x").await;
        assert!(status == 404 || status == 400, "{status}: {body}");

        let (_, capability) = get_json(&server, "/fhir/metadata").await;
        assert_eq!(
            capability["rest"][0]["compartment"],
            json!(["http://hl7.org/fhir/CompartmentDefinition/patient"])
        );
    })
    .await;
}

/// A compartment search is a search of its member type: the token needs that type's search
/// scope (the Patient scope alone is not enough), and PATCH needs the update scope.
#[tokio::test]
async fn compartment_search_and_patch_are_scoped_by_type() {
    use crate::security_support::*;
    let config = AuthConfig::new("");
    let env = config.env();
    let env: Vec<(&str, &str)> = env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(PLAIN_R4.iter().copied())
        .collect();
    let server = TestServer::start_on(Backend::Sqlite, &env).await;
    let hie = token_for(&server, HIE).await; // CarePlan.rs CareTeam.rs Patient.rs
    let all = token_for(&server, ALL).await;
    let http = client();
    let put = http
        .put(server.url("Patient/p1"))
        .bearer_auth(&all)
        .header("Content-Type", FHIR_JSON)
        .body(json!({"resourceType": "Patient", "id": "p1"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201);
    let get = |path: &'static str| http.get(server.url(path)).bearer_auth(&hie).send();
    assert_eq!(get("Patient/p1/CarePlan").await.unwrap().status(), 200);
    assert_eq!(get("Patient/p1/Observation").await.unwrap().status(), 403);
    let patch = |token: &str| {
        http.patch(server.url("Patient/p1"))
            .bearer_auth(token)
            .header("Content-Type", "application/json-patch+json")
            .body(r#"[{"op": "add", "path": "/active", "value": true}]"#)
            .send()
    };
    assert_eq!(patch(&hie).await.unwrap().status(), 403);
    assert_eq!(patch(&all).await.unwrap().status(), 200);
    // conditional update and delete on the type path need the update and delete scopes too
    let conditional = |method: reqwest::Method, token: &str| {
        http.request(method, server.url("Patient?_id=p1"))
            .bearer_auth(token)
            .header("Content-Type", FHIR_JSON)
            .body(json!({"resourceType": "Patient", "id": "p1", "active": false}).to_string())
            .send()
    };
    assert_eq!(
        conditional(reqwest::Method::PUT, &hie)
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        conditional(reqwest::Method::DELETE, &hie)
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        conditional(reqwest::Method::PUT, &all)
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        conditional(reqwest::Method::DELETE, &all)
            .await
            .unwrap()
            .status(),
        200
    );
}
