//! Helpers of the search tests: writing resources with client ids, running searches.

use crate::support::*;
use serde_json::Value;

/// The HBPC profiles demand complete referrals; search tests store small R4 resources.
pub const PLAIN_R4: &[(&str, &str)] = &[("HBPC_VALIDATION_DEFAULT_PROFILES", "false")];

pub async fn put(server: &TestServer, resource: Value) -> Value {
    let rt = resource["resourceType"]
        .as_str()
        .expect("resourceType")
        .to_string();
    let id = resource["id"].as_str().expect("id").to_string();
    let res = client()
        .put(server.url(&format!("{rt}/{id}")))
        .header("Content-Type", FHIR_JSON)
        .body(resource.to_string())
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert!(status.is_success(), "PUT {rt}/{id}: {status} {body}");
    body
}

pub async fn get_url(url: &str) -> (u16, Value) {
    let res = client().get(url).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

/// GET `{base}/{query}`, asserting 200 and a searchset.
pub async fn search(server: &TestServer, query: &str) -> Value {
    let (status, body) = get_url(&server.url(query)).await;
    assert_eq!(status, 200, "{query}: {body}");
    assert_eq!(body["type"], "searchset", "{body}");
    body
}

/// `Type/id` of the entries with this search mode, sorted.
pub fn ids(bundle: &Value, mode: &str) -> Vec<String> {
    let mut out: Vec<String> = bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == mode)
        .map(|e| {
            format!(
                "{}/{}",
                e["resource"]["resourceType"].as_str().unwrap_or_default(),
                e["resource"]["id"].as_str().unwrap_or_default()
            )
        })
        .collect();
    out.sort();
    out
}

/// Match ids in page order.
pub fn page_ids(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == "match")
        .map(|e| e["resource"]["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

pub fn link(bundle: &Value, relation: &str) -> Option<String> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == relation)
        .and_then(|l| l["url"].as_str())
        .map(str::to_string)
}

pub fn strs(items: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}
