//! `_history` at instance, type and system level; conditional update and delete.

use crate::search_support::*;
use crate::support::*;
use serde_json::json;

#[tokio::test]
async fn history_at_three_levels() {
    on_each_backend(PLAIN_R4, |server| async move {
        put(
            &server,
            json!({"resourceType": "Patient", "id": "h1", "gender": "male"}),
        )
        .await;
        put(
            &server,
            json!({"resourceType": "Patient", "id": "h1", "gender": "female"}),
        )
        .await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let (_, now) = get_url(&server.url("Patient/h1")).await;
        let since = now["meta"]["lastUpdated"].as_str().unwrap().to_string();
        put(
            &server,
            json!({"resourceType": "Patient", "id": "h1", "gender": "other"}),
        )
        .await;
        put(&server, json!({"resourceType": "Patient", "id": "h2"})).await;
        put(&server, json!({"resourceType": "Practitioner", "id": "d1"})).await;
        let res = client()
            .delete(server.url("Patient/h1"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);

        let (status, b) = get_url(&server.url("Patient/h1/_history")).await;
        assert_eq!(status, 200, "{b}");
        assert_eq!(b["type"], "history");
        let entries = b["entry"].as_array().unwrap();
        let methods: Vec<&str> = entries
            .iter()
            .map(|e| e["request"]["method"].as_str().unwrap())
            .collect();
        assert_eq!(methods, vec!["DELETE", "PUT", "PUT", "POST"]);
        assert!(entries[0].get("resource").is_none());
        assert_eq!(entries[1]["resource"]["gender"], "other");
        assert_eq!(entries[3]["resource"]["meta"]["versionId"], "1");
        assert_eq!(entries[1]["response"]["etag"], "W/\"3\"");

        // _count pages with a next link
        let (_, b) = get_url(&server.url("Patient/h1/_history?_count=3")).await;
        assert_eq!(b["entry"].as_array().unwrap().len(), 3);
        let next = link(&b, "next").expect("next");
        let (_, b2) = get_url(&next).await;
        let rest: Vec<&str> = b2["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["request"]["method"].as_str().unwrap())
            .collect();
        assert_eq!(rest, vec!["POST"]);
        assert!(link(&b2, "next").is_none());

        // _since: versions at or after the instant
        let (_, b) = get_url(&server.url(&format!(
            "Patient/_history?_since={}",
            since.replace('+', "%2B")
        )))
        .await;
        let got: Vec<String> = b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{}@{}",
                    e["fullUrl"].as_str().unwrap().rsplit('/').next().unwrap(),
                    e["response"]["etag"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            got,
            vec!["h1@W/\"4\"", "h2@W/\"1\"", "h1@W/\"3\"", "h1@W/\"2\""],
            "{b}"
        );

        // system level holds every type
        let (_, b) = get_url(&server.url("_history")).await;
        assert_eq!(b["entry"].as_array().unwrap().len(), 6);
        let (_, b) = get_url(&server.url("Practitioner/_history")).await;
        assert_eq!(b["entry"].as_array().unwrap().len(), 1);

        // unknown resource, bad _since
        let (status, _) = get_url(&server.url("Patient/nope/_history")).await;
        assert_eq!(status, 404);
        let (status, body) = get_url(&server.url("_history?_since=yesterday")).await;
        assert_eq!(status, 400);
        assert_outcome(&body, "invalid");
    })
    .await;
}

#[tokio::test]
async fn conditional_update_and_delete() {
    on_each_backend(PLAIN_R4, |server| async move {
        let http = client();
        let url = server.url("Patient?identifier=http://hospital.example/mrn|C-1");
        let body = json!({"resourceType": "Patient", "identifier": [{"system": "http://hospital.example/mrn", "value": "C-1"}], "gender": "male"});
        // no match: created
        let res = http.put(&url).header("Content-Type", FHIR_JSON).body(body.to_string()).send().await.unwrap();
        assert_eq!(res.status(), 201);
        let created: serde_json::Value = res.json().await.unwrap();
        let id = created["id"].as_str().unwrap().to_string();
        // one match: updated in place
        let mut changed = body.clone();
        changed["gender"] = json!("female");
        let res = http.put(&url).header("Content-Type", FHIR_JSON).body(changed.to_string()).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let updated: serde_json::Value = res.json().await.unwrap();
        assert_eq!(updated["id"], id.as_str());
        assert_eq!(updated["meta"]["versionId"], "2");
        assert_eq!(updated["gender"], "female");
        // If-Match still applies
        let res = http.put(&url).header("Content-Type", FHIR_JSON).header("If-Match", "W/\"1\"")
            .body(changed.to_string()).send().await.unwrap();
        assert_eq!(res.status(), 412);
        // a body id that is not the match
        let mut wrong = changed.clone();
        wrong["id"] = json!("someone-else");
        let res = http.put(&url).header("Content-Type", FHIR_JSON).body(wrong.to_string()).send().await.unwrap();
        assert_eq!(res.status(), 400);
        // several matches: 412
        put(&server, json!({"resourceType": "Patient", "id": "twin", "identifier": [{"system": "http://hospital.example/mrn", "value": "C-1"}]})).await;
        let res = http.put(&url).header("Content-Type", FHIR_JSON).body(changed.to_string()).send().await.unwrap();
        assert_eq!(res.status(), 412);
        let res = http.delete(&url).send().await.unwrap();
        assert_eq!(res.status(), 412);
        // no criteria, unknown criteria: 400
        let res = http.put(server.url("Patient")).header("Content-Type", FHIR_JSON).body(changed.to_string()).send().await.unwrap();
        assert_eq!(res.status(), 400);
        let res = http.delete(server.url("Patient?nonsense=1")).send().await.unwrap();
        assert_eq!(res.status(), 400);
        // delete the one match
        let res = http.delete(server.url("Patient?_id=twin")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let res = http.delete(&url).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let (status, _) = get_url(&server.url(&format!("Patient/{id}"))).await;
        assert_eq!(status, 410);
        // nothing left to match: still 200
        let res = http.delete(&url).send().await.unwrap();
        assert_eq!(res.status(), 200);
    })
    .await;
}

#[tokio::test]
async fn if_match_can_be_required() {
    on_each_backend(
        &[
            ("HBPC_VALIDATION_DEFAULT_PROFILES", "false"),
            ("HBPC_SEARCH_REQUIRE_IF_MATCH", "true"),
        ],
        |server| async move {
            let http = client();
            let p = json!({"resourceType": "Patient", "id": "m1"});
            // creating with PUT needs no version
            put(&server, p.clone()).await;
            let res = http
                .put(server.url("Patient/m1"))
                .header("Content-Type", FHIR_JSON)
                .body(p.to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 428);
            let res = http
                .put(server.url("Patient/m1"))
                .header("Content-Type", FHIR_JSON)
                .header("If-Match", "W/\"1\"")
                .body(p.to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
        },
    )
    .await;
}
