//! Issue #18: hostile input never takes a replica down. One regression test per item, on
//! SQLite and PostgreSQL (the fuzz suite is in `fuzz.rs`).

use crate::support::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Base R4 only: these tests are about the reader and the store, not the HBPC profiles.
const NO_PROFILES: (&str, &str) = ("HBPC_VALIDATION_DEFAULT_PROFILES", "false");
/// Every R4 search parameter indexed (`value-string` is not in the default set).
const ALL_INDEXED: (&str, &str) = ("HBPC_SEARCH_INDEXED_PARAMETERS", "*");

fn patient_with_names(count: usize, distinct: bool) -> Value {
    let names: Vec<Value> = (0..count)
        .map(|i| {
            let family = if distinct {
                format!("Family{i}")
            } else {
                "Smith".to_string()
            };
            json!({"family": family, "given": ["Ann"]})
        })
        .collect();
    json!({"resourceType": "Patient", "name": names})
}

/// Item 2: repeated elements are indexed once per distinct value, in linear work (the
/// benchmark in benches/hardening.rs measures it), and a resource beyond the work bound
/// gets 400 too-costly with nothing stored.
#[tokio::test]
async fn repeated_elements_are_indexed_and_the_work_bound_is_enforced() {
    on_each_backend(
        &[NO_PROFILES, ("HBPC_DATABASE_MAX_INDEX_ROWS", "2000")],
        |server| async move {
            // 5,000 copies of one name: a handful of index rows
            let (status, body) =
                post_json(&server, "/fhir/Patient", &patient_with_names(5000, false)).await;
            assert_eq!(status, 201, "{body}");
            let (status, bundle) = get_json(&server, "/fhir/Patient?family=smith").await;
            assert_eq!(status, 200);
            assert_eq!(
                bundle["entry"].as_array().map(Vec::len),
                Some(1),
                "{bundle}"
            );

            // 1,500 distinct names: more than 2,000 index rows (family, name, phonetic…)
            let before = server.stored_versions().await;
            let (status, body) =
                post_json(&server, "/fhir/Patient", &patient_with_names(1500, true)).await;
            assert_eq!(status, 400, "{body}");
            assert_outcome(&body, "too-costly");
            assert!(body.to_string().contains("max_index_rows"), "{body}");
            assert_eq!(server.stored_versions().await, before, "nothing stored");

            // within the bound
            let (status, body) =
                post_json(&server, "/fhir/Patient", &patient_with_names(100, true)).await;
            assert_eq!(status, 201, "{body}");
            let (_, bundle) = get_json(&server, "/fhir/Patient?family=family99").await;
            assert_eq!(
                bundle["entry"].as_array().map(Vec::len),
                Some(1),
                "{bundle}"
            );
        },
    )
    .await;
}

/// Item 2: the HTTP workers stay free while CPU-heavy requests run on the compute pool:
/// with one HTTP worker and one compute thread, `/healthz` answers while large writes are
/// still queued behind each other.
#[tokio::test]
async fn healthz_answers_while_large_writes_run() {
    on_each_backend(
        &[
            NO_PROFILES,
            ("HBPC_SERVER_WORKERS", "1"),
            ("HBPC_SERVER_COMPUTE_THREADS", "1"),
        ],
        |server| async move {
            let heavy = patient_with_names(20_000, false).to_string();
            let writes: Vec<_> = (0..4)
                .map(|_| {
                    client()
                        .post(server.url("Patient"))
                        .header("Content-Type", FHIR_JSON)
                        .body(heavy.clone())
                        .send()
                })
                .collect();
            let writes = tokio::spawn(futures_join_all(writes));
            // let the writes reach the server before asking
            tokio::time::sleep(Duration::from_millis(100)).await;
            let health = client()
                .get(format!("http://127.0.0.1:{}/healthz", server.port))
                .send()
                .await
                .expect("healthz");
            assert_eq!(health.status().as_u16(), 200);
            let healthy_before_writes_done = !writes.is_finished();
            for status in writes.await.expect("writes") {
                assert_eq!(status, 201);
            }
            assert!(
                healthy_before_writes_done,
                "/healthz waited for the large writes to finish"
            );
        },
    )
    .await;
}

async fn futures_join_all(
    requests: Vec<impl std::future::Future<Output = reqwest::Result<reqwest::Response>>>,
) -> Vec<u16> {
    let mut statuses = Vec::new();
    let handles: Vec<_> = requests.into_iter().map(Box::pin).collect();
    for h in handles {
        statuses.push(h.await.expect("write").status().as_u16());
    }
    statuses
}

/// Item 3: clinical text longer than a PostgreSQL index entry stores and is found by every
/// string search mode, the same on both backends; so is a long identifier.
#[tokio::test]
async fn long_indexed_values_store_and_are_searchable() {
    on_each_backend(&[NO_PROFILES, ALL_INDEXED], |server| async move {
        let text = format!(
            "Patient reports {} END",
            "severe breakthrough pain; ".repeat(110)
        );
        assert!(text.len() > 2800);
        let obs = json!({"resourceType": "Observation", "status": "final",
            "code": {"text": "note"}, "valueString": text});
        let (status, body) = post_json(&server, "/fhir/Observation", &obs).await;
        assert_eq!(status, 201, "{body}");
        let id = body["id"].as_str().unwrap().to_string();
        let found = |q: String| {
            let server = &server;
            async move {
                let (status, bundle) = get_json(server, &format!("/fhir/Observation?{q}")).await;
                assert_eq!(status, 200, "{q}: {bundle}");
                bundle["entry"]
                    .as_array()
                    .map(|e| e.iter().map(|e| e["resource"]["id"].clone()).collect())
                    .unwrap_or_else(Vec::<Value>::new)
            }
        };
        let enc = |s: &str| s.replace(' ', "%20").replace(';', "%3B");
        // default (starts-with, normalised), :contains, :exact, and a long prefix
        assert_eq!(
            found("value-string=patient%20reports".into()).await,
            [json!(id)]
        );
        assert_eq!(found("value-string:contains=END".into()).await, [json!(id)]);
        assert_eq!(
            found(format!("value-string:exact={}", enc(&text))).await,
            [json!(id)]
        );
        assert_eq!(
            found(format!("value-string={}", enc(&text[..2500]))).await,
            [json!(id)]
        );
        // a value sharing the first 2,500 characters but not the rest is not an exact match
        let other = format!("{}different", &text[..2500]);
        assert!(found(format!("value-string:exact={}", enc(&other)))
            .await
            .is_empty());

        // a long identifier: conditional create finds the first copy
        let value = "x".repeat(3000);
        let patient = json!({"resourceType": "Patient",
            "identifier": [{"system": "urn:long", "value": value}]});
        let condition = format!("identifier=urn:long|{value}");
        for expected in [201, 200] {
            let (status, body, _) = request(
                &server,
                Method::POST,
                "/fhir/Patient",
                Some(&patient),
                &[("If-None-Exist", &condition)],
            )
            .await;
            assert_eq!(status, expected, "{body}");
        }
        assert_eq!(
            found_patients(&server, &format!("identifier=urn:long|{value}")).await,
            1
        );
    })
    .await;
}

async fn found_patients(server: &TestServer, query: &str) -> usize {
    let (status, bundle) = get_json(server, &format!("/fhir/Patient?{query}")).await;
    assert_eq!(status, 200, "{bundle}");
    bundle["entry"].as_array().map_or(0, Vec::len)
}

/// Item 4: control characters in a body, an id, a search value or `If-None-Exist`: 400 with
/// an OperationOutcome on both backends, and nothing stored.
#[tokio::test]
async fn control_characters_are_refused_everywhere() {
    on_each_backend(&[NO_PROFILES], |server| async move {
        let (status, body) = post_json(
            &server,
            "/fhir/Patient",
            &json!({"resourceType": "Patient", "name": [{"family": "a\u{0}b"}]}),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_outcome(&body, "invalid");
        let (status, body) = post_json(
            &server,
            "/fhir/Patient",
            &json!({"resourceType": "Patient", "name": [{"family": "a\u{1b}[31m"}]}),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        for path in [
            "/fhir/Pati%00ent",
            "/fhir/Patient/ab%01c",
            "/fhir/Patient?name=a%00b",
            "/fhir/Patient?family=%1F",
            "/fhir/Patient/x/_history/%00",
        ] {
            let (status, body) = get_json(&server, path).await;
            assert_eq!(status, 400, "{path}: {body}");
            assert_outcome(&body, "invalid");
        }
        let (status, body, _) = request(
            &server,
            Method::POST,
            "/fhir/Patient",
            Some(&json!({"resourceType": "Patient"})),
            &[("If-None-Exist", "identifier=urn:x|a%00b")],
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_outcome(&body, "invalid");
        assert_eq!(server.stored_versions().await, 0);
        // the replica still serves (PostgreSQL used to answer 503 from then on)
        let (status, _) = get_json(&server, "/fhir/metadata").await;
        assert_eq!(status, 200);
        let (status, body) = post_json(
            &server,
            "/fhir/Patient",
            &json!({"resourceType": "Patient", "name": [{"family": "tab\there"}]}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    })
    .await;
}

/// Item 5: duplicate JSON keys get 400 structure.
#[tokio::test]
async fn duplicate_json_keys_are_refused() {
    on_each_backend(&[NO_PROFILES], |server| async move {
        for body in [
            r#"{"resourceType":"Patient","gender":"male","gender":"female"}"#,
            r#"{"resourceType":"Patient","resourceType":"Patient"}"#,
            r#"{"resourceType":"Patient","name":[{"family":"a","family":"b"}]}"#,
        ] {
            let res = client()
                .post(server.url("Patient"))
                .header("Content-Type", FHIR_JSON)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), 400, "{body}");
            let outcome: Value = res.json().await.unwrap();
            assert_outcome(&outcome, "structure");
            assert!(outcome.to_string().contains("appears twice"), "{outcome}");
        }
        assert_eq!(server.stored_versions().await, 0);
    })
    .await;
}

/// Item 6: a string over 1 MB (the R4 limit) gets 400, even within the body limit.
#[tokio::test]
async fn strings_over_one_megabyte_are_refused() {
    on_each_backend(&[NO_PROFILES], |server| async move {
        let patient = json!({"resourceType": "Patient",
            "name": [{"family": "x".repeat(1024 * 1024 + 1)}]});
        let (status, body) = post_json(&server, "/fhir/Patient", &patient).await;
        assert_eq!(status, 400, "{body}");
        assert_outcome(&body, "too-long");
        assert_eq!(server.stored_versions().await, 0);
    })
    .await;
}

/// Sends raw bytes and reads until the server closes or `wait` passes: the response text.
fn raw_exchange(port: u16, request: &[u8], wait: Duration) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(wait)).expect("timeout");
    stream.write_all(request).expect("write");
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn status_of(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Item 9: protocol errors get a 4xx with an OperationOutcome; `Connection: close` closes the
/// connection after the response.
#[tokio::test]
async fn protocol_errors_get_answers_and_connection_close_is_honoured() {
    on_each_backend(&[NO_PROFILES], |server| async move {
        let port = server.port;
        tokio::task::spawn_blocking(move || {
            let wait = Duration::from_secs(5);
            for (what, request) in [
                ("malformed request line", b"GARBAGE\r\n\r\n".to_vec()),
                (
                    "bad Content-Length",
                    b"POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"
                        .to_vec(),
                ),
                (
                    "two Content-Lengths",
                    b"POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"
                        .to_vec(),
                ),
                (
                    "oversized headers",
                    format!(
                        "GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
                        "a".repeat(256 * 1024)
                    )
                    .into_bytes(),
                ),
            ] {
                let response = raw_exchange(port, &request, wait);
                let status = status_of(&response);
                assert!((400..500).contains(&status), "{what}: {response:.300}");
                assert!(
                    response.contains("\"resourceType\":\"OperationOutcome\""),
                    "{what}: no OperationOutcome in {response:.300}"
                );
            }

            // an invalid chunk size: actix-http abandons the request; we answer it (400,
            // OperationOutcome) and close, promptly, storing nothing
            for (what, request) in [
                (
                    "invalid first chunk size",
                    b"POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n".to_vec(),
                ),
                (
                    "invalid later chunk size",
                    b"POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n-1\r\n}\r\n0\r\n\r\n".to_vec(),
                ),
                (
                    "after a keep-alive exchange",
                    b"GET /fhir/metadata HTTP/1.1\r\nHost: x\r\n\r\nPOST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n".to_vec(),
                ),
            ] {
                let started = std::time::Instant::now();
                let response = raw_exchange(port, &request, Duration::from_secs(20));
                assert!(started.elapsed() < Duration::from_secs(15), "{what}: hung");
                let last = response.rfind("HTTP/1.1 ").map_or("", |at| &response[at..]);
                assert_eq!(status_of(last), 400, "{what}: {response:.600}");
                assert!(
                    last.contains("\"resourceType\":\"OperationOutcome\"")
                        && last.contains("chunk"),
                    "{what}: {last:.600}"
                );
                assert!(last.to_ascii_lowercase().contains("connection: close"), "{what}");
            }

            // Connection: close: the server answers and closes (the read ends before `wait`)
            let started = std::time::Instant::now();
            let response = raw_exchange(
                port,
                b"GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                Duration::from_secs(20),
            );
            assert_eq!(status_of(&response), 200, "{response:.300}");
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "the connection stayed open after Connection: close"
            );
        })
        .await
        .expect("raw requests");
        let (status, _) = get_json(&server, "/fhir/metadata").await;
        assert_eq!(status, 200, "the replica still serves");
        assert_eq!(server.stored_versions().await, 0, "a broken request stored something");
    })
    .await;
}

/// Item 10: when the write queue stays full longer than `database.queue_wait_ms`, writes
/// get 503 with Retry-After; every acknowledged write is stored, nothing else is.
#[tokio::test]
async fn a_full_write_queue_sheds_load_with_retry_after() {
    on_each_backend(
        &[
            NO_PROFILES,
            ("HBPC_DATABASE_WRITE_QUEUE", "1"),
            ("HBPC_DATABASE_POOL_SIZE", "2"),
            ("HBPC_DATABASE_QUEUE_WAIT_MS", "10"),
            ("HBPC_SECURITY_AUDIT", "false"),
        ],
        |server| async move {
            let body = patient_with_names(3000, true);
            let sends: Vec<_> = (0..24)
                .map(|_| {
                    client()
                        .post(server.url("Patient"))
                        .header("Content-Type", FHIR_JSON)
                        .body(body.to_string())
                        .send()
                })
                .collect();
            let mut created = 0;
            let mut shed = 0;
            let handles: Vec<_> = sends.into_iter().map(tokio::spawn).collect();
            for h in handles {
                let res = h.await.unwrap().expect("answered");
                match res.status().as_u16() {
                    201 => created += 1,
                    503 => {
                        assert!(res.headers().get("retry-after").is_some());
                        let outcome: Value = res.json().await.unwrap();
                        assert_outcome(&outcome, "transient");
                        shed += 1;
                    }
                    other => panic!("unexpected {other}: {}", res.text().await.unwrap()),
                }
            }
            assert!(shed > 0, "no write was shed ({created} created)");
            assert_eq!(server.stored_versions().await, created);
            let (status, _) = get_json(&server, "/fhir/metadata").await;
            assert_eq!(status, 200);
        },
    )
    .await;
}

/// The queue wait bounds waiting for a busy connection, not opening one. PostgreSQL forks a
/// backend per connection, which under load takes longer than a short wait (CI once saw a
/// replica with a 10 ms wait never become ready). A proxy that takes 150 ms to open each
/// connection stands in for that load: a replica behind it with a 10 ms queue wait must
/// still connect, become ready, and serve writes and reads.
#[tokio::test]
async fn a_slow_connection_open_does_not_count_against_the_queue_wait() {
    let Some(admin_url) = std::env::var("HBPC_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("SKIPPED (postgres): HBPC_TEST_DATABASE_URL is not set");
        return;
    };
    let mut first = TestServer::start_on(Backend::Postgres { admin_url }, &[NO_PROFILES]).await;
    let upstream = postgres_address(&first.database_url);
    let proxy = slow_opening_proxy(upstream.clone(), Duration::from_millis(150)).await;
    let proxied = first
        .database_url
        .replacen(&upstream, &proxy.to_string(), 1);
    first.set_env("HBPC_DATABASE_URL", &proxied);
    first.set_env("HBPC_DATABASE_QUEUE_WAIT_MS", "10");
    let replica = first.replica().await; // panics unless it becomes ready

    let (status, created) = post_json(
        &replica,
        "/fhir/Patient",
        &json!({"resourceType": "Patient", "name": [{"family": "Wait"}]}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id");
    let (status, read) = get_json(&first, &format!("/fhir/Patient/{id}")).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["name"][0]["family"], "Wait");
}

/// `host:port` of a `postgres://user@host:port/db` URL.
fn postgres_address(url: &str) -> String {
    let rest = url.split_once('@').map_or(url, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest).to_string()
}

/// A TCP proxy to `upstream` that waits `delay` before opening each connection.
async fn slow_opening_proxy(upstream: String, delay: Duration) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    addr
}
