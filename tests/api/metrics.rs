//! `GET /metrics` (issue #18): Prometheus text from the real server, on SQLite and PostgreSQL.

use crate::support::*;
use serde_json::Value;

fn metrics_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/metrics")
}

async fn scrape(port: u16) -> String {
    let res = client()
        .get(metrics_url(port))
        .send()
        .await
        .expect("scrape");
    assert_eq!(res.status().as_u16(), 200);
    let media = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(media.starts_with("text/plain; version=0.0.4"), "{media}");
    let text = res.text().await.expect("metrics body");
    assert_exposition(&text);
    text
}

/// Every sample line is `name{label="value",…} number`, and every sampled family has its
/// `# HELP` and `# TYPE`.
fn assert_exposition(text: &str) {
    let mut typed = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let name = parts.next().unwrap_or_default();
            let kind = parts.next().unwrap_or_default();
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            typed.insert(name.to_string());
            continue;
        }
        if line.starts_with("# HELP ") || line.is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        assert!(
            value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value),
            "value of {line}"
        );
        let name = series.split('{').next().unwrap_or_default();
        assert!(
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':'),
            "name of {line}"
        );
        if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
            assert!(
                labels.starts_with('{') && labels.ends_with('}'),
                "labels of {line}"
            );
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| typed.contains(*f)))
            .unwrap_or(name);
        assert!(typed.contains(family), "no # TYPE before {line}");
    }
}

/// The value of one series (exact name and labels as exported), 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().expect("a number"))
        .unwrap_or(0.0)
}

/// Every string in a resource (names, MRNs, identifiers, dates): none may reach the metrics.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.len() >= 4 => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(fields) => fields
            .iter()
            .filter(|(k, _)| {
                !["resourceType", "system", "url", "use", "status"].contains(&k.as_str())
            })
            .for_each(|(_, v)| strings(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn metrics_count_requests_by_template_and_decisions_without_phi() {
    on_each_backend(&[], |server| async move {
        let before = scrape(server.port).await;
        let bundle = fixture_json("referrals/eligible-cancer.json");
        let (status, response) = post_json(&server, "/fhir", &bundle).await;
        assert_eq!(status, 200, "{response}");
        // read back every created resource by id: a raw path in a label would leak the ids
        let mut ids = Vec::new();
        for entry in response["entry"].as_array().expect("entries") {
            let location = entry["response"]["location"].as_str().expect("location");
            let mut parts = location.split('/');
            let (kind, id) = (parts.next().unwrap(), parts.next().unwrap());
            let (status, _) = get_json(&server, &format!("/fhir/{kind}/{id}")).await;
            assert_eq!(status, 200);
            ids.push(id.to_string());
        }
        let (status, _) = post_json(&server, "/fhir/Patient", &serde_json::json!({
            "resourceType": "Patient", "name": [{"family": "Quarrington"}], "gender": "sometimes"
        }))
        .await;
        assert_eq!(status, 400);

        let after = scrape(server.port).await;
        let eligible = "hbpc_referral_decisions_total{outcome=\"eligible\"}";
        assert_eq!(
            sample(&after, eligible) - sample(&before, eligible),
            1.0,
            "{after}"
        );
        let posted = "hbpc_http_requests_total{method=\"POST\",route=\"/fhir\",status=\"200\"}";
        assert_eq!(
            sample(&after, posted) - sample(&before, posted),
            1.0,
            "{after}"
        );
        let reads =
            "hbpc_http_requests_total{method=\"GET\",route=\"/fhir/{type}/{id}\",status=\"200\"}";
        assert_eq!(
            sample(&after, reads) - sample(&before, reads),
            ids.len() as f64
        );
        assert!(
            sample(
                &after,
                "hbpc_http_request_duration_seconds_count{method=\"POST\",route=\"/fhir\"}"
            ) >= 1.0
        );
        assert!(
            sample(
                &after,
                "hbpc_validation_rejections_total{code=\"code-invalid\"}"
            ) + sample(&after, "hbpc_validation_rejections_total{code=\"value\"}")
                + sample(&after, "hbpc_validation_rejections_total{code=\"invalid\"}")
                >= 1.0,
            "{after}"
        );
        assert!(after.contains("# TYPE hbpc_audit_queue_depth gauge"));
        let backend = match server.database_url.starts_with("postgres") {
            true => "postgres",
            false => "sqlite",
        };
        let batches = format!("hbpc_write_batch_size_count{{backend=\"{backend}\"}}");
        assert!(sample(&after, &batches) >= 1.0, "{after}");
        let commits = format!("hbpc_write_commit_duration_seconds_count{{backend=\"{backend}\"}}");
        assert!(sample(&after, &commits) >= 1.0, "{after}");
        if backend == "postgres" {
            assert!(
                sample(&after, "hbpc_db_pool_connections{state=\"max\"}") >= 1.0,
                "{after}"
            );
        } else {
            assert!(after.contains("\nhbpc_write_queue_depth "), "{after}");
        }
        assert!(
            after.contains("hbpc_audit_quarantined_records 0"),
            "{after}"
        );

        let mut phi = ids;
        for entry in bundle["entry"].as_array().expect("entries") {
            strings(&entry["resource"], &mut phi);
        }
        phi.push("Quarrington".into());
        for value in &phi {
            assert!(!after.contains(value.as_str()), "metrics show '{value}'");
        }
    })
    .await;
}

#[tokio::test]
async fn metrics_can_be_disabled() {
    on_each_backend(&[("HBPC_METRICS_ENABLED", "false")], |server| async move {
        let res = client().get(metrics_url(server.port)).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 404);
        assert_outcome(&res.json().await.unwrap(), "not-found");
        drop(server); // held to here: the closure would capture only its port
    })
    .await;
}

#[tokio::test]
async fn metrics_can_have_their_own_address() {
    let own = free_port();
    let listen = format!("127.0.0.1:{own}");
    on_each_backend(
        &[("HBPC_METRICS_LISTEN", listen.as_str())],
        |server| async move {
            let text = scrape(own).await;
            assert!(
                text.contains("# TYPE hbpc_http_requests_total counter"),
                "{text}"
            );
            let res = client().get(metrics_url(server.port)).send().await.unwrap();
            assert_eq!(res.status().as_u16(), 404, "not on the main listener");
            // and the FHIR API is not on the metrics address
            let res = client()
                .get(format!("http://127.0.0.1:{own}/fhir/metadata"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), 404);
            drop(server); // held to here: the closure would capture only its port
        },
    )
    .await;
}
